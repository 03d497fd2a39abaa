"""Query functions: every SQL statement the domain needs beyond simple ``get``s lives here.

Reads are batched (one query per kind of data for a whole page of records, never one per record);
lookups are materialised with set-based ``INSERT … SELECT`` statements.

Hot statements skip peewee's two costs. Reads come from the raw cursor (:func:`fetch`, or
``database.execute_sql``): peewee's per-value conversion was two thirds of listing 10k records, and
:func:`record_rows` converts only what SQLite returns as text (timestamps, dates, booleans). SQL text is
built once per dialect (:func:`static_sql`) or written out for statements whose shape depends on a
count of ids: building it with peewee took longer than running it for one record (1 ms for a lookup's
``INSERT … SELECT``). Written-out SQL uses double-quoted names (both engines) and the database's
parameter mark, and says what peewee would have said.

>>> rows = fetch(Record.select(Record.id, Record.title).where(Record.project == 1)).fetchall()
>>> titles = record_titles([12, 13])                    # {12: "Acme website", 13: "SEO audit"}
"""

from __future__ import annotations

import datetime as dt

from peewee import JOIN, BooleanField, DateField, DateTimeField, fn, Value

from .connection import database, is_sqlite
from .models import Field, FieldValue, Record, RecordTag, StageList, Tag, User

CHUNK = 500  # ids per IN (...) list when a statement must name records one by one


# ---------------------------------------------------------------------------------------------
# raw reads and cached SQL


def fetch(query):
    """Run a peewee query on the raw cursor: rows as the driver returns them (on SQLite dates and
    timestamps are ISO text, booleans 0/1), without peewee's per-value conversion. One statement."""
    sql, params = query.sql()
    return database.execute_sql(sql, params)


_STATIC_SQL: dict = {}


def static_sql(name: str, build, params: int = 0) -> str:
    """The SQL text of ``build()`` (a peewee query, or a function returning SQL text), built once per
    database dialect. A peewee query must take exactly ``params`` parameters; the caller passes its
    own values in the query's order."""
    db = database.obj
    key = (name, type(db), db.param, db.quote)
    sql = _STATIC_SQL.get(key)
    if sql is None:
        built = build()
        if not isinstance(built, str):
            built, taken = built.sql()
            assert len(taken) == params, f"{name}: takes {len(taken)} parameters, not {params}"
        sql = _STATIC_SQL[key] = built
    return sql


def _sqlite_datetime(value):
    """What peewee's DateTimeField makes of SQLite text, faster (``fromisoformat`` is C)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return _DATETIME.python_value(value)
    return parsed if parsed.tzinfo is None else _DATETIME.python_value(value)


def _sqlite_date(value):
    if not isinstance(value, str):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return _DATE.python_value(value)


def _sqlite_bool(value):
    return value if value is None else bool(value)


_DATETIME, _DATE = DateTimeField(), DateField()


def _row_shape(description, model=Record) -> tuple[list[str], list]:
    """Keys (as peewee's ``.dicts()`` names them: ``list``, not ``list_id``) and converters of the
    columns of a query of ``model``."""
    by_column = model._meta.columns
    names, converters = [], []
    sqlite = is_sqlite()
    for item in description:
        column = item[0]
        field = by_column.get(column)
        names.append(field.name if field is not None else column)
        convert = None
        if sqlite and field is not None:
            if isinstance(field, DateTimeField):
                convert = _sqlite_datetime
            elif isinstance(field, DateField):
                convert = _sqlite_date
            elif isinstance(field, BooleanField):
                convert = _sqlite_bool
        converters.append(convert)
    return names, converters


def chunks(ids, size: int = CHUNK):
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def record_select(project_id: int, *, list_ids=None, tag_ids=None, search: str | None = None,
                  text_field_ids=(), include_archived: bool = False, only_archived: bool = False,
                  record_ids=None):
    """SELECT of the records of a project with the usual filters (no ORDER/LIMIT yet).

    ``search`` matches the title or any of ``text_field_ids`` (case-insensitive substring).
    A record must carry every tag in ``tag_ids``.
    """
    query = Record.select().where(Record.project == project_id)
    if only_archived:
        query = query.where(Record.archived == True)  # noqa: E712
    elif not include_archived:
        query = query.where(Record.archived == False)  # noqa: E712
    if list_ids:
        query = query.where(Record.list.in_(list(list_ids)))
    for tag_id in tag_ids or ():
        query = query.where(fn.EXISTS(
            RecordTag.select(Value(1)).where((RecordTag.record == Record.id) & (RecordTag.tag == tag_id))))
    if search:
        text = search.strip()
        match = Record.title.contains(text)
        if text_field_ids:
            match |= fn.EXISTS(
                FieldValue.select(Value(1)).where(
                    (FieldValue.record == Record.id)
                    & (FieldValue.field.in_(list(text_field_ids)))
                    & (FieldValue.text.contains(text))))
        query = query.where(match)
    if record_ids is not None:
        query = query.where(Record.id.in_(list(record_ids)))
    return query


def record_rows(query) -> list[dict]:
    """Rows (dicts) for a record query: record columns plus list name and assignee name — the keys
    and Python types of peewee's ``.dicts()``, read from the raw cursor. One query."""
    cursor = fetch(query.select_extend(StageList.name.alias("list_name"), User.name.alias("assignee_name"))
                   .join_from(Record, StageList, JOIN.LEFT_OUTER, on=(Record.list == StageList.id))
                   .join_from(Record, User, JOIN.LEFT_OUTER, on=(Record.assignee == User.id)))
    names, converters = _row_shape(cursor.description)
    rows = cursor.fetchall()
    converting = [(i, c) for i, c in enumerate(converters) if c is not None]
    if converting:
        out = []
        for row in rows:
            row = list(row)
            for i, convert in converting:
                row[i] = convert(row[i])
            out.append(dict(zip(names, row)))
        return out
    return [dict(zip(names, row)) for row in rows]


class Rendered:
    """A SELECT rendered to SQL once, to nest in several statements (``values_of``, ``tags_of``,
    ``referenced_by`` of one page)."""

    __slots__ = ("text", "params")

    def __init__(self, query):
        self.text, params = query.sql()
        self.params = list(params)


def _record_ids(record_ids) -> tuple[str, list] | None:
    """SQL to put in ``IN (...)`` and its parameters, for a list of ids, a peewee SELECT of ids or a
    ``Rendered`` one; None for no ids at all."""
    if isinstance(record_ids, Rendered):
        return record_ids.text, list(record_ids.params)
    if hasattr(record_ids, "sql"):
        text, params = record_ids.sql()
        return text, list(params)
    ids = list(record_ids)
    if not ids:
        return None
    return ", ".join([database.obj.param] * len(ids)), ids


def values_of(record_ids_query, field_ids=None):
    """Every value row of the given records (a subquery or a list of ids), with the referenced record's
    title and the attachment's name, ordered for decoding. One query (none for no ids or no fields).

    Rows come from the raw cursor: on SQLite the ``date`` column is ISO text (``decode_field`` reads
    text and dates alike); numbers are the stored integers either way. The SQL is written out rather
    than built by peewee, which took longer than running it for one record (every write reads one)."""
    param = database.obj.param
    nested = _record_ids(record_ids_query)
    if nested is None:
        return []
    records, params = nested
    where = f'("fv"."record_id" IN ({records}))'
    if field_ids is not None:
        fids = list(field_ids)
        if not fids:
            return []
        where += f' AND ("fv"."field_id" IN ({", ".join([param] * len(fids))}))'
        params += fids
    sql = ('SELECT "fv"."record_id", "fv"."field_id", "fv"."position", "fv"."text", "fv"."number", '
           '"fv"."date", "fv"."ref_id", "fv"."file_id", "fv"."error", "ref_record"."title" AS "ref_title", '
           '"att"."name" AS "file_name", "att"."size" AS "file_size" FROM "field_value" AS "fv" '
           'LEFT OUTER JOIN "record" AS "ref_record" ON ("fv"."ref_id" = "ref_record"."id") '
           'LEFT OUTER JOIN "attachment" AS "att" ON ("fv"."file_id" = "att"."id") '
           f'WHERE ({where}) ORDER BY "fv"."record_id", "fv"."field_id", "fv"."position"')
    return database.execute_sql(sql, params)


def tags_of(record_ids_query):
    """(record id, tag name) pairs, ordered by tag name. One query (none for no ids)."""
    nested = _record_ids(record_ids_query)
    if nested is None:
        return []
    records, params = nested
    return database.execute_sql(
        'SELECT "rt"."record_id", "tg"."name" FROM "record_tag" AS "rt" '
        'INNER JOIN "tag" AS "tg" ON ("rt"."tag_id" = "tg"."id") '
        f'WHERE ("rt"."record_id" IN ({records})) ORDER BY "rt"."record_id", "tg"."name"', params)


def referenced_by(record_ids_query):
    """(referenced id, referring id, referring title, referring project id, field name, referring
    project name) for live records that point at the given ones through a reference field. One query
    (none for no ids)."""
    nested = _record_ids(record_ids_query)
    if nested is None:
        return []
    records, params = nested
    param = database.obj.param
    return database.execute_sql(
        'SELECT "fv"."ref_id", "referrer"."id", "referrer"."title", "referrer"."project_id", "f"."name", '
        '"p"."name" AS "project_name" FROM "field_value" AS "fv" '
        f'INNER JOIN "field" AS "f" ON (("fv"."field_id" = "f"."id") AND ("f"."type" = {param})) '
        'INNER JOIN "record" AS "referrer" ON ("fv"."record_id" = "referrer"."id") '
        'INNER JOIN "project" AS "p" ON ("referrer"."project_id" = "p"."id") '
        f'WHERE (("fv"."ref_id" IN ({records})) AND ("referrer"."archived" = {param})) '
        'ORDER BY "fv"."ref_id", "referrer"."project_id", "referrer"."id"', ["reference", *params, False])


def referenced_by_counts(record_ids_query):
    """{record id: number of live records referring to it}. One query."""
    Referrer = Record.alias("referrer")
    rows = (FieldValue.select(FieldValue.ref, fn.COUNT(fn.DISTINCT(FieldValue.record)))
            .join(Field, on=((FieldValue.field == Field.id) & (Field.type == "reference")))
            .join_from(FieldValue, Referrer, on=(FieldValue.record == Referrer.id))
            .where(FieldValue.ref.in_(record_ids_query) & (Referrer.archived == False))  # noqa: E712
            .group_by(FieldValue.ref).tuples())
    return dict(rows)


def records_referring(ref_field_id: int, target_ids) -> set[int]:
    """Records whose reference field ``ref_field_id`` points at any of ``target_ids``."""
    found: set[int] = set()
    param = database.obj.param
    for chunk in chunks(target_ids):
        found.update(r for (r,) in database.execute_sql(
            f'SELECT "record_id" FROM "field_value" WHERE (("field_id" = {param}) '
            f'AND ("ref_id" IN ({", ".join([param] * len(chunk))})))', [ref_field_id, *chunk]))
    return found


def delete_values(field_id: int, record_ids) -> None:
    for chunk in chunks(record_ids):
        FieldValue.delete().where((FieldValue.field == field_id) & FieldValue.record.in_(chunk)).execute()


def delete_field_values(field_ids, record_ids) -> None:
    """Delete the values of several fields of ``record_ids``: one statement per chunk of records."""
    field_ids = list(field_ids)
    if not field_ids:
        return
    param = database.obj.param
    fields = ", ".join([param] * len(field_ids))
    for chunk in chunks(record_ids):
        database.execute_sql(f'DELETE FROM "field_value" WHERE (("field_id" IN ({fields})) '
                             f'AND ("record_id" IN ({", ".join([param] * len(chunk))})))', [*field_ids, *chunk])


def materialize_lookup(lookup_id: int, via_id: int, of, record_ids=None, *, project_id=None,
                       fresh: bool = False) -> None:
    """Recompute a lookup's stored values from its reference (``via_id``) and target field (``of``:
    a field id, or ``"title"``) for ``record_ids`` — or for every record of ``project_id``.

    Set-based: one DELETE and one INSERT … SELECT per chunk of records, whatever the chunk size.
    Positions keep the reference's order, then the target value's order, numbered 0, 1, 2… per record
    (a window function: multiplying positions collided once a lookup of a lookup held many values).
    """
    # written out as SQL: peewee took about 1 ms to build these, most of a single record's lookup
    param = database.obj.param
    if record_ids is None:  # the whole project: the record set is a subquery
        # (not parenthesised: in SQLite ``IN ((SELECT …))`` is a scalar, the first id only)
        scopes = [(f'SELECT "id" FROM "record" WHERE "project_id" = {param}', [project_id], False)]
    else:
        scopes = [(", ".join([param] * len(chunk)), list(chunk), fresh) for chunk in chunks(record_ids, 2000)]
    for records, record_params, nothing_stored in scopes:
        if not nothing_stored:  # records created in this transaction have nothing to delete
            database.execute_sql(f'DELETE FROM "field_value" WHERE (("field_id" = {param}) '
                                 f'AND ("record_id" IN ({records})))', [lookup_id, *record_params])
        if of == "title":
            select = (f'SELECT "r"."record_id", {param}, "r"."position", "t"."title", NULL, NULL, NULL, NULL, '
                      f'NULL FROM "field_value" AS "r" INNER JOIN "record" AS "t" ON ("t"."id" = "r"."ref_id") '
                      f'WHERE (("r"."field_id" = {param}) AND ("r"."record_id" IN ({records})))')
            params = [lookup_id, via_id, *record_params]
        else:
            select = (f'SELECT "r"."record_id", {param}, (ROW_NUMBER() OVER (PARTITION BY "r"."record_id" '
                      f'ORDER BY "r"."position", "t"."position") - 1), "t"."text", '
                      f'"t"."number", "t"."date", "t"."ref_id", "t"."file_id", "t"."error" '
                      f'FROM "field_value" AS "r" INNER JOIN "field_value" AS "t" '
                      f'ON (("t"."record_id" = "r"."ref_id") AND ("t"."field_id" = {param})) '
                      f'WHERE (("r"."field_id" = {param}) AND ("r"."record_id" IN ({records})))')
            params = [lookup_id, of, via_id, *record_params]
        database.execute_sql(f"INSERT INTO {_VALUE_INSERT} {select}", params)


_VALUE_INSERT = ('"field_value" ("record_id", "field_id", "position", "text", "number", "date", "ref_id", '
                 '"file_id", "error")')


def project_of_record(record_id: int):
    """The ``Project`` a record belongs to, or None for no such record. One query, SQL built once."""
    from .models import Project

    sql = static_sql("project_of_record", lambda: Project.select()
                     .join(Record, on=(Record.project == Project.id)).where(Record.id == 0), params=1)
    cursor = database.execute_sql(sql, [record_id])
    row = cursor.fetchone()
    if row is None:
        return None
    names, converters = _row_shape(cursor.description, Project)
    return Project(**{name: convert(value) if convert else value
                      for name, convert, value in zip(names, converters, row)})


def record_with_project(record_id: int):
    """The ``Record`` (unlocked) with its ``Project`` set as ``record.project``, or None for no such
    record. One query, SQL built once."""
    from .models import Project

    sql = static_sql("record_with_project", lambda: Record.select(Record, Project)
                     .join(Project, on=(Record.project == Project.id)).where(Record.id == 0), params=1)
    cursor = database.execute_sql(sql, [record_id])
    row = cursor.fetchone()
    if row is None:
        return None
    split = len(Record._meta.sorted_fields)
    names, converters = _row_shape(cursor.description[:split], Record)
    record = {n: c(v) if c else v for n, c, v in zip(names, converters, row[:split])}
    names, converters = _row_shape(cursor.description[split:], Project)
    record["project"] = Project(**{n: c(v) if c else v for n, c, v in zip(names, converters, row[split:])})
    return Record(**record)


def record_titles(record_ids) -> dict[int, str]:
    """{id: title} of the given records. One query (none for no ids)."""
    ids = list(record_ids)
    if not ids:
        return {}
    param = database.obj.param
    return dict(database.execute_sql(f'SELECT "id", "title" FROM "record" WHERE ("id" IN '
                                     f'({", ".join([param] * len(ids))}))', ids).fetchall())


def tag_ids_by_name(project_id: int) -> list[tuple]:
    """(id, name) of every tag of a project. One query, SQL built once."""
    sql = static_sql("tag_ids_by_name", lambda: Tag.select(Tag.id, Tag.name).where(Tag.project == 0), params=1)
    return database.execute_sql(sql, [project_id]).fetchall()


def checklist_of(record_id: int) -> list[tuple]:
    """(id, text, done) of a record's checklist items in order. One query, SQL built once."""
    from .models import ChecklistItem

    sql = static_sql("checklist_of", lambda: ChecklistItem.select(ChecklistItem.id, ChecklistItem.text,
                                                                  ChecklistItem.done)
                     .where(ChecklistItem.record == 0).order_by(ChecklistItem.position), params=1)
    return [(i, text, bool(done)) for i, text, done in database.execute_sql(sql, [record_id]).fetchall()]


def blockers_of(record_id: int) -> list[tuple]:
    """(id, title) of the records blocking ``record_id``. One query, SQL built once."""
    from .models import Dependency

    sql = static_sql("blockers_of", lambda: Record.select(Record.id, Record.title)
                     .join(Dependency, on=(Dependency.blocked_by == Record.id))
                     .where(Dependency.record == 0), params=1)
    return database.execute_sql(sql, [record_id]).fetchall()


def field_rows() -> list[tuple]:
    """Every field definition of the workspace as ``(id, project_id, name, type, position, hidden,
    config)`` tuples (``hidden`` 0/1 on SQLite). One query; its SQL is built once."""
    sql = static_sql("field_rows", lambda: Field.select(Field.id, Field.project, Field.name, Field.type,
                                                         Field.position, Field.hidden, Field.config)
                     .order_by(Field.id))
    return database.execute_sql(sql).fetchall()


RECORD_INSERT_COLUMNS = ("project_id", "title", "description", "list_id", "assignee_id", "due_date",
                         "created_at", "updated_at", "list_entered_at", "created_by_id", "version", "archived")


def _insert_record_sql(in_list: bool, returning: bool) -> str:
    db = database.obj
    q, p = db.quote, db.param
    cols = ", ".join(f"{q[0]}{c}{q[1]}" for c in RECORD_INSERT_COLUMNS + ("position",))
    where = f"{q[0]}r{q[1]}.{q[0]}list_id{q[1]} " + (f"= {p}" if in_list else "IS NULL")
    top = (f"(SELECT COALESCE(MAX({q[0]}r{q[1]}.{q[0]}position{q[1]}), 0) + {p} "
           f"FROM {q[0]}record{q[1]} AS {q[0]}r{q[1]} WHERE {where})")
    values = ", ".join([p] * len(RECORD_INSERT_COLUMNS))
    return (f"INSERT INTO {q[0]}record{q[1]} ({cols}) VALUES ({values}, {top})"
            + (f" RETURNING {q[0]}id{q[1]}" if returning else ""))


def insert_record(values: tuple, position_step: int) -> int:
    """INSERT one record (``values`` in ``RECORD_INSERT_COLUMNS`` order) at the bottom of its list —
    position = the list's highest + ``position_step``, computed in the same statement — and return its
    id. One statement; the SQL text is built once per dialect."""
    db = database.obj
    list_id = values[RECORD_INSERT_COLUMNS.index("list_id")]
    returning = not is_sqlite() or bool(getattr(db, "returning_clause", False))
    sql = static_sql(f"insert_record:{list_id is not None}:{returning}",
                     lambda: _insert_record_sql(list_id is not None, returning))
    if is_sqlite():
        values = tuple(_sqlite_param(v) for v in values)
    params = list(values) + [position_step] + ([list_id] if list_id is not None else [])
    cursor = database.execute_sql(sql, params)
    return cursor.fetchone()[0] if returning else cursor.lastrowid


def _sqlite_param(value):
    """A value as peewee stores it in SQLite (timestamps and dates as ISO text, booleans 0/1)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def project_record_ids(project_id: int) -> list[int]:
    return [r for (r,) in Record.select(Record.id).where(Record.project == project_id).tuples()]


def in_transaction() -> bool:
    return database.obj.transaction_depth() > 0

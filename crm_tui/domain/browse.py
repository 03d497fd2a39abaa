"""Windows of records for big tables: the columns of a project, its records' ids in any order, and
the display cells of just the rows on screen.

>>> schema = load_schema("Clients")
>>> columns = table_columns(actor, schema)
>>> ids = ordered_ids(actor, schema, sort="field:12", descending=True, filters=Filters(search="gmbh"))
>>> rows = table_rows(actor, schema, columns, ids[5000:5030])     # 4 queries, whatever the columns

A table of 100,000 records costs one id-only query per sort/filter (covered by an index when sorted
by title) and one small batch per visible window; the caller keeps the id list and asks for the
window it is about to show. Every order ends in the record id, so it is total and stable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dc_field

from peewee import JOIN, SQL, NodeList, Ordering, fn

from ..db import queries
from ..db.connection import database
from ..db.models import Field, FieldValue, Record, RecordTag, StageList, Tag, User
from .actors import Actor
from .computed import evaluate_formulas
from .formulas import FormulaError
from .project_schema import FieldDef, ProjectSchema
from .record_views import TEXT_TYPES, visible_fields
from .values import ErrorValue, display_value, load_values

RIGHT_ALIGNED = ("number", "percent", "currency")


@dataclass(frozen=True)
class Filters:
    """What narrows a table or a board. ``search`` matches the title and every visible text field."""

    search: str = ""
    list_id: int | None = None
    tag_id: int | None = None
    assignee_id: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.search.strip()) or any(
            v is not None for v in (self.list_id, self.tag_id, self.assignee_id))


@dataclass(frozen=True)
class Column:
    """One column of a record table. ``key``: ``title``, ``list``, ``tags``, ``assignee``,
    ``due_date``, ``refby`` (referenced-by count) or ``field:<id>``."""

    key: str
    label: str
    align: str = "left"
    field: FieldDef | None = None
    ideal: int = 14  # cells it would like
    minimum: int = 4


@dataclass
class TableRow:
    id: int
    version: int
    cells: tuple[str, ...] = dc_field(default_factory=tuple)


def _ideal_width(fdef: FieldDef) -> int:
    kind = fdef.config.get("display_type") if fdef.computed else fdef.type
    return {"currency": 13, "number": 10, "percent": 7, "rating": 7, "checkbox": 3, "date": 10,
            "email": 22, "url": 24, "phone": 16, "address": 22, "long_text": 24, "dropdown": 12,
            "multi_select": 16, "reference": 18, "file": 14}.get(kind or "text", 16)


def is_referenced(schema: ProjectSchema) -> bool:
    """Does any reference field of the workspace point at this project?"""
    for (config,) in Field.select(Field.config).where(Field.type == "reference").tuples():
        if f'"target": {schema.id}' in config or f'"target":{schema.id}' in config:
            return True
    return False


def table_columns(actor: Actor, schema: ProjectSchema) -> list[Column]:
    """Title, list (when there are several), tags, assignee and due date (unless hidden), every
    visible custom field, and the referenced-by count when something can point here."""
    columns = [Column("title", "Title", ideal=28, minimum=10)]
    if len(schema.lists) > 1:
        columns.append(Column("list", "List", ideal=14))
    if schema.tags:
        columns.append(Column("tags", "Tags", ideal=14))
    if schema.shows("assignee"):
        columns.append(Column("assignee", "Assignee", ideal=9))
    if schema.shows("due_date"):
        columns.append(Column("due_date", "Due", ideal=10))
    for f in visible_fields(actor, schema, include_hidden_columns=False):
        display = f.config.get("display_type") if f.computed else f.type
        columns.append(Column(f"field:{f.id}", f.name, "right" if display in RIGHT_ALIGNED else "left", f,
                              ideal=_ideal_width(f)))
    if is_referenced(schema):
        columns.append(Column("refby", "Refs", "right", ideal=5, minimum=4))
    return columns


def filtered_query(actor: Actor, schema: ProjectSchema, filters: Filters = Filters()):
    """SELECT of the project's live records that pass ``filters`` (no order yet)."""
    fields = visible_fields(actor, schema)
    text_ids = [f.id for f in fields if f.type in TEXT_TYPES
                or (f.type == "lookup" and f.config.get("column") == "text")
                or (f.type == "formula" and f.config.get("result_kind") == "text")]
    query = queries.record_select(
        schema.id, list_ids=[filters.list_id] if filters.list_id is not None else None,
        tag_ids=[filters.tag_id] if filters.tag_id is not None else None,
        search=filters.search.strip() or None, text_field_ids=text_ids)
    if filters.assignee_id is not None:
        query = query.where(Record.assignee == filters.assignee_id)
    return query


def _is_null(expr):
    return NodeList((expr, SQL("IS NULL")))


def _storage_column(fdef: FieldDef) -> str:
    if fdef.type == "lookup":
        return fdef.config.get("column", "text")
    if fdef.type == "formula":
        return {"number": "number", "boolean": "number", "date": "date"}.get(
            fdef.config.get("result_kind", "number"), "text")
    if fdef.type in ("reference", "file"):
        return "ref" if fdef.type == "reference" else "file"
    from .field_types import get_field_type

    return get_field_type(fdef.type).column_for(fdef.config)


def _sorted(query, schema: ProjectSchema, sort: str, descending: bool):
    """``query`` ordered by the column ``sort`` (NULLs last both ways), then by id."""
    nullable = True
    if sort == "title":
        expr, nullable = Record.title, False
    elif sort == "list":
        lst = StageList.alias("sort_list")
        query = query.join_from(Record, lst, JOIN.LEFT_OUTER, on=(Record.list == lst.id))
        expr = lst.position
    elif sort == "assignee":
        user = User.alias("sort_user")
        query = query.join_from(Record, user, JOIN.LEFT_OUTER, on=(Record.assignee == user.id))
        expr = user.name
    elif sort in ("due_date", "created_at", "updated_at", "list_entered_at"):
        expr = getattr(Record, sort)
    elif sort == "tags":
        expr = (RecordTag.select(fn.MIN(Tag.name)).join(Tag, on=(RecordTag.tag == Tag.id))
                .where(RecordTag.record == Record.id))
    elif sort == "refby":
        referrer = Record.alias("sort_referrer")
        expr = (FieldValue.select(fn.COUNT(fn.DISTINCT(FieldValue.record)))
                .join(Field, on=((FieldValue.field == Field.id) & (Field.type == "reference")))
                .join_from(FieldValue, referrer, on=(FieldValue.record == referrer.id))
                .where((FieldValue.ref == Record.id) & (referrer.archived == False)))  # noqa: E712
        nullable = False
    elif sort.startswith("field:"):
        fdef = schema.field_by_id(int(sort.split(":", 1)[1]))
        value = FieldValue.alias("sort_value")
        query = query.join_from(Record, value, JOIN.LEFT_OUTER, on=(
            (value.record == Record.id) & (value.field == fdef.id) & (value.position == 0)))
        column = _storage_column(fdef)
        if column == "ref":
            target = Record.alias("sort_ref")
            query = query.join_from(value, target, JOIN.LEFT_OUTER, on=(value.ref == target.id))
            expr = target.title
        elif column == "file":
            expr = value.file
        else:
            expr = getattr(value, column)
    else:
        raise ValueError(f"cannot sort by {sort!r}")
    order = [_is_null(expr)] if nullable else []
    direction = "DESC" if descending else "ASC"
    order += [Ordering(expr, direction), Ordering(Record.id, direction)]
    return query.order_by(*order)


def ordered_ids(actor: Actor, schema: ProjectSchema, *, sort: str = "title", descending: bool = False,
                filters: Filters = Filters()) -> list[int]:
    """Ids of the project's live records passing ``filters``, in table order. One id-only query."""
    query = _sorted(filtered_query(actor, schema, filters).select(Record.id), schema, sort, descending)
    # the raw cursor: building 100k peewee row tuples costs more than the query itself
    return [row[0] for row in database.execute(query).fetchall()]


def count_records(actor: Actor, schema: ProjectSchema, filters: Filters = Filters()) -> int:
    return filtered_query(actor, schema, filters).count()


def _cell(column: Column, row: dict, values: dict, tags: list[str], refby: int) -> str:
    key = column.key
    if key == "title":
        return row["title"]
    if key == "list":
        return row["list_name"] or ""
    if key == "tags":
        return ", ".join(tags)
    if key == "assignee":
        return row["assignee_name"] or ""
    if key == "due_date":
        return row["due_date"].isoformat() if row["due_date"] else ""
    if key == "refby":
        return str(refby) if refby else ""
    value = values.get(column.field.id)
    if value is None:
        return ""
    try:
        return display_value(column.field, value).replace("\n", ", ")
    except Exception:  # a stored value of an unexpected shape: show it, never crash a table
        return str(value)


def table_rows(actor: Actor, schema: ProjectSchema, columns: list[Column], ids: list[int], *,
               today: dt.date | None = None) -> dict[int, TableRow]:
    """Display cells of the records ``ids`` for ``columns``: one query each for the records, their
    values, their tags and their referenced-by counts."""
    if not ids:
        return {}
    ids = list(ids)
    rows = list(queries.record_rows(Record.select().where(Record.id.in_(ids))))
    field_cols = [c.field for c in columns if c.field is not None]
    volatile = [f for f in field_cols if f.type == "formula" and f.config.get("uses_today")]
    # a TODAY() formula reads other fields, so load them all then
    values = load_values(schema, ids, field_ids=None if volatile else [f.id for f in field_cols]) \
        if field_cols else {}
    tags: dict[int, list[str]] = {}
    if any(c.key == "tags" for c in columns):
        for rid, name in queries.tags_of(ids):
            tags.setdefault(rid, []).append(name)
    refby = queries.referenced_by_counts(ids) if any(c.key == "refby" for c in columns) else {}
    out: dict[int, TableRow] = {}
    for row in rows:
        rid = row["id"]
        vals = values.get(rid, {})
        if volatile:  # TODAY() formulas are evaluated on read so they never go stale
            vals = dict(vals)
            vals.update(evaluate_formulas(volatile, schema.fields, vals, today))
            vals = {k: (ErrorValue(str(v)) if isinstance(v, FormulaError) else v) for k, v in vals.items()}
        cells = tuple(_cell(c, row, vals, tags.get(rid, []), refby.get(rid, 0)) for c in columns)
        out[rid] = TableRow(rid, row["version"], cells)
    return out


def find_titles(project_id: int, text: str, *, limit: int = 20) -> list[tuple[int, str]]:
    """Type-ahead over a project's titles: ``(id, title)``, titles starting with ``text`` first, then
    titles containing it. Two indexed queries of at most ``limit`` rows."""
    text = (text or "").strip()
    base = Record.select(Record.id, Record.title).where(
        (Record.project == project_id) & (Record.archived == False))  # noqa: E712
    if not text:
        return list(base.order_by(Record.title, Record.id).limit(limit).tuples())
    found = list(base.where(Record.title.startswith(text)).order_by(Record.title, Record.id)
                 .limit(limit).tuples())
    if len(found) < limit:
        seen = {rid for rid, _ in found}
        more = base.where(Record.title.contains(text)).order_by(Record.title, Record.id).limit(limit * 2)
        found += [(rid, title) for rid, title in more.tuples() if rid not in seen][:limit - len(found)]
    if text.lstrip("#").isdigit():
        row = base.where(Record.id == int(text.lstrip("#"))).tuples().first()
        if row and row[0] not in {rid for rid, _ in found}:
            found.insert(0, row)
    return found


def active_users() -> list[tuple[int, str, str]]:
    """``(id, name, display name)`` of every active user, by name."""
    return list(User.select(User.id, User.name, User.display_name).where(User.active == True)  # noqa: E712
                .order_by(User.name).tuples())


def record_version(record_id: int) -> int | None:
    row = Record.select(Record.version).where(Record.id == record_id).tuples().first()
    return row[0] if row else None

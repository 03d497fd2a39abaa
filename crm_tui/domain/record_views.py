"""Read records as the CLI and the TUI show them: JSON-ready dicts, a page at a time.

>>> show_record(actor, 12)                        # {"id", "project", "title", "list", "tags", …}
>>> list_records(actor, "Opportunities", list_name="Won", search="acme")

A page costs a fixed number of queries however many records and lookups it holds: the records, all
their values (lookups and formulas are stored), their tags, and who references them.
"""

from __future__ import annotations

import datetime as dt

from ..db import queries
from ..db.models import Record
from ..errors import NotFoundError
from .actors import Actor
from .computed import evaluate_formulas
from .project_schema import ProjectSchema, load_schema
from .formulas import FormulaError
from .values import ErrorValue, display_converter, json_converter, load_values

TEXT_TYPES = ("text", "long_text", "email", "phone", "url", "address", "dropdown", "multi_select")


def visible_fields(actor: Actor, schema: ProjectSchema, *, include_hidden_columns: bool = True):
    """Fields the actor may see; a formula or lookup fed by a hidden field is hidden too."""
    hidden = set(actor.hidden_fields)
    changed = True
    while changed:  # formulas over formulas: hide until stable
        changed = False
        for f in schema.fields:
            if f.id in hidden:
                continue
            inputs = f.config.get("refs", []) if f.type == "formula" else (
                [f.config.get("via"), f.config.get("of")] if f.type == "lookup" else [])
            if any(i in hidden for i in inputs):
                hidden.add(f.id)
                changed = True
    return [f for f in schema.fields if f.id not in hidden and (include_hidden_columns or not f.hidden)]


def _iso(value):
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def record_query(schema: ProjectSchema, *, list_name=None, tag=None, search=None, include_archived=False,
                 only_archived=False, actor: Actor | None = None):
    list_ids = [schema.list(list_name).id] if list_name else None
    tag_ids = None
    if tag:
        tags = [tag] if isinstance(tag, str) else list(tag)
        tag_ids = []
        for t in tags:
            tdef = schema.tag(t)
            if tdef is None:
                raise NotFoundError(f"project {schema.name!r} has no tag {t!r}; tags: "
                                    f"{', '.join(x.name for x in schema.tags) or 'none'}")
            tag_ids.append(tdef.id)
    fields = visible_fields(actor, schema) if actor else schema.fields
    text_ids = [f.id for f in fields if f.type in TEXT_TYPES
                or (f.type == "lookup" and f.config.get("column") == "text")]
    return queries.record_select(schema.id, list_ids=list_ids, tag_ids=tag_ids, search=search,
                                 text_field_ids=text_ids, include_archived=include_archived,
                                 only_archived=only_archived)


def records_as_dicts(actor: Actor, schema: ProjectSchema, query, *, with_referenced_by: bool = True,
                     today: dt.date | None = None, with_display: bool = False) -> list[dict]:
    """JSON dicts for the records of ``query`` (already ordered/limited) — 4 queries in all, read from
    the raw cursor.

    ``with_display`` adds ``"display": {field name: text as shown to people}`` ($1,234.50, ★★★☆☆)."""
    ids_query = queries.Rendered(query.select(Record.id))  # nested in the three reads below
    rows = list(queries.record_rows(query))
    if not rows:
        return []
    values = load_values(schema, ids_query)
    tags: dict[int, list[str]] = {}
    for rid, name in queries.tags_of(ids_query):
        tags.setdefault(rid, []).append(name)
    refs: dict[int, list[dict]] = {}
    if with_referenced_by:
        for target, rid, title, _, field_name, project_name in queries.referenced_by(ids_query):
            refs.setdefault(target, []).append({"id": rid, "project": project_name,
                                                "title": title, "field": field_name})
    fields = visible_fields(actor, schema)
    volatile = [f for f in fields if f.type == "formula" and f.config.get("uses_today")]
    # the type, config and display type of each field are read once, not once per record
    as_json = [(f.name, f.id, json_converter(f)) for f in fields]
    as_text = [(f.name, f.id, display_converter(f)) for f in fields] if with_display else []
    shows_due, shows_description = schema.shows("due_date"), schema.shows("description")
    empty: dict = {}
    out = []
    for row in rows:
        rid = row["id"]
        vals = values.get(rid, empty)
        if volatile:  # TODAY() formulas are evaluated on read so they never go stale
            vals = dict(vals)
            vals.update({fid: _formula_value(None, v)
                         for fid, v in evaluate_formulas(volatile, schema.fields, vals, today).items()})
        item = {
            "id": rid,
            "project": schema.name,
            "title": row["title"],
            "list": row["list_name"],
            "tags": tags.get(rid, []),
            "assignee": row["assignee_name"],
            "version": row["version"],
            # stored values are never FormulaError (an error is stored as text and read as ErrorValue)
            "fields": {name: to_json(vals.get(fid)) for name, fid, to_json in as_json},
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "list_entered_at": _iso(row["list_entered_at"]),
            "archived": bool(row["archived"]),
        }
        if shows_due:
            item["due_date"] = _iso(row["due_date"])
        if shows_description:
            item["description"] = row["description"]
        if with_referenced_by:
            item["referenced_by"] = refs.get(rid, [])
        if with_display:
            item["display"] = {name: to_text(vals.get(fid)) for name, fid, to_text in as_text}
        out.append(item)
    return out


def _formula_value(fdef, value):
    if isinstance(value, FormulaError):
        return ErrorValue(str(value))
    return value


def show_record(actor: Actor, record_id: int, *, with_display: bool = False) -> dict:
    project = queries.project_of_record(record_id)
    if project is None:
        raise NotFoundError(f"no record #{record_id}")
    schema = load_schema(project)
    query = Record.select().where(Record.id == record_id)
    item = records_as_dicts(actor, schema, query, with_display=with_display)[0]
    item["checklist"], item["blocked_by"] = _extras(schema, record_id)
    return item


def _extras(schema: ProjectSchema, record_id: int):
    checklist = [{"id": i, "text": text, "done": done} for i, text, done in queries.checklist_of(record_id)] \
        if schema.shows("checklist") else []
    blocked = [{"id": i, "title": title} for i, title in queries.blockers_of(record_id)] \
        if schema.shows("dependencies") else []
    return checklist, blocked


def list_records(actor: Actor, project, *, list_name=None, tag=None, search=None, include_archived=False,
                 limit: int | None = None) -> list[dict]:
    """Records of a project in board order (list position, then position in the list)."""
    from ..db.models import StageList
    from peewee import JOIN

    schema = project if isinstance(project, ProjectSchema) else load_schema(project)
    query = record_query(schema, list_name=list_name, tag=tag, search=search,
                         include_archived=include_archived, actor=actor)
    order_list = StageList.alias("order_list")
    query = (query.join(order_list, JOIN.LEFT_OUTER, on=(Record.list == order_list.id))
             .order_by(order_list.position, Record.position, Record.id))
    if limit:
        query = query.limit(limit)
    return records_as_dicts(actor, schema, query)

"""Conditions of a rule: ``field op value`` over a record's current state, all of which must hold.

>>> cond = compile_condition({"field": "Amount", "op": ">", "value": 10000}, schema)
>>> cond.check(state)          # state from load_states(): title, list, tags, assignee, values…

Fields are the record's custom fields (lookups and formulas included: they are stored values) and the
built-ins ``list``, ``tag``, ``assignee``, ``title``, ``description``, ``due_date``. Text compares
case-insensitively; a multi-valued field (multi-select, tags, multiple references, lookups through
them) matches ``=``/``contains``/``in`` when any of its values does, and ``!=`` when none does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dc_field
from decimal import Decimal, InvalidOperation

from ...db import queries
from ...db.models import Record, User
from ..field_types import get_field_type
from ..project_schema import FieldDef, ProjectSchema
from ..values import ErrorValue, load_values
from .rules import BUILTIN_CONDITION_FIELDS

NUMBER_TYPES = ("number", "percent", "currency", "rating")


def field_kind(fdef: FieldDef) -> str:
    """number | date | bool | text: how values of ``fdef`` compare."""
    t = fdef.type
    if t in ("formula",):
        return {"number": "number", "date": "date", "boolean": "bool"}.get(fdef.config.get("result_kind"), "text")
    if t == "lookup":
        t = fdef.config.get("display_type") or "text"
        if t == "formula":
            return "text"
    if t in NUMBER_TYPES:
        return "number"
    if t == "date":
        return "date"
    if t == "checkbox":
        return "bool"
    return "text"


def to_atom(kind: str, value, fdef: FieldDef | None = None):
    """A condition's value as the kind compares it; ``ValueError`` names what was expected."""
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, (int, float, Decimal)):
            return Decimal(str(value))
        try:
            if fdef is not None and fdef.type in NUMBER_TYPES:
                parsed = get_field_type(fdef.type).parse(str(value), fdef.config)
                return Decimal(parsed) if parsed is not None else None
            return Decimal(str(get_field_type("number").parse(str(value), {})))
        except (ValueError, InvalidOperation):
            raise ValueError("expected a number, e.g. 10000") from None
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return get_field_type("date").parse(str(value), {})
        except ValueError:
            raise ValueError("expected a date like 2026-07-01") from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        try:
            return bool(get_field_type("checkbox").parse(str(value), {}))
        except ValueError:
            raise ValueError("expected true or false") from None
    if isinstance(value, (dt.date, Decimal, int, float)) and not isinstance(value, bool):
        return str(value).casefold()
    return str(value).strip().casefold()


def record_atoms(kind: str, value) -> list:
    """The stored value of a record as a flat list of comparable atoms (empty: no value)."""
    if value is None or isinstance(value, ErrorValue):
        return []
    if isinstance(value, list):
        out = []
        for v in value:
            out.extend(record_atoms(kind, v))
        return out
    if isinstance(value, dict):
        value = value.get("title") or value.get("name") or value.get("id")
        return [] if value is None else [str(value).casefold()]
    if kind == "number":
        if isinstance(value, bool):
            return [Decimal(int(value))]
        try:
            return [Decimal(str(value))]
        except InvalidOperation:
            return []
    if kind == "date":
        if isinstance(value, dt.datetime):
            return [value.date()]
        if isinstance(value, dt.date):
            return [value]
        try:
            return [dt.date.fromisoformat(str(value)[:10])]
        except ValueError:
            return []
    if kind == "bool":
        return [bool(value)]
    text = str(value).strip()
    return [text.casefold()] if text else []


@dataclass
class Condition:
    field: str
    op: str
    value: object
    kind: str
    builtin: str | None = None  # list | tag | assignee | title | description | due_date
    field_id: int | None = None
    atoms: list = dc_field(default_factory=list)

    def check(self, state: dict) -> bool:
        if self.builtin == "tag":
            have = [t.casefold() for t in state.get("tags", [])]
        elif self.builtin:
            have = record_atoms(self.kind, state.get(self.builtin))
        else:
            have = record_atoms(self.kind, state.get("values", {}).get(self.field_id))
        op = self.op
        if op == "is_empty":
            return (not have) == bool(self.value)
        if op == "in":
            return any(h == a for h in have for a in self.atoms)
        target = self.atoms[0]
        if op == "=":
            return any(h == target for h in have)
        if op == "!=":
            return not any(h == target for h in have)
        if op == "contains":
            if self.kind == "text":
                return any(target in h for h in have)
            return any(h == target for h in have)
        try:
            if op == "<":
                return any(h < target for h in have)
            if op == ">":
                return any(h > target for h in have)
        except TypeError:
            return False
        raise AssertionError(op)


def compile_condition(cond: dict, schema: ProjectSchema) -> Condition:
    name = cond["field"]
    builtin = BUILTIN_CONDITION_FIELDS.get(name.strip().casefold())
    fdef = None if builtin else schema.field(name)
    kind = "date" if builtin == "due_date" else ("text" if builtin else field_kind(fdef))
    c = Condition(field=name, op=cond["op"], value=cond.get("value"), kind=kind, builtin=builtin,
                  field_id=fdef.id if fdef else None)
    if c.op == "is_empty":
        return c
    values = c.value if c.op == "in" else [c.value]
    c.atoms = [to_atom(kind, v, fdef) for v in values]
    if builtin == "list":
        known = {l.name.casefold() for l in schema.lists}
        for v in values:
            if str(v).strip().casefold() not in known:
                raise ValueError(f"{schema.name} has no such list; lists: "
                                 + ", ".join(l.name for l in schema.lists))
    return c


def compile_all(conditions: list[dict], schema: ProjectSchema) -> list[Condition]:
    return [compile_condition(c, schema) for c in conditions]


def load_states(schema: ProjectSchema, record_ids: list[int], *, field_ids=None, with_tags: bool = True) -> dict:
    """``{record id: state}`` for conditions and merge tags: three queries for any number of records.
    Archived records are included (``archived`` tells); a purged one is simply missing."""
    if not record_ids:
        return {}
    from peewee import JOIN

    from ...db.models import StageList

    rows = (Record.select(Record.id, Record.title, Record.description, Record.due_date, Record.archived,
                          Record.list, Record.assignee, Record.list_entered_at, Record.updated_at,
                          StageList.name.alias("list_name"), User.name.alias("assignee_name"),
                          Record.project)
            .join_from(Record, StageList, JOIN.LEFT_OUTER, on=(Record.list == StageList.id))
            .join_from(Record, User, JOIN.LEFT_OUTER, on=(Record.assignee == User.id))
            .where(Record.id.in_(record_ids)).dicts())
    states: dict[int, dict] = {}
    for r in rows:
        states[r["id"]] = {"id": r["id"], "title": r["title"], "description": r["description"],
                           "due_date": r["due_date"], "archived": bool(r["archived"]), "list": r["list_name"],
                           "list_id": r["list"], "assignee": r["assignee_name"], "assignee_id": r["assignee"],
                           "list_entered_at": r["list_entered_at"], "updated_at": r["updated_at"],
                           "project_id": r["project"], "tags": [], "values": {}}
    if with_tags:
        for rid, name in queries.tags_of(list(states)):
            states[rid]["tags"].append(name)
    if field_ids is None or field_ids:
        for rid, vals in load_values(schema, list(states), field_ids=field_ids).items():
            states[rid]["values"] = vals
    return states

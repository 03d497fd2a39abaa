"""Define a workspace's shape: projects, lists (stages), tags and custom fields.

>>> add_project(actor, "Clients")
>>> add_list(actor, "Opportunities", "Won", probability=100, kind="won")
>>> add_field(actor, "Opportunities", "Profit", "formula", formula="{Amount} - {Cost}")

Defining a formula rejects unknown fields and cycles; defining a lookup checks that it goes through a
reference field to a field of the referenced project. Both are computed for existing records at once.
"""

from __future__ import annotations

import json
import re

from peewee import fn

from ..db.connection import run_write
from ..db.models import Field, Project, StageList, Tag
from ..errors import NotFoundError, PermissionDenied, ValidationError
from .actors import Actor
from .computed import FieldGraph, rebuild_field
from .field_types import FIELD_TYPES, get_field_type
from .formulas import FormulaSyntaxError, compile_formula
from .project_schema import DEFAULT_FIELDS, LIST_KINDS, FieldDef, find_project, load_schema

RESERVED_FIELD_NAMES = {"title", "list", "tags", "assignee", "description", "due date", "due_date", "id"}
NUMBER_KIND_TYPES = {"number", "percent", "currency", "rating"}


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"only an admin can {what}")


def _clean_name(kind: str, name) -> str:
    text = (name or "").strip() if isinstance(name, str) else ""
    if not text:
        raise ValidationError(f"{kind} name", name or "", "a name is needed")
    if len(text) > 200:
        raise ValidationError(f"{kind} name", text[:40] + "…", "at most 200 characters")
    if "{" in text or "}" in text:
        raise ValidationError(f"{kind} name", text, "braces { } are reserved for formulas")
    return text


def add_project(actor: Actor, name: str, *, hidden_defaults=(), settings: dict | None = None) -> Project:
    _require_admin(actor, "add projects")
    name = _clean_name("project", name)
    bad = [h for h in hidden_defaults if h not in DEFAULT_FIELDS]
    if bad:
        raise ValidationError("hidden default field", bad[0], f"expected one of {', '.join(DEFAULT_FIELDS)}")

    def write():
        if Project.select().where(fn.LOWER(Project.name) == name.lower()).exists():
            raise ValidationError("project name", name, "a project with this name exists")
        position = (Project.select(fn.MAX(Project.position)).scalar() or 0) + 1
        return Project.create(name=name, position=position, hidden_defaults=json.dumps(list(hidden_defaults)),
                              settings=json.dumps(settings or {}))

    return run_write(write)


def set_hidden_defaults(actor: Actor, project, hidden) -> None:
    _require_admin(actor, "change projects")
    bad = [h for h in hidden if h not in DEFAULT_FIELDS]
    if bad:
        raise ValidationError("hidden default field", bad[0], f"expected one of {', '.join(DEFAULT_FIELDS)}")
    p = find_project(project)
    run_write(lambda: Project.update(hidden_defaults=json.dumps(list(hidden))).where(Project.id == p.id).execute())


def add_list(actor: Actor, project, name: str, *, probability=0, kind: str = "open",
             aging_days: int = 14) -> StageList:
    _require_admin(actor, "change lists")
    p = find_project(project)
    name = _clean_name("list", name)
    try:
        probability = int(str(probability).rstrip("%"))
    except ValueError:
        raise ValidationError("probability", str(probability), "expected a whole number from 0 to 100") from None
    if not 0 <= probability <= 100:
        raise ValidationError("probability", str(probability), "expected a whole number from 0 to 100")
    if kind not in LIST_KINDS:
        raise ValidationError("kind", kind, f"expected one of {', '.join(LIST_KINDS)}")
    if int(aging_days) < 1:
        raise ValidationError("aging days", str(aging_days), "expected at least 1")

    def write():
        if StageList.select().where((StageList.project == p.id)
                                    & (fn.LOWER(StageList.name) == name.lower())).exists():
            raise ValidationError("list name", name, f"project {p.name!r} already has this list")
        position = (StageList.select(fn.MAX(StageList.position)).where(StageList.project == p.id).scalar() or 0) + 1
        return StageList.create(project=p.id, name=name, position=position, probability=probability, kind=kind,
                                aging_days=int(aging_days))

    return run_write(write)


def update_list(actor: Actor, project, name: str, *, new_name=None, probability=None, kind=None,
                aging_days=None) -> None:
    _require_admin(actor, "change lists")
    schema = load_schema(project)
    lst = schema.list(name)
    changes = {}
    if new_name is not None:
        changes["name"] = _clean_name("list", new_name)
    if probability is not None:
        if not 0 <= int(probability) <= 100:
            raise ValidationError("probability", str(probability), "expected a whole number from 0 to 100")
        changes["probability"] = int(probability)
    if kind is not None:
        if kind not in LIST_KINDS:
            raise ValidationError("kind", kind, f"expected one of {', '.join(LIST_KINDS)}")
        changes["kind"] = kind
    if aging_days is not None:
        changes["aging_days"] = int(aging_days)
    if changes:
        run_write(lambda: StageList.update(**changes).where(StageList.id == lst.id).execute())


def move_list(actor: Actor, project, name: str, offset: int) -> None:
    """Reorder: swap the list with its neighbour ``offset`` (−1 left, +1 right)."""
    _require_admin(actor, "change lists")
    schema = load_schema(project)
    lst = schema.list(name)
    index = [l.id for l in schema.lists].index(lst.id)
    other = index + offset
    if not 0 <= other < len(schema.lists):
        return
    ordered = list(schema.lists)
    ordered[index], ordered[other] = ordered[other], ordered[index]

    def write():
        for pos, item in enumerate(ordered, start=1):
            StageList.update(position=pos).where(StageList.id == item.id).execute()

    run_write(write)


def add_tag(actor: Actor, project, name: str, color: str = "") -> Tag:
    p = find_project(project)
    name = _clean_name("tag", name)

    def write():
        existing = Tag.get_or_none((Tag.project == p.id) & (fn.LOWER(Tag.name) == name.lower()))
        if existing:
            return existing
        return Tag.create(project=p.id, name=name, color=color or "")

    return run_write(write)


def field_kind(fdef: FieldDef) -> str:
    """How a formula sees a field: number | text | date | boolean."""
    if fdef.type in NUMBER_KIND_TYPES:
        return "number"
    if fdef.type == "date":
        return "date"
    if fdef.type == "checkbox":
        return "boolean"
    if fdef.type == "formula":
        return fdef.config.get("result_kind", "number")
    if fdef.type == "lookup":
        return {"number": "number", "date": "date"}.get(fdef.config.get("column"), "text")
    return "text"


def add_field(actor: Actor, project, name: str, type_name: str, *, options=(), multiple: bool = False,
              currency: str | None = None, max_rating=None, target=None, via=None, of=None,
              formula: str | None = None, hidden: bool = False) -> FieldDef:
    """Add a custom field of any type; see the module docstring. Returns its definition."""
    _require_admin(actor, "change fields")
    schema = load_schema(project)
    name = _clean_name("field", name)
    if name.casefold() in RESERVED_FIELD_NAMES:
        raise ValidationError("field name", name, "is a built-in name; choose another")
    if schema.field_or_none(name):
        raise ValidationError("field name", name, f"project {schema.name!r} already has this field")
    type_name = (type_name or "").strip().lower().replace("-", "_")
    if type_name not in FIELD_TYPES:
        raise ValidationError("field type", type_name, f"expected one of {', '.join(FIELD_TYPES)}")
    config: dict = {}
    if type_name in ("dropdown", "multi_select"):
        opts = []
        for opt in options or ():
            text = str(opt).strip()
            if text and text.casefold() not in {o.casefold() for o in opts}:
                opts.append(text)
        if not opts:
            raise ValidationError(f"{name} options", "", "a dropdown needs at least one --option")
        config["options"] = opts
    if type_name == "currency":
        code = (currency or "USD").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValidationError(f"{name} currency", currency, "expected a 3-letter ISO code like USD or EUR")
        config["currency"] = code
    if type_name == "rating":
        try:
            top = int(max_rating) if max_rating is not None else 5
        except ValueError:
            raise ValidationError(f"{name} max", str(max_rating), "expected a whole number from 1 to 10") from None
        if not 1 <= top <= 10:
            raise ValidationError(f"{name} max", str(max_rating), "expected a whole number from 1 to 10")
        config["max"] = top
    if type_name in ("reference", "file"):
        config["multiple"] = bool(multiple)
    if type_name == "reference":
        if target is None:
            raise ValidationError(f"{name} target", "", "a reference needs --target PROJECT")
        config["target"] = find_project(target).id
    if type_name == "lookup":
        config.update(_lookup_config(schema, name, via, of))
    if type_name == "formula":
        config.update(_formula_config(schema, name, formula))
    get_field_type(type_name)  # the registry knows it

    def write():
        position = (Field.select(fn.MAX(Field.position)).where(Field.project == schema.id).scalar() or 0) + 1
        row = Field.create(project=schema.id, name=name, type=type_name, position=position, hidden=hidden,
                           config=json.dumps(config))
        fdef = FieldDef(row.id, schema.id, name, type_name, position, hidden, config)
        if fdef.computed:
            graph = FieldGraph()
            cycle = graph.creates_cycle(fdef)
            if cycle:
                raise ValidationError(name, formula or f"{via} → {of}",
                                      "would make a cycle: " + " → ".join(cycle))
            rebuild_field(fdef, graph)
        return fdef

    return run_write(write)


def _lookup_config(schema, name, via, of) -> dict:
    if not via or not of:
        raise ValidationError(f"{name}", via or "", "a lookup needs --via REFERENCE_FIELD --of FIELD")
    via_def = schema.field(str(via))
    if via_def.type != "reference":
        raise ValidationError(f"{name} via", str(via), f"{via_def.name!r} is a {via_def.type} field, "
                              "not a reference")
    target_schema = load_schema(via_def.config["target"])
    config = {"via": via_def.id}
    if str(of).strip().casefold() == "title":
        config.update(of="title", column="text", display_type="text", display_config={},
                      multiple=bool(via_def.config.get("multiple")))
        return config
    of_def = target_schema.field(str(of))
    column, display, dcfg, multi = _value_shape(of_def)
    config.update(of=of_def.id, column=column, display_type=display, display_config=dcfg,
                  multiple=bool(via_def.config.get("multiple")) or multi)
    return config


def _value_shape(fdef: FieldDef):
    """(column, display type, display config, multi-valued) of the values a field stores."""
    if fdef.type == "lookup":
        c = fdef.config
        return c.get("column", "text"), c.get("display_type", "text"), c.get("display_config", {}), \
            bool(c.get("multiple"))
    if fdef.type == "formula":
        kind = fdef.config.get("result_kind", "number")
        column = {"number": "number", "boolean": "number", "date": "date"}.get(kind, "text")
        display = fdef.config.get("display_type") or {"number": "number", "boolean": "checkbox",
                                                       "date": "date"}.get(kind, "text")
        return column, display, fdef.config.get("display_config", {}), False
    if fdef.type == "reference":
        return "ref", "reference", fdef.config, bool(fdef.config.get("multiple"))
    if fdef.type == "file":
        return "file", "file", fdef.config, bool(fdef.config.get("multiple"))
    ftype = get_field_type(fdef.type)
    return ftype.column_for(fdef.config), fdef.type, fdef.config, ftype.multi_valued(fdef.config)


def _formula_config(schema, name, formula) -> dict:
    if not formula or not str(formula).strip():
        raise ValidationError(f"{name}", "", "a formula field needs --formula EXPR")
    kinds = {f.name: field_kind(f) for f in schema.fields}
    try:
        compiled = compile_formula(str(formula), known_fields=list(kinds), field_kinds=kinds)
    except FormulaSyntaxError as exc:
        raise ValidationError(f"{name} formula", str(formula), str(exc)) from None
    if any(r.casefold() == name.casefold() for r in compiled.references):
        raise ValidationError(f"{name} formula", str(formula), "a formula cannot refer to its own field")
    refs = [schema.field(r) for r in compiled.references]
    kind = compiled.result_kind()
    config = {"formula": str(formula).strip(), "refs": [f.id for f in refs], "result_kind": kind,
              "uses_today": compiled.uses_today}
    currencies = {f.config.get("currency", "USD") for f in refs if f.type == "currency"} | \
                 {f.config.get("display_config", {}).get("currency") for f in refs
                  if f.type in ("formula", "lookup") and f.config.get("display_type") == "currency"}
    currencies.discard(None)
    if kind == "number" and len(currencies) == 1:
        config["display_type"] = "currency"
        config["display_config"] = {"currency": currencies.pop()}
    return config


def rename_field(actor: Actor, project, name: str, new_name: str) -> None:
    """Rename a field; formulas that mention it are rewritten to the new name."""
    _require_admin(actor, "change fields")
    schema = load_schema(project)
    fdef = schema.field(name)
    new_name = _clean_name("field", new_name)
    if new_name.casefold() in RESERVED_FIELD_NAMES:
        raise ValidationError("field name", new_name, "is a built-in name; choose another")
    other = schema.field_or_none(new_name)
    if other and other.id != fdef.id:
        raise ValidationError("field name", new_name, f"project {schema.name!r} already has this field")
    pattern = re.compile(r"\{\s*" + re.escape(fdef.name) + r"\s*\}", re.IGNORECASE)

    def write():
        Field.update(name=new_name).where(Field.id == fdef.id).execute()
        for f in schema.fields:
            if f.type == "formula" and fdef.id in f.config.get("refs", []):
                cfg = dict(f.config)
                cfg["formula"] = pattern.sub("{" + new_name + "}", cfg["formula"])
                Field.update(config=json.dumps(cfg)).where(Field.id == f.id).execute()

    run_write(write)


def set_field_hidden(actor: Actor, project, name: str, hidden: bool) -> None:
    _require_admin(actor, "change fields")
    fdef = load_schema(project).field(name)
    run_write(lambda: Field.update(hidden=hidden).where(Field.id == fdef.id).execute())


def move_field(actor: Actor, project, name: str, offset: int) -> None:
    _require_admin(actor, "change fields")
    schema = load_schema(project)
    fdef = schema.field(name)
    ordered = list(schema.fields)
    index = [f.id for f in ordered].index(fdef.id)
    other = index + offset
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]

    def write():
        for pos, f in enumerate(ordered, start=1):
            Field.update(position=pos).where(Field.id == f.id).execute()

    run_write(write)


def delete_field(actor: Actor, project, name: str) -> None:
    """Delete a field and its values; refused while a formula or lookup depends on it."""
    _require_admin(actor, "change fields")
    schema = load_schema(project)
    fdef = schema.field(name)
    graph = FieldGraph()
    users = [f.name for f in graph.fields.values() if fdef.id in graph.inputs_of(f)]
    if users:
        raise ValidationError("field", fdef.name, "still used by " + ", ".join(users) + "; delete those first")
    run_write(lambda: Field.delete().where(Field.id == fdef.id).execute())


def projects_summary() -> list[dict]:
    """Every project with its record count (one grouped query)."""
    from ..db.models import Record

    counts = dict(Record.select(Record.project, fn.COUNT(Record.id)).where(Record.archived == False)  # noqa: E712
                  .group_by(Record.project).tuples())
    return [{"id": p.id, "name": p.name, "records": counts.get(p.id, 0)}
            for p in Project.select().order_by(Project.position, Project.id)]


__all__ = ["add_project", "add_list", "add_tag", "add_field", "rename_field", "NotFoundError"]

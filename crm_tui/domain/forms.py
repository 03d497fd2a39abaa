"""Lead-capture forms: which fields a project's web form asks, and turning a submission into a record.

>>> add_form(actor, "Leads", "Contact us", fields=["Email", "Phone"], required=["Email"],
...          list_name="New", tags=["Website"], thanks="Thanks, we'll call you.")
>>> submit_form("contact-us", {"title": "Ada", "Email": "ada@example.com"}, actor)   # → (12, {})

A submission is validated field by field so every error can be shown next to its input; a valid one
becomes a record through ``records.create_record`` (one transaction, with its "created" event, so
automations such as lead assignment run on it). The web part lives in ``crm_tui.forms_server``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from ..db.connection import run_write
from ..db.form_models import Form
from ..db.models import Project, User
from ..errors import NotFoundError, PermissionDenied, ValidationError
from .actors import Actor
from .project_schema import FieldDef, ProjectSchema, load_schema

MAX_INPUT_CHARS = 10_000
UNSUPPORTED = ("formula", "lookup", "file")


@dataclass
class FormField:
    fdef: FieldDef
    required: bool


@dataclass
class FormSpec:
    """A form ready to render: its project's schema and its fields, in order."""

    id: int
    name: str
    slug: str
    schema: ProjectSchema
    title_label: str
    fields: list[FormField]
    list_name: str | None
    tags: list[str]
    assignee: str | None
    thanks: str


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "form"


def add_form(actor: Actor, project, name: str, *, fields=(), required=(), list_name=None, tags=(),
             assignee=None, thanks=None, slug=None, title_label=None) -> dict:
    """Add a form to ``project`` (admins only); returns it as :func:`list_forms` shows it."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin can add forms")
    schema = load_schema(project)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("form name", name, "give a name of 1 to 200 characters")
    asked: list[str] = []
    for fname in list(fields) + [r for r in required if r.strip().casefold() != "title"]:
        fdef = schema.field(fname)  # NotFoundError lists the fields
        if fdef.type in UNSUPPORTED:
            raise ValidationError("form field", fdef.name, f"a {fdef.type} field cannot be filled in a web form")
        if fdef.name not in asked:
            asked.append(fdef.name)
    required_names = {schema.field(r).name for r in required if r.strip().casefold() != "title"}
    spec = [{"field": schema.field(n).id, "required": n in required_names} for n in asked]
    lst = schema.list(list_name) if list_name else None
    user = None
    if assignee:
        user = User.get_or_none((User.name == assignee.strip()) & (User.active == True))  # noqa: E712
        if user is None:
            raise ValidationError("assignee", assignee, "no such user (see `crm-tui user list`)")
    tag_names = [t.strip() for t in tags if t and t.strip()]
    base = slugify(slug or name)
    if slug and base != slug:
        raise ValidationError("slug", slug, "use lower-case letters, digits and dashes, e.g. contact-us")

    def write():
        chosen, n = base, 1
        while Form.select().where(Form.slug == chosen).exists():
            if slug:
                raise ValidationError("slug", slug, "another form has this address")
            n += 1
            chosen = f"{base}-{n}"
        form = Form.create(project=schema.id, name=name, slug=chosen, title_label=(title_label or "Name").strip(),
                           fields=json.dumps(spec), list=lst.id if lst else None, tags=json.dumps(tag_names),
                           assignee=user.id if user else None,
                           thanks=(thanks or "").strip() or Form.thanks.default, created_by=actor.id)
        return form.id

    form_id = run_write(write)
    return next(f for f in list_forms() if f["id"] == form_id)


def list_forms(project=None) -> list[dict]:
    query = Form.select().order_by(Form.id)
    if project is not None:
        schema = load_schema(project)
        query = query.where(Form.project == schema.id)
    out = []
    for form in query:
        spec = load_form(form)
        out.append({
            "id": form.id, "name": form.name, "slug": form.slug, "project": spec.schema.name,
            "title_label": spec.title_label,
            "fields": [{"name": f.fdef.name, "type": f.fdef.type, "required": f.required} for f in spec.fields],
            "list": spec.list_name, "tags": spec.tags, "assignee": spec.assignee, "thanks": spec.thanks,
            "url": f"/f/{form.slug}",
        })
    return out


def _find(ref) -> Form:
    text = str(ref).strip()
    form = Form.get_or_none(Form.slug == text)
    if form is None and text.lstrip("#").isdigit():
        form = Form.get_or_none(Form.id == int(text.lstrip("#")))
    if form is None:
        names = ", ".join(f.slug for f in Form.select(Form.slug)) or "none"
        raise NotFoundError(f"no form {text!r}; forms: {names}")
    return form


def remove_form(actor: Actor, ref) -> str:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can remove forms")
    form = _find(ref)
    run_write(lambda: Form.delete().where(Form.id == form.id).execute())
    return form.name


def load_form(ref) -> FormSpec:
    """A form by slug, id or row, with its fields resolved against the project's current schema."""
    form = ref if isinstance(ref, Form) else _find(ref)
    schema = load_schema(form.project_id)
    by_id = {f.id: f for f in schema.fields}
    fields = [FormField(by_id[item["field"]], bool(item.get("required")))
              for item in json.loads(form.fields or "[]") if item.get("field") in by_id]
    lst = schema.list_by_id(form.list_id)
    assignee = User.get_or_none(User.id == form.assignee_id) if form.assignee_id else None
    return FormSpec(form.id, form.name, form.slug, schema, form.title_label or "Name", fields,
                    lst.name if lst else None, json.loads(form.tags or "[]"), assignee.name if assignee else None,
                    form.thanks)


def active_forms() -> list[tuple[str, str, str]]:
    """(slug, name, project name) of the forms to list on the index page."""
    names = dict(Project.select(Project.id, Project.name).tuples())
    return [(f.slug, f.name, names.get(f.project_id, "")) for f in
            Form.select().where(Form.active == True).order_by(Form.name)]  # noqa: E712


def validate_submission(spec: FormSpec, data: dict[str, str]) -> tuple[str, dict, dict[str, str]]:
    """Check every input on its own. Returns (title, {field name: raw value}, {input name: error})."""
    from .values import prepare_values

    errors: dict[str, str] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = f"{spec.title_label} is required"
    elif len(title) > 500:
        errors["title"] = "at most 500 characters"
    values: dict[str, object] = {}
    for item in spec.fields:
        fdef = item.fdef
        key = input_name(fdef)
        if fdef.type == "multi_select":
            chosen = data.get(key) or []
            raw = "; ".join(chosen) if isinstance(chosen, list) else str(chosen)
        elif fdef.type == "checkbox":
            raw = "yes" if data.get(key) else "no"
        else:
            raw = data.get(key) or ""
            if isinstance(raw, list):
                raw = raw[0] if raw else ""
        if len(raw) > MAX_INPUT_CHARS:
            errors[key] = f"at most {MAX_INPUT_CHARS:,} characters"
            continue
        if not raw.strip() or (fdef.type == "checkbox" and raw == "no" and item.required):
            if item.required:
                errors[key] = "this field is required"
            continue
        try:
            prepare_values(spec.schema, {fdef.name: raw})
        except ValidationError as exc:
            errors[key] = exc.reason
            continue
        values[fdef.name] = raw
    return title, values, errors


def submit_form(ref, data: dict, actor: Actor) -> tuple[int | None, dict[str, str]]:
    """Validate a submission and create the record. Returns (record id, {}) or (None, errors)."""
    from .records import create_record

    spec = ref if isinstance(ref, FormSpec) else load_form(ref)
    title, values, errors = validate_submission(spec, data)
    if errors:
        return None, errors
    record_id = create_record(actor, spec.schema, title, list_name=spec.list_name, tags=spec.tags,
                              values=values, assignee=spec.assignee)
    return record_id, {}


def input_name(fdef: FieldDef) -> str:
    """The HTML input name of a field: stable across renames (``f<id>``)."""
    return f"f{fdef.id}"


def reference_choices(fdef: FieldDef, limit: int = 500) -> list[str]:
    """Titles offered for a reference input (a ``<datalist>``; typing another title works too)."""
    from ..db.models import Record

    return [t for (t,) in Record.select(Record.title).where(
        (Record.project == fdef.config.get("target")) & (Record.archived == False))  # noqa: E712
        .order_by(Record.title).limit(limit).tuples()]


__all__ = ["add_form", "list_forms", "remove_form", "load_form", "submit_form", "validate_submission",
           "FormSpec", "FormField", "input_name", "active_forms"]

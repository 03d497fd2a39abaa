"""A project's shape in memory — its lists, tags and fields — loaded in three small queries.

>>> schema = load_schema("Opportunities")
>>> schema.field("amount").type, [l.name for l in schema.lists]

Every service works from a ``ProjectSchema`` instead of querying field definitions per record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field as dc_field

from ..db.models import Field, Project, StageList, Tag
from ..errors import NotFoundError

DEFAULT_FIELDS = ("due_date", "assignee", "dependencies", "checklist", "description")
LIST_KINDS = ("open", "won", "lost", "closed")


@dataclass
class FieldDef:
    id: int
    project_id: int
    name: str
    type: str
    position: int
    hidden: bool
    config: dict

    @property
    def computed(self) -> bool:
        return self.type in ("formula", "lookup")


@dataclass
class ListDef:
    id: int
    name: str
    position: int
    probability: int
    kind: str
    aging_days: int


@dataclass
class TagDef:
    id: int
    name: str
    color: str


@dataclass
class ProjectSchema:
    id: int
    name: str
    hidden_defaults: list[str]
    settings: dict
    lists: list[ListDef] = dc_field(default_factory=list)
    tags: list[TagDef] = dc_field(default_factory=list)
    fields: list[FieldDef] = dc_field(default_factory=list)

    def field(self, name: str) -> FieldDef:
        key = name.strip().casefold()
        for f in self.fields:
            if f.name.casefold() == key:
                return f
        names = ", ".join(f.name for f in self.fields) or "none"
        raise NotFoundError(f"project {self.name!r} has no field {name!r}; fields: {names}")

    def field_or_none(self, name: str) -> FieldDef | None:
        try:
            return self.field(name)
        except NotFoundError:
            return None

    def field_by_id(self, field_id: int) -> FieldDef:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise NotFoundError(f"no field #{field_id} in project {self.name!r}")

    def list(self, name: str) -> ListDef:
        key = name.strip().casefold()
        for lst in self.lists:
            if lst.name.casefold() == key:
                return lst
        names = ", ".join(lst.name for lst in self.lists) or "none"
        raise NotFoundError(f"project {self.name!r} has no list {name!r}; lists: {names}")

    def list_by_id(self, list_id: int | None) -> ListDef | None:
        for lst in self.lists:
            if lst.id == list_id:
                return lst
        return None

    def tag(self, name: str) -> TagDef | None:
        key = name.strip().casefold()
        for t in self.tags:
            if t.name.casefold() == key:
                return t
        return None

    def restricted_to(self, fields: list[FieldDef]) -> "ProjectSchema":
        """A copy that knows only ``fields`` (what one user may see): lookups by name and error messages
        never reveal the others."""
        return ProjectSchema(self.id, self.name, self.hidden_defaults, self.settings, self.lists, self.tags,
                             list(fields))

    def shows(self, default_field: str) -> bool:
        return default_field not in self.hidden_defaults


def find_project(ref: str | int) -> Project:
    """A project by exact id, or by name (case-insensitive)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        project = Project.get_or_none(Project.id == int(ref))
        if project:
            return project
    text = str(ref).strip()
    project = Project.get_or_none(Project.name == text)
    if project is None:
        for candidate in Project.select():
            if candidate.name.casefold() == text.casefold():
                return candidate
        names = ", ".join(p.name for p in Project.select(Project.name).order_by(Project.position, Project.id))
        raise NotFoundError(f"no project {text!r}; projects: {names or 'none (run crm-tui init)'}")
    return project


def load_schema(ref: str | int | Project) -> ProjectSchema:
    project = ref if isinstance(ref, Project) else find_project(ref)
    schema = ProjectSchema(
        id=project.id,
        name=project.name,
        hidden_defaults=json.loads(project.hidden_defaults or "[]"),
        settings=json.loads(project.settings or "{}"),
    )
    schema.lists = [ListDef(l.id, l.name, l.position, l.probability, l.kind, l.aging_days)
                    for l in StageList.select().where(StageList.project == project.id)
                    .order_by(StageList.position, StageList.id)]
    schema.tags = [TagDef(t.id, t.name, t.color) for t in
                   Tag.select().where(Tag.project == project.id).order_by(Tag.name)]
    schema.fields = [field_def(f) for f in
                     Field.select().where(Field.project == project.id).order_by(Field.position, Field.id)]
    return schema


def field_def(f: Field) -> FieldDef:
    return FieldDef(f.id, f.project_id, f.name, f.type, f.position, f.hidden, json.loads(f.config or "{}"))


def all_field_defs() -> dict[int, FieldDef]:
    """Every field of the workspace by id (for dependency graphs across projects)."""
    return {f.id: field_def(f) for f in Field.select()}

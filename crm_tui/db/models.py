"""Peewee models: the tables of a crm-tui workspace.

One database is one workspace: users, projects (each with ordered lists, tags and custom fields),
records, their field values, attachments, checklist items, dependencies and the activity log.
Custom-field values live in ``field_value`` with typed columns (see docs/design.md); numbers are
BIGINT millionths so SQL sums are exact.
"""

from __future__ import annotations

import datetime as dt

from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .connection import database


def utcnow() -> dt.datetime:
    """Naive UTC timestamp, microsecond precision (what every table stores)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaInfo(BaseModel):
    """Key/value facts about the database itself: ``schema_version``, ``created_at``."""

    key = CharField(primary_key=True, max_length=64)
    value = TextField()


class User(BaseModel):
    name = CharField(max_length=100, unique=True)
    display_name = CharField(max_length=200, default="")
    email = CharField(max_length=320, default="")
    active = BooleanField(default=True)
    is_admin = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class Project(BaseModel):
    name = CharField(max_length=200, unique=True)
    position = IntegerField(default=0)
    # JSON list of default fields this project hides: due_date, assignee, dependencies, checklist,
    # description.
    hidden_defaults = TextField(default="[]")
    # JSON object: default_currency_field, show_referenced_by, …
    settings = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)


class StageList(BaseModel):
    """A list of a project — a sales stage in the pipeline. Table ``list``."""

    project = ForeignKeyField(Project, backref="lists", on_delete="CASCADE")
    name = CharField(max_length=200)
    position = IntegerField(default=0)
    probability = IntegerField(default=0)  # win probability 0–100
    kind = CharField(max_length=10, default="open")  # open | won | lost | closed
    aging_days = IntegerField(default=14)

    class Meta:
        table_name = "list"
        indexes = ((("project", "name"), True),)


class Tag(BaseModel):
    project = ForeignKeyField(Project, backref="tags", on_delete="CASCADE")
    name = CharField(max_length=200)
    color = CharField(max_length=20, default="")

    class Meta:
        indexes = ((("project", "name"), True),)


class Field(BaseModel):
    """A custom field of a project; ``config`` is JSON (options, currency, target, via/of, formula…)."""

    project = ForeignKeyField(Project, backref="fields", on_delete="CASCADE")
    name = CharField(max_length=200)
    type = CharField(max_length=20)
    position = IntegerField(default=0)
    hidden = BooleanField(default=False)
    config = TextField(default="{}")

    class Meta:
        indexes = ((("project", "name"), True),)


class Record(BaseModel):
    project = ForeignKeyField(Project, backref="records", on_delete="CASCADE")
    title = CharField(max_length=500)
    description = TextField(default="")
    list = ForeignKeyField(StageList, null=True, on_delete="SET NULL")
    position = BigIntegerField(default=0)  # order inside its list
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL")
    due_date = DateField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    list_entered_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    version = IntegerField(default=1)
    archived = BooleanField(default=False)

    class Meta:
        indexes = (
            (("project", "archived", "list", "position"), False),
            (("project", "archived", "title"), False),
            (("project", "created_at"), False),
            # time-based automations: deals in a list since …, records idle since …
            (("list", "list_entered_at"), False),
            (("project", "updated_at"), False),
        )


class RecordTag(BaseModel):
    record = ForeignKeyField(Record, on_delete="CASCADE")
    tag = ForeignKeyField(Tag, on_delete="CASCADE")

    class Meta:
        primary_key = CompositeKey("record", "tag")
        indexes = ((("tag", "record"), False),)


class Attachment(BaseModel):
    """A file attached to a record; the bytes are stored in the database (one backup holds all)."""

    name = CharField(max_length=500)
    size = BigIntegerField(default=0)
    sha256 = CharField(max_length=64, default="")
    content = BlobField()
    created_at = DateTimeField(default=utcnow)


class FieldValue(BaseModel):
    """One value of a custom field of a record (several rows for multi-valued fields)."""

    record = ForeignKeyField(Record, on_delete="CASCADE", index=False)
    field = ForeignKeyField(Field, on_delete="CASCADE", index=False)
    position = IntegerField(default=0)
    text = TextField(null=True)
    number = BigIntegerField(null=True)  # value × 10^6
    date = DateField(null=True)
    ref = ForeignKeyField(Record, null=True, on_delete="CASCADE", backref="+", index=False)
    file = ForeignKeyField(Attachment, null=True, on_delete="SET NULL", index=False)
    error = TextField(null=True)  # a formula's runtime error, e.g. #DIV/0!

    class Meta:
        table_name = "field_value"
        indexes = (
            (("record", "field", "position"), True),
            (("field", "ref"), False),
            (("ref",), False),
            (("field", "number"), False),
            (("field", "date"), False),
            # covering index for dashboards: SUM(number) by record without touching the table
            (("field", "record", "number"), False),
        )


class ChecklistItem(BaseModel):
    record = ForeignKeyField(Record, backref="checklist", on_delete="CASCADE")
    position = IntegerField(default=0)
    text = TextField()
    done = BooleanField(default=False)


class Dependency(BaseModel):
    """``record`` is blocked by ``blocked_by``."""

    record = ForeignKeyField(Record, on_delete="CASCADE")
    blocked_by = ForeignKeyField(Record, on_delete="CASCADE", backref="+")

    class Meta:
        indexes = ((("record", "blocked_by"), True), (("blocked_by",), False))


class Event(BaseModel):
    """The activity log: one row per change to a record. Automations read it by id (a cursor)."""

    at = DateTimeField(default=utcnow)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    project = ForeignKeyField(Project, on_delete="CASCADE", index=False)
    record = IntegerField()  # no FK: the log outlives a purged record
    kind = CharField(max_length=20)  # created updated moved tagged untagged assigned deleted restored
    field = IntegerField(null=True)  # field id (for permission filtering); NULL for built-ins
    field_name = CharField(max_length=200, null=True)  # "title", "list", "tags", a custom field's name
    old = TextField(null=True)  # JSON
    new = TextField(null=True)  # JSON

    class Meta:
        indexes = (
            (("record", "id"), False),
            (("kind", "at"), False),
            (("at",), False),
            (("project", "id"), False),
        )


ALL_MODELS = [
    SchemaInfo,
    User,
    Project,
    StageList,
    Tag,
    Field,
    Record,
    RecordTag,
    Attachment,
    FieldValue,
    ChecklistItem,
    Dependency,
    Event,
]

from .permission_models import PERMISSION_MODELS  # noqa: E402  (they subclass BaseModel above)

ALL_MODELS += PERMISSION_MODELS

from .dashboard_models import DASHBOARD_MODELS  # noqa: E402 - appended: dashboards own their tables

ALL_MODELS += DASHBOARD_MODELS

from .automation_models import AUTOMATION_MODELS  # noqa: E402 - appended: automations own their tables

ALL_MODELS += AUTOMATION_MODELS

from .form_models import FORM_MODELS  # noqa: E402 - appended: lead-capture forms own their table

ALL_MODELS += FORM_MODELS

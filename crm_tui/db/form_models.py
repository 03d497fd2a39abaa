"""Tables of lead-capture web forms: one row per form of a project.

>>> Form.create(project=p, name="Contact us", slug="contact-us", fields='[{"field": 3, "required": true}]')

``fields`` is JSON: the asked fields in order, each ``{"field": field id, "required": bool}`` (the
record's title is always asked). A deleted field simply disappears from the form.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from .models import BaseModel, Project, StageList, User, utcnow


class Form(BaseModel):
    project = ForeignKeyField(Project, on_delete="CASCADE", backref="forms")
    name = CharField(max_length=200)
    slug = CharField(max_length=100, unique=True)  # the address: /f/<slug>
    title_label = CharField(max_length=200, default="Name")
    fields = TextField(default="[]")
    list = ForeignKeyField(StageList, null=True, on_delete="SET NULL")
    tags = TextField(default="[]")  # JSON list of tag names given to every new record
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL")
    thanks = TextField(default="Thank you! We will be in touch soon.")
    active = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)


FORM_MODELS = [Form]

"""Roles and memberships: which user may see, edit and do what in each project.

A role belongs to a project: ``capabilities`` is a JSON list of actions (create, edit, delete, move,
import, export, edit_automations, edit_dashboards) and ``field_access`` a JSON object
``{field id: "hidden" | "view"}`` (fields not named are editable when the role may edit).
"""

from __future__ import annotations

from peewee import BooleanField, CharField, ForeignKeyField, TextField

from .models import BaseModel, Project, User


class Role(BaseModel):
    project = ForeignKeyField(Project, on_delete="CASCADE", backref="roles")
    name = CharField(max_length=100)
    builtin = BooleanField(default=False)
    capabilities = TextField(default="[]")
    field_access = TextField(default="{}")

    class Meta:
        indexes = ((("project", "name"), True),)


class Membership(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE", backref="memberships")
    project = ForeignKeyField(Project, on_delete="CASCADE")
    role = ForeignKeyField(Role, on_delete="CASCADE")

    class Meta:
        indexes = ((("user", "project"), True),)


PERMISSION_MODELS = [Role, Membership]

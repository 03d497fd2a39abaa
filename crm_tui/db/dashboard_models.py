"""Tables of dashboards: a dashboard, its widgets (a metric spec and a place in a grid), its shares.

>>> Dashboard.create(name="Sales", owner=None)          # owner None: a workspace dashboard
>>> Widget.create(dashboard=d, title="Won this month", kind="stat", spec='{"projects": [...]}', x=0, y=0)

A widget's ``spec`` is the JSON form of ``crm_tui.domain.metrics.MetricSpec`` (projects, lists, tags and
fields by name, so a spec reads the same in a backup and across projects). Grid cells: ``x``/``y`` are
the column and row of the top-left cell, ``w``/``h`` the size in cells.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .models import BaseModel, User, utcnow


class Dashboard(BaseModel):
    name = CharField(max_length=200, unique=True)
    # NULL owner: a workspace dashboard (the template's "Sales"): everyone views it, admins edit it.
    owner = ForeignKeyField(User, null=True, on_delete="CASCADE")
    position = IntegerField(default=0)
    settings = TextField(default="{}")  # JSON: columns of the grid, …
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Widget(BaseModel):
    dashboard = ForeignKeyField(Dashboard, backref="widgets", on_delete="CASCADE")
    title = CharField(max_length=200)
    kind = CharField(max_length=10)  # stat | pie | bar
    spec = TextField(default="{}")  # JSON
    x = IntegerField(default=0)
    y = IntegerField(default=0)
    w = IntegerField(default=1)
    h = IntegerField(default=1)

    class Meta:
        indexes = ((("dashboard", "y", "x"), False),)


class DashboardShare(BaseModel):
    dashboard = ForeignKeyField(Dashboard, backref="shares", on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="CASCADE")
    access = CharField(max_length=10, default="view")  # view | edit

    class Meta:
        table_name = "dashboard_share"
        indexes = ((("dashboard", "user"), True), (("user",), False))


DASHBOARD_MODELS = [Dashboard, Widget, DashboardShare]

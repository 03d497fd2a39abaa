"""Tables of automations: rules, the fired-ledger, the worker cursor, notifications, reminders, outbox.

>>> AutomationRule.create(project=p, name="Share new leads", trigger="record_created", spec="{...}")
>>> RuleRun.insert(rule=r, key="e:42", ...).on_conflict_ignore()   # 0 rows: fired already

``rule_run`` is the ledger that makes every firing happen exactly once: its key is UNIQUE per rule
(``e:<event id>`` for an event trigger, ``s:<record>:<list_entered_at>`` for a stay in a list,
``a:<record>:<updated_at>`` for an idle period, ``d:<record>:<date>`` for a date) and the row is inserted
in the same transaction as the action's effects, so two workers or a crash between firing and
committing can never make a rule act twice on one trigger.
"""

from __future__ import annotations

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    TextField)

from .models import BaseModel, Project, User, utcnow


class AutomationRule(BaseModel):
    """One rule: a trigger, conditions (all must hold) and actions; ``spec`` is the JSON of the rule."""

    project = ForeignKeyField(Project, on_delete="CASCADE", backref="automation_rules")
    name = CharField(max_length=200)
    enabled = BooleanField(default=False)
    trigger = CharField(max_length=30)  # the trigger type, for listing without parsing spec
    spec = TextField(default="{}")  # JSON: {"trigger": {...}, "conditions": [...], "actions": [...]}
    # events with an id at or below this were written before the rule was (re-)enabled: never replayed
    since_event = BigIntegerField(default=0)
    counter = BigIntegerField(default=0)  # assign_round_robin: how many assignments so far
    preset = CharField(max_length=100, null=True)  # the preset this rule was installed from
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "automation_rule"
        indexes = ((("project", "name"), True), (("enabled", "trigger"), False))


class RuleRun(BaseModel):
    """The fired-ledger and run log: one row per (rule, triggering event or stay), ever."""

    rule = ForeignKeyField(AutomationRule, on_delete="CASCADE", backref="runs")
    key = CharField(max_length=100)
    record = IntegerField(null=True)  # no FK: the log outlives a purged record
    event = BigIntegerField(null=True)  # the triggering event (event triggers)
    stay_at = DateTimeField(null=True)  # time triggers: list_entered_at / updated_at / the date
    at = DateTimeField(default=utcnow)
    status = CharField(max_length=20, default="ok")  # ok | error | loop_stopped
    message = TextField(default="")
    depth = IntegerField(default=0)  # chain depth of the triggering event

    class Meta:
        table_name = "rule_run"
        indexes = (
            (("rule", "key"), True),
            (("rule", "record", "stay_at"), False),
            (("rule", "id"), False),
        )


class EventOrigin(BaseModel):
    """Events written by an automation, with their chain depth (the loop guard reads it)."""

    event = BigIntegerField(primary_key=True)
    run = ForeignKeyField(RuleRun, null=True, on_delete="CASCADE")
    depth = IntegerField(default=1)

    class Meta:
        table_name = "automation_event_origin"


class AutomationCursor(BaseModel):
    """Worker state shared by every worker: ``events`` (last event id read, plus ids not yet visible
    when it was read), ``time`` (last time-trigger scan)."""

    name = CharField(primary_key=True, max_length=50)
    last_id = BigIntegerField(default=0)
    pending = TextField(default="{}")  # JSON {event id: first seen ISO time} — gaps that may still commit
    at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "automation_cursor"


class Notification(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    project = ForeignKeyField(Project, null=True, on_delete="CASCADE")
    record = IntegerField(null=True)
    rule = ForeignKeyField(AutomationRule, null=True, on_delete="SET NULL")
    run = ForeignKeyField(RuleRun, null=True, on_delete="SET NULL")
    message = TextField()
    at = DateTimeField(default=utcnow)
    read = BooleanField(default=False)

    class Meta:
        table_name = "notification"
        indexes = ((("user", "read", "id"), False),)


class Reminder(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    project = ForeignKeyField(Project, null=True, on_delete="CASCADE")
    record = IntegerField(null=True)
    rule = ForeignKeyField(AutomationRule, null=True, on_delete="SET NULL")
    run = ForeignKeyField(RuleRun, null=True, on_delete="SET NULL")
    message = TextField()
    due_at = DateTimeField()
    done = BooleanField(default=False)
    notified_at = DateTimeField(null=True)  # when the worker turned the due reminder into a notification
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "reminder"
        indexes = ((("user", "done", "due_at"), False), (("done", "notified_at", "due_at"), False))


class Outbox(BaseModel):
    """An email to send; retried with back-off (``attempts``, ``next_try_at``) until sent or given up."""

    run = ForeignKeyField(RuleRun, null=True, on_delete="SET NULL")
    to_addr = CharField(max_length=320)
    subject = CharField(max_length=500)
    body = TextField()
    status = CharField(max_length=10, default="pending")  # pending | sending | sent | failed
    attempts = IntegerField(default=0)
    next_try_at = DateTimeField(default=utcnow)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        table_name = "outbox"
        indexes = ((("status", "next_try_at"), False), (("run",), False))


AUTOMATION_MODELS = [AutomationRule, RuleRun, EventOrigin, AutomationCursor, Notification, Reminder, Outbox]

# Time triggers look records up by (list, time entered) and (project, last change): those indexes are
# declared on Record itself (crm_tui/db/models.py). Nothing extra to create here.
RECORD_INDEXES: dict[str, str] = {}


def ensure_indexes(database) -> None:
    for name, target in RECORD_INDEXES.items():
        database.execute_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

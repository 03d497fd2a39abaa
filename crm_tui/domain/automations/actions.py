"""Actions of a rule, run through the same domain functions as a person's edits (so they log events
and rules can chain), inside the transaction that also writes the ledger row.

>>> run_action(ctx, {"type": "add_tag", "tag": "Hot"})       # → "tagged Hot"

Each action returns a short summary for the run log. Mutating actions reload the record's state so a
later action (``notify`` after ``assign``) sees the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ...db.automation_models import AutomationRule
from ...db.models import utcnow
from ..actors import Actor
from ..project_schema import ProjectSchema
from ..records import move_record, tag_record, untag_record, update_record
from . import notify
from .conditions import field_kind, load_states, record_atoms


@dataclass
class RunContext:
    rule_id: int
    rule_name: str
    schema: ProjectSchema
    record_id: int
    state: dict
    actor: Actor
    now: dt.datetime
    run_id: int | None = None
    event: dict | None = None
    days: int | None = None
    touched: bool = False  # the record was changed by an action (its events get a depth)

    stale: bool = False

    def reload(self) -> None:
        """The record changed: read it again before anything looks at it (not before: most rules have
        one action)."""
        self.touched = True
        self.stale = True

    def current(self) -> dict:
        if self.stale:
            self.state = load_states(self.schema, [self.record_id]).get(self.record_id, self.state)
            self.stale = False
        return self.state

    def render(self, template: str, hidden: frozenset = frozenset()) -> str:
        return notify.render(template, self.current(), self.schema, event=self.event, rule_name=self.rule_name,
                             days=self.days, hidden=hidden)

    def render_for(self, template: str, user_ids: list[int]) -> list[tuple[str, list[int]]]:
        """The text as each reader may see it: one rendering per set of hidden fields (roles), so a
        Junior's notification or email never carries Cost or Profit."""
        from ...db.models import User
        from ..actors import actor_for
        from ..record_views import visible_fields

        groups: dict[frozenset, list[int]] = {}
        for user in User.select().where(User.id.in_(list(user_ids))):
            reader = actor_for(user)
            shown = {f.id for f in visible_fields(reader, self.schema)}
            hidden = frozenset(f.id for f in self.schema.fields if f.id not in shown)
            groups.setdefault(hidden, []).append(user.id)
        return [(self.render(template, hidden), ids) for hidden, ids in groups.items()]


def _assign(ctx: RunContext, user: str) -> str:
    if ctx.current().get("assignee") == user:
        return f"already assigned to {user}"
    update_record(ctx.actor, ctx.record_id, assignee=user)
    ctx.reload()
    return f"assigned to {user}"


def do_assign(ctx: RunContext, action: dict) -> str:
    return _assign(ctx, action["user"])


def do_assign_round_robin(ctx: RunContext, action: dict) -> str:
    users = action["users"]
    if not users:
        return "no users to share among"
    # the counter is bumped in the run's transaction: a rolled-back run gives its turn back, and the
    # row lock it takes orders two workers' turns on PostgreSQL
    AutomationRule.update(counter=AutomationRule.counter + 1).where(AutomationRule.id == ctx.rule_id).execute()
    counter = AutomationRule.select(AutomationRule.counter).where(AutomationRule.id == ctx.rule_id).scalar()
    return _assign(ctx, users[(counter - 1) % len(users)])


def do_assign_by_field(ctx: RunContext, action: dict) -> str:
    fdef = ctx.schema.field(action["field"])
    have = record_atoms("text", _text_value(fdef, ctx.current().get("values", {}).get(fdef.id)))
    mapping = {k.strip().casefold(): v for k, v in action["map"].items()}
    user = next((mapping[h] for h in have if h in mapping), None)
    if user is None and action.get("match") == "contains":
        user = next((v for k, v in mapping.items() for h in have if k in h), None)
    if user is None:
        user = action.get("default")
    if user is None:
        return f"no user mapped for {fdef.name} = {', '.join(have) or '(empty)'}"
    return _assign(ctx, user)


def _text_value(fdef, value):
    from ..values import display_value

    if value is None:
        return None
    if isinstance(value, list):
        return [display_value(fdef, v) if not isinstance(v, dict) else v for v in value]
    if field_kind(fdef) == "text":
        return value
    return display_value(fdef, value)


def do_notify(ctx: RunContext, action: dict) -> str:
    users = notify.recipients(action.get("to", ["assignee"]), ctx.current(), ctx.schema)
    if not users:
        return "notify: no recipients"
    sent = queued = 0
    subjects = dict((tuple(ids), text) for text, ids in ctx.render_for(action["subject"], users)) \
        if action.get("subject") else {}
    for message, readers in ctx.render_for(action["message"], users):
        n, q = notify.notify_users(readers, message, project_id=ctx.schema.id, record_id=ctx.record_id,
                                   rule_id=ctx.rule_id, run_id=ctx.run_id, now=ctx.now,
                                   subject=subjects.get(tuple(readers)), email=action.get("email", True))
        sent, queued = sent + n, queued + q
    return f"notified {sent} user(s)" + (f", {queued} email(s) queued" if queued else "")


def do_remind(ctx: RunContext, action: dict) -> str:
    users = notify.recipients(action.get("to", ["assignee"]), ctx.current(), ctx.schema)
    if not users:
        return "remind: no recipients"
    due = ctx.now + dt.timedelta(days=action["days"])
    for message, readers in ctx.render_for(action.get("message") or "Follow up on {Title}", users):
        notify.add_reminders(readers, message, due, project_id=ctx.schema.id, record_id=ctx.record_id,
                             rule_id=ctx.rule_id, run_id=ctx.run_id, now=ctx.now)
    return f"reminder for {len(users)} user(s) on {due.date().isoformat()}"


def do_add_tag(ctx: RunContext, action: dict) -> str:
    added = tag_record(ctx.actor, ctx.record_id, [action["tag"]])
    if added:
        ctx.reload()
    return f"tagged {action['tag']}" if added else f"already tagged {action['tag']}"


def do_remove_tag(ctx: RunContext, action: dict) -> str:
    if not any(t.casefold() == action["tag"].casefold() for t in ctx.current().get("tags", [])):
        return f"not tagged {action['tag']}"
    untag_record(ctx.actor, ctx.record_id, [action["tag"]])
    ctx.reload()
    return f"untagged {action['tag']}"


def do_move_to_list(ctx: RunContext, action: dict) -> str:
    if (ctx.current().get("list") or "").casefold() == action["list"].casefold():
        return f"already in {action['list']}"
    move_record(ctx.actor, ctx.record_id, action["list"])
    ctx.reload()
    return f"moved to {action['list']}"


def do_set_field(ctx: RunContext, action: dict) -> str:
    name = action["field"]
    value = action["value"]
    low = name.casefold()
    text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False
                                                  else str(value))
    if isinstance(text, str) and "{" in text:
        text = ctx.render(text)
    if low == "title":
        update_record(ctx.actor, ctx.record_id, title=text)
    elif low == "description":
        update_record(ctx.actor, ctx.record_id, description=text)
    elif low in ("due_date", "due date"):
        update_record(ctx.actor, ctx.record_id, due_date=text)
    else:
        update_record(ctx.actor, ctx.record_id, values={name: text})
    ctx.reload()
    return f"set {name} to {text}"


def do_set_due_date(ctx: RunContext, action: dict) -> str:
    due = ctx.now.date() + dt.timedelta(days=action["days"])
    update_record(ctx.actor, ctx.record_id, due_date=due)
    ctx.reload()
    return f"due date set to {due.isoformat()}"


ACTION_FUNCTIONS = {
    "assign": do_assign,
    "assign_round_robin": do_assign_round_robin,
    "assign_by_field": do_assign_by_field,
    "notify": do_notify,
    "remind": do_remind,
    "add_tag": do_add_tag,
    "remove_tag": do_remove_tag,
    "move_to_list": do_move_to_list,
    "set_field": do_set_field,
    "set_due_date": do_set_due_date,
}


def run_action(ctx: RunContext, action: dict) -> str:
    return ACTION_FUNCTIONS[action["type"]](ctx, action)


__all__ = ["RunContext", "run_action", "ACTION_FUNCTIONS", "utcnow"]

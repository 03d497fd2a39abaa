"""In-app notifications, reminders and email (an outbox retried with back-off), with ``{Field}`` merge tags.

>>> render("{Title} moved to {List}", state, schema)          # "Acme website moved to Won"
>>> notifications_for(user_id, unread_only=True)               # [{"id", "at", "record_id", "message", "read"}]
>>> send_due_emails(now)                                       # the outbox: sent / retried later / failed

Email goes out only when SMTP is configured (``CRM_TUI_SMTP_HOST``/``PORT``/``FROM``, or ``[smtp]`` in
the settings file). A failing send never raises: the row's ``attempts`` grows and ``next_try_at`` moves
out (30 s, 1 min, 2 min … at most 1 h) until ``MAX_ATTEMPTS``, and the run log shows the error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass

from ...db.automation_models import Notification, Outbox, Reminder
from ...db.connection import run_write
from ...db.models import FieldValue, Record, User, utcnow
from ...errors import NotFoundError
from ..project_schema import ProjectSchema
from ..values import display_value
from .rules import MERGE_TAG_RE

MAX_ATTEMPTS = 8
BASE_DELAY = 30  # seconds; doubled after each failure
MAX_DELAY = 3600
SEND_LEASE = dt.timedelta(minutes=5)  # a worker that dies while sending lets another retry after this


# ------------------------------------------------------------------------------------------------
# merge tags


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("title") or value.get("name") or value.get("id") or "")
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


HIDDEN = "(hidden)"


def render(template: str, state: dict, schema: ProjectSchema, *, event: dict | None = None,
           rule_name: str = "", days=None, hidden: frozenset = frozenset()) -> str:
    """Replace ``{Field}`` and the built-in tags (``{Title}``, ``{List}``, ``{Old value}`` …).

    ``hidden``: field ids the reader may not see (their role); those tags, and the old/new values of an
    event on such a field, read "(hidden)"."""
    by_name = {f.name.casefold(): f for f in schema.fields}
    old = _json(event["old"]) if event else None
    new = _json(event["new"]) if event else None
    if event and event.get("field") in hidden:
        old = new = HIDDEN
    if event and event["kind"] == "created" and isinstance(new, dict):
        new = new.get("title")

    def one(match) -> str:
        name = match.group(1).strip()
        key = name.casefold()
        builtin = {
            "title": lambda: state.get("title"),
            "id": lambda: state.get("id"),
            "list": lambda: state.get("list"),
            "assignee": lambda: state.get("assignee") or "nobody",
            "project": lambda: schema.name,
            "due date": lambda: state["due_date"].isoformat() if state.get("due_date") else "",
            "tags": lambda: ", ".join(state.get("tags", [])),
            "description": lambda: state.get("description"),
            "old value": lambda: _plain(old),
            "new value": lambda: _plain(new),
            "field": lambda: HIDDEN if (event or {}).get("field") in hidden else (event or {}).get("field_name") or "",
            "rule": lambda: rule_name,
            "days": lambda: days if days is not None else "",
        }.get(key)
        if builtin is not None:
            return _plain(builtin())
        fdef = by_name.get(key)
        if fdef is None:
            return match.group(0)
        if fdef.id in hidden:
            return HIDDEN
        return display_value(fdef, state.get("values", {}).get(fdef.id))

    return MERGE_TAG_RE.sub(one, template)


# ------------------------------------------------------------------------------------------------
# recipients


def recipients(specs: list[str], state: dict, schema: ProjectSchema) -> list[int]:
    """User ids for ``assignee``, ``admins``, ``role:NAME``, ``assignees_of:PROJECT.FIELD`` and names;
    active users only, each once, in the order named."""
    ids: list[int] = []
    for spec in specs:
        low = spec.casefold()
        if low == "assignee":
            found = [state["assignee_id"]] if state.get("assignee_id") else []
        elif low == "admins":
            found = [u for (u,) in User.select(User.id).where(User.is_admin == True).tuples()]  # noqa: E712
        elif low.startswith("role:"):
            from ...db.permission_models import Membership, Role

            role = spec[5:]
            found = [u for (u,) in Membership.select(Membership.user).join(Role)
                     .where((Role.project == schema.id) & (Role.name == role)).tuples()]
            if role == "Admin":
                found += [u for (u,) in User.select(User.id).where(User.is_admin == True).tuples()]  # noqa: E712
        elif low.startswith("assignees_of:"):
            found = _assignees_of(spec.split(":", 1)[1], state["id"])
        else:
            found = [u for (u,) in User.select(User.id).where(User.name == spec).tuples()]
        for uid in found:
            if uid is not None and uid not in ids:
                ids.append(uid)
    if not ids:
        return []
    active = {u for (u,) in User.select(User.id).where(User.id.in_(ids) & (User.active == True)).tuples()}  # noqa: E712
    return [u for u in ids if u in active]


def _assignees_of(target: str, record_id: int) -> list[int]:
    """Assignees of the open records of PROJECT whose reference FIELD points at ``record_id``."""
    from ..project_schema import load_schema

    project_name, field_name = target.rsplit(".", 1)
    try:
        other = load_schema(project_name)
        fdef = other.field(field_name)
    except NotFoundError:
        return []
    open_ids = [l.id for l in other.lists if l.kind == "open"]
    query = (Record.select(Record.assignee).distinct()
             .join(FieldValue, on=(FieldValue.record == Record.id))
             .where((FieldValue.field == fdef.id) & (FieldValue.ref == record_id)
                    & (Record.archived == False) & Record.assignee.is_null(False)  # noqa: E712
                    & Record.list.in_(open_ids)))
    return [u for (u,) in query.tuples()]


# ------------------------------------------------------------------------------------------------
# notifications and reminders


def notify_users(user_ids: list[int], message: str, *, project_id=None, record_id=None, rule_id=None,
                 run_id=None, now=None, subject: str | None = None, email: bool = True) -> tuple[int, int]:
    """In-app notifications (and queued emails when SMTP is configured); call inside the run's
    transaction. Returns (notifications, emails queued)."""
    if not user_ids:
        return 0, 0
    now = now or utcnow()
    Notification.insert_many([dict(user=u, project=project_id, record=record_id, rule=rule_id, run=run_id,
                                   message=message, at=now, read=False) for u in user_ids]).execute()
    queued = 0
    if email and smtp_settings() is not None:
        addresses = [e for (e,) in User.select(User.email).where(User.id.in_(user_ids) & (User.email != "")).tuples()]
        if addresses:
            Outbox.insert_many([dict(run=run_id, to_addr=a, subject=(subject or message.splitlines()[0])[:500],
                                     body=message, status="pending", attempts=0, next_try_at=now, created_at=now)
                                for a in addresses]).execute()
            queued = len(addresses)
    return len(user_ids), queued


def _iso(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(" ", "T") + "Z"
    return value.isoformat(timespec="seconds") + "Z"


def notifications_for(user_id: int, *, unread_only: bool = True, limit: int = 200) -> list[dict]:
    query = Notification.select().where(Notification.user == user_id)
    if unread_only:
        query = query.where(Notification.read == False)  # noqa: E712
    return [{"id": n.id, "at": _iso(n.at), "record_id": n.record, "message": n.message, "read": bool(n.read)}
            for n in query.order_by(Notification.id.desc()).limit(limit)]


def unread_count(user_id: int) -> int:
    return Notification.select().where((Notification.user == user_id) & (Notification.read == False)).count()  # noqa: E712


def mark_read(user_id: int, ids=None) -> int:
    """Mark the user's notifications read (all of them when ``ids`` is None); returns how many."""
    def write():
        query = Notification.update(read=True).where((Notification.user == user_id) & (Notification.read == False))  # noqa: E712
        if ids is not None:
            query = query.where(Notification.id.in_(list(ids)))
        return query.execute()

    return run_write(write)


def add_reminders(user_ids: list[int], message: str, due_at: dt.datetime, *, project_id=None, record_id=None,
                  rule_id=None, run_id=None, now=None) -> int:
    if not user_ids:
        return 0
    Reminder.insert_many([dict(user=u, project=project_id, record=record_id, rule=rule_id, run=run_id,
                               message=message, due_at=due_at, done=False, created_at=now or utcnow())
                          for u in user_ids]).execute()
    return len(user_ids)


def reminders_for(user_id: int, *, now=None, include_done: bool = False) -> list[dict]:
    """The user's reminders, soonest first, each with ``status``: overdue, today, upcoming or done."""
    now = now or utcnow()
    query = Reminder.select().where(Reminder.user == user_id)
    if not include_done:
        query = query.where(Reminder.done == False)  # noqa: E712
    out = []
    for r in query.order_by(Reminder.due_at, Reminder.id):
        due = r.due_at if isinstance(r.due_at, dt.datetime) else dt.datetime.fromisoformat(str(r.due_at))
        status = "done" if r.done else ("overdue" if due.date() < now.date() else
                                        "today" if due.date() == now.date() else "upcoming")
        out.append({"id": r.id, "due_at": _iso(due), "record_id": r.record, "message": r.message,
                    "status": status})
    return out


def complete_reminder(user_id: int, reminder_id: int) -> None:
    def write():
        if not Reminder.update(done=True).where((Reminder.id == reminder_id) & (Reminder.user == user_id)).execute():
            raise NotFoundError(f"you have no reminder #{reminder_id}")
    run_write(write)


def snooze_reminder(user_id: int, reminder_id: int, days: int = 1, *, now=None) -> None:
    now = now or utcnow()

    def write():
        if not Reminder.update(due_at=now + dt.timedelta(days=days), notified_at=None).where(
                (Reminder.id == reminder_id) & (Reminder.user == user_id)).execute():
            raise NotFoundError(f"you have no reminder #{reminder_id}")
    run_write(write)


def notify_due_reminders(now: dt.datetime) -> int:
    """Turn reminders that fell due into notifications, once each (a conditional update claims them)."""
    due = list(Reminder.select(Reminder.id).where((Reminder.done == False) & Reminder.notified_at.is_null()  # noqa: E712
                                                 & (Reminder.due_at <= now)).limit(500).tuples())
    count = 0
    for (rid,) in due:
        def write(rid=rid):
            claimed = Reminder.update(notified_at=now).where((Reminder.id == rid)
                                                             & Reminder.notified_at.is_null()).execute()
            if not claimed:
                return 0
            r = Reminder.get_by_id(rid)
            notify_users([r.user_id], f"Reminder: {r.message}", project_id=r.project_id, record_id=r.record,
                         rule_id=r.rule_id, run_id=r.run_id, now=now)
            return 1
        count += run_write(write)
    return count


# ------------------------------------------------------------------------------------------------
# email


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "crm-tui@localhost"
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


def smtp_settings() -> SmtpSettings | None:
    """SMTP from the environment (``CRM_TUI_SMTP_*``) over the settings file's ``[smtp]``; None: no email."""
    from ... import config

    section = config.load_settings().get("smtp", {}) or {}
    host = os.environ.get("CRM_TUI_SMTP_HOST") or section.get("host")
    if not host:
        return None
    port = os.environ.get("CRM_TUI_SMTP_PORT") or section.get("port") or 25
    sender = os.environ.get("CRM_TUI_SMTP_FROM") or section.get("from") or "crm-tui@localhost"
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 25
    return SmtpSettings(host=host, port=port, sender=sender,
                        user=os.environ.get("CRM_TUI_SMTP_USER") or section.get("user", ""),
                        password=os.environ.get("CRM_TUI_SMTP_PASSWORD") or section.get("password", ""),
                        starttls=bool(section.get("starttls", False)),
                        timeout=float(section.get("timeout", 10)))


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY))


def _send(settings: SmtpSettings, row: Outbox) -> None:
    import smtplib  # here, not at the top: the app imports this module at start-up for the unread count
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = row.to_addr
    msg["Subject"] = row.subject
    msg.set_content(row.body)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password)
        smtp.send_message(msg)


def send_due_emails(now: dt.datetime | None = None, *, limit: int = 100) -> dict:
    """Send what the outbox holds and is due; never raises for a network failure. Returns counts."""
    now = now or utcnow()
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    settings = smtp_settings()
    if settings is None:
        return counts
    import smtplib

    due = [i for (i,) in Outbox.select(Outbox.id)
           .where(Outbox.status.in_(["pending", "sending"]) & (Outbox.next_try_at <= now))
           .order_by(Outbox.next_try_at, Outbox.id).limit(limit).tuples()]
    for oid in due:
        # claim the row with a lease so two workers never send the same email at once
        claimed = run_write(lambda oid=oid: Outbox.update(status="sending", next_try_at=now + SEND_LEASE)
                            .where((Outbox.id == oid) & Outbox.status.in_(["pending", "sending"])
                                   & (Outbox.next_try_at <= now)).execute())
        if not claimed:
            continue
        row = Outbox.get_by_id(oid)
        try:
            _send(settings, row)
        except (OSError, smtplib.SMTPException) as exc:
            attempts = row.attempts + 1
            error = f"{type(exc).__name__}: {exc}".strip()[:500]
            if attempts >= MAX_ATTEMPTS:
                run_write(lambda: Outbox.update(status="failed", attempts=attempts, last_error=error)
                          .where(Outbox.id == oid).execute())
                counts["failed"] += 1
            else:
                run_write(lambda: Outbox.update(status="pending", attempts=attempts, last_error=error,
                                                next_try_at=now + backoff(attempts)).where(Outbox.id == oid).execute())
                counts["retrying"] += 1
            if isinstance(exc, OSError):
                break  # the server is unreachable: the rest wait for the next tick, not 10 s each
            continue
        run_write(lambda: Outbox.update(status="sent", attempts=row.attempts + 1, sent_at=now, last_error="")
                  .where(Outbox.id == oid).execute())
        counts["sent"] += 1
    return counts


__all__ = ["render", "recipients", "notify_users", "notifications_for", "mark_read", "unread_count",
           "add_reminders", "reminders_for", "complete_reminder", "snooze_reminder", "notify_due_reminders",
           "smtp_settings", "send_due_emails", "backoff"]

"""The activity log: append events for every change to a record, read a record's history.

>>> history(record_id, actor)      # [{"at", "user", "kind", "field", "old", "new"}, ...]

Events are written in the same transaction as the change they describe. Automations read the log by
id; aging reads ``moved`` events; the history view reads it by record.
"""

from __future__ import annotations

import json

from peewee import JOIN

from ..db.models import Event, User, utcnow
from .actors import Actor

KINDS = ("created", "updated", "moved", "tagged", "untagged", "assigned", "deleted", "restored")


def _dump(value):
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def event_row(actor: Actor, project_id: int, record_id: int, kind: str, *, field_id=None, field_name=None,
              old=None, new=None, at=None) -> dict:
    return dict(at=at or utcnow(), user=actor.id, project=project_id, record=record_id, kind=kind,
                field=field_id, field_name=field_name, old=_dump(old), new=_dump(new))


def log(rows: list[dict]) -> None:
    """Append event rows (call inside the write transaction of the change)."""
    for start in range(0, len(rows), 500):
        Event.insert_many(rows[start:start + 500]).execute()


def last_event_id() -> int:
    """The newest event id: a cheap "did anything change?" check for live views."""
    from peewee import fn

    return Event.select(fn.MAX(Event.id)).scalar() or 0


def history(record_id: int, actor: Actor) -> list[dict]:
    """The record's events, oldest first; values of fields hidden from ``actor`` are left out."""
    rows = (Event.select(Event, User.name.alias("user_name"))
            .join(User, on=(Event.user == User.id), join_type=JOIN.LEFT_OUTER)
            .where(Event.record == record_id).order_by(Event.id).dicts())
    out = []
    for row in rows:
        if row["field"] is not None and not actor.can_see(row["field"]):
            continue
        new = json.loads(row["new"]) if row["new"] is not None else None
        if row["kind"] == "created" and isinstance(new, dict) and isinstance(new.get("fields"), dict):
            # initial values are keyed by field id so hidden ones can be dropped, shown by name
            new = dict(new)
            new["fields"] = {v["name"]: v["value"] for k, v in new["fields"].items()
                             if actor.can_see(int(k))}
        out.append({
            "id": row["id"],
            "at": row["at"].isoformat(timespec="seconds") + "Z" if hasattr(row["at"], "isoformat")
            else str(row["at"]),
            "user": row["user_name"],
            "kind": row["kind"],
            "field": row["field_name"],
            "old": json.loads(row["old"]) if row["old"] is not None else None,
            "new": new,
        })
    return out

"""The default fields beyond values: checklist items, dependencies ("blocked by") and attachments.

>>> add_checklist_item(actor, rid, "Send the NDA")
>>> add_dependency(actor, rid, blocked_by=other_id)
>>> save_attachment(attachment_id, "/tmp/contract.pdf")

Each change is one transaction and appends an ``updated`` event (field ``checklist`` / ``dependencies``).
"""

from __future__ import annotations

from pathlib import Path

from peewee import fn

from ..db.connection import run_write
from ..db.models import Attachment, ChecklistItem, Dependency, Record, utcnow
from ..errors import NotFoundError, ValidationError
from . import events
from .actors import Actor


def _record(record_id: int) -> Record:
    record = Record.get_or_none(Record.id == record_id)
    if record is None:
        raise NotFoundError(f"no record #{record_id}")
    return record


def _touch(actor: Actor, record: Record, field: str, old, new) -> None:
    Record.update(updated_at=utcnow()).where(Record.id == record.id).execute()
    events.log([events.event_row(actor, record.project_id, record.id, "updated", field_name=field, old=old, new=new)])


def add_checklist_item(actor: Actor, record_id: int, text: str) -> int:
    text = (text or "").strip()
    if not text:
        raise ValidationError("checklist item", text, "an item needs some text")

    def write():
        record = _record(record_id)
        position = (ChecklistItem.select(fn.MAX(ChecklistItem.position))
                    .where(ChecklistItem.record == record_id).scalar() or 0) + 1
        item = ChecklistItem.create(record=record_id, position=position, text=text)
        _touch(actor, record, "checklist", None, text)
        return item.id

    return run_write(write)


def set_checklist_done(actor: Actor, item_id: int, done: bool) -> None:
    def write():
        item = ChecklistItem.get_or_none(ChecklistItem.id == item_id)
        if item is None:
            raise NotFoundError(f"no checklist item #{item_id}")
        if item.done == done:
            return
        ChecklistItem.update(done=done).where(ChecklistItem.id == item_id).execute()
        _touch(actor, _record(item.record_id), "checklist", {"item": item.text, "done": item.done},
               {"item": item.text, "done": done})

    run_write(write)


def remove_checklist_item(actor: Actor, item_id: int) -> None:
    def write():
        item = ChecklistItem.get_or_none(ChecklistItem.id == item_id)
        if item is None:
            raise NotFoundError(f"no checklist item #{item_id}")
        ChecklistItem.delete().where(ChecklistItem.id == item_id).execute()
        _touch(actor, _record(item.record_id), "checklist", item.text, None)

    run_write(write)


def add_dependency(actor: Actor, record_id: int, blocked_by: int) -> None:
    """``record_id`` is blocked by ``blocked_by``; refuses self-blocking and cycles."""
    if record_id == blocked_by:
        raise ValidationError("blocked by", f"#{blocked_by}", "a record cannot block itself")

    def write():
        record = _record(record_id)
        blocker = _record(blocked_by)
        # a cycle exists if record_id already (transitively) blocks blocked_by
        frontier, seen = {blocked_by}, set()
        while frontier:
            seen |= frontier
            frontier = {r for (r,) in Dependency.select(Dependency.blocked_by)
                        .where(Dependency.record.in_(list(frontier))).tuples()} - seen
            if record_id in frontier or record_id in seen:
                raise ValidationError("blocked by", f"#{blocked_by}", "would make a dependency cycle")
        if Dependency.select().where((Dependency.record == record_id) & (Dependency.blocked_by == blocked_by)).exists():
            return
        Dependency.create(record=record_id, blocked_by=blocked_by)
        _touch(actor, record, "dependencies", None, {"id": blocker.id, "title": blocker.title})

    run_write(write)


def remove_dependency(actor: Actor, record_id: int, blocked_by: int) -> None:
    def write():
        record = _record(record_id)
        if Dependency.delete().where((Dependency.record == record_id)
                                     & (Dependency.blocked_by == blocked_by)).execute():
            _touch(actor, record, "dependencies", {"id": blocked_by}, None)

    run_write(write)


def save_attachment(attachment_id: int, path: str | Path) -> Path:
    """Write an attachment's bytes to ``path`` (a folder keeps the original file name)."""
    att = Attachment.get_or_none(Attachment.id == attachment_id)
    if att is None:
        raise NotFoundError(f"no attachment #{attachment_id}")
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / att.name
    target.write_bytes(bytes(att.content))
    return target

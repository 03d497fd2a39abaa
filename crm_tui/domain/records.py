"""Record writes: create, edit, move, tag, assign, archive — each one transaction with its events.

>>> rid = create_record(actor, "Opportunities", "Website redesign", list_name="Qualifying",
...                     tags=["Website"], values={"Amount": "12,500", "Client": "Acme"})
>>> update_record(actor, rid, values={"Cost": "4000"}, expect_version=1)   # → 2; Profit now 8500

Input is validated completely before the transaction starts; a stale ``expect_version`` raises
``ConflictError``; formulas and lookups downstream are recomputed in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from peewee import fn

from ..db import queries
from ..db.bulk import insert_rows
from ..db.connection import database, is_postgres, run_write
from ..db.models import Record, RecordTag, StageList, Tag, User, utcnow
from ..errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from . import events
from .actors import Actor
from .computed import FieldGraph, compute_new_record, propagate, recompute_formulas, title_key
from .field_types import get_field_type
from .project_schema import ProjectSchema, load_schema
from .values import (ROW_COLUMNS as VALUE_COLUMNS, json_value, load_values, prepare_values, storage_rows,
                     store_attachments, write_values)

MAX_TITLE = 500
POSITION_STEP = 1024
_UNSET = object()


def check_title(title) -> str:
    text = (title or "").strip() if isinstance(title, str) else ""
    if not text:
        raise ValidationError("title", title if isinstance(title, str) else "", "a record needs a title")
    if len(text) > MAX_TITLE:
        raise ValidationError("title", text[:40] + "…", f"at most {MAX_TITLE} characters")
    return text


def _as_seen_by(actor: Actor, schema: ProjectSchema) -> ProjectSchema:
    """The schema without the fields hidden from ``actor`` (they cannot be named, even in errors)."""
    if not actor.hidden_fields:
        return schema
    from .record_views import visible_fields

    return schema.restricted_to(visible_fields(actor, schema))


def _check_edit(actor: Actor, prepared: dict) -> None:
    for fdef, _ in prepared.values():
        if not actor.can_edit(fdef.id):
            raise PermissionDenied(f"you may not edit the field {fdef.name!r}")


def resolve_assignee(name) -> int | None:
    if name is None or name == "":
        return None
    if isinstance(name, User):
        return name.id
    user = User.get_or_none((User.name == str(name).strip()) & (User.active == True))  # noqa: E712
    if user is None:
        raise ValidationError("assignee", str(name), "no such user (see `crm-tui user list`)")
    return user.id


def parse_due_date(value, date_order: str = "YMD"):
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return get_field_type("date").parse(str(value), {}, date_order=date_order)
    except ValueError as exc:
        raise ValidationError("due date", str(value), str(exc)) from None


def _next_position(list_id) -> int:
    top = Record.select(fn.MAX(Record.position)).where(Record.list == list_id).scalar()
    return (top or 0) + POSITION_STEP


def _top_position(list_id) -> int:
    low = Record.select(fn.MIN(Record.position)).where(Record.list == list_id).scalar()
    return (low if low is not None else POSITION_STEP) - POSITION_STEP


def _pick_list(schema: ProjectSchema, list_name):
    if list_name:
        return schema.list(str(list_name))
    return schema.lists[0] if schema.lists else None


def create_record(actor: Actor, project, title: str, *, list_name=None, tags: Iterable[str] = (),
                  values: dict | None = None, assignee=None, due_date=None, description: str = "",
                  from_text: bool = True, date_order: str = "YMD") -> int:
    """Create one record; returns its id. Validates everything first, then writes in one transaction."""
    schema = project if isinstance(project, ProjectSchema) else load_schema(project)
    actor.require("create", schema.id, schema.name)
    title = check_title(title)
    lst = _pick_list(schema, list_name)
    prepared = prepare_values(_as_seen_by(actor, schema), values or {}, from_text=from_text, date_order=date_order)
    _check_edit(actor, prepared)
    assignee_id = resolve_assignee(assignee)
    due = parse_due_date(due_date, date_order)
    tag_names = _clean_tags(tags)

    def write():
        now = utcnow()
        list_id = lst.id if lst else None
        rid = queries.insert_record((schema.id, title, description or "", list_id, assignee_id, due, now, now,
                                     now, actor.id, 1, False), POSITION_STEP)
        stored = _insert_values(rid, prepared)
        tag_ids = _ensure_tags(schema.id, tag_names)
        if tag_ids:
            insert_rows("record_tag", ["record_id", "tag_id"], [(rid, t) for t in tag_ids])
        initial = {"title": title, "list": lst.name if lst else None}
        if stored:
            initial["fields"] = {str(fid): {"name": prepared[fid][0].name,
                                            "value": _prepared_json(prepared[fid][0], v)}
                                 for fid, v in stored.items()}
        rows = [events.event_row(actor, schema.id, rid, "created", field_name="title", new=initial, at=now)]
        rows += [events.event_row(actor, schema.id, rid, "tagged", field_name="tags", new=name, at=now)
                 for name in tag_names]
        if assignee_id:
            rows.append(events.event_row(actor, schema.id, rid, "assigned", field_name="assignee",
                                         new=str(assignee), at=now))
        _log_events(rows)
        # a new record: nothing refers to it yet, so only its own lookups and formulas need computing
        compute_new_record(schema.id, rid, [fid for fid, v in stored.items() if v is not None and v != []])
        return rid

    return run_write(write)


def _insert_values(record_id: int, prepared: dict) -> dict[int, object]:
    """Store the values of a record created in this transaction (nothing to replace): one INSERT.

    Returns ``{field id: canonical value as stored}`` like ``write_values`` (file paths replaced by
    attachment ids)."""
    stored: dict[int, object] = {}
    rows: list[tuple] = []
    for field_id, (fdef, value) in prepared.items():
        if fdef.type == "file":
            value = store_attachments(value)
        stored[field_id] = value
        rows.extend(tuple(r.get(c) for c in VALUE_COLUMNS) for r in storage_rows(record_id, fdef, value))
    insert_rows("field_value", VALUE_COLUMNS_DB, rows)
    return stored


def _log_events(rows: list[dict]) -> None:
    """``events.log`` without peewee's SQL builder (one multi-row INSERT)."""
    insert_rows("event", EVENT_COLUMNS_DB, [tuple(e[c] for c in EVENT_COLUMNS) for e in rows])


def _clean_tags(tags) -> list[str]:
    out: list[str] = []
    for name in tags or ():
        text = str(name).strip()
        if not text:
            continue
        if len(text) > 200:
            raise ValidationError("tag", text[:40] + "…", "at most 200 characters")
        if text.casefold() not in {t.casefold() for t in out}:
            out.append(text)
    return out


def _ensure_tags(project_id: int, names: list[str]) -> list[int]:
    """Tag ids for ``names`` (case-insensitive), creating the missing tags.

    Two users may create the same new tag at the same moment (on PostgreSQL nothing serialises them):
    the insert ignores the unique (project, name) conflict and the id is read back, so both get it."""
    if not names:
        return []
    existing = {name.casefold(): tid for tid, name in queries.tag_ids_by_name(project_id)}
    ids = []
    for name in names:
        tid = existing.get(name.casefold())
        if tid is None:
            Tag.insert(project=project_id, name=name).on_conflict_ignore().execute()
            tid = Tag.select(Tag.id).where((Tag.project == project_id) & (Tag.name == name)).scalar()
            existing[name.casefold()] = tid
        ids.append(tid)
    return ids


def _after_write(schema: ProjectSchema, record_id: int, field_ids: set[int], *, title_changed: bool) -> None:
    """Recompute what depends on a changed record (an existing one: see ``compute_new_record``)."""
    changed: dict[object, set[int]] = {fid: {record_id} for fid in field_ids}
    if title_changed:
        changed[title_key(schema.id)] = {record_id}
    if changed:
        propagate(changed, FieldGraph())


def _lock_record(record_id: int) -> Record:
    query = Record.select().where(Record.id == record_id)
    if is_postgres():
        query = query.for_update()
    record = query.first()
    if record is None:
        raise NotFoundError(f"no record #{record_id}")
    return record


def _check_version(record: Record, expect_version) -> None:
    if expect_version is not None and record.version != int(expect_version):
        raise ConflictError(
            f"record #{record.id} was changed by someone else (version {record.version}, you had "
            f"{expect_version}); reload it and apply your change again")


class _Stale(Exception):
    """The record read before the transaction has changed since: read it again, locked."""


def _bump(record: Record, *, stale: bool = False, **changes) -> int:
    """Write ``changes`` and the next version, if the record is still at ``record.version``.
    ``stale``: the record was read before the transaction, so a newer version means "read it again"
    (``_Stale``), not a conflict."""
    changes.setdefault("updated_at", utcnow())
    updated = (Record.update(version=Record.version + 1, **changes)
               .where((Record.id == record.id) & (Record.version == record.version)).execute())
    if not updated:
        if stale:
            raise _Stale
        raise ConflictError(f"record #{record.id} was changed by someone else meanwhile; reload it")
    return record.version + 1


def _read_record(record_id: int) -> Record:
    """The record and its project (``record.project``), in one query, unlocked."""
    record = queries.record_with_project(record_id)
    if record is None:
        raise NotFoundError(f"no record #{record_id}")
    return record


def record_schema(record_id: int) -> ProjectSchema:
    project = queries.project_of_record(record_id)
    if project is None:
        raise NotFoundError(f"no record #{record_id}")
    return load_schema(project)


def update_record(actor: Actor, record_id: int, *, title=None, values: dict | None = None,
                  description=None, due_date=_UNSET, assignee=_UNSET, expect_version=None,
                  from_text: bool = True, date_order: str = "YMD") -> int:
    """Change a record's title, description, due date, assignee and/or field values; returns the new
    version. A change equal to the stored value writes nothing.

    The record is read once, before the transaction (its project tells which fields to validate);
    inside, the version check of the UPDATE (or, when nothing changes, a read of the version) proves it
    is still what was read — every change to a record's own columns or values bumps its version.
    When it is not, the write starts over from the record read again under a lock."""
    seen = _read_record(record_id)
    schema = load_schema(seen.project)
    actor.require("edit", schema.id, schema.name)
    new_title = check_title(title) if title is not None else None
    prepared = prepare_values(_as_seen_by(actor, schema), values or {}, from_text=from_text, date_order=date_order)
    _check_edit(actor, prepared)
    due = parse_due_date(due_date, date_order) if due_date is not _UNSET else _UNSET
    assignee_id = resolve_assignee(assignee) if assignee is not _UNSET else _UNSET

    def write(seen):
        record = seen if seen is not None else _lock_record(record_id)
        _check_version(record, expect_version)
        now = utcnow()
        old_values = load_values(schema, [record_id], field_ids=list(prepared)).get(record_id, {}) \
            if prepared else {}
        rows: list[dict] = []
        changes: dict = {}
        if new_title is not None and new_title != record.title:
            changes["title"] = new_title
            rows.append(events.event_row(actor, schema.id, record_id, "updated", field_name="title",
                                         old=record.title, new=new_title, at=now))
        if description is not None and description != record.description:
            changes["description"] = description
            rows.append(events.event_row(actor, schema.id, record_id, "updated", field_name="description",
                                         old=record.description, new=description, at=now))
        if due is not _UNSET and due != record.due_date:
            changes["due_date"] = due
            rows.append(events.event_row(actor, schema.id, record_id, "updated", field_name="due_date",
                                         old=record.due_date.isoformat() if record.due_date else None,
                                         new=due.isoformat() if due else None, at=now))
        if assignee_id is not _UNSET and assignee_id != record.assignee_id:
            changes["assignee"] = assignee_id
            rows.append(events.event_row(actor, schema.id, record_id, "assigned", field_name="assignee",
                                         old=_user_name(record.assignee_id), new=_user_name(assignee_id),
                                         at=now))
        changed_fields: dict = {}
        for fid, (fdef, value) in prepared.items():
            old_json = json_value(fdef, old_values.get(fid))
            new_json = _prepared_json(fdef, value)
            if old_json != new_json:
                changed_fields[fid] = (fdef, value)
                rows.append(events.event_row(actor, schema.id, record_id, "updated", field_id=fid,
                                             field_name=fdef.name, old=old_json, new=new_json, at=now))
        if not rows:
            if seen is not None and _stored_version(record_id) != record.version:
                raise _Stale
            return record.version
        version = _bump(record, stale=seen is not None, **changes)
        write_values(record_id, changed_fields)
        _log_events(rows)
        _after_write(schema, record_id, set(changed_fields), title_changed="title" in changes)
        return version

    try:
        return run_write(write, seen)
    except _Stale:  # changed between the read and the transaction: compare with what is there now
        return run_write(write, None)


def _stored_version(record_id: int):
    return Record.select(Record.version).where(Record.id == record_id).scalar()


def _prepared_json(fdef, value):
    """JSON of a freshly prepared value, comparable with ``json_value`` of the stored one."""
    if fdef.type == "reference":
        ids = value if isinstance(value, list) else ([value] if value is not None else [])
        titles = queries.record_titles(ids)
        items = [{"id": i, "title": titles.get(i)} for i in ids]
        return items if fdef.config.get("multiple") else (items[0] if items else None)
    if fdef.type == "file":
        return [str(v) for v in value] if isinstance(value, list) else (None if value is None else str(value))
    return json_value(fdef, value)


def _user_name(user_id):
    if user_id is None:
        return None
    user = User.get_or_none(User.id == user_id)
    return user.name if user else None


def move_record(actor: Actor, record_id: int, list_name: str, *, expect_version=None) -> int:
    """Move a record to another list (on top of it); resets days in stage."""
    schema = record_schema(record_id)
    actor.require("move", schema.id, schema.name)
    target = schema.list(list_name)

    def write():
        record = _lock_record(record_id)
        _check_version(record, expect_version)
        if record.list_id == target.id:
            return record.version
        now = utcnow()
        old = schema.list_by_id(record.list_id)
        # a moved deal lands on top of its new stage, where the team looks first
        version = _bump(record, list=target.id, position=_top_position(target.id), list_entered_at=now)
        events.log([events.event_row(actor, schema.id, record_id, "moved", field_name="list",
                                     old=old.name if old else None, new=target.name, at=now)])
        return version

    return run_write(write)


def reorder_record(actor: Actor, record_id: int, offset: int) -> int:
    """Swap a record with its neighbour ``offset`` (−1 up, +1 down) in its list; returns the version."""
    schema = record_schema(record_id)
    actor.require("move", schema.id, schema.name)
    def write():
        record = _lock_record(record_id)
        cmp = (Record.position < record.position) if offset < 0 else (Record.position > record.position)
        order = Record.position.desc() if offset < 0 else Record.position.asc()
        neighbour = (Record.select().where((Record.list == record.list_id) & (Record.project == record.project_id)
                                           & (Record.archived == False) & cmp)  # noqa: E712
                     .order_by(order, Record.id).first())
        if neighbour is None:
            return record.version
        Record.update(position=record.position).where(Record.id == neighbour.id).execute()
        return _bump(record, position=neighbour.position)

    return run_write(write)


def tag_record(actor: Actor, record_id: int, tag_names: Iterable[str]) -> list[str]:
    """Add tags (created when new); returns the names actually added. Never conflicts, keeps version."""
    schema = record_schema(record_id)
    actor.require("edit", schema.id, schema.name)
    names = _clean_tags(tag_names)
    if not names:
        raise ValidationError("tag", "", "name at least one tag")

    def write():
        _lock_record(record_id)
        ids = _ensure_tags(schema.id, names)
        have = {t for (t,) in RecordTag.select(RecordTag.tag).where(RecordTag.record == record_id).tuples()}
        added = [(tid, name) for tid, name in zip(ids, names) if tid not in have]
        if added:
            RecordTag.insert_many([{"record": record_id, "tag": tid} for tid, _ in added]).execute()
            events.log([events.event_row(actor, schema.id, record_id, "tagged", field_name="tags", new=n)
                        for _, n in added])
            Record.update(updated_at=utcnow()).where(Record.id == record_id).execute()
        return [n for _, n in added]

    return run_write(write)


def untag_record(actor: Actor, record_id: int, tag_names: Iterable[str]) -> list[str]:
    schema = record_schema(record_id)
    actor.require("edit", schema.id, schema.name)
    names = _clean_tags(tag_names)
    if not names:
        raise ValidationError("tag", "", "name at least one tag")
    unknown = [n for n in names if schema.tag(n) is None]
    if unknown:
        raise ValidationError("tag", unknown[0], f"project {schema.name!r} has no such tag")

    def write():
        _lock_record(record_id)
        removed = []
        for name in names:
            tag = schema.tag(name)
            if RecordTag.delete().where((RecordTag.record == record_id) & (RecordTag.tag == tag.id)).execute():
                removed.append(tag.name)
        if removed:
            events.log([events.event_row(actor, schema.id, record_id, "untagged", field_name="tags", old=n)
                        for n in removed])
            Record.update(updated_at=utcnow()).where(Record.id == record_id).execute()
        return removed

    return run_write(write)


def archive_record(actor: Actor, record_id: int, *, expect_version=None) -> int:
    """Delete = archive: hidden from lists and references, restorable."""
    return _set_archived(actor, record_id, True, expect_version)


def restore_record(actor: Actor, record_id: int) -> int:
    return _set_archived(actor, record_id, False, None)


def _set_archived(actor, record_id, archived: bool, expect_version) -> int:
    schema = record_schema(record_id)
    actor.require("delete", schema.id, schema.name)

    def write():
        record = _lock_record(record_id)
        _check_version(record, expect_version)
        if record.archived == archived:
            return record.version
        version = _bump(record, archived=archived)
        events.log([events.event_row(actor, schema.id, record_id, "deleted" if archived else "restored")])
        return version

    return run_write(write)


def list_ids_by_kind(project_id: int, kinds: Iterable[str]) -> list[int]:
    return [i for (i,) in StageList.select(StageList.id)
            .where((StageList.project == project_id) & StageList.kind.in_(list(kinds))).tuples()]


def in_transaction() -> bool:
    return database.obj.transaction_depth() > 0


EVENT_COLUMNS = ["at", "user", "project", "record", "kind", "field", "field_name", "old", "new"]
EVENT_COLUMNS_DB = ["at", "user_id", "project_id", "record", "kind", "field", "field_name", "old", "new"]
VALUE_COLUMNS_DB = [c if c in ("position", "text", "number", "date", "error") else c + "_id" for c in VALUE_COLUMNS]


class NewRecord:
    """One record for :func:`create_records_bulk`: values are canonical, keyed by field id
    (references as record ids, files as attachment ids)."""

    __slots__ = ("title", "list_id", "tags", "values", "assignee_id", "created_at", "list_entered_at",
                 "description", "due_date")

    def __init__(self, title, list_id=None, tags=(), values=None, assignee_id=None, created_at=None,
                 list_entered_at=None, description="", due_date=None):
        self.title = title
        self.list_id = list_id
        self.tags = list(tags)
        self.values = values or {}
        self.assignee_id = assignee_id
        self.created_at = created_at
        self.list_entered_at = list_entered_at
        self.description = description
        self.due_date = due_date


def create_records_bulk(actor: Actor, schema: ProjectSchema, items: list[NewRecord], *,
                        chunk: int = 1000, moved_events: bool = True, progress=None) -> list[int]:
    """Insert many validated records at once (demo data, imports): ``insert_many`` in chunks, then
    lookups and formulas computed set-based for all of them. Call inside ``run_write`` to make it one
    transaction. Returns the new ids in order."""
    from ..db.bulk import insert_rows
    from .values import ROW_COLUMNS as VALUE_COLUMNS, storage_rows

    fields = {f.id: f for f in schema.fields}
    lists = {l.id: l for l in schema.lists}
    first_list = schema.lists[0] if schema.lists else None
    tag_ids = {t.name.casefold(): t.id for t in schema.tags}
    new_ids: list[int] = []
    top: dict = {}
    for start in range(0, len(items), chunk):
        batch = items[start:start + chunk]
        now = utcnow()
        rows = []
        for item in batch:
            list_id = item.list_id if item.list_id is not None else (first_list.id if first_list else None)
            if list_id not in top:
                top[list_id] = _next_position(list_id) - POSITION_STEP
            top[list_id] += POSITION_STEP
            created = item.created_at or now
            rows.append(dict(project=schema.id, title=item.title, description=item.description or "",
                             list=list_id, position=top[list_id], assignee=item.assignee_id,
                             due_date=item.due_date, created_at=created, updated_at=item.list_entered_at or created,
                             list_entered_at=item.list_entered_at or created, created_by=actor.id, version=1,
                             archived=False))
        record_cols = ["project_id", "title", "description", "list_id", "position", "assignee_id", "due_date",
                       "created_at", "updated_at", "list_entered_at", "created_by_id", "version", "archived"]
        ids = insert_rows("record", record_cols,
                          [(r["project"], r["title"], r["description"], r["list"], r["position"], r["assignee"],
                            r["due_date"], r["created_at"], r["updated_at"], r["list_entered_at"], r["created_by"],
                            1, False) for r in rows], returning="id")
        new_ids.extend(ids)
        value_rows: list[tuple] = []
        tag_rows: list[tuple] = []
        event_rows: list[dict] = []
        for rid, item, row in zip(ids, batch, rows):
            for fid, value in item.values.items():
                value_rows.extend(tuple(r.get(c) for c in VALUE_COLUMNS)
                                  for r in storage_rows(rid, fields[fid], value))
            for name in item.tags:
                tid = tag_ids.get(name.casefold())
                if tid is None:
                    tid = _ensure_tags(schema.id, [name])[0]
                    tag_ids[name.casefold()] = tid
                tag_rows.append((rid, tid))
            lst = lists.get(row["list"])
            event_rows.append(events.event_row(actor, schema.id, rid, "created", field_name="title",
                                               new={"title": item.title,
                                                    "list": first_list.name if (moved_events and first_list)
                                                    else (lst.name if lst else None)},
                                               at=row["created_at"]))
            if moved_events and lst and first_list and lst.id != first_list.id:
                event_rows.append(events.event_row(actor, schema.id, rid, "moved", field_name="list",
                                                   old=first_list.name, new=lst.name,
                                                   at=row["list_entered_at"]))
        insert_rows("field_value", [c if c in ("position", "text", "number", "date", "error") else c + "_id"
                                    for c in VALUE_COLUMNS], value_rows)
        insert_rows("record_tag", ["record_id", "tag_id"], tag_rows)
        insert_rows("event", EVENT_COLUMNS_DB, [tuple(e[c] for c in EVENT_COLUMNS) for e in event_rows])
        if progress:
            progress(len(new_ids), len(items))
    if new_ids:
        graph = FieldGraph()
        formulas = [f for f in graph.by_project[schema.id] if f.type == "formula"]
        lookups = [f for f in graph.by_project[schema.id] if f.type == "lookup"]
        # lookups first (formulas may read them); lookups of lookups in dependency order
        for lk in graph.dependency_order(lookups):
            from ..db import queries as q

            q.materialize_lookup(lk.id, lk.config["via"], lk.config["of"], new_ids, fresh=True)
        if formulas:
            recompute_formulas(formulas, new_ids, graph.by_project[schema.id])
        if len(new_ids) >= 1000:
            from ..db.bulk import refresh_statistics

            refresh_statistics()
    return new_ids

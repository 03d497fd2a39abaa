"""Triggers: which events of the activity log fire a rule, and which records a time trigger is due for.

>>> matches(trigger, event, schema)                      # an event trigger against one event row
>>> due_records(rule_id, trigger, schema, now)           # a time trigger: [(record id, stay_at, key)]

Time triggers are indexed range queries (``record (list_id, list_entered_at)``, ``record (project_id,
updated_at)``, ``field_value (field, date)``) with a NOT EXISTS on the ledger, never a scan of every
record. Each returns only what has not fired yet: once per stay in a list (keyed by the time the record
entered it), once per idle period (keyed by the last change), once per date.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from peewee import JOIN, fn

from ...db.automation_models import RuleRun
from ...db.models import FieldValue, Record
from ..project_schema import ProjectSchema
from .conditions import field_kind, record_atoms, to_atom

SCAN_LIMIT = 1000  # records per time rule per tick; the rest fire on the next tick

# field names as the log writes them for built-ins
BUILTIN_EVENT_FIELDS = {"assignee": ("assigned", "assignee"), "list": ("moved", "list"),
                        "tag": ("tagged", "tags"), "tags": ("tagged", "tags"), "title": ("updated", "title"),
                        "description": ("updated", "description"), "due_date": ("updated", "due_date"),
                        "due date": ("updated", "due_date")}
UPDATE_KINDS = ("updated", "moved", "tagged", "untagged", "assigned")


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _same(a, b) -> bool:
    return a is not None and b is not None and str(a).strip().casefold() == str(b).strip().casefold()


def _in_lists(name, wanted) -> bool:
    if wanted is None:
        return True
    wanted = wanted if isinstance(wanted, list) else [wanted]
    return any(_same(name, w) for w in wanted)


def matches(trigger: dict, event: dict, schema: ProjectSchema) -> bool:
    """Does this event (a row of ``event`` as a dict) fire an event trigger?"""
    kind = event["kind"]
    ttype = trigger["type"]
    if ttype == "record_created":
        if kind != "created":
            return False
        new = _json(event["new"])
        return "list" not in trigger or (isinstance(new, dict) and _same(new.get("list"), trigger["list"]))
    if ttype == "moved_to_list":
        if kind != "moved":
            return False
        if "from" in trigger and not _same(_json(event["old"]), trigger["from"]):
            return False
        return "to" not in trigger or _same(_json(event["new"]), trigger["to"])
    if ttype == "tag_added":
        return kind == "tagged" and ("tag" not in trigger or _same(_json(event["new"]), trigger["tag"]))
    if ttype == "assignee_changed":
        return kind == "assigned" and ("to" not in trigger or _same(_json(event["new"]), trigger["to"]))
    if ttype == "record_updated":
        return kind in UPDATE_KINDS
    if ttype == "field_changed":
        fields = trigger["field"] if isinstance(trigger["field"], list) else [trigger["field"]]
        for name in fields:
            builtin = BUILTIN_EVENT_FIELDS.get(name.casefold())
            if builtin:
                hit = kind == builtin[0] and (event["field_name"] or "").casefold() == builtin[1]
            else:
                hit = kind == "updated" and (event["field_name"] or "").casefold() == name.casefold()
            if hit:
                return "to" not in trigger or _new_value_is(name, trigger["to"], event, schema)
        return False
    return False


def _new_value_is(name: str, wanted, event: dict, schema: ProjectSchema) -> bool:
    new = _json(event["new"])
    fdef = schema.field_or_none(name) if name.casefold() not in BUILTIN_EVENT_FIELDS else None
    kind = field_kind(fdef) if fdef is not None else ("date" if "due" in name.casefold() else "text")
    try:
        target = to_atom(kind, wanted, fdef)
    except ValueError:
        return False
    return target in record_atoms(kind, new)


# ------------------------------------------------------------------------------------------------
# time triggers


def _open_lists(schema: ProjectSchema, names) -> list:
    if names is None:
        return [l for l in schema.lists if l.kind == "open"]
    names = names if isinstance(names, list) else [names]
    return [l for l in schema.lists if any(_same(l.name, n) for n in names)]


R = Record.alias("r")  # the outer record of a time query, named so the NOT EXISTS can correlate
FV = FieldValue.alias("fv")


def _not_fired(rule_id: int, stay_column):
    return ~fn.EXISTS(RuleRun.select(RuleRun.id)
                      .where((RuleRun.rule == rule_id) & (RuleRun.record == R.id) & (RuleRun.stay_at == stay_column)))


@dataclass
class Watermark:
    """Where the last complete scan of a time rule stopped: its clock and the newest record id then.

    A stay (or idle period) only ever starts at the time of the write, so a later scan needs only the
    records whose start passed the due line since (``start`` in (last cutoff, cutoff]) plus records
    created since (imports may carry old timestamps) — two index range queries instead of every aged
    record. A clock that goes back (an injected ``now``) makes a full scan."""

    now: dt.datetime | None = None
    max_record_id: int = 0  # date_field: the newest field_value id instead

    complete: bool = True


def _range_query(column, id_column, base, cutoff, lower, wm: Watermark | None, rule_id: int) -> list[tuple]:
    rows: dict[int, object] = {}
    queries = []
    if lower is None:
        queries.append(base & (column <= cutoff))
    else:
        queries.append(base & (column <= cutoff) & (column > lower))
        queries.append(base & (column <= cutoff) & (id_column > wm.max_record_id))
    for n, where in enumerate(queries):
        order = R.id if n == 1 else column  # the id branch walks the primary key
        query = (R.select(R.id, column).where(where & _not_fired(rule_id, column))
                 .order_by(order).limit(SCAN_LIMIT).tuples())
        found = list(query)
        if len(found) >= SCAN_LIMIT and wm is not None:
            wm.complete = False
        rows.update(found)
    return sorted(rows.items(), key=lambda kv: (kv[1], kv[0]))


def due_records(rule_id: int, trigger: dict, schema: ProjectSchema, now: dt.datetime,
                watermark: Watermark | None = None) -> list[tuple]:
    """``[(record id, stay_at, key, days)]`` the time trigger is due for and has not fired for yet.

    With a ``watermark`` of the previous complete scan only what became due since is looked at; the
    watermark's ``complete`` is cleared when a query hit ``SCAN_LIMIT`` (the rest comes next tick)."""
    ttype = trigger["type"]
    out: list[tuple] = []
    use_wm = watermark is not None and watermark.now is not None and watermark.now <= now

    def lower(days):
        return watermark.now - dt.timedelta(days=days) if use_wm else None

    if ttype == "in_list_for":
        by_days: dict[int, list[int]] = {}
        for lst in _open_lists(schema, trigger.get("list")):
            days = trigger.get("days", lst.aging_days)
            by_days.setdefault(days, []).append(lst.id)
        for days, list_ids in by_days.items():
            base = R.list.in_(list_ids) & (R.archived == False)  # noqa: E712
            found = _range_query(R.list_entered_at, R.id, base, now - dt.timedelta(days=days), lower(days),
                                 watermark, rule_id)
            out += [(rid, at, f"s:{rid}:{_stamp(at)}", days) for rid, at in found]
        return out
    if ttype == "no_activity_for":
        days = trigger["days"]
        list_ids = [l.id for l in _open_lists(schema, trigger.get("list"))]
        base = (R.project == schema.id) & (R.archived == False) & R.list.in_(list_ids)  # noqa: E712
        found = _range_query(R.updated_at, R.id, base, now - dt.timedelta(days=days), lower(days), watermark,
                             rule_id)
        return [(rid, at, f"a:{rid}:{_stamp(at)}", days) for rid, at in found]
    if ttype == "date_field":
        fdef = schema.field(trigger["field"])
        days = trigger.get("days", 0)

        def window(day: dt.date) -> tuple[dt.date, dt.date]:
            if trigger.get("when", "before") == "before":
                return day, day + dt.timedelta(days=days)
            hi = day - dt.timedelta(days=days)
            return hi - dt.timedelta(days=trigger.get("catch_up_days", 7)), hi

        lo, hi = window(now.date())
        base = ((FV.field == fdef.id) & (FV.date >= lo) & (FV.date <= hi)
                & (Record.archived == False)  # noqa: E712
                & ~fn.EXISTS(RuleRun.select(RuleRun.id).where(
                    (RuleRun.rule == rule_id) & (RuleRun.record == FV.record) & (RuleRun.stay_at == FV.date))))
        if use_wm:
            # what entered the window since the last scan: its leading edge moved, or a value was
            # written since (a changed date is a new field_value row, so a higher id)
            _, prev_hi = window(watermark.now.date())
            wheres = [base & (FV.date > prev_hi), base & (FV.id > watermark.max_record_id)]
        else:
            wheres = [base]
        rows: dict[tuple, None] = {}
        for where in wheres:
            found = list(FV.select(FV.record, FV.date)
                         .join(Record, JOIN.INNER, on=(FV.record == Record.id))
                         .where(where).order_by(FV.date).limit(SCAN_LIMIT).tuples())
            if len(found) >= SCAN_LIMIT and watermark is not None:
                watermark.complete = False
            rows.update(dict.fromkeys((rid, _as_date(d)) for rid, d in found))
        # the date itself is the stay (stored as a date so the NOT EXISTS above compares like with like)
        return [(rid, d, f"d:{rid}:{d.isoformat()}", days) for rid, d in rows][:SCAN_LIMIT]
    return []


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _stamp(value) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).replace(" ", "T")

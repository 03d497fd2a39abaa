"""The tick: read new events from a persisted cursor, check time triggers, run what fires, exactly once.

>>> result = tick()                         # the worker calls this every N seconds
>>> result = tick(now=dt.datetime(2026, 7, 1, 9))   # an injected clock for time triggers (tests, --now)
>>> result.fired, result.errors, result.loops_stopped

Exactly once: each firing inserts its ledger row (``rule_run``, UNIQUE (rule, key)) in the same
transaction as the action's effects. A second worker's insert of the same key does nothing (it waits for
the first on PostgreSQL), so it skips; a crash before the commit rolls back both the row and the
effects, so the next tick fires again. The cursor is only an optimisation: re-reading an event is safe.

Chains: actions write events through the domain functions (as the ``automation`` user), so other rules
see them. Every event an action writes gets its chain depth in ``automation_event_origin``; a rule
triggered by an event at ``MAX_DEPTH`` is not run — the ledger records ``loop_stopped`` and a warning is
logged — and the tick ends normally. A failing action rolls its run back and is logged as ``error``
once (not retried); a failing email stays in the outbox and is retried with back-off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field as dc_field

from peewee import fn

from ...db.automation_models import AutomationCursor, AutomationRule, EventOrigin, RuleRun, ensure_indexes
from ...db.connection import database, run_write
from ...db.models import Event, FieldValue, Record, User, utcnow
from ...errors import CrmError
from ..actors import Actor
from ..project_schema import ProjectSchema, load_schema
from . import notify
from .actions import RunContext, run_action
from .conditions import compile_all, load_states
from .rules import EVENT_TRIGGERS, TIME_TRIGGERS, rule_spec
from .triggers import Watermark, due_records, matches

log = logging.getLogger("crm_tui.automations")

AUTOMATION_USER = "automation"
MAX_DEPTH = 5  # events written by a chain this long trigger nothing more
BATCH = 500  # events read per query
MAX_EVENTS_PER_TICK = 50_000  # a huge backlog is worked off over several ticks
TIME_SCAN_SECONDS = 60  # with the real clock, time triggers are checked at most this often
GAP_GRACE = dt.timedelta(seconds=120)  # how long an id below the cursor may still appear (PostgreSQL)
MAX_PENDING = 5000

# Tests set this to a callable(rule_id, record_id) that raises inside the run's transaction after the
# actions ran, to simulate a crash between firing and committing.
after_actions_hook = None

_setup_done: set = set()


class _Skip(Exception):
    """Conditions do not hold (or the record is gone): roll the ledger row back, fire nothing."""


@dataclass
class TickResult:
    events: int = 0
    fired: int = 0
    errors: int = 0
    loops_stopped: int = 0
    time_checked: bool = False
    reminders: int = 0
    emails: dict = dc_field(default_factory=lambda: {"sent": 0, "retrying": 0, "failed": 0})

    def as_dict(self) -> dict:
        return {"events": self.events, "fired": self.fired, "errors": self.errors,
                "loops_stopped": self.loops_stopped, "time_checked": self.time_checked,
                "reminders": self.reminders, "emails": dict(self.emails)}

    def summary(self) -> str:
        return (f"{self.events} events, {self.fired} fired, {self.errors} errors, {self.loops_stopped} loops "
                f"stopped, {self.reminders} reminders due, {self.emails['sent']} emails sent, "
                f"{self.emails['retrying']} retrying, {self.emails['failed']} failed")


@dataclass
class LoadedRule:
    id: int
    project_id: int
    name: str
    trigger: dict
    conditions: list
    actions: list
    since_event: int
    condition_field_ids: list = dc_field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# setup


def automation_actor() -> Actor:
    """The ``automation`` user every action is attributed to (inactive: nobody can log in as it)."""
    user = User.get_or_none(User.name == AUTOMATION_USER)
    if user is None:
        def create():
            existing = User.get_or_none(User.name == AUTOMATION_USER)
            return existing or User.create(name=AUTOMATION_USER, display_name="Automation", active=False)

        try:
            user = run_write(create)
        except Exception:  # noqa: BLE001 - another worker created it meanwhile
            user = User.get(User.name == AUTOMATION_USER)
    return Actor(id=user.id, name=AUTOMATION_USER, is_admin=True)


def ensure_setup() -> None:
    key = (id(database.obj), database.obj.database)
    if key in _setup_done:
        return
    try:
        ensure_indexes(database.obj)
    except Exception as exc:  # noqa: BLE001 - a concurrent CREATE INDEX; the other one made it
        log.debug("record indexes: %s", exc)
        if database.obj.in_transaction():
            database.obj.rollback()
    _setup_done.add(key)


# ------------------------------------------------------------------------------------------------
# rules


class _Schemas(dict):
    def __missing__(self, project_id) -> ProjectSchema:
        schema = self[project_id] = load_schema(project_id)
        return schema


def load_rules(schemas: _Schemas, kinds) -> list[LoadedRule]:
    rows = list(AutomationRule.select(AutomationRule.id, AutomationRule.project, AutomationRule.name,
                                      AutomationRule.spec, AutomationRule.since_event, AutomationRule.enabled)
                .where((AutomationRule.enabled == True) & AutomationRule.trigger.in_(list(kinds)))  # noqa: E712
                .order_by(AutomationRule.id))
    out = []
    for row in rows:
        spec = rule_spec(row)
        schema = schemas[row.project_id]
        try:
            conditions = compile_all(spec["conditions"], schema)
        except Exception as exc:  # noqa: BLE001 - a field or list was renamed since: skip, say why
            log.warning("automation %r skipped: its conditions no longer compile (%s)", row.name, exc)
            continue
        out.append(LoadedRule(row.id, row.project_id, row.name, spec["trigger"], conditions, spec["actions"],
                              row.since_event or 0,
                              sorted({c.field_id for c in conditions if c.field_id is not None})))
    return out


# ------------------------------------------------------------------------------------------------
# firing


def _ledger_only(rule: LoadedRule, key: str, record_id, now, *, status: str, message: str, depth: int,
                 event_id=None, stay_at=None) -> bool:
    def write():
        return (RuleRun.insert(rule=rule.id, key=key, record=record_id, event=event_id, stay_at=stay_at, at=now,
                               status=status, message=message[:2000], depth=depth)
                .on_conflict_ignore().as_rowcount().execute())

    return bool(run_write(write))


MUTATING = {"assign", "assign_round_robin", "assign_by_field", "add_tag", "remove_tag", "move_to_list",
            "set_field", "set_due_date"}


class Tick:
    """What one tick shares: the clock, the counts, project schemas, the automation actor, and the
    records its actions changed (their pre-checked conditions must be checked again)."""

    def __init__(self, now: dt.datetime, result: TickResult):
        self.now = now
        self.result = result
        self.schemas = _Schemas()
        self.touched: set[int] = set()
        self._actor: Actor | None = None

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = automation_actor()
        return self._actor


def fire(tick: Tick, rule: LoadedRule, record_id: int, key: str, *, event: dict | None = None, depth: int = 0,
         stay_at=None, days=None) -> str:
    """Run one rule for one trigger, exactly once. Returns fired | skipped | duplicate | error | loop."""
    now, result = tick.now, tick.result
    schema = tick.schemas[rule.project_id]
    event_id = event["id"] if event else None
    if depth >= MAX_DEPTH:
        message = (f"loop guard: chain depth {depth} reached (limit {MAX_DEPTH}); rule {rule.name!r} not run "
                   f"for record #{record_id}")
        if _ledger_only(rule, key, record_id, now, status="loop_stopped", message=message, depth=depth,
                        event_id=event_id, stay_at=stay_at):
            log.warning("%s", message)
            result.loops_stopped += 1
            return "loop"
        return "duplicate"
    actor = tick.actor
    mutating = any(a["type"] in MUTATING for a in rule.actions)

    def write():
        rows = list(RuleRun.insert(rule=rule.id, key=key, record=record_id, event=event_id, stay_at=stay_at, at=now,
                                   status="ok", message="", depth=depth)
                    .on_conflict_ignore().returning(RuleRun.id).execute())
        if not rows:
            return None  # fired already (by this worker earlier, or another one)
        run_id = rows[0].id
        state = load_states(schema, [record_id]).get(record_id)
        if state is None or state["archived"] or state["project_id"] != schema.id:
            raise _Skip
        if not all(c.check(state) for c in rule.conditions):
            raise _Skip
        before = (Event.select(fn.MAX(Event.id)).scalar() or 0) if mutating else None
        ctx = RunContext(rule.id, rule.name, schema, record_id, state, actor, now, run_id=run_id, event=event,
                         days=days)
        notes = [run_action(ctx, action) for action in rule.actions]
        if ctx.touched:
            tick.touched.add(record_id)
            produced = [i for (i,) in Event.select(Event.id)
                        .where((Event.id > before) & (Event.user == actor.id) & (Event.record == record_id)).tuples()]
            if produced:  # a concurrent run on this record may have claimed some already
                known = {i for (i,) in EventOrigin.select(EventOrigin.event)
                         .where(EventOrigin.event.in_(produced)).tuples()}
                fresh = [i for i in produced if i not in known]
                if fresh:
                    EventOrigin.insert_many([{"event": i, "run": run_id, "depth": depth + 1} for i in fresh]).execute()
        RuleRun.update(message="; ".join(notes)[:2000]).where(RuleRun.id == run_id).execute()
        if after_actions_hook is not None:
            after_actions_hook(rule.id, record_id)
        return run_id

    try:
        run_id = run_write(write)
    except _Skip:
        return "skipped"
    except Exception as exc:  # noqa: BLE001 - one failing rule never stops the worker
        message = str(exc) if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
        log.warning("automation %r failed on record #%s: %s", rule.name, record_id, message)
        if _ledger_only(rule, key, record_id, now, status="error", message=message, depth=depth,
                        event_id=event_id, stay_at=stay_at):
            result.errors += 1
            return "error"
        return "duplicate"
    if run_id is None:
        return "duplicate"
    result.fired += 1
    return "fired"


# ------------------------------------------------------------------------------------------------
# events


def _read_cursor() -> tuple[int, dict]:
    row = AutomationCursor.get_or_none(AutomationCursor.name == "events")
    if row is None:
        return -1, {}
    return row.last_id, json.loads(row.pending or "{}")


def _save_cursor(last_id: int, pending: dict) -> None:
    body = json.dumps(pending)

    def write():
        # never move back: another worker may be ahead
        updated = (AutomationCursor.update(last_id=fn.MAX(AutomationCursor.last_id, last_id) if _sqlite() else
                                           fn.GREATEST(AutomationCursor.last_id, last_id),
                                           pending=body, updated_at=utcnow())
                   .where(AutomationCursor.name == "events").execute())
        if not updated:
            AutomationCursor.insert(name="events", last_id=last_id, pending=body).on_conflict_ignore().execute()

    run_write(write)


def _sqlite() -> bool:
    from ...db.connection import is_sqlite

    return is_sqlite()


def _groups(rows: list[dict]) -> list[list[dict]]:
    """Events of one write: consecutive ids, same record and user, within a second."""
    groups: list[list[dict]] = []
    for row in rows:
        if groups:
            last = groups[-1][-1]
            if (last["record"] == row["record"] and last["user"] == row["user"]
                    and abs((_dt(row["at"]) - _dt(last["at"])).total_seconds()) < 1):
                groups[-1].append(row)
                continue
        groups.append([row])
    return groups


def _dt(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def process_events(tick: Tick) -> None:
    last_id, pending = _read_cursor()
    top = Event.select(fn.MAX(Event.id)).scalar() or 0
    if top <= last_id and not pending:
        return  # nothing new: the common case costs two queries
    rules = load_rules(tick.schemas, EVENT_TRIGGERS)
    if not rules:
        _save_cursor(top, {})
        return
    by_project: dict[int, list[LoadedRule]] = {}
    for rule in rules:
        by_project.setdefault(rule.project_id, []).append(rule)
    oldest = min(r.since_event for r in rules)
    start = max(last_id, oldest)
    pending = {k: v for k, v in pending.items() if int(k) > oldest}
    wall = utcnow()
    result = tick.result
    while result.events < MAX_EVENTS_PER_TICK:
        pending_ids = [int(k) for k in pending]
        where = Event.id > start
        if pending_ids:
            where = where | Event.id.in_(pending_ids)
        rows = list(Event.select(Event.id, Event.at, Event.user, Event.project, Event.record, Event.kind,
                                 Event.field, Event.field_name, Event.old, Event.new)
                    .where(where).order_by(Event.id).limit(BATCH).dicts())
        if not rows:
            if start != last_id:
                _save_cursor(start, pending)
            break
        if len(rows) == BATCH:  # a write's events cut by the limit are read whole next time
            groups = _groups(rows)
            if len(groups) > 1:
                rows = [r for g in groups[:-1] for r in g]
        _fire_batch(tick, rows, by_project)
        result.events += len(rows)
        # ids skipped below the newest seen may belong to transactions not committed yet (PostgreSQL
        # hands out ids before commit): keep looking for them for a while
        ids = [r["id"] for r in rows]
        seen = set(ids)
        new_start = max([start] + [i for i in ids if i > start])
        previous = start
        for i in sorted(i for i in seen if i > start):
            for gap in range(previous + 1, min(i, previous + 1 + MAX_PENDING - len(pending))):
                pending.setdefault(str(gap), wall.isoformat())
            previous = i
        pending = {k: v for k, v in pending.items()
                   if int(k) not in seen and wall - dt.datetime.fromisoformat(v) < GAP_GRACE}
        start = new_start
        _save_cursor(start, pending)


def _fire_batch(tick: Tick, rows: list[dict], by_project: dict) -> None:
    """Match a batch of events against the rules, pre-check conditions on states loaded for the whole
    batch (a few queries, not a transaction per non-matching event), and fire what passes."""
    candidates = []
    for group in _groups(rows):
        for rule in by_project.get(group[0]["project"], ()):
            schema = tick.schemas[rule.project_id]
            hits = [e for e in group if e["id"] > rule.since_event and matches(rule.trigger, e, schema)]
            if hits:
                candidates.append((rule, hits))
    if not candidates:
        return
    ids = [r["id"] for r in rows]
    depths = dict(EventOrigin.select(EventOrigin.event, EventOrigin.depth)
                  .where(EventOrigin.event.in_(ids)).tuples())
    keys = {f"e:{hits[0]['id']}" for _, hits in candidates}
    rule_ids = list({rule.id for rule, _ in candidates})
    done = set(RuleRun.select(RuleRun.rule, RuleRun.key)  # (rule, key) is the ledger's unique index
               .where(RuleRun.rule.in_(rule_ids) & RuleRun.key.in_(list(keys))).tuples())
    states: dict[int, dict] = {}
    for project_id in {rule.project_id for rule, _ in candidates}:
        records = {hits[0]["record"] for rule, hits in candidates if rule.project_id == project_id}
        states.update(load_states(tick.schemas[project_id], list(records)))
    for rule, hits in candidates:
        key = f"e:{hits[0]['id']}"
        if (rule.id, key) in done:
            continue
        record_id = hits[0]["record"]
        if record_id not in tick.touched:  # unchanged since the batch was loaded: trust the pre-check
            state = states.get(record_id)
            if state is None or state["archived"] or not all(c.check(state) for c in rule.conditions):
                continue
        depth = max(depths.get(e["id"], 0) for e in hits)
        fire(tick, rule, record_id, key, event=hits[0], depth=depth)


# ------------------------------------------------------------------------------------------------
# time


def _time_scan_due(now: dt.datetime, injected: bool) -> bool:
    if injected:
        return True
    row = AutomationCursor.get_or_none(AutomationCursor.name == "time")
    return row is None or row.at is None or row.at > now or (now - row.at).total_seconds() >= TIME_SCAN_SECONDS


def _mark_time_scan(now: dt.datetime) -> None:
    def write():
        if not AutomationCursor.update(at=now, updated_at=utcnow()).where(AutomationCursor.name == "time").execute():
            AutomationCursor.insert(name="time", at=now).on_conflict_ignore().execute()

    run_write(write)


def _watermark_name(rule: LoadedRule) -> str:
    digest = hashlib.sha1(json.dumps(rule.trigger, sort_keys=True).encode()).hexdigest()[:12]
    return f"time:{rule.id}:{digest}"  # a changed trigger starts from a full scan


def process_time(tick: Tick) -> None:
    rules = load_rules(tick.schemas, TIME_TRIGGERS)
    if not rules:
        return
    names = {rule.id: _watermark_name(rule) for rule in rules}
    stored = {row.name: row for row in AutomationCursor.select()
              .where(AutomationCursor.name.in_(list(names.values())))}
    # read before the scans: anything newer is looked at next time
    max_record = Record.select(fn.MAX(Record.id)).scalar() or 0
    max_value = FieldValue.select(fn.MAX(FieldValue.id)).scalar() or 0 \
        if any(r.trigger["type"] == "date_field" for r in rules) else 0
    for rule in rules:
        schema = tick.schemas[rule.project_id]
        row = stored.get(names[rule.id])
        wm = Watermark(now=row.at, max_record_id=row.last_id) if row is not None else Watermark()
        try:
            due = due_records(rule.id, rule.trigger, schema, tick.now, wm)
        except Exception as exc:  # noqa: BLE001 - e.g. the date field was deleted
            log.warning("automation %r: time trigger skipped (%s)", rule.name, exc)
            continue
        for record_id, stay_at, key, days in due:
            fire(tick, rule, record_id, key, stay_at=stay_at, days=days)
        if wm.complete:
            # never past the wall clock: writes are stamped with it, and a stay that starts after this
            # scan must fall above the next scan's lower line even when ``now`` was injected ahead
            _save_watermark(names[rule.id], min(tick.now, utcnow()),
                            max_value if rule.trigger["type"] == "date_field" else max_record)


def _save_watermark(name: str, now: dt.datetime, max_record: int) -> None:
    def write():
        if not AutomationCursor.update(at=now, last_id=max_record, updated_at=utcnow()).where(
                AutomationCursor.name == name).execute():
            AutomationCursor.insert(name=name, at=now, last_id=max_record).on_conflict_ignore().execute()

    run_write(write)


# ------------------------------------------------------------------------------------------------
# the tick


def tick(now: dt.datetime | None = None, *, send_email: bool = True) -> TickResult:
    """One pass of the worker. Never raises for a failing rule or email; database errors propagate
    (the worker logs them and tries again next interval)."""
    injected = now is not None
    now = now or utcnow()
    if now.tzinfo is not None:
        now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
    ensure_setup()
    result = TickResult()
    t = Tick(now, result)
    process_events(t)
    if _time_scan_due(now, injected):
        has_time_rules = AutomationRule.select().where((AutomationRule.enabled == True)  # noqa: E712
                                                      & AutomationRule.trigger.in_(list(TIME_TRIGGERS))).exists()
        if has_time_rules:
            process_time(t)
            # what time rules did may trigger event rules: run them in this tick too
            process_events(t)
        result.time_checked = True
        if not injected:
            _mark_time_scan(now)
    result.reminders = notify.notify_due_reminders(now)
    if send_email:
        result.emails = notify.send_due_emails(now)
    return result

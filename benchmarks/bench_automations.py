"""Automations at scale: a tick with nothing new over 100k records and 20 rules, and 10,000 new events.

    python benchmarks/bench_automations.py                    # a temporary SQLite file
    python benchmarks/bench_automations.py --db postgresql://postgres@127.0.0.1/bench --size 100000

Builds the demo data (``build_demo``), adds 20 enabled rules (14 event triggers, 6 time triggers) and
fills the ledger as if every due time trigger had already fired (the steady state of a running worker).
Prints a markdown table. Goal: a tick with nothing new < 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm_tui.db import open_database  # noqa: E402
from crm_tui.db.automation_models import RuleRun  # noqa: E402
from crm_tui.db.connection import run_write  # noqa: E402
from crm_tui.db.models import Record, utcnow  # noqa: E402
from crm_tui.domain.actors import actor_for, add_user, ensure_user  # noqa: E402
from crm_tui.domain.automations import engine, rules, triggers  # noqa: E402
from crm_tui.domain.project_schema import load_schema  # noqa: E402

NOTE = {"type": "notify", "to": ["assignee"], "message": "{Title} ({Amount}) in {List}"}
RULES = [
    ("Opportunities", {"type": "record_created"}, [{"field": "list", "op": "=", "value": "Unqualified"}],
     [{"type": "assign_round_robin", "users": ["alice", "bob"]}]),
    ("Opportunities", {"type": "moved_to_list", "to": "Won"}, [], [NOTE]),
    ("Opportunities", {"type": "moved_to_list", "to": "Lost"}, [], [{"type": "add_tag", "tag": "Review"}]),
    ("Opportunities", {"type": "moved_to_list", "to": "Proposal sent"}, [], [{"type": "remind", "days": 3}]),
    ("Opportunities", {"type": "field_changed", "field": "Amount"}, [{"field": "Amount", "op": ">", "value": 50000}],
     [{"type": "add_tag", "tag": "Big"}]),
    ("Opportunities", {"type": "field_changed", "field": "Deal source", "to": "Referral"}, [],
     [{"type": "notify", "to": ["admins"], "message": "referral {Title}"}]),
    ("Opportunities", {"type": "tag_added", "tag": "SEO"}, [], [NOTE]),
    ("Opportunities", {"type": "assignee_changed"}, [], [NOTE]),
    ("Opportunities", {"type": "record_updated"}, [{"field": "list", "op": "=", "value": "Negotiation"}],
     [{"type": "set_due_date", "days": 7}]),
    ("Opportunities", {"type": "field_changed", "field": "Expected close date"}, [], [NOTE]),
    ("Opportunities", {"type": "moved_to_list"}, [{"field": "Amount", "op": ">", "value": 1000}], [NOTE]),
    ("Clients", {"type": "field_changed", "field": ["Email", "Phone", "Address"]}, [],
     [{"type": "notify", "to": ["assignees_of:Opportunities.Client"], "message": "{Title} changed"}]),
    ("Clients", {"type": "record_created"}, [],
     [{"type": "assign_by_field", "field": "Source", "map": {"Referral": "alice", "Website": "bob"}}]),
    ("Opportunities", {"type": "tag_added", "tag": "Website"}, [{"field": "Amount", "op": ">", "value": 1000}], [NOTE]),
    ("Opportunities", {"type": "in_list_for", "days": 14}, [], [NOTE]),
    ("Opportunities", {"type": "in_list_for", "list": "Negotiation", "days": 30}, [], [NOTE]),
    ("Opportunities", {"type": "no_activity_for", "days": 60}, [], [NOTE]),
    ("Opportunities", {"type": "date_field", "field": "Expected close date", "days": 3}, [], [NOTE]),
    ("Opportunities", {"type": "date_field", "field": "Expected close date", "when": "after", "days": 1}, [], [NOTE]),
    ("Opportunities", {"type": "in_list_for", "list": "Contract to sign", "days": 7}, [], [NOTE]),
]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def build(url: str, size: int) -> None:
    from crm_tui.domain.demo import build_demo

    open_database(url)
    admin = actor_for(ensure_user("admin", is_admin=True))
    t = time.perf_counter()
    build_demo(admin, size=size, seed=7)
    print(f"built {size} opportunities in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    for name in ("alice", "bob"):
        if not __import__("crm_tui.db.models", fromlist=["User"]).User.select().where(
                __import__("crm_tui.db.models", fromlist=["User"]).User.name == name).exists():
            add_user(name, by=admin)
    for i, (project, trigger, conditions, actions) in enumerate(RULES):
        rules.add_rule(admin, project, {"name": f"rule {i + 1:02d}", "enabled": True, "trigger": trigger,
                                        "conditions": conditions, "actions": actions})


def prefill_ledger(now) -> int:
    """Mark every due time trigger as fired, without acting: the steady state of a running worker."""
    schemas: dict = {}
    total = 0
    old = triggers.SCAN_LIMIT
    triggers.SCAN_LIMIT = 10 ** 7
    try:
        for rule in engine.load_rules(engine._Schemas(), rules.TIME_TRIGGERS):
            schema = schemas.setdefault(rule.project_id, load_schema(rule.project_id))
            due = triggers.due_records(rule.id, rule.trigger, schema, now)
            rows = [dict(rule=rule.id, key=key, record=rid, stay_at=stay, at=now, status="ok", message="prefill")
                    for rid, stay, key, _ in due]

            def write(rows=rows):
                for start in range(0, len(rows), 1000):
                    RuleRun.insert_many(rows[start:start + 1000]).execute()

            run_write(write)
            total += len(rows)
    finally:
        triggers.SCAN_LIMIT = old
    return total


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def make_events(count: int) -> None:
    """``count`` events through the domain functions, a realistic mix of writes."""
    from crm_tui.domain.records import create_record, move_record, tag_record, update_record

    admin = actor_for(ensure_user("admin", is_admin=True))
    opp = load_schema("Opportunities")
    ids = [i for (i,) in Record.select(Record.id).where(Record.project == opp.id).tuples()]
    rng = random.Random(3)
    lists = [l.name for l in opp.lists]
    made = 0
    while made < count:
        kind = rng.random()
        rid = rng.choice(ids)
        if kind < 0.4:
            move_record(admin, rid, rng.choice(lists))
        elif kind < 0.7:
            update_record(admin, rid, values={"Amount": str(rng.randint(100, 90000))})
        elif kind < 0.9:
            tag_record(admin, rid, [rng.choice(["SEO", "Website", "Branding"])])
        else:
            create_record(admin, "Opportunities", f"New lead {made}")
        made += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    tmp = None
    url = args.db
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{tmp.name}/bench.db"
    build(url, args.size)
    if url.startswith("postgres"):
        # fresh bulk-loaded tables have no statistics yet: without them PostgreSQL plans a parallel scan
        # for a one-record lookup (~10 ms instead of ~0.1 ms); autovacuum would get there eventually
        from crm_tui.db.connection import database

        database.execute_sql("ANALYZE")
    now = utcnow()
    prefilled = prefill_ledger(now)
    engine.tick()  # catch up (nothing: rules start after the data) and mark the time scan
    records = Record.select().count()
    rows = []

    quiet = timed(lambda: engine.tick(), 30)
    rows.append((f"tick, nothing new ({records} records, {len(RULES)} rules; time scan throttled)",
                 ms(statistics.median(quiet)), ms(max(quiet)), "< 50 ms"))
    scan = timed(lambda: engine.tick(now=now), 10)
    rows.append((f"tick, nothing new, all 6 time triggers checked ({prefilled} already fired)",
                 ms(statistics.median(scan)), ms(max(scan)), "< 50 ms"))

    t = time.perf_counter()
    make_events(args.events)
    write_seconds = time.perf_counter() - t
    from crm_tui.db.models import Event

    before = Event.select().count()
    t = time.perf_counter()
    fired = events = 0
    while True:
        result = engine.tick(send_email=False)
        fired += result.fired
        events += result.events
        if not result.events:
            break
    seconds = time.perf_counter() - t
    rows.append((f"process {args.events} new writes ({events} events incl. chained, {fired} rules fired)",
                 f"{seconds:.2f} s", f"{events / seconds:.0f} events/s", f"(writing them took {write_seconds:.1f} s)"))
    _ = before

    engine_name = url.split(":", 1)[0]
    print(f"\n### Automations ({engine_name})\n")
    print("| scenario | median / total | max / rate | goal |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()

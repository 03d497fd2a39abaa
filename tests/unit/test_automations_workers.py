"""Exactly once with two ``crm-tui worker --once`` processes started together, on SQLite and PostgreSQL.

Both workers see the same new events and the same aged records; the ledger's UNIQUE (rule, key),
written in the transaction of the action's effects, lets only one of them act on each.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter

from crm_tui.db.automation_models import AutomationRule, Notification, RuleRun
from crm_tui.db.models import Record, User, utcnow
from crm_tui.domain.actors import add_user
from crm_tui.domain.automations import rules
from crm_tui.domain.records import create_record

N = 40


def _spawn(db_url: str, now: str) -> subprocess.Popen:
    env = dict(os.environ, CRM_TUI_DB=db_url)
    return subprocess.Popen([sys.executable, "-m", "crm_tui", "worker", "--once", "--now", now],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_workers_started_together_fire_each_rule_once(db_url, sales):
    add_user("alice", by=sales)
    add_user("bob", by=sales)
    rules.add_rule(sales, "Opportunities", {
        "name": "share", "enabled": True, "trigger": {"type": "record_created"},
        "actions": [{"type": "assign_round_robin", "users": ["alice", "bob"]},
                    {"type": "notify", "to": ["assignee"], "message": "new {Title}"}]})
    rules.add_rule(sales, "Opportunities", {
        "name": "aging", "enabled": True, "trigger": {"type": "in_list_for", "list": "Unqualified", "days": 14},
        "actions": [{"type": "add_tag", "tag": "Stale"}, {"type": "notify", "to": ["admins"], "message": "old {Title}"}]})
    ids = [create_record(sales, "Opportunities", f"Deal {i}") for i in range(N)]
    now = (utcnow() + dt.timedelta(days=15)).isoformat()
    workers = [_spawn(db_url, now), _spawn(db_url, now)]
    outs = [w.communicate(timeout=240) for w in workers]
    for w, (out, err) in zip(workers, outs):
        assert w.returncode == 0, err
        assert "Traceback" not in err

    runs = Counter(name for (name,) in RuleRun.select(AutomationRule.name).join(AutomationRule).tuples())
    assert runs == {"share": N, "aging": N}
    assert RuleRun.select().where(RuleRun.status != "ok").count() == 0
    assert AutomationRule.get(AutomationRule.name == "share").counter == N
    assignees = Counter(u.name for u in User.select(User.name).join(Record, on=(Record.assignee == User.id))
                        .where(Record.id.in_(ids)))
    assert assignees == {"alice": N // 2, "bob": N // 2}
    messages = Counter(n.message.split()[0] for n in Notification.select())
    assert messages == {"new": N, "old": N}
    # both processes did part of the work or one did all of it; together, each firing happened once
    fired = sum(int(out.split(" fired")[0].split(", ")[-1]) for out, _ in outs)
    assert fired == 2 * N


def test_the_worker_loop_keeps_running_and_stops_on_sigterm(db_url, sales):
    import signal
    import time

    add_user("alice", by=sales)
    rules.add_rule(sales, "Opportunities", {"name": "n", "enabled": True, "trigger": {"type": "record_created"},
                                            "actions": [{"type": "notify", "to": ["alice"], "message": "{Title}"}]})
    env = dict(os.environ, CRM_TUI_DB=db_url)
    worker = subprocess.Popen([sys.executable, "-m", "crm_tui", "worker", "--interval", "0.2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for title in ("First", "Second"):
            create_record(sales, "Opportunities", title)
            deadline = time.monotonic() + 30
            while not Notification.select().where(Notification.message == title).exists():
                assert time.monotonic() < deadline and worker.poll() is None, worker.stderr.read()
                time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "worker stopped" in err and "Traceback" not in err

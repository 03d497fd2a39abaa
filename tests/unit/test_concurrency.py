"""Several processes writing to one database at once (several users on one server), on both engines.

Each worker is a separate interpreter that opens the same database URL and writes in a loop, starting
at the same instant as the others. Writers of the same record retry on ``ConflictError`` as the TUI
does (reload, apply again); at the end every write must be present, derived values (formula, lookups,
lookups of lookups) must agree with their inputs, and no "database is locked" may reach a user.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from decimal import Decimal

from crm_tui.db.models import Event, Record
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import create_record

ROUNDS = 12

WORKER = textwrap.dedent("""
    import json, sys, time
    from crm_tui.db import connection
    from crm_tui.db.models import Record
    from crm_tui.domain.actors import resolve_actor
    from crm_tui.domain.records import create_record, tag_record, update_record
    from crm_tui.errors import ConflictError

    url, job = sys.argv[1], json.loads(sys.argv[2])
    connection.open_database(url)
    actor = resolve_actor("admin")
    while time.time() < job["start_at"]:
        time.sleep(0.002)
    conflicts = 0
    for step in job["steps"]:
        if step["do"] == "set":
            while True:
                version = Record.get_by_id(step["record"]).version if step["locked"] else None
                try:
                    update_record(actor, step["record"], values=step["values"], expect_version=version)
                    break
                except ConflictError:
                    conflicts += 1
        elif step["do"] == "tag":
            tag_record(actor, step["record"], step["tags"])
        else:
            create_record(actor, step["project"], step["title"], tags=step["tags"], values=step["values"])
    print(json.dumps({"conflicts": conflicts}))
""")


FIRST_OPEN = textwrap.dedent("""
    import json, sys, time
    from crm_tui.db import connection
    from crm_tui.domain.actors import ensure_user

    url, job = sys.argv[1], json.loads(sys.argv[2])
    while time.time() < job["start_at"]:
        time.sleep(0.002)
    connection.open_database(url)
    ensure_user(job["steps"]["user"])
    print(json.dumps({"conflicts": 0}))
""")


def run_workers(url: str, jobs: list, script: str = WORKER) -> list[dict]:
    """Run one process per job, all starting together; return their reports. Fails on any error."""
    start_at = time.time() + 1.0  # after every interpreter has imported the package
    procs = [subprocess.Popen([sys.executable, "-c", script, url,
                               json.dumps({"start_at": start_at, "steps": steps})],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for steps in jobs]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert "locked" not in err.lower(), err
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def test_writers_of_different_fields_of_one_record_all_land(db, sales):
    create_record(sales, "Clients", "Acme", values={"Email": "first@acme.com"})
    opp = create_record(sales, "Opportunities", "Shared deal", values={"Client": "Acme", "Amount": "1"})
    delivery = create_record(sales, "Delivery", "Shared delivery", values={"Opportunity": opp})
    client = show_record(sales, opp)["fields"]["Client"]["id"]

    def sets(record, field, values, locked=True):
        return [{"do": "set", "record": record, "values": {field: v}, "locked": locked} for v in values]

    amounts = [f"{1000 + i}.25" for i in range(ROUNDS)]
    costs = [f"{i}.50" for i in range(ROUNDS)]
    stars = [str(i % 5 + 1) for i in range(ROUNDS)]
    emails = [f"user{i}@acme.com" for i in range(ROUNDS)]
    reports = run_workers(db, [
        sets(opp, "Amount", amounts),
        sets(opp, "Cost", costs),
        sets(opp, "Confidence", stars),
        sets(client, "Email", emails),
    ])

    fields = show_record(sales, opp)["fields"]
    assert fields["Amount"] == amounts[-1]
    assert fields["Cost"] == costs[-1]
    assert fields["Confidence"] == int(stars[-1])
    assert fields["Profit"] == "999.75"  # 1011.25 - 11.50: the final inputs, whoever wrote last
    assert fields["Client email"] == emails[-1]
    shown = show_record(sales, delivery)["fields"]
    assert shown["Deal value"] == amounts[-1] and shown["Client email"] == emails[-1]
    # every write is in the log exactly once, and each bumped the version once
    opps = load_schema("Opportunities")
    for name in ("Amount", "Cost", "Confidence"):
        assert Event.select().where((Event.record == opp) & (Event.field == opps.field(name).id)).count() == ROUNDS
    assert show_record(sales, opp)["version"] == 1 + 3 * ROUNDS
    print("conflicts retried:", [r["conflicts"] for r in reports])


def test_writers_of_different_records_never_fail(db, sales):
    mine = [create_record(sales, "Opportunities", f"Deal of worker {w}") for w in range(4)]
    jobs = []
    for w, record in enumerate(mine):
        steps = [{"do": "tag", "record": record, "tags": ["Hot", f"Worker {w}"]}]
        steps += [{"do": "set", "record": record, "values": {"Amount": f"{w + 1}{i:02d}.10", "Cost": "1"},
                   "locked": False} for i in range(ROUNDS)]
        steps += [{"do": "create", "project": "Opportunities", "title": f"New {w}/{i}", "tags": ["Hot"],
                   "values": {"Amount": str(i)}} for i in range(ROUNDS)]
        jobs.append(steps)
    reports = run_workers(db, jobs)
    assert all(r["conflicts"] == 0 for r in reports)

    listed = {r["title"]: r for r in list_records(sales, "Opportunities")}
    assert len(listed) == 4 + 4 * ROUNDS
    for w in range(4):
        mine_now = listed[f"Deal of worker {w}"]
        last = Decimal(f"{w + 1}{ROUNDS - 1:02d}.10")
        assert mine_now["fields"]["Amount"] == f"{last}"
        assert mine_now["fields"]["Profit"] == f"{last - 1}"
        assert mine_now["tags"] == ["Hot", f"Worker {w}"]
        for i in range(ROUNDS):
            assert listed[f"New {w}/{i}"]["fields"]["Amount"] == f"{i}.00"
            assert listed[f"New {w}/{i}"]["tags"] == ["Hot"]
    # one "Hot" tag, however many workers created it at once
    assert [t.name for t in load_schema("Opportunities").tags].count("Hot") == 1
    assert Record.select().where(Record.title.startswith("New ")).count() == 4 * ROUNDS


def test_users_opening_a_new_database_at_once_all_get_in(fresh_db_url):
    """Several users starting crm-tui on a database nobody has opened yet: one creates the schema,
    the others wait for it, none crashes (the same path runs when a release adds tables)."""
    run_workers(fresh_db_url, [{"user": f"user{n}"} for n in range(5)], script=FIRST_OPEN)
    from crm_tui.db import connection
    from crm_tui.db.models import SchemaInfo, User
    from crm_tui.db.schema import SCHEMA_VERSION

    connection.open_database(fresh_db_url)
    assert sorted(u.name for u in User.select()) == [f"user{n}" for n in range(5)]
    assert SchemaInfo.get(SchemaInfo.key == "schema_version").value == str(SCHEMA_VERSION)

"""Several people on one database at the same moment: no lost update, no "database is locked".

Each worker is a separate OS process (as two SSH sessions would be) running the real domain code.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

WORKER = textwrap.dedent("""
    import json, sys
    from crm_tui.db import open_database
    from crm_tui.domain.actors import resolve_actor
    from crm_tui.domain.record_views import show_record
    from crm_tui.domain.records import update_record, tag_record
    from crm_tui.errors import ConflictError

    url, user, record_id, rounds, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    open_database(url)
    actor = resolve_actor(user)
    conflicts = 0
    for i in range(rounds):
        while True:  # read-modify-write with the version read: a stale write is refused, never lost
            current = show_record(actor, record_id)
            count = int(current["fields"]["Count"] or 0)
            try:
                update_record(actor, record_id, values={"Count": str(count + 1)},
                              expect_version=current["version"])
                break
            except ConflictError:
                conflicts += 1
        tag_record(actor, record_id, [f"{tag}-{i}"])
    print(json.dumps({"conflicts": conflicts}))
""")


@pytest.fixture
def counter(db, admin):
    from crm_tui.domain.actors import add_user
    from crm_tui.domain.projects import add_field, add_list, add_project
    from crm_tui.domain.records import create_record

    add_project(admin, "Deals")
    add_list(admin, "Deals", "Open")
    add_field(admin, "Deals", "Count", "number")
    for name in ("alice", "bob", "carol"):
        add_user(name, by=admin)
    return create_record(admin, "Deals", "Shared deal", values={"Count": "0"})


def test_concurrent_increments_lose_nothing(db_url, counter):
    from crm_tui.db import connection, open_database
    from crm_tui.domain.actors import resolve_actor
    from crm_tui.domain.events import history
    from crm_tui.domain.record_views import show_record

    connection.close_database()
    rounds = 15
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, db_url, user, str(counter), str(rounds), user],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for user in ("alice", "bob", "carol")]
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "locked" not in err.lower()
    open_database(db_url)
    admin = resolve_actor("admin")
    record = show_record(admin, counter)
    assert record["fields"]["Count"] == str(3 * rounds)  # every increment is there
    assert len(record["tags"]) == 3 * rounds             # tags from everyone, none lost
    updates = [e for e in history(counter, admin) if e["kind"] == "updated" and e["field"] == "Count"]
    assert len(updates) == 3 * rounds
    assert {e["user"] for e in updates} == {"alice", "bob", "carol"}


def test_stale_edit_is_refused_with_a_clear_message(db, counter, admin):
    from crm_tui.domain.record_views import show_record
    from crm_tui.domain.records import update_record
    from crm_tui.errors import ConflictError

    version = show_record(admin, counter)["version"]
    update_record(admin, counter, values={"Count": "5"}, expect_version=version)
    with pytest.raises(ConflictError, match="changed by someone else"):
        update_record(admin, counter, values={"Count": "7"}, expect_version=version)
    assert show_record(admin, counter)["fields"]["Count"] == "5"


def test_forced_command_identity_ignores_ssh_original_command(db_url, counter):
    """authorized_keys runs `crm-tui --user bob`; what the person typed (SSH_ORIGINAL_COMMAND) and a
    CRM_TUI_USER they might set have no say."""
    import os

    from crm_tui.db import connection, open_database
    from crm_tui.domain.actors import resolve_actor
    from crm_tui.domain.events import history

    connection.close_database()
    env = dict(os.environ, SSH_ORIGINAL_COMMAND="crm-tui --user admin record set 1 Count=99",
               CRM_TUI_USER="admin", CRM_TUI_DB=db_url)
    done = subprocess.run([sys.executable, "-m", "crm_tui", "--user", "bob", "record", "set", str(counter),
                           "Count=3"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    open_database(db_url)
    last = history(counter, resolve_actor("admin"))[-1]
    assert (last["user"], last["field"], last["new"]) == ("bob", "Count", "3")


def test_unknown_user_is_refused_and_nothing_written(db_url, counter):
    import os

    done = subprocess.run([sys.executable, "-m", "crm_tui", "--user", "mallory", "record", "set", str(counter),
                           "Count=3"], env=dict(os.environ, CRM_TUI_DB=db_url), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3
    assert "mallory" in done.stderr and "Traceback" not in done.stderr

"""The automation commands, and the Sales CRM presets end to end through the CLI with an injected clock.

    crm-tui automation list|add|enable|disable|show|runs · notifications · reminders · worker --once --now
"""

from __future__ import annotations

import datetime as dt

from tests.unit.cli_helpers import cli, crm  # noqa: F401 - fixtures

from crm_tui.db.models import utcnow

PRESET_NAMES = {"New lead assignment", "Follow-up reminder", "Stage change notification", "Deal aging alert"}


def at(days: float) -> str:
    return (utcnow() + dt.timedelta(days=days)).isoformat(timespec="seconds")


def messages(crm, user: str, *opts: str) -> list[str]:
    return sorted(n["message"] for n in crm.json("notifications", *opts, user=user))


def test_the_template_installs_the_presets_disabled_and_only_once(crm):
    items = crm.json("automation", "list", "Opportunities")
    assert {i["name"] for i in items} == PRESET_NAMES
    assert not any(i["enabled"] for i in items)
    [client] = crm.json("automation", "list", "Clients")
    assert client["name"] == "Client update notification" and not client["enabled"]
    crm.ok("init", "--template", "sales-crm")  # a re-run adds nothing
    assert len(crm.json("automation", "list", "Opportunities")) == 4


def test_add_show_enable_disable_and_errors(crm, tmp_path):
    crm.ok("user", "add", "alice")
    path = tmp_path / "rule.toml"
    path.write_text('name = "Hot deals"\n[trigger]\ntype = "field_changed"\nfield = "Amount"\n'
                    '[[conditions]]\nfield = "Amount"\nop = ">"\nvalue = 10000\n'
                    '[[actions]]\ntype = "add_tag"\ntag = "Hot"\n')
    out = crm.ok("automation", "add", "Opportunities", "--file", str(path)).out
    assert "Hot deals" in out and "disabled" in out
    shown = crm.ok("automation", "show", "Opportunities", "Hot deals").out
    assert 'type = "field_changed"' in shown and "value = 10000" in shown
    crm.ok("automation", "enable", "Opportunities", "hot deals")
    assert next(i for i in crm.json("automation", "list", "Opportunities") if i["name"] == "Hot deals")["enabled"]
    rid = crm.add("Opportunities", "Big", Amount="50000")
    crm.ok("record", "set", str(rid), "Amount=60000")
    crm.ok("worker", "--once")
    assert crm.show(rid)["tags"] == ["Hot"]
    [run] = crm.json("automation", "runs", "Opportunities")
    assert run["rule"] == "Hot deals" and run["record_id"] == rid and run["status"] == "ok"
    crm.ok("automation", "disable", "Opportunities", "Hot deals")

    crm("automation", "add", "Opportunities", "--file", str(path)).assert_clean_error(2, "Hot deals", "--replace")
    path.write_text('name = "Bad"\n[trigger]\ntype = "moved_to_list"\nto = "Heaven"\n[[actions]]\ntype = "add_tag"\n'
                    'tag = "x"\n')
    crm("automation", "add", "Opportunities", "--file", str(path)).assert_clean_error(2, "trigger.to", "Heaven")
    crm("automation", "add", "Opportunities", "--file", str(tmp_path / "missing.toml")).assert_clean_error(2, "--file")
    crm("automation", "enable", "Opportunities", "Nope").assert_clean_error(3, "Nope")
    crm("automation", "enable", "Opportunities", "New lead assignment").assert_clean_error(2, "users")
    crm("automation", "add", "Opportunities", "--file", str(path), user="alice").assert_clean_error(5)
    crm("worker", "--once", "--now", "yesterday").assert_clean_error(2, "--now", "yesterday")


def test_presets_end_to_end_with_an_injected_clock(crm, tmp_path):
    for name in ("alice", "bob"):
        crm.ok("user", "add", name, "--email", f"{name}@example.com")
    # the admin picks the users of the round robin, then turns every preset on
    toml = crm.ok("automation", "show", "Opportunities", "New lead assignment").out
    path = tmp_path / "leads.toml"
    path.write_text(toml.replace("users = []", 'users = ["alice", "bob"]'))
    crm.ok("automation", "add", "Opportunities", "--file", str(path), "--replace")
    for name in PRESET_NAMES:
        crm.ok("automation", "enable", "Opportunities", name)
    crm.ok("automation", "enable", "Clients", "Client update notification")

    acme = crm.add("Clients", "Acme", Email="ops@acme.com")
    first = crm.add("Opportunities", "Acme website", Client=str(acme))
    second = crm.add("Opportunities", "Beta SEO")
    crm.ok("worker", "--once", "--now", at(0))
    assert crm.show(first)["assignee"] == "alice" and crm.show(second)["assignee"] == "bob"
    assert messages(crm, "alice") == ["New lead for you: Acme website"]

    crm.ok("record", "move", str(first), "Proposal sent")
    crm.ok("worker", "--once", "--now", at(0))
    assert messages(crm, "alice") == ["Acme website moved from Unqualified to Proposal sent",
                                      "New lead for you: Acme website"]
    [reminder] = crm.json("reminders", user="alice")
    assert reminder["record_id"] == first and reminder["status"] == "upcoming"
    assert "Follow up on the proposal for Acme website" in reminder["message"]

    crm.ok("worker", "--once", "--now", at(3.5))  # the reminder falls due
    assert any(m.startswith("Reminder: Follow up") for m in messages(crm, "alice"))

    crm.ok("record", "set", str(acme), "Email=billing@acme.com")  # the client's details change
    crm.ok("worker", "--once", "--now", at(3.5))
    assert "Client Acme changed Email: ops@acme.com → billing@acme.com" in messages(crm, "alice")
    assert not any("Client Acme" in m for m in messages(crm, "bob"))

    crm.ok("worker", "--once", "--now", at(15))  # both deals have sat in their list for 14+ days
    crm.ok("worker", "--once", "--now", at(16))  # … and are told so once
    aging_alice = [m for m in messages(crm, "alice") if "for over" in m]
    aging_bob = [m for m in messages(crm, "bob") if "for over" in m]
    assert aging_alice == ["Acme website has been in Proposal sent for over 14 days"]
    assert aging_bob == ["Beta SEO has been in Unqualified for over 14 days"]

    items = crm.json("notifications", user="alice")
    assert all(set(i) == {"id", "at", "record_id", "message", "read"} and not i["read"] for i in items)
    crm.ok("notifications", "--read", str(items[0]["id"]), user="alice")
    assert len(crm.json("notifications", user="alice")) == len(items) - 1
    crm.ok("notifications", "--read-all", user="alice")
    assert crm.json("notifications", user="alice") == []
    assert len(crm.json("notifications", "--all", user="alice")) == len(items)
    crm.ok("reminders", "--done", str(reminder["id"]), user="alice")
    assert crm.json("reminders", user="alice") == []

    runs = crm.json("automation", "runs", "Opportunities")
    assert {r["rule"] for r in runs} == PRESET_NAMES and all(r["status"] == "ok" for r in runs)
    listed = {i["name"]: i for i in crm.json("automation", "list", "Opportunities")}
    assert listed["Deal aging alert"]["runs"] == 2 and listed["New lead assignment"]["runs"] == 2


def test_worker_json_and_table_output(crm):
    r = crm.json("worker", "--once")
    assert set(r) >= {"events", "fired", "errors", "loops_stopped", "emails"}
    assert "fired" in crm.ok("worker", "--once").out
    assert crm.ok("automation", "runs", "Opportunities").out.startswith("id")
    assert crm.ok("notifications").out.startswith("id")
    assert crm.ok("reminders").out.startswith("id")

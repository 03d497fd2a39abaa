"""CLI contract (issue "Foundation" §5), records and users: ``record add|set|move|tag|untag|show|history``,
``records``, ``user add|list``. On SQLite and PostgreSQL.

``record show --json`` is ``{"id", "project", "title", "list", "tags", "assignee", "version", "fields",
"referenced_by"}`` with lookups and formulas resolved, numbers and currency as exact decimal strings,
dates ISO, references ``{"id", "title"}`` (a list when multiple); ``records --json`` is a list of the same
objects; ``record history --json`` a list of ``{"at", "user", "kind", "field", "old", "new"}``.
"""

from __future__ import annotations

import datetime as dt

from tests.unit.cli_helpers import cli, crm  # noqa: F401 - fixtures

RECORD_KEYS = {"id", "project", "title", "list", "tags", "assignee", "version", "fields", "referenced_by"}
EVENT_KEYS = {"at", "user", "kind", "field", "old", "new"}


def _check_record_shape(item: dict) -> None:
    assert set(item) >= RECORD_KEYS, RECORD_KEYS - set(item)
    assert isinstance(item["id"], int) and isinstance(item["version"], int)
    assert isinstance(item["title"], str) and isinstance(item["project"], str)
    assert isinstance(item["tags"], list) and all(isinstance(t, str) for t in item["tags"])
    assert item["assignee"] is None or isinstance(item["assignee"], str)
    assert isinstance(item["fields"], dict)
    for ref in item["referenced_by"]:
        assert set(ref) == {"id", "project", "title", "field"}


def _check_events(events: list[dict]) -> None:
    for e in events:
        assert set(e) == EVENT_KEYS, e
        dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00"))


def _sales(crm) -> dict:
    """A client, an opportunity referencing it, a delivery and an invoice on the opportunity."""
    ids = {}
    ids["client"] = crm.add("Clients", "Acme Ltd", Email="sales@acme.test", Website="https://acme.test",
                            Source="Referral")
    ids["opp"] = crm.add("Opportunities", "Acme rebrand", "--list", "Negotiation", "--tag", "Branding",
                         "--tag", "SEO", Amount="1234.56", Cost="234.50", Confidence="4",
                         Client="Acme Ltd", Expected_close_date="2024-02-29", Deal_source="website")
    ids["delivery"] = crm.add("Delivery", "Rebrand work", Opportunity=str(ids["opp"]))
    ids["invoice"] = crm.add("Invoices", "INV-1", Opportunity=f"#{ids['opp']}", Invoice_amount="617.28",
                             Paid_date="2024-03-01")
    return ids


# ------------------------------------------------------------------------------------------------ show


def test_record_show_json_shape_with_lookups_formulas_and_referenced_by(crm):
    ids = _sales(crm)
    opp = crm.show(ids["opp"])
    _check_record_shape(opp)
    assert {k: opp[k] for k in ("id", "project", "title", "list", "tags", "assignee", "version")} == {
        "id": ids["opp"], "project": "Opportunities", "title": "Acme rebrand", "list": "Negotiation",
        "tags": ["Branding", "SEO"], "assignee": None, "version": 1}
    f = opp["fields"]
    assert f["Amount"] == "1234.56" and f["Cost"] == "234.50"
    assert f["Profit"] == "1000.06"                                    # exact: 1234.56 − 234.50
    assert f["Confidence"] == 4
    assert f["Expected close date"] == "2024-02-29"
    assert f["Deal source"] == "Website"                               # the option's own spelling
    assert f["Client"] == {"id": ids["client"], "title": "Acme Ltd"}
    assert f["Client name"] == "Acme Ltd" and f["Client email"] == "sales@acme.test"
    assert f["Files received"] == [] and f["Lost reason"] is None
    assert sorted(opp["referenced_by"], key=lambda r: r["id"]) == [
        {"id": ids["delivery"], "project": "Delivery", "title": "Rebrand work", "field": "Opportunity"},
        {"id": ids["invoice"], "project": "Invoices", "title": "INV-1", "field": "Opportunity"}]

    client = crm.show(ids["client"])
    assert client["referenced_by"] == [{"id": ids["opp"], "project": "Opportunities", "title": "Acme rebrand",
                                        "field": "Client"}]
    assert client["fields"]["Website"] == "https://acme.test" and client["fields"]["Source"] == "Referral"

    delivery = crm.show(ids["delivery"])["fields"]
    assert delivery == {"Opportunity": {"id": ids["opp"], "title": "Acme rebrand"}, "Deal value": "1234.56",
                        "Expected close": "2024-02-29", "Client email": "sales@acme.test"}
    invoice = crm.show(ids["invoice"])
    assert invoice["list"] == "Draft"
    assert invoice["fields"] == {"Opportunity": {"id": ids["opp"], "title": "Acme rebrand"},
                                 "Invoice amount": "617.28", "Paid date": "2024-03-01", "Client name": "Acme Ltd"}

    text = crm.ok("record", "show", str(ids["opp"])).out
    assert "Acme rebrand" in text and "1000.06" in text.replace(",", "") and "Rebrand work" in text


def test_references_by_id_or_title_and_multiple_references(crm):
    crm.ok("field", "add", "Opportunities", "Partners", "reference", "--target", "Clients", "--multiple")
    crm.ok("field", "add", "Opportunities", "Partner emails", "lookup", "--via", "Partners", "--of", "Email")
    crm.ok("field", "add", "Opportunities", "Net", "formula", "--formula", "ROUND({Amount} / 3, 2)")
    a = crm.add("Clients", "张伟 Trading", Email="zw@example.cn")
    b = crm.add("Clients", "O'Brien & Sons", Email="ob@example.ie")
    opp = crm.add("Opportunities", "Joint deal", Partners=f"张伟 Trading;#{b}", Amount="100")
    f = crm.show(opp)["fields"]
    assert f["Partners"] == [{"id": a, "title": "张伟 Trading"}, {"id": b, "title": "O'Brien & Sons"}]
    assert f["Partner emails"] == ["zw@example.cn", "ob@example.ie"]
    assert f["Net"] == "33.33"
    assert f["Client"] is None and f["Client email"] is None
    for rid in (a, b):
        assert [r["field"] for r in crm.show(rid)["referenced_by"]] == ["Partners"]
    crm.ok("record", "set", str(opp), "Partners=O'Brien & Sons")
    assert crm.show(opp)["fields"]["Partner emails"] == ["ob@example.ie"]
    assert crm.show(a)["referenced_by"] == []

    # a reference is a record id, #id or the exact title; an ambiguous title is refused
    first = crm.add("Clients", "Zoë")
    second = crm.add("Clients", "Zoë B")
    for value, expected in ((str(first), first), (f"#{second}", second), ("Zoë", first), ("Zoë B", second)):
        rid = crm.add("Opportunities", f"deal {value}", Client=value)
        assert crm.show(rid)["fields"]["Client"] == {"id": expected, "title": "Zoë" if expected == first
                                                     else "Zoë B"}
    crm.add("Clients", "Twin")
    crm.add("Clients", "Twin")
    before = crm.snapshot()
    crm("record", "add", "Opportunities", "Ambiguous", "--set", "Client=Twin").assert_clean_error(
        2, "Client", "Twin")
    assert crm.snapshot() == before


# ------------------------------------------------------------------------------------------- add / set


def test_record_add_options_and_outputs(crm):
    out = crm.json("record", "add", "Opportunities", "Plain")
    _check_record_shape(out)
    assert out["list"] == "Unqualified" and out["tags"] == [] and out["version"] == 1  # first list
    assert out == crm.show(out["id"])

    rid = int(crm.ok("record", "add", "Opportunities", "Text output", "--list", "Won").out.strip())
    assert crm.show(rid)["list"] == "Won"

    crm.ok("user", "add", "bob")
    out = crm.json("record", "add", "Opportunities", "Everything", "--list", "Qualifying", "--tag", "Website",
                   "--tag", "Facebook management", "--set", "Amount=$1,500.00", "--set", "assignee=bob",
                   "--set", "due=2024-12-31", "--set", "description=First line\nsecond line")
    assert (out["list"], sorted(out["tags"]), out["assignee"]) == \
        ("Qualifying", ["Facebook management", "Website"], "bob")
    assert out["fields"]["Amount"] == "1500.00" and out["fields"]["Profit"] == "1500.00"
    assert out["due_date"] == "2024-12-31"
    assert out["description"] == "First line\nsecond line"

    events = crm.history(out["id"])
    _check_events(events)
    assert events[0]["kind"] == "created" and events[0]["user"] == "admin"


def test_record_set_values_title_and_expect_version(crm):
    ids = _sales(crm)
    rid = ids["opp"]
    out = crm.json("record", "set", str(rid), "Amount=2000", "Cost=500.25", "--title", "Acme rebrand v2")
    assert out["version"] == 2 and out["title"] == "Acme rebrand v2"
    assert (out["fields"]["Amount"], out["fields"]["Profit"]) == ("2000.00", "1499.75")
    # formulas and lookups elsewhere follow
    assert crm.show(ids["delivery"])["fields"]["Deal value"] == "2000.00"
    assert crm.show(ids["client"])["referenced_by"][0]["title"] == "Acme rebrand v2"

    text = crm.ok("record", "set", str(rid), "Confidence=5", "--expect-version", "2").out
    assert "version 3" in text
    crm.ok("user", "add", "carol")
    out = crm.json("record", "set", str(rid), "title=Renamed", "assignee=carol", "due=2025-01-15",
                   "Expected close date=2025-02-01", "Client=")
    assert (out["title"], out["assignee"], out["due_date"]) == ("Renamed", "carol", "2025-01-15")
    assert out["fields"]["Client"] is None and out["fields"]["Client name"] is None
    assert out["fields"]["Expected close date"] == "2025-02-01"
    assert crm.show(ids["client"])["referenced_by"] == []

    # a stale version is refused with exit code 4 and nothing changes
    before = crm.snapshot()
    r = crm("record", "set", str(rid), "Amount=1", "--expect-version", "2")
    r.assert_clean_error(4, f"#{rid}")
    crm("record", "set", str(rid), "--title", "Stale", "--expect-version", "1").assert_clean_error(4)
    crm("record", "move", str(rid), "Won", "--expect-version", "1").assert_clean_error(4)
    assert crm.snapshot() == before
    current = crm.show(rid)["version"]
    assert crm.json("record", "set", str(rid), "Amount=1", "--expect-version", str(current))["version"] == \
        current + 1

    events = crm.history(rid)
    _check_events(events)
    updates = [(e["field"], e["old"], e["new"]) for e in events if e["kind"] == "updated"]
    assert ("Amount", "1234.56", "2000.00") in updates
    assert ("Amount", "2000.00", "1.00") in updates
    assert any(e["field"] == "title" and e["old"] == "Acme rebrand" and e["new"] == "Acme rebrand v2"
               for e in events)


# ------------------------------------------------------------------------------------- move / tag / history


def test_record_move_tag_untag_and_history(crm):
    rid = crm.add("Opportunities", "Moving deal", "--tag", "SEO")
    out = crm.json("record", "move", str(rid), "Proposal sent")
    assert out == {"id": rid, "list": "Proposal sent", "version": 2}
    assert crm.show(rid)["list"] == "Proposal sent"
    assert "Won" in crm.ok("record", "move", str(rid), "Won").out

    out = crm.json("record", "tag", str(rid), "Branding", "Website")
    assert out["id"] == rid and sorted(out["added"]) == ["Branding", "Website"]
    assert crm.json("record", "tag", str(rid), "SEO")["added"] == []           # already there: no change
    assert sorted(crm.show(rid)["tags"]) == ["Branding", "SEO", "Website"]
    out = crm.json("record", "untag", str(rid), "SEO", "Website")
    assert out["id"] == rid and sorted(out["removed"]) == ["SEO", "Website"]
    assert crm.show(rid)["tags"] == ["Branding"]
    assert "Branding" in crm.ok("record", "untag", str(rid), "Branding").out
    assert crm.show(rid)["tags"] == []

    events = crm.history(rid)
    _check_events(events)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "created"
    moves = [(e["old"], e["new"]) for e in events if e["kind"] == "moved"]
    assert moves == [("Unqualified", "Proposal sent"), ("Proposal sent", "Won")]
    tagged = sorted(e["new"] for e in events if e["kind"] == "tagged")
    assert tagged == ["Branding", "SEO", "Website"]
    untagged = sorted(e["old"] if e["old"] is not None else e["new"] for e in events if e["kind"] == "untagged")
    assert untagged == ["Branding", "SEO", "Website"]
    assert all(e["user"] == "admin" for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)

    table = crm.ok("record", "history", str(rid)).out
    assert "moved" in table and "Proposal sent" in table


# ------------------------------------------------------------------------------------------------ records


def test_records_filters_and_same_objects_as_show(crm):
    ids = _sales(crm)
    crm.add("Opportunities", "Website for Zoë", "--list", "Won", "--tag", "Website", Amount="900")
    crm.add("Opportunities", "SEO audit", "--list", "Won", "--tag", "SEO", Amount="300")
    crm.add("Opportunities", "Cold lead")

    items = crm.records("Opportunities")
    assert [i["title"] for i in items] == ["Cold lead", "Acme rebrand", "Website for Zoë", "SEO audit"]  # board
    for item in items:
        _check_record_shape(item)
        shown = crm.show(item["id"])
        assert {k: shown[k] for k in item} == item, "records --json objects are record show objects"

    assert [i["title"] for i in crm.records("Opportunities", "--list", "Won")] == ["Website for Zoë", "SEO audit"]
    assert [i["title"] for i in crm.records("Opportunities", "--tag", "SEO")] == ["Acme rebrand", "SEO audit"]
    assert [i["title"] for i in crm.records("Opportunities", "--list", "Won", "--tag", "SEO")] == ["SEO audit"]
    assert [i["title"] for i in crm.records("Opportunities", "--search", "zoë")] == ["Website for Zoë"]
    assert [i["title"] for i in crm.records("Opportunities", "--search", "acme.test")] == ["Acme rebrand"]
    assert crm.records("Opportunities", "--search", "no such text") == []
    assert crm.records("Opportunities", "--list", "Lost") == []
    assert [i["id"] for i in crm.records("Clients")] == [ids["client"]]

    table = crm.ok("records", "Opportunities", "--columns", "Amount,Client name").out
    assert "Acme rebrand" in table and "1234.56" in table and "Acme Ltd" in table

    before = crm.snapshot()
    crm("records", "Opportunities", "--list", "Nowhere").assert_clean_error(3, "Nowhere")
    crm("records", "Opportunities", "--tag", "Nope").assert_clean_error(3, "Nope")
    crm("records", "Nowhere").assert_clean_error(3, "Nowhere")
    assert crm.snapshot() == before


# ------------------------------------------------------------------------------------------------ users


def test_user_add_list_and_acting_user(crm):
    out = crm.json("user", "add", "bob", "--email", "bob@example.com", "--display-name", "Bob B")
    assert set(out) >= {"id", "name", "email", "admin"}
    assert (out["name"], out["email"], out["admin"]) == ("bob", "bob@example.com", False)
    assert crm.json("user", "add", "root2", "--role", "admin")["admin"] is True
    assert "carol" in crm.ok("user", "add", "carol").out

    users = crm.json("user", "list")
    for u in users:
        assert set(u) >= {"id", "name", "display_name", "email", "active", "admin"}
    assert [(u["name"], u["admin"]) for u in users] == [("admin", True), ("bob", False), ("carol", False),
                                                         ("root2", True)]
    assert [u for u in users if u["name"] == "bob"][0]["display_name"] == "Bob B"
    assert "bob@example.com" in crm.ok("user", "list").out

    # bob acts: the record and its history say so
    rid = crm.json("record", "add", "Clients", "Bob's client", user="bob")["id"]
    crm.ok("record", "set", str(rid), "Email=x@example.com", user="carol")
    assert [e["user"] for e in crm.history(rid)][:1] == ["bob"]
    assert crm.history(rid)[-1]["user"] == "carol"

    before = crm.snapshot()
    crm("user", "add", "bob").assert_clean_error(None, "bob")                  # exists
    crm("user", "add", "dave", user="bob").assert_clean_error(5)               # only admins add users
    crm("user", "add", "erin", "--role", "no-such-role").assert_clean_error(None, "no-such-role")
    assert crm.snapshot() == before

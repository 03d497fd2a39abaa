"""The Sales CRM template (issue "Foundation" §4) and the demo data built on it.

The template must create exactly the projects, lists, tags and fields users of the seed expect, and a
second run must add nothing. The demo must be realistic, reproducible from its seed, and consistent
(every lookup resolved). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_tui.db import connection
from crm_tui.db.models import Event, Field, Project, Record, StageList, Tag, User
from crm_tui.domain.actors import actor_for, add_user, ensure_user
from crm_tui.domain.demo import build_demo
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.projects import delete_field
from crm_tui.domain.record_views import list_records
from crm_tui.domain.template import install_sales_crm
from crm_tui.errors import CrmError

OPPORTUNITY_STAGES = [
    ("Unqualified", 10, "open"), ("Qualifying", 20, "open"), ("Writing proposal", 30, "open"),
    ("Proposal sent", 50, "open"), ("Negotiation", 70, "open"), ("Contract to sign", 90, "open"),
    ("Won", 100, "won"), ("Lost", 0, "lost"), ("Not applicable", 0, "closed"),
]
CLIENT_FIELDS = [("Email", "email"), ("Phone", "phone"), ("Website", "url"), ("Address", "address"),
                 ("Source", "dropdown"), ("Category", "dropdown")]
OPPORTUNITY_FIELDS = [
    ("Amount", "currency"), ("Cost", "currency"), ("Profit", "formula"), ("Proposal URL", "url"),
    ("Files received", "file"), ("Contract", "file"), ("Confidence", "rating"),
    ("Expected close date", "date"), ("Client", "reference"), ("Client name", "lookup"),
    ("Client email", "lookup"), ("Deal source", "dropdown"), ("Lost reason", "dropdown"),
    ("Client size", "dropdown"),
]
DELIVERY_FIELDS = [("Opportunity", "reference"), ("Deal value", "lookup"), ("Expected close", "lookup"),
                   ("Client email", "lookup")]
INVOICE_FIELDS = [("Opportunity", "reference"), ("Invoice amount", "currency"), ("Paid date", "date"),
                  ("Client name", "lookup")]


def shape() -> dict:
    """Everything the template defines, as plain data."""
    out = {}
    for project in Project.select().order_by(Project.position):
        schema = load_schema(project)
        out[project.name] = {
            "lists": [(l.name, l.probability, l.kind) for l in schema.lists],
            "tags": sorted(t.name for t in schema.tags),
            "fields": [(f.name, f.type, f.config) for f in schema.fields],
            "hidden": sorted(schema.hidden_defaults),
            "settings": schema.settings,
        }
    return out


# ------------------------------------------------------------------------------------------ template

def test_template_creates_the_four_projects_in_order(sales):
    assert [p.name for p in Project.select().order_by(Project.position)] == [
        "Clients", "Opportunities", "Delivery", "Invoices"]


def test_clients(sales):
    clients = load_schema("Clients")
    assert [l.name for l in clients.lists] == ["Clients"]
    assert [(f.name, f.type) for f in clients.fields] == CLIENT_FIELDS
    assert clients.field("Source").config["options"] == ["Referral", "Website", "Cold call", "Trade show",
                                                         "Other"]
    assert clients.field("Category").config["options"] == ["Agency", "SMB", "Enterprise", "Individual"]
    assert sorted(clients.hidden_defaults) == ["assignee", "checklist", "dependencies", "due_date"]
    assert clients.shows("description")
    assert clients.settings.get("show_referenced_by") is True


def test_opportunities(sales):
    opps = load_schema("Opportunities")
    clients = load_schema("Clients")
    assert [(l.name, l.probability, l.kind) for l in opps.lists] == OPPORTUNITY_STAGES
    assert sorted(t.name for t in opps.tags) == ["Branding", "Facebook management", "SEO", "Website"]
    assert [(f.name, f.type) for f in opps.fields] == OPPORTUNITY_FIELDS
    assert opps.field("Amount").config["currency"] == opps.field("Cost").config["currency"] == "USD"
    assert opps.field("Profit").config["formula"] == "{Amount} - {Cost}"
    assert opps.field("Files received").config["multiple"] is True
    assert opps.field("Contract").config["multiple"] is False
    assert opps.field("Confidence").config["max"] == 5
    client = opps.field("Client")
    assert client.config["target"] == clients.id and client.config["multiple"] is False
    assert opps.field("Client name").config["via"] == client.id
    assert opps.field("Client name").config["of"] == "title"
    assert opps.field("Client email").config["of"] == clients.field("Email").id
    assert opps.field("Deal source").config["options"] == ["Referral", "Website", "Cold call", "Trade show"]
    assert opps.field("Lost reason").config["options"] == ["Price", "Timing", "Competitor", "No budget",
                                                           "No response", "Other"]
    assert opps.field("Client size").config["options"] == ["Small", "Medium", "Enterprise"]
    assert opps.hidden_defaults == []


def test_delivery_and_invoices(sales):
    opps = load_schema("Opportunities")
    delivery = load_schema("Delivery")
    assert [l.name for l in delivery.lists] == ["Planned", "In progress", "Done"]
    assert [(f.name, f.type) for f in delivery.fields] == DELIVERY_FIELDS
    via = delivery.field("Opportunity")
    assert via.config["target"] == opps.id
    assert delivery.field("Deal value").config["of"] == opps.field("Amount").id
    assert delivery.field("Expected close").config["of"] == opps.field("Expected close date").id
    # a lookup of a lookup
    assert delivery.field("Client email").config["of"] == opps.field("Client email").id
    assert all(delivery.field(n).config["via"] == via.id for n in ("Deal value", "Expected close",
                                                                   "Client email"))
    invoices = load_schema("Invoices")
    assert [(l.name, l.kind) for l in invoices.lists] == [("Draft", "open"), ("Sent", "open"), ("Paid", "won")]
    assert [(f.name, f.type) for f in invoices.fields] == INVOICE_FIELDS
    assert invoices.field("Opportunity").config["target"] == opps.id
    assert invoices.field("Client name").config["of"] == opps.field("Client name").id


def test_template_is_idempotent(sales):
    before = shape()
    counts = [m.select().count() for m in (Project, StageList, Tag, Field, User)]
    assert install_sales_crm(sales) == []
    assert shape() == before
    assert [m.select().count() for m in (Project, StageList, Tag, Field, User)] == counts


def test_template_rerun_adds_only_what_is_missing(sales):
    delete_field(sales, "Opportunities", "Client size")
    assert install_sales_crm(sales) == ["field Opportunities/Client size"]
    assert load_schema("Opportunities").field("Client size").config["options"] == ["Small", "Medium",
                                                                                  "Enterprise"]


def test_template_keeps_existing_data(sales):
    from crm_tui.domain.records import create_record

    rid = create_record(sales, "Clients", "Acme", values={"Email": "a@acme.com"})
    install_sales_crm(sales)
    assert [r["fields"]["Email"] for r in list_records(sales, "Clients")] == ["a@acme.com"]
    assert Record.select().count() == 1 and rid


def test_the_first_user_becomes_an_admin(db):
    first = add_user("alice")
    assert first.is_admin
    install_sales_crm(actor_for(first))
    second = add_user("bob", by=actor_for(first))
    assert not second.is_admin


# ---------------------------------------------------------------------------------------------- demo

DEMO_TODAY = dt.date(2026, 6, 15)


def test_demo_content(admin):
    """One 300-deal demo (building it is the slow part), checked from several sides."""
    demo = build_demo(admin, size=300, seed=1, today=DEMO_TODAY)
    check_sizes(demo)
    check_every_stage_has_tagged_priced_deals(admin)
    check_mixed_script_names(admin)
    check_dates_span_the_last_18_months()
    check_lookups_are_resolved(admin)
    check_refuses_a_database_with_records(admin)


def check_sizes(demo):
    assert demo["opportunities"] == 300
    assert 90 <= demo["clients"] <= 110
    clients = load_schema("Clients")
    opps = load_schema("Opportunities")
    assert Record.select().where(Record.project == clients.id).count() == demo["clients"]
    assert Record.select().where(Record.project == opps.id).count() == 300
    won = [l.id for l in opps.lists if l.kind == "won"]
    assert demo["deliveries"] == demo["invoices"] == Record.select().where(Record.list.in_(won)).count()


def check_every_stage_has_tagged_priced_deals(admin):
    opps = list_records(admin, "Opportunities")
    stages = {r["list"] for r in opps}
    assert stages == {name for name, _, _ in OPPORTUNITY_STAGES}
    service_tags = {"Branding", "Website", "SEO", "Facebook management"}
    for r in opps:
        f = r["fields"]
        assert r["tags"] and set(r["tags"]) <= service_tags
        amount, cost = Decimal(f["Amount"]), Decimal(f["Cost"])
        assert amount > 0 and amount.as_tuple().exponent == -2
        assert Decimal(f["Profit"]) == amount - cost
        if r["list"] == "Lost":
            assert f["Lost reason"] is not None


def check_mixed_script_names(admin):
    titles = [r["title"] for r in list_records(admin, "Clients")]
    assert any(not t.isascii() for t in titles)
    assert any(any("\u4e00" <= c <= "\u9fff" for c in t) for t in titles)  # CJK
    assert any("'" in t for t in titles)


def check_dates_span_the_last_18_months():
    today = DEMO_TODAY
    opps = load_schema("Opportunities")
    created = [r.created_at.date() for r in Record.select().where(Record.project == opps.id)]
    assert min(created) >= today - dt.timedelta(days=550)
    assert max(created) <= today
    assert (max(created) - min(created)).days > 365


def check_lookups_are_resolved(admin):
    clients = {r["id"]: r for r in list_records(admin, "Clients")}
    opps = list_records(admin, "Opportunities")
    assert all(r["fields"]["Client"] for r in opps)
    for r in opps:
        client = clients[r["fields"]["Client"]["id"]]
        assert r["fields"]["Client name"] == client["title"]
        assert r["fields"]["Client email"] == client["fields"]["Email"]
    by_id = {r["id"]: r for r in opps}
    for d in list_records(admin, "Delivery"):
        opp = by_id[d["fields"]["Opportunity"]["id"]]
        assert opp["list"] == "Won"
        assert d["fields"]["Deal value"] == opp["fields"]["Amount"]
        assert d["fields"]["Client email"] == opp["fields"]["Client email"]
    for i in list_records(admin, "Invoices"):
        opp = by_id[i["fields"]["Opportunity"]["id"]]
        assert i["fields"]["Client name"] == opp["fields"]["Client name"]
        assert i["fields"]["Invoice amount"] == opp["fields"]["Amount"]


def check_refuses_a_database_with_records(admin):
    with pytest.raises(CrmError):
        build_demo(admin, size=10, seed=1)
    assert Record.select().where(Record.project == load_schema("Opportunities").id).count() == 300


def _demo_fingerprint(url: str, seed: int) -> list[tuple]:
    connection.open_database(url)
    try:
        actor = actor_for(ensure_user("admin", is_admin=True))
        build_demo(actor, size=60, seed=seed, today=dt.date(2026, 6, 15))
        return [(r["title"], r["list"], r["fields"]["Amount"], r["fields"]["Client name"], tuple(r["tags"]))
                for r in list_records(actor, "Opportunities")]
    finally:
        connection.close_database()


def test_same_seed_same_data(tmp_path):
    first = _demo_fingerprint(f"sqlite:///{tmp_path / 'one.db'}", seed=7)
    second = _demo_fingerprint(f"sqlite:///{tmp_path / 'two.db'}", seed=7)
    other = _demo_fingerprint(f"sqlite:///{tmp_path / 'three.db'}", seed=8)
    assert len(first) == 60
    assert first == second
    assert first != other


def test_demo_logs_one_created_event_per_record(admin):
    build_demo(admin, size=30, seed=2)
    created = sorted(r for (r,) in Event.select(Event.record).where(Event.kind == "created").tuples())
    assert created == sorted(r for (r,) in Record.select(Record.id).tuples())

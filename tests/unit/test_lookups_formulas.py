"""Formulas and lookups kept current by the domain, on SQLite and PostgreSQL.

Formulas and lookups are materialised; these tests change an input — in the same record, in a record
of another project, through a lookup of a lookup — and read the stored result back as a user would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_tui.db.models import Field, FieldValue
from crm_tui.domain.computed import FieldGraph
from crm_tui.domain.project_schema import FieldDef, load_schema
from crm_tui.domain.projects import add_field, add_project, delete_field, rename_field
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import archive_record, create_record, restore_record, update_record
from crm_tui.errors import NotFoundError, ValidationError


def fields(actor, record_id) -> dict:
    return show_record(actor, record_id)["fields"]


@pytest.fixture
def deal(sales):
    """A client, an opportunity for it, and a delivery and an invoice for that opportunity."""
    client = create_record(sales, "Clients", "Acme", values={"Email": "sales@acme.com"})
    opp = create_record(sales, "Opportunities", "Acme website", list_name="Negotiation",
                        values={"Amount": "1234.56", "Cost": "234.50", "Client": "Acme",
                                "Expected close date": "2026-06-30"})
    delivery = create_record(sales, "Delivery", "Build Acme website", values={"Opportunity": opp})
    invoice = create_record(sales, "Invoices", "INV-1", values={"Opportunity": opp, "Invoice amount": "1234.56"})
    return {"client": client, "opp": opp, "delivery": delivery, "invoice": invoice}


# ----------------------------------------------------------------------------------------- formulas

def test_profit_is_exact(sales, deal):
    assert fields(sales, deal["opp"])["Profit"] == "1000.06"


def test_profit_is_recomputed_when_amount_or_cost_changes(sales, deal):
    update_record(sales, deal["opp"], values={"Cost": "0.07"})
    assert fields(sales, deal["opp"])["Profit"] == "1234.49"
    update_record(sales, deal["opp"], values={"Amount": "0.1"})
    assert fields(sales, deal["opp"])["Profit"] == "0.03"
    update_record(sales, deal["opp"], values={"Cost": ""})
    assert fields(sales, deal["opp"])["Profit"] == "0.10"


def test_profit_is_listed_for_every_record(sales):
    for n, (amount, cost) in enumerate([("10", "2.5"), ("0.3", "0.1"), ("99999.99", "0.01")]):
        create_record(sales, "Opportunities", f"Deal {n}", values={"Amount": amount, "Cost": cost})
    profits = {r["title"]: r["fields"]["Profit"] for r in list_records(sales, "Opportunities")}
    assert profits == {"Deal 0": "7.50", "Deal 1": "0.20", "Deal 2": "99999.98"}


def test_division_by_zero_is_an_error_value_not_a_crash(sales, deal):
    add_field(sales, "Opportunities", "Margin", "formula", formula="ROUND({Profit} / {Amount} * 100, 1)")
    # 1000.06 / 1234.56 = 81.006…% → 81.0 (shown in the currency's style: the inputs are money)
    assert Decimal(fields(sales, deal["opp"])["Margin"]) == Decimal("81")
    update_record(sales, deal["opp"], values={"Amount": "0"})
    assert fields(sales, deal["opp"])["Margin"] == {"error": "#DIV/0!"}
    # reading the whole project, and a record created with the error from the start, work too
    zero = create_record(sales, "Opportunities", "Free", values={"Amount": "0", "Cost": "5"})
    listed = {r["id"]: r["fields"]["Margin"] for r in list_records(sales, "Opportunities")}
    assert listed[zero] == {"error": "#DIV/0!"}
    # and the error goes away when the input is fixed
    update_record(sales, deal["opp"], values={"Amount": "2000"})
    assert Decimal(fields(sales, deal["opp"])["Margin"]) == Decimal("88.3")


def test_formula_added_later_is_computed_for_existing_records(sales, deal):
    add_field(sales, "Opportunities", "Double profit", "formula", formula="{Profit} * 2")
    assert fields(sales, deal["opp"])["Double profit"] == "2000.12"
    update_record(sales, deal["opp"], values={"Cost": "1234.56"})
    assert fields(sales, deal["opp"])["Double profit"] == "0.00"


def test_renaming_an_input_keeps_the_formula_working(sales, deal):
    rename_field(sales, "Opportunities", "Cost", "Costs")
    assert load_schema("Opportunities").field("Profit").config["formula"] == "{Amount} - {Costs}"
    update_record(sales, deal["opp"], values={"Costs": "34.56"})
    assert fields(sales, deal["opp"])["Profit"] == "1200.00"


def test_today_formulas_are_current_when_read(sales, deal):
    add_field(sales, "Opportunities", "Days left", "formula",
              formula="DAYS_BETWEEN(TODAY(), {Expected close date})")
    expected = (dt.date(2026, 6, 30) - dt.date.today()).days
    assert Decimal(fields(sales, deal["opp"])["Days left"]) == expected


def test_formula_with_an_unknown_field_is_refused(sales):
    before = Field.select().count()
    with pytest.raises(ValidationError) as info:
        add_field(sales, "Opportunities", "Bad", "formula", formula="{Amount} - {Discount}")
    assert "Discount" in str(info.value)
    assert Field.select().count() == before


def test_formula_syntax_error_is_refused(sales):
    before = Field.select().count()
    with pytest.raises(ValidationError) as info:
        add_field(sales, "Opportunities", "Bad", "formula", formula="{Amount} - ")
    assert "{Amount} - " in str(info.value)
    assert Field.select().count() == before


def test_formula_referring_to_itself_is_refused(sales):
    with pytest.raises(ValidationError):
        add_field(sales, "Opportunities", "Loop", "formula", formula="{Loop} + 1")
    assert load_schema("Opportunities").field_or_none("Loop") is None


def _redefined(graph: FieldGraph, name: str, project: str, **config) -> FieldDef:
    """``name`` as it would be with ``config`` changed (a definition that is not stored)."""
    old = next(f for f in graph.fields.values()
               if f.name == name and f.project_id == load_schema(project).id)
    return FieldDef(old.id, old.project_id, old.name, old.type, old.position, old.hidden,
                    {**old.config, **config})


def test_formula_cycle_is_detected(sales):
    # fields can only use fields that exist, so a cycle needs an existing formula redefined:
    # A = {Amount} + 1, B = {A} * 2, then A = {B} - 1
    add_field(sales, "Opportunities", "A", "formula", formula="{Amount} + 1")
    b = add_field(sales, "Opportunities", "B", "formula", formula="{A} * 2")
    graph = FieldGraph()
    cycle = graph.creates_cycle(_redefined(graph, "A", "Opportunities", formula="{B} - 1", refs=[b.id]))
    assert cycle is not None and set(cycle) == {"A", "B"}
    # the template's own fields form no cycle
    for f in graph.fields.values():
        assert graph.creates_cycle(f) is None, f.name


def test_lookup_cycle_is_detected(admin):
    # a self-referencing project: each task looks up its parent's value, and the parent's lookup
    add_project(admin, "Tasks")
    add_field(admin, "Tasks", "Parent", "reference", target="Tasks")
    add_field(admin, "Tasks", "Points", "number")
    l1 = add_field(admin, "Tasks", "Parent points", "lookup", via="Parent", of="Points")
    add_field(admin, "Tasks", "Grandparent points", "lookup", via="Parent", of="Parent points")
    graph = FieldGraph()
    # Parent points := Parent → Grandparent points would loop back on itself
    looped = _redefined(graph, "Parent points", "Tasks",
                        of=next(f.id for f in graph.fields.values() if f.name == "Grandparent points"))
    cycle = graph.creates_cycle(looped)
    assert cycle is not None and "Parent points" in cycle and "Grandparent points" in cycle
    assert graph.creates_cycle(graph.fields[l1.id]) is None


def test_self_referencing_lookups_are_computed(admin):
    add_project(admin, "Tasks")
    add_field(admin, "Tasks", "Parent", "reference", target="Tasks")
    add_field(admin, "Tasks", "Points", "number")
    add_field(admin, "Tasks", "Parent points", "lookup", via="Parent", of="Points")
    add_field(admin, "Tasks", "Grandparent points", "lookup", via="Parent", of="Parent points")
    root = create_record(admin, "Tasks", "Root", values={"Points": "8"})
    mid = create_record(admin, "Tasks", "Mid", values={"Points": "5", "Parent": root})
    leaf = create_record(admin, "Tasks", "Leaf", values={"Points": "1", "Parent": mid})
    assert fields(admin, leaf)["Parent points"] == "5"
    assert fields(admin, leaf)["Grandparent points"] == "8"
    update_record(admin, root, values={"Points": "13"})
    assert fields(admin, mid)["Parent points"] == "13"
    assert fields(admin, leaf)["Grandparent points"] == "13"


def test_a_lookup_must_go_through_a_reference(sales):
    with pytest.raises(ValidationError) as info:
        add_field(sales, "Opportunities", "Bad", "lookup", via="Amount", of="Email")
    assert "Amount" in str(info.value)
    with pytest.raises(NotFoundError):
        add_field(sales, "Opportunities", "Bad", "lookup", via="Client", of="Fax")
    assert load_schema("Opportunities").field_or_none("Bad") is None


def test_a_field_in_use_cannot_be_deleted(sales):
    with pytest.raises(ValidationError) as info:
        delete_field(sales, "Opportunities", "Cost")
    assert "Profit" in str(info.value)
    assert load_schema("Opportunities").field_or_none("Cost") is not None


# ------------------------------------------------------------------------------------------ lookups

def test_template_lookups_are_resolved_on_create(sales, deal):
    opp = fields(sales, deal["opp"])
    assert opp["Client"] == {"id": deal["client"], "title": "Acme"}
    assert opp["Client name"] == "Acme"
    assert opp["Client email"] == "sales@acme.com"
    delivery = fields(sales, deal["delivery"])
    assert delivery["Deal value"] == "1234.56"
    assert delivery["Expected close"] == "2026-06-30"
    assert delivery["Client email"] == "sales@acme.com"
    assert fields(sales, deal["invoice"])["Client name"] == "Acme"


def test_client_email_change_reaches_opportunities_and_deliveries(sales, deal):
    second = create_record(sales, "Opportunities", "Acme SEO", values={"Client": deal["client"]})
    update_record(sales, deal["client"], values={"Email": "new@acme.com"})
    assert fields(sales, deal["opp"])["Client email"] == "new@acme.com"
    assert fields(sales, second)["Client email"] == "new@acme.com"
    assert fields(sales, deal["delivery"])["Client email"] == "new@acme.com"  # lookup of a lookup
    update_record(sales, deal["client"], values={"Email": ""})
    assert fields(sales, deal["opp"])["Client email"] is None
    assert fields(sales, deal["delivery"])["Client email"] is None


def test_client_rename_reaches_client_name_lookups(sales, deal):
    update_record(sales, deal["client"], title="Acme Corporation")
    assert fields(sales, deal["opp"])["Client name"] == "Acme Corporation"
    assert fields(sales, deal["opp"])["Client"] == {"id": deal["client"], "title": "Acme Corporation"}
    assert fields(sales, deal["invoice"])["Client name"] == "Acme Corporation"  # lookup of a lookup


def test_opportunity_changes_reach_delivery_lookups(sales, deal):
    update_record(sales, deal["opp"], values={"Amount": "5000", "Expected close date": "2026-12-31"})
    delivery = fields(sales, deal["delivery"])
    assert delivery["Deal value"] == "5000.00"
    assert delivery["Expected close"] == "2026-12-31"


def test_formula_over_a_lookup_in_the_referring_project_follows_the_source(sales, deal):
    add_field(sales, "Delivery", "Budget", "formula", formula="{Deal value} * 0.8")
    assert Decimal(fields(sales, deal["delivery"])["Budget"]) == Decimal("987.648")
    update_record(sales, deal["opp"], values={"Amount": "100"})
    assert Decimal(fields(sales, deal["delivery"])["Budget"]) == Decimal("80")


def test_changing_the_client_reference_updates_lookups_downstream(sales, deal):
    globex = create_record(sales, "Clients", "Globex", values={"Email": "buy@globex.example"})
    update_record(sales, deal["opp"], values={"Client": "Globex"})
    opp = fields(sales, deal["opp"])
    assert opp["Client"] == {"id": globex, "title": "Globex"}
    assert opp["Client name"] == "Globex" and opp["Client email"] == "buy@globex.example"
    assert fields(sales, deal["delivery"])["Client email"] == "buy@globex.example"
    assert fields(sales, deal["invoice"])["Client name"] == "Globex"
    # the old client's changes no longer reach it; the new one's do
    update_record(sales, deal["client"], values={"Email": "old@acme.com"})
    update_record(sales, globex, values={"Email": "new@globex.example"})
    assert fields(sales, deal["delivery"])["Client email"] == "new@globex.example"
    # and clearing the reference clears the lookups
    update_record(sales, deal["opp"], values={"Client": ""})
    opp = fields(sales, deal["opp"])
    assert opp["Client"] is None and opp["Client name"] is None and opp["Client email"] is None
    assert fields(sales, deal["delivery"])["Client email"] is None
    assert fields(sales, deal["invoice"])["Client name"] is None


def test_changing_the_delivery_reference_updates_its_lookups(sales, deal):
    other = create_record(sales, "Opportunities", "Other deal", values={"Amount": "42"})
    update_record(sales, deal["delivery"], values={"Opportunity": other})
    delivery = fields(sales, deal["delivery"])
    assert delivery["Deal value"] == "42.00"
    assert delivery["Expected close"] is None and delivery["Client email"] is None


def test_formula_over_a_lookup_follows_a_record_in_another_project(sales, deal):
    add_field(sales, "Clients", "Discount", "percent")
    add_field(sales, "Opportunities", "Client discount", "lookup", via="Client", of="Discount")
    add_field(sales, "Opportunities", "Net", "formula",
              formula="{Amount} * (100 - {Client discount}) / 100")
    assert fields(sales, deal["opp"])["Net"] == "1234.56"  # no discount yet
    update_record(sales, deal["client"], values={"Discount": "10%"})
    assert fields(sales, deal["opp"])["Client discount"] == "10"
    assert fields(sales, deal["opp"])["Net"] == "1111.104"
    update_record(sales, deal["client"], values={"Discount": "50"})
    assert fields(sales, deal["opp"])["Net"] == "617.28"


def test_lookup_of_a_formula_follows_its_inputs(sales, deal):
    add_field(sales, "Delivery", "Deal profit", "lookup", via="Opportunity", of="Profit")
    assert fields(sales, deal["delivery"])["Deal profit"] == "1000.06"
    update_record(sales, deal["opp"], values={"Cost": "1000"})
    assert fields(sales, deal["delivery"])["Deal profit"] == "234.56"


def test_sum_over_a_multi_valued_lookup(sales):
    add_project(sales, "Bundles")
    add_field(sales, "Bundles", "Deals", "reference", target="Opportunities", multiple=True)
    add_field(sales, "Bundles", "Amounts", "lookup", via="Deals", of="Amount")
    add_field(sales, "Bundles", "Total", "formula", formula="SUM({Amounts})")
    add_field(sales, "Bundles", "Average", "formula", formula="AVERAGE({Amounts})")
    a = create_record(sales, "Opportunities", "A", values={"Amount": "100.10"})
    b = create_record(sales, "Opportunities", "B", values={"Amount": "0.20"})
    bundle = create_record(sales, "Bundles", "Both", values={"Deals": [a, b]})
    got = fields(sales, bundle)
    assert got["Amounts"] == ["100.10", "0.20"]
    assert got["Total"] == "100.30" and got["Average"] == "50.15"
    update_record(sales, b, values={"Amount": "9.90"})
    got = fields(sales, bundle)
    assert got["Amounts"] == ["100.10", "9.90"] and got["Total"] == "110.00"
    update_record(sales, bundle, values={"Deals": [b]})
    assert fields(sales, bundle)["Total"] == "9.90"


def test_lookup_of_a_multi_valued_lookup_keeps_every_value_in_order(sales):
    """Bundles of bundles: the inner lookup holds two emails per bundle, the outer one all four, in
    reference order (numbering positions by multiplying them collided here)."""
    clients = [create_record(sales, "Clients", f"C{i}", values={"Email": f"c{i}@example.com"}) for i in range(4)]
    add_project(sales, "Accounts")
    add_field(sales, "Accounts", "Members", "reference", target="Clients", multiple=True)
    add_field(sales, "Accounts", "Member emails", "lookup", via="Members", of="Email")
    first = create_record(sales, "Accounts", "First", values={"Members": clients[:2]})
    second = create_record(sales, "Accounts", "Second", values={"Members": clients[2:]})
    add_project(sales, "Groups")
    add_field(sales, "Groups", "Accounts", "reference", target="Accounts", multiple=True)
    add_field(sales, "Groups", "All emails", "lookup", via="Accounts", of="Member emails")
    group = create_record(sales, "Groups", "Both", values={"Accounts": [first, second]})
    assert fields(sales, group)["All emails"] == [f"c{i}@example.com" for i in range(4)]
    update_record(sales, clients[3], values={"Email": "new@example.com"})
    assert fields(sales, group)["All emails"][-1] == "new@example.com"


def test_lookups_show_values_in_the_shape_of_their_source(sales, deal, tmp_path):
    for name, type_name, options in [("VIP", "checkbox", {}), ("Stars", "rating", {"max_rating": 3}),
                                     ("Areas", "multi_select", {"options": ["North", "South"]}),
                                     ("Since", "date", {}), ("Logo", "file", {})]:
        add_field(sales, "Clients", name, type_name, **options)
        add_field(sales, "Opportunities", f"Client {name}", "lookup", via="Client", of=name)
    add_field(sales, "Opportunities", "Client source", "lookup", via="Client", of="Source")
    add_field(sales, "Invoices", "Client", "lookup", via="Opportunity", of="Client")
    add_field(sales, "Opportunities", "Label", "formula",
              formula='IF({Client VIP}, "VIP " & {Client name}, {Client name})')
    add_field(sales, "Opportunities", "Follow up", "formula", formula="{Expected close date} + 7")
    add_field(sales, "Opportunities", "Big", "formula", formula="{Amount} > 1000")
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"PNG")
    update_record(sales, deal["client"], values={"VIP": "yes", "Stars": "2", "Areas": "north; South",
                                                 "Since": "2020-01-02", "Logo": str(logo),
                                                 "Source": "Referral"})
    got = fields(sales, deal["opp"])
    assert (got["Client VIP"], got["Client Stars"], got["Client Areas"], got["Client Since"],
            got["Client source"]) == (True, 2, ["North", "South"], "2020-01-02", "Referral")
    assert (got["Client Logo"]["name"], got["Client Logo"]["size"]) == ("logo.png", 3)
    assert (got["Label"], got["Follow up"], got["Big"]) == ("VIP Acme", "2026-07-07", True)
    assert fields(sales, deal["invoice"])["Client"] == {"id": deal["client"], "title": "Acme"}
    update_record(sales, deal["client"], title="Acme 2", values={"VIP": "no", "Areas": "South"})
    got = fields(sales, deal["opp"])
    assert (got["Client VIP"], got["Client Areas"], got["Label"]) == (False, ["South"], "Acme 2")
    assert fields(sales, deal["invoice"])["Client"] == {"id": deal["client"], "title": "Acme 2"}


def test_lookup_added_later_is_computed_for_existing_records(sales, deal):
    update_record(sales, deal["client"], values={"Category": "SMB"})
    add_field(sales, "Opportunities", "Client category", "lookup", via="Client", of="Category")
    assert fields(sales, deal["opp"])["Client category"] == "SMB"
    add_field(sales, "Delivery", "Client category", "lookup", via="Opportunity", of="Client category")
    assert fields(sales, deal["delivery"])["Client category"] == "SMB"
    update_record(sales, deal["client"], values={"Category": "Enterprise"})
    assert fields(sales, deal["delivery"])["Client category"] == "Enterprise"


def test_lookups_and_formulas_are_stored_so_sql_can_aggregate_them(sales, deal):
    opps = load_schema("Opportunities")
    profit = opps.field("Profit")
    stored = FieldValue.get((FieldValue.record == deal["opp"]) & (FieldValue.field == profit.id))
    assert stored.number == 1_000_060_000
    client_email = opps.field("Client email")
    stored = FieldValue.get((FieldValue.record == deal["opp"]) & (FieldValue.field == client_email.id))
    assert stored.text == "sales@acme.com"


# ------------------------------------------------------------------------------------ referenced by

def test_referenced_by_lists_live_referrers(sales, deal):
    second = create_record(sales, "Opportunities", "Acme SEO", values={"Client": "Acme"})
    create_record(sales, "Opportunities", "Someone else's deal")
    refs = show_record(sales, deal["client"])["referenced_by"]
    assert [(r["id"], r["project"], r["title"], r["field"]) for r in refs] == [
        (deal["opp"], "Opportunities", "Acme website", "Client"),
        (second, "Opportunities", "Acme SEO", "Client"),
    ]
    archive_record(sales, second)
    assert [r["id"] for r in show_record(sales, deal["client"])["referenced_by"]] == [deal["opp"]]
    restore_record(sales, second)
    assert [r["id"] for r in show_record(sales, deal["client"])["referenced_by"]] == [deal["opp"], second]
    # the opportunity itself is referenced by its delivery and its invoice
    assert {(r["project"], r["id"]) for r in show_record(sales, deal["opp"])["referenced_by"]} == {
        ("Delivery", deal["delivery"]), ("Invoices", deal["invoice"])}


def test_referenced_by_follows_reference_changes(sales, deal):
    globex = create_record(sales, "Clients", "Globex")
    update_record(sales, deal["opp"], values={"Client": globex})
    assert show_record(sales, deal["client"])["referenced_by"] == []
    assert [r["id"] for r in show_record(sales, globex)["referenced_by"]] == [deal["opp"]]

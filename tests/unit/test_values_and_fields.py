"""Every custom field type through the domain, on SQLite and PostgreSQL.

Valid input is stored and shown in JSON exactly (decimal strings, ISO dates, references as
``{"id", "title"}``); invalid input raises ``ValidationError`` naming the field and the value, and
writes nothing — no record, no value, no event — even when mixed with valid values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_tui.db.models import Attachment, Event, FieldValue, Record, RecordTag, Tag
from crm_tui.domain.projects import add_field, add_project
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import create_record, update_record
from crm_tui.errors import NotFoundError, ValidationError


@pytest.fixture
def things(admin):
    """Project "Things" with one field of every type, and "Targets" it references."""
    add_project(admin, "Targets")
    add_field(admin, "Targets", "Code", "text")
    acme = create_record(admin, "Targets", "Acme", values={"Code": "A-1"})
    beta = create_record(admin, "Targets", "Beta GmbH", values={"Code": "B-2"})
    add_project(admin, "Things")
    spec = [
        ("Note", "text", {}),
        ("Notes", "long_text", {}),
        ("Qty", "number", {}),
        ("Share", "percent", {}),
        ("Price", "currency", {"currency": "EUR"}),
        ("Yen", "currency", {"currency": "JPY"}),
        ("Mail", "email", {}),
        ("Tel", "phone", {}),
        ("Site", "url", {}),
        ("Addr", "address", {}),
        ("When", "date", {}),
        ("Done", "checkbox", {}),
        ("Stage", "dropdown", {"options": ["Referral", "Website", "Cold call"]}),
        ("Labels", "multi_select", {"options": ["Red", "Green", "Blue"]}),
        ("Stars", "rating", {"max_rating": 3}),
        ("Doc", "file", {}),
        ("Docs", "file", {"multiple": True}),
        ("Target", "reference", {"target": "Targets"}),
        ("Targets", "reference", {"target": "Targets", "multiple": True}),
        ("Target code", "lookup", {"via": "Target", "of": "Code"}),
        ("Double", "formula", {"formula": "{Qty} * 2"}),
    ]
    for name, type_name, options in spec:
        add_field(admin, "Things", name, type_name, **options)
    return {"acme": acme, "beta": beta}


def snapshot() -> dict:
    """Everything a write could touch, to prove that a refused write touched nothing."""
    return {
        "records": sorted(Record.select(Record.id, Record.title, Record.version, Record.list)
                          .tuples()),
        "values": sorted(FieldValue.select(FieldValue.record, FieldValue.field, FieldValue.position,
                                           FieldValue.text, FieldValue.number, FieldValue.date,
                                           FieldValue.ref, FieldValue.file, FieldValue.error)
                         .tuples(), key=repr),
        "events": Event.select().count(),
        "tags": Tag.select().count(),
        "record_tags": RecordTag.select().count(),
        "attachments": Attachment.select().count(),
    }


# ------------------------------------------------------------------------------------------ valid

VALID = [
    ("Note", "hello, world", "hello, world"),
    ("Note", "08123", "08123"),
    ("Notes", "line one\nline two", "line one\nline two"),
    ("Qty", "1,234.5", "1234.5"),
    ("Qty", "-0.000001", "-0.000001"),
    ("Qty", "(12)", "-12"),
    ("Share", "12.5%", "12.5"),
    ("Price", "1234.5", "1234.50"),
    ("Price", "€1.234,50", "1234.50"),
    ("Price", "9,000,000,000.99", "9000000000.99"),
    ("Yen", "1500", "1500"),
    ("Mail", "Zoe.Name@Example.COM", "Zoe.Name@example.com"),
    ("Mail", "mailto:info@acme.io", "info@acme.io"),
    ("Tel", "+1 555 123 4567 ext 12", "+1 555 123 4567 ext 12"),
    ("Site", "https://example.com/a?b=1", "https://example.com/a?b=1"),
    ("Site", "example.com/path", "https://example.com/path"),
    ("Addr", "12 Rue de la Paix\n75002 Paris\nFrance", "12 Rue de la Paix\n75002 Paris\nFrance"),
    ("When", "2026-02-28", "2026-02-28"),
    ("When", "2028-02-29", "2028-02-29"),
    ("When", "5 March 2026", "2026-03-05"),
    ("Done", "yes", True),
    ("Done", "0", False),
    ("Stage", " cold CALL ", "Cold call"),
    ("Labels", "red; Blue", ["Red", "Blue"]),
    ("Stars", "3", 3),
    ("Stars", "★★☆", 2),
]


def test_valid_text_input_is_stored_and_shown_exactly(admin, things):
    # one record per case, then one batched read: a table of cases keeps the suite fast on both
    # engines while a failure still names every case that went wrong
    ids = {create_record(admin, "Things", f"Item {n}", values={field: raw}): (field, raw, shown)
           for n, (field, raw, shown) in enumerate(VALID)}
    listed = {item["id"]: item for item in list_records(admin, "Things")}
    wrong = []
    for rid, (field, raw, shown) in ids.items():
        got_listed = listed[rid]["fields"][field]
        got_shown = show_record(admin, rid)["fields"][field]
        if got_listed != shown or got_shown != shown:
            wrong.append(f"{field}={raw!r}: shown {got_shown!r}, listed {got_listed!r}, want {shown!r}")
    assert not wrong, "\n".join(wrong)


def test_python_values_are_coerced_exactly(admin, things):
    rid = create_record(admin, "Things", "Item", from_text=False, values={
        "Qty": Decimal("0.1"), "Price": Decimal("19.9"), "Yen": 250, "When": dt.date(2026, 1, 31),
        "Done": True, "Stars": 1, "Labels": ["Green"], "Note": 42,
    })
    fields = show_record(admin, rid)["fields"]
    assert fields["Qty"] == "0.1"
    assert fields["Price"] == "19.90"
    assert fields["Yen"] == "250"
    assert fields["When"] == "2026-01-31"
    assert fields["Done"] is True
    assert fields["Stars"] == 1
    assert fields["Labels"] == ["Green"]
    assert fields["Note"] == "42"


def test_date_order_is_honoured_for_ambiguous_dates(admin, things):
    dmy = create_record(admin, "Things", "DMY", values={"When": "05/03/2026"}, date_order="DMY")
    mdy = create_record(admin, "Things", "MDY", values={"When": "05/03/2026"}, date_order="MDY")
    assert show_record(admin, dmy)["fields"]["When"] == "2026-03-05"
    assert show_record(admin, mdy)["fields"]["When"] == "2026-05-03"


def test_money_is_exact_in_storage_and_sums(admin, things):
    for raw in ("0.10", "0.20", "1234.56", "-234.50"):
        create_record(admin, "Things", f"Item {raw}", values={"Price": raw})
    from peewee import fn

    price = next(f for f in _schema("Things").fields if f.name == "Price")
    total = FieldValue.select(fn.SUM(FieldValue.number)).where(FieldValue.field == price.id).scalar()
    assert Decimal(int(total)) / 10**6 == Decimal("1000.36")


def _schema(name):
    from crm_tui.domain.project_schema import load_schema

    return load_schema(name)


def test_references_by_title_and_by_id_are_shown_with_titles(admin, things):
    acme, beta = things["acme"], things["beta"]
    by_title = create_record(admin, "Things", "One", values={"Target": "Acme"})
    by_id = create_record(admin, "Things", "Two", values={"Target": f"#{beta}"})
    both = create_record(admin, "Things", "Three", values={"Targets": f"Beta GmbH; {acme}"})
    assert show_record(admin, by_title)["fields"]["Target"] == {"id": acme, "title": "Acme"}
    assert show_record(admin, by_id)["fields"]["Target"] == {"id": beta, "title": "Beta GmbH"}
    assert show_record(admin, both)["fields"]["Targets"] == [
        {"id": beta, "title": "Beta GmbH"}, {"id": acme, "title": "Acme"}]
    # the lookup through the single reference is resolved at once
    assert show_record(admin, by_title)["fields"]["Target code"] == "A-1"


def test_references_by_title_ignore_case(admin, things):
    acme, beta = things["acme"], things["beta"]
    one = create_record(admin, "Things", "One", values={"Target": "ACME"})
    many = create_record(admin, "Things", "Many", values={"Targets": "acme; beta gmbh"})
    assert show_record(admin, one)["fields"]["Target"] == {"id": acme, "title": "Acme"}
    assert [t["id"] for t in show_record(admin, many)["fields"]["Targets"]] == [acme, beta]


def test_empty_values_show_as_null_or_empty_list(admin, things):
    rid = create_record(admin, "Things", "Bare")
    fields = show_record(admin, rid)["fields"]
    assert fields["Note"] is None and fields["Price"] is None and fields["Target"] is None
    assert fields["Targets"] == [] and fields["Labels"] == [] and fields["Docs"] == []
    assert fields["Double"] == "0"  # blank is 0 in arithmetic


def test_clearing_a_value_removes_it(admin, things):
    rid = create_record(admin, "Things", "Item", values={"Price": "10", "Mail": "a@b.co"})
    update_record(admin, rid, values={"Price": "", "Mail": None})
    fields = show_record(admin, rid)["fields"]
    assert fields["Price"] is None and fields["Mail"] is None


def test_files_are_copied_into_the_database(admin, things, tmp_path):
    one = tmp_path / "proposal.pdf"
    one.write_bytes(b"%PDF-1.4 hello")
    two = tmp_path / "brief.txt"
    two.write_text("brief")
    rid = create_record(admin, "Things", "Item", values={"Doc": str(one), "Docs": f"{one}; {two}"})
    one.unlink()  # the database keeps its own copy
    fields = show_record(admin, rid)["fields"]
    assert fields["Doc"]["name"] == "proposal.pdf" and fields["Doc"]["size"] == 14
    assert [d["name"] for d in fields["Docs"]] == ["proposal.pdf", "brief.txt"]
    from crm_tui.domain.values import attachment_bytes

    assert attachment_bytes(fields["Doc"]["id"]) == ("proposal.pdf", b"%PDF-1.4 hello")


# ---------------------------------------------------------------------------------------- invalid

INVALID = [
    ("Mail", "not-an-email", "email"),
    ("Mail", "a@b", "email"),
    ("Price", "12abc", "amount"),
    ("Price", "12.345", "decimal places"),
    ("Price", "$12", "EUR"),
    ("Yen", "12.5", "decimal"),
    ("Qty", "abc", "number"),
    ("Qty", "99999999999999999", "too large"),
    ("Share", "ten percent", "percentage"),
    ("Stars", "4", "1 to 3"),
    ("Stars", "-1", "1 to 3"),
    ("Stage", "Maybe", "not an option"),
    ("Labels", "Red; Purple", "not an option"),
    ("Target", "Nobody Inc", "no record"),
    ("Target", "#999999", "no such record"),
    ("Targets", "Acme; Ghost Ltd", "no record"),
    ("When", "2026-02-30", "no such date"),
    ("When", "2027-02-29", "no such date"),
    ("When", "31/31/2026", "date"),
    ("Site", "not a url", "web address"),
    ("Site", "http://", "web address"),
    ("Site", "ftp://example.com/file", "web address"),
    ("Site", "https://exa mple.com", "web address"),
    ("Tel", "12", "phone"),
    ("Done", "maybe", "yes or no"),
    ("Doc", "/no/such/file.pdf", "no such file"),
    ("Double", "5", "computed"),
    ("Target code", "A-9", "computed"),
]
def offending(raw: str) -> str:
    """The part of the input the error must quote: a multi-value error names the bad item."""
    return raw.split(";")[-1].strip()


def _refusal_problems(write, field, raw, reason) -> list[str]:
    """What is wrong with how ``write`` refused ``raw`` for ``field`` (empty when all is right)."""
    before = snapshot()
    try:
        write()
    except ValidationError as err:
        problems = []
        if err.field != field:
            problems.append(f"error names field {err.field!r}")
        if field not in str(err) or offending(raw) not in str(err):
            problems.append(f"message {str(err)!r} does not name the field and the value")
        if reason.casefold() not in str(err).casefold():
            problems.append(f"message {str(err)!r} does not say {reason!r}")
    else:
        problems = ["accepted"]
    if snapshot() != before:
        problems.append("something was written")
    return [f"{field}={raw!r}: {p}" for p in problems]


def test_invalid_input_on_create_names_field_and_value_and_writes_nothing(admin, things):
    wrong = []
    for field, raw, reason in INVALID:
        wrong += _refusal_problems(
            lambda: create_record(admin, "Things", "Bad item", values={field: raw}, tags=["New tag"]),
            field, raw, reason)
    assert not wrong, "\n".join(wrong)


def test_invalid_input_on_update_writes_nothing(admin, things):
    rid = create_record(admin, "Things", "Item", values={"Qty": "3", "Target": "Acme", "Mail": "x@y.io"})
    shown = show_record(admin, rid)
    wrong = []
    for field, raw, reason in INVALID:
        wrong += _refusal_problems(
            lambda: update_record(admin, rid, values={field: raw}, expect_version=1), field, raw, reason)
    assert not wrong, "\n".join(wrong)
    assert show_record(admin, rid) == shown


def test_a_reference_to_a_record_of_another_project_is_refused(admin, things):
    other = create_record(admin, "Things", "Not a target")
    before = snapshot()
    with pytest.raises(ValidationError) as info:
        create_record(admin, "Things", "Item", values={"Target": other})
    assert info.value.field == "Target" and f"#{other}" in str(info.value)
    assert snapshot() == before


def test_a_single_reference_refuses_two_records(admin, things):
    with pytest.raises(ValidationError) as info:
        create_record(admin, "Things", "Item", values={"Target": "Acme; Beta GmbH"})
    assert info.value.field == "Target"
    assert Record.select().where(Record.title == "Item").count() == 0


def test_mixed_valid_and_invalid_values_on_create_write_nothing(admin, things):
    before = snapshot()
    with pytest.raises(ValidationError) as info:
        create_record(admin, "Things", "Mixed", tags=["Hot"], values={
            "Qty": "5", "Price": "10", "Target": "Acme", "Mail": "bad@", "Stage": "Website"})
    assert info.value.field == "Mail"
    assert snapshot() == before


def test_mixed_valid_and_invalid_values_on_update_write_nothing(admin, things):
    rid = create_record(admin, "Things", "Item", values={"Qty": "1", "Price": "2"})
    before, shown = snapshot(), show_record(admin, rid)
    with pytest.raises(ValidationError):
        update_record(admin, rid, title="Renamed", values={"Qty": "7", "Price": "12abc"})
    assert snapshot() == before
    after = show_record(admin, rid)
    assert after == shown and after["title"] == "Item" and after["version"] == 1


def test_unknown_field_is_refused_and_nothing_written(admin, things):
    before = snapshot()
    with pytest.raises(NotFoundError) as info:
        create_record(admin, "Things", "Item", values={"Colour": "red"})
    assert "Colour" in str(info.value)
    assert snapshot() == before


@pytest.mark.parametrize("title", ["", "   ", "x" * 501])
def test_bad_titles_are_refused(admin, things, title):
    before = snapshot()
    with pytest.raises(ValidationError) as info:
        create_record(admin, "Things", title)
    assert info.value.field == "title"
    assert snapshot() == before


def test_unknown_assignee_and_impossible_due_date_are_refused(admin, sales):
    before = snapshot()
    with pytest.raises(ValidationError) as info:
        create_record(admin, "Opportunities", "Deal", assignee="nobody")
    assert info.value.field == "assignee" and "nobody" in str(info.value)
    with pytest.raises(ValidationError) as info:
        create_record(admin, "Opportunities", "Deal", due_date="2026-02-30")
    assert info.value.field == "due date" and "2026-02-30" in str(info.value)
    assert snapshot() == before


def test_setting_the_same_value_again_writes_nothing(admin, things):
    rid = create_record(admin, "Things", "Item", values={"Price": "10.50", "Target": "Acme"})
    events = Event.select().count()
    version = update_record(admin, rid, values={"Price": "10.5", "Target": "Acme"})
    assert version == 1
    assert Event.select().count() == events

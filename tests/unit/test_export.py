"""CSV/JSON export: every visible field (lookups and formulas too), references as titles, spreadsheet
safety (formula injection, BOM), filters, and the round trip export → import → same data."""

from __future__ import annotations

import csv
import io
import json

import pytest

from crm_tui.cli import main
from crm_tui.domain.actors import Actor, add_user
from crm_tui.domain.csv_export import export_records
from crm_tui.domain.csv_import import import_csv
from crm_tui.domain.projects import add_field, add_list, add_project
from crm_tui.domain.record_views import list_records
from crm_tui.domain.records import create_record

SPEC = [
    ("Note", "text", {}),
    ("Notes", "long_text", {}),
    ("Qty", "number", {}),
    ("Share", "percent", {}),
    ("Price", "currency", {"currency": "EUR"}),
    ("Mail", "email", {}),
    ("Tel", "phone", {}),
    ("Site", "url", {}),
    ("Addr", "address", {}),
    ("When", "date", {}),
    ("Done", "checkbox", {}),
    ("Stage", "dropdown", {"options": ["Referral", "Website"]}),
    ("Labels", "multi_select", {"options": ["Red", "Green", "Blue"]}),
    ("Stars", "rating", {}),
    ("Target", "reference", {"target": "Targets"}),
    ("Targets", "reference", {"target": "Targets", "multiple": True}),
    ("Target code", "lookup", {"via": "Target", "of": "Code"}),
    ("Double", "formula", {"formula": "{Qty} * 2"}),
]


def make_project(actor, name: str) -> None:
    add_project(actor, name)
    add_list(actor, name, "Open")
    add_list(actor, name, "Done")
    for field_name, type_name, options in SPEC:
        add_field(actor, name, field_name, type_name, **options)


@pytest.fixture
def data(admin):
    add_user("alice", by=admin)
    add_project(admin, "Targets")
    add_field(admin, "Targets", "Code", "text")
    create_record(admin, "Targets", "Acme, Inc.", values={"Code": "A-1"})
    create_record(admin, "Targets", "Beta", values={"Code": "B-2"})
    make_project(admin, "Things")
    create_record(admin, "Things", "=HYPERLINK(\"http://evil\")", list_name="Done", tags=["Big", "Q1"],
                  assignee="alice", due_date="2026-07-01", description="multi\nline, \"quoted\"",
                  values={"Note": "08123", "Notes": "line one\nline \"two\", three", "Qty": "-12.5",
                          "Share": "12.5", "Price": "-1234.5", "Mail": "a@x.io", "Tel": "+1 555 123 4567",
                          "Site": "example.com", "Addr": "1 Main St\nSpringfield, USA", "When": "2026-03-05",
                          "Done": "no", "Stage": "website", "Labels": "Red; Blue", "Stars": "4",
                          "Target": "Acme, Inc.", "Targets": "Acme, Inc.; Beta"})
    create_record(admin, "Things", "@mention, -minus and +plus", values={"Note": "-2+3", "Done": "yes"})
    create_record(admin, "Things", "Empty")
    return admin


def export_text(actor, project="Things", **kwargs) -> str:
    out = io.StringIO(newline="")
    export_records(actor, project, out, **kwargs)
    return out.getvalue()


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def test_every_visible_field_references_as_titles_and_computed_values(data):
    rows = parse(export_text(data))
    assert list(rows[0]) == (["id", "title", "list", "tags", "assignee", "due_date", "description"]
                             + [name for name, _, _ in SPEC])
    first = rows[0]
    assert first["Target"] == "Acme, Inc." and first["Targets"] == "Acme, Inc.; Beta"
    assert first["Target code"] == "A-1" and first["Double"] == "-25"
    assert first["Price"] == "-1234.50"  # a plain number is never prefixed: it cannot run
    assert first["Note"] == "08123" and first["Done"] == "no" and first["Stars"] == "4"
    assert first["Labels"] == "Red; Blue" and first["tags"] == "Big; Q1" and first["assignee"] == "alice"
    assert first["Notes"] == 'line one\nline "two", three'


def test_formula_injection_is_neutralised(data):
    rows = parse(export_text(data))
    assert rows[0]["title"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[0]["Tel"] == "'+1 555 123 4567"
    assert rows[1]["title"] == "'@mention, -minus and +plus" and rows[1]["Note"] == "'-2+3"
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+@\t\r" and not (value[0] == "-" and not value[1:2].isdigit())


def test_bom_crlf_filters_and_hidden_fields(data, admin):
    text = export_text(data, bom=True)
    assert text.startswith("\ufeffid,title,") and "\r\n" in text
    assert [r["title"] for r in parse(export_text(data, list_name="Done"))] == ["'=HYPERLINK(\"http://evil\")"]
    assert len(parse(export_text(data, tags=["big"]))) == 1
    from crm_tui.domain.project_schema import load_schema

    qty = load_schema("Things").field("Qty").id
    viewer = Actor(id=admin.id, name="admin", hidden_fields=frozenset({qty}))
    header = list(parse(export_text(viewer))[0])
    assert "Qty" not in header and "Double" not in header  # a formula fed by a hidden field is hidden too


def test_json_export(data):
    items = json.loads(export_text(data, fmt="json"))
    assert [i["title"] for i in items][1:] == ["@mention, -minus and +plus", "Empty"]
    assert items[0]["fields"]["Price"] == "-1234.50" and items[0]["fields"]["Target"]["title"] == "Acme, Inc."


def comparable(actor, project: str) -> list[dict]:
    out = []
    for r in list_records(actor, project):
        out.append({k: r[k] for k in ("title", "list", "assignee", "due_date", "description")}
                   | {"tags": sorted(r["tags"]), "fields": r["fields"]})
    return sorted(out, key=lambda r: r["title"])


def test_round_trip_into_a_new_project_gives_the_same_data(data, tmp_path):
    path = tmp_path / "things.csv"
    path.write_text(export_text(data, bom=True), encoding="utf-8", newline="")
    make_project(data, "Copy")
    report = import_csv(data, "Copy", path)
    assert report.ok, report.issues
    assert report.created == 3 and set(report.ignored_columns) == {"id", "Target code", "Double"}
    assert comparable(data, "Copy") == comparable(data, "Things")


def test_round_trip_onto_itself_changes_nothing(data, tmp_path):
    path = tmp_path / "things.csv"
    path.write_text(export_text(data), encoding="utf-8", newline="")
    before = comparable(data, "Things")
    report = import_csv(data, "Things", path, key="id")
    assert report.ok and (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert comparable(data, "Things") == before


def test_cli_export(data, tmp_path, capsys):
    out = tmp_path / "e.csv"
    assert main(["export", "Things", "--user", "admin", "--output", str(out), "--bom", "--list", "Open"]) == 0
    assert "exported 2 records" in capsys.readouterr().err
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,title")
    assert main(["export", "Things", "--user", "admin", "--format", "json", "--tag", "Q1"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["export", "Things", "--user", "admin", "--list", "Nope"]) == 3

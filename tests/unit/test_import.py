"""CSV import: reading real files, values as real files have them, safety, upserts, references, and
the real Maven CRM data set (85 accounts referencing each other, 7 products, 8,800 opportunities).

Expected figures for the data set are computed here with the csv module, independently of the code
under test.
"""

from __future__ import annotations

import codecs
import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from crm_tui.cli import main
from crm_tui.db.models import Event, Field, FieldValue, Record
from crm_tui.domain.csv_import import CsvReader, detect_format, import_csv
from crm_tui.domain.projects import add_field, add_list, add_project
from crm_tui.domain.record_views import list_records
from crm_tui.errors import NotFoundError, ValidationError

MAVEN = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "maven-crm"
if not MAVEN.is_dir():  # CI lays shared/ beside the clone
    MAVEN = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "maven-crm"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows_of(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    with CsvReader(path) as reader:
        return reader.header, list(reader)


# ------------------------------------------------------------------------------------------------
# §2 reading real files (no database)


def test_utf8_bom_crlf_blank_lines_and_stray_space_headers(tmp_path):
    path = write(tmp_path / "a.csv", "\ufeff Name , Zip \r\n\r\nAcme,08123\r\n\r\n  \r\nBeta,00001\r\n", "utf-8")
    assert detect_format(path).encoding == "utf-8-sig"
    header, rows = rows_of(path)
    assert header == ["Name", "Zip"]
    assert rows == [(3, ["Acme", "08123"]), (6, ["Beta", "00001"])]


def test_quoted_commas_doubled_quotes_and_newlines(tmp_path):
    text = 'title,note,city\n"Smith, John","He said ""hi""","line one\nline two"\nNext,plain,x\n'
    path = write(tmp_path / "q.csv", text)
    header, rows = rows_of(path)
    assert rows[0] == (2, ["Smith, John", 'He said "hi"', "line one\nline two"])
    assert rows[1] == (4, ["Next", "plain", "x"])  # the quoted newline moved it to line 4


def test_utf16_as_excel_writes_it(tmp_path):
    # Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated, CRLF
    path = tmp_path / "u.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "Name\tCity\r\nZoë\tKöln\r\n".encode("utf-16-le"))
    fmt = detect_format(path)
    assert fmt.encoding == "utf-16" and fmt.delimiter == "\t"
    assert rows_of(path) == (["Name", "City"], [(2, ["Zoë", "Köln"])])


def test_utf16_without_bom(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes("Name,City\r\nZoë,Köln\r\n".encode("utf-16-le"))
    assert detect_format(path).encoding == "utf-16-le"
    assert rows_of(path)[1] == [(2, ["Zoë", "Köln"])]


def test_cp1252_fallback_and_semicolons(tmp_path):
    path = write(tmp_path / "w.csv", "Name;Amount\nCafé Müller;1 234,50 €\n", "cp1252")
    fmt = detect_format(path)
    assert (fmt.encoding, fmt.delimiter) == ("cp1252", ";")
    assert rows_of(path)[1] == [(2, ["Café Müller", "1 234,50 €"])]


def test_late_non_utf8_byte_is_still_detected(tmp_path):
    # valid UTF-8 (ASCII) for the first 64 KB, a cp1252 byte near the end: detection scans it all
    body = "".join(f"row{i},x\n" for i in range(12000)) + "Café,y\n"
    path = write(tmp_path / "late.csv", "a,b\n" + body, "cp1252")
    assert detect_format(path).encoding == "cp1252"
    assert rows_of(path)[1][-1][1] == ["Café", "y"]


def test_pipe_and_tab_delimiters(tmp_path):
    assert detect_format(write(tmp_path / "p.csv", "a|b|c\n1|2|3\n")).delimiter == "|"
    assert detect_format(write(tmp_path / "t.csv", "a\tb\n1,5\t2\n")).delimiter == "\t"
    # commas inside quotes do not fool the detection
    assert detect_format(write(tmp_path / "c.csv", 'a;b\n"x,y,z";2\n"p,q";3\n')).delimiter == ";"


# ------------------------------------------------------------------------------------------------
# §3 values as real files have them (both engines)


@pytest.fixture
def crm(admin):
    """Projects "Companies" (referenced) and "Deals" with every importable field type."""
    from crm_tui.domain.actors import add_user

    add_user("alice", display_name="Alice Smith", by=admin)
    add_project(admin, "Companies")
    add_field(admin, "Companies", "Code", "text")
    add_field(admin, "Companies", "Parent", "reference", target="Companies")
    add_project(admin, "Deals")
    for name in ("New", "Won"):
        add_list(admin, "Deals", name)
    for name, type_name, options in [
        ("Zip", "text", {}),
        ("Amount", "currency", {"currency": "USD"}),
        ("Euros", "currency", {"currency": "EUR"}),
        ("Qty", "number", {}),
        ("Share", "percent", {}),
        ("Closed on", "date", {}),
        ("Signed", "checkbox", {}),
        ("Stars", "rating", {}),
        ("Source", "dropdown", {"options": ["Referral", "Website"]}),
        ("Labels", "multi_select", {"options": ["Red", "Green", "Blue"]}),
        ("Mail", "email", {}),
        ("Company", "reference", {"target": "Companies"}),
        ("Company code", "lookup", {"via": "Company", "of": "Code"}),
        ("Double", "formula", {"formula": "{Qty} * 2"}),
    ]:
        add_field(admin, "Deals", name, type_name, **options)
    return admin


def fields_of(actor, project: str) -> dict[str, dict]:
    return {r["title"]: r for r in list_records(actor, project)}


def test_values_as_real_files_have_them(crm, tmp_path):
    import_csv(crm, "Companies", write(tmp_path / "c.csv", "title,Code\nGTX Pro,G1\nAcme Inc.,A1\n"))
    text = (
        "Title,Zip,Amount,Euros,Qty,Share,Closed on,Signed,Stars,Source,Labels,Mail,Company,List,Tags,Assignee\n"
        'One,08123,"$1,234.50","1 234,50 €",(5),12.5%,05/03/2026,yes,★★★★,referral,red; blue,a@x.io, acme inc. ,won,'
        '"Big; Q1",alice\n'
        'Two,00042,(1234.50),10 €,"1,000",0.5,2026-12-31,x,4,WEBSITE,"green,red",,GTX PRO,New,,Alice Smith\n'
        "Three,,,,,,,no,,,,,,,,\n"
    )
    report = import_csv(crm, "Deals", write(tmp_path / "d.csv", text), date_order="DMY")
    assert report.ok, report.issues
    assert (report.created, report.updated) == (3, 0)
    deals = fields_of(crm, "Deals")
    one, two, three = deals["One"], deals["Two"], deals["Three"]
    assert one["fields"]["Zip"] == "08123" and two["fields"]["Zip"] == "00042"  # text stays text
    assert one["fields"]["Amount"] == "1234.50" and two["fields"]["Amount"] == "-1234.50"
    assert one["fields"]["Euros"] == "1234.50" and two["fields"]["Euros"] == "10.00"
    assert one["fields"]["Qty"] == "-5" and two["fields"]["Qty"] == "1000"
    assert one["fields"]["Double"] == "-10"  # formulas computed for imported rows
    assert one["fields"]["Share"] == "12.5"
    assert one["fields"]["Closed on"] == "2026-03-05"  # DMY
    assert (one["fields"]["Signed"], two["fields"]["Signed"], three["fields"]["Signed"]) == (True, True, False)
    assert one["fields"]["Stars"] == 4 and two["fields"]["Stars"] == 4
    assert one["fields"]["Source"] == "Referral" and two["fields"]["Source"] == "Website"
    assert one["fields"]["Labels"] == ["Red", "Blue"] and two["fields"]["Labels"] == ["Green", "Red"]
    assert one["fields"]["Company"]["title"] == "Acme Inc."  # case-insensitive, trimmed
    assert two["fields"]["Company"]["title"] == "GTX Pro"
    assert one["fields"]["Company code"] == "A1"  # lookups computed too
    assert (one["list"], two["list"], three["list"]) == ("Won", "New", "New")
    assert sorted(one["tags"]) == ["Big", "Q1"]
    assert one["assignee"] == "alice" and two["assignee"] == "alice"
    # events: every imported record has its "created" event
    ids = [r["id"] for r in deals.values()]
    assert Event.select().where(Event.record.in_(ids) & (Event.kind == "created")).count() == 3


def test_mdy_and_ambiguous_dates(crm, tmp_path):
    path = write(tmp_path / "d.csv", "title,Closed on\nA,05/03/2026\n")
    assert import_csv(crm, "Deals", path, date_order="MDY").ok
    assert fields_of(crm, "Deals")["A"]["fields"]["Closed on"] == "2026-05-03"
    report = import_csv(crm, "Deals", write(tmp_path / "e.csv", "title,Closed on\nB,05/03/2026\n"))
    assert not report.ok and "ambiguous" in report.issues[0].reason


def test_create_options_adds_missing_dropdown_options(crm, tmp_path):
    path = write(tmp_path / "d.csv", "title,Source,Labels\nA,Trade show,Red;Purple\nB,trade SHOW,purple\n")
    report = import_csv(crm, "Deals", path)
    assert not report.ok
    assert report.issues[0].column == "Source" and "--create-options" in report.issues[0].reason
    report = import_csv(crm, "Deals", path, create_options=True)
    assert report.ok and report.created_options == {"Source": ["Trade show"], "Labels": ["Purple"]}
    deals = fields_of(crm, "Deals")
    assert deals["B"]["fields"]["Source"] == "Trade show" and deals["B"]["fields"]["Labels"] == ["Purple"]
    config = json.loads(Field.get(Field.name == "Source").config)
    assert config["options"] == ["Referral", "Website", "Trade show"]


def test_mapping_pseudo_fields_and_ignored_columns(crm, tmp_path):
    path = write(tmp_path / "d.csv", "Deal name,Stage,Value,Noise,Double\nA,Won,$5,zzz,99\n")
    report = import_csv(crm, "Deals", path, mapping=["Deal name=title", "Stage=list", "Value=Amount"])
    assert report.ok
    assert report.mapping == {"Deal name": "title", "Stage": "list", "Value": "Amount"}
    assert set(report.ignored_columns) == {"Noise", "Double"}  # unknown and computed columns are skipped
    a = fields_of(crm, "Deals")["A"]
    assert a["list"] == "Won" and a["fields"]["Amount"] == "5.00"
    with pytest.raises(NotFoundError, match='did you mean "Amount"'):
        import_csv(crm, "Deals", path, mapping=["Value=Amout"])
    with pytest.raises(ValidationError, match="no such column"):
        import_csv(crm, "Deals", path, mapping=["Nope=title"])
    with pytest.raises(ValidationError, match="title"):
        import_csv(crm, "Deals", write(tmp_path / "n.csv", "Zip\n1\n"))


# ------------------------------------------------------------------------------------------------
# §4 safety


def counts() -> tuple[int, int, int]:
    return Record.select().count(), FieldValue.select().count(), Event.select().count()


def test_one_bad_row_writes_nothing_and_every_bad_cell_is_reported(crm, tmp_path):
    before = counts()
    text = ("title,Amount,Closed on,Stars,List,Assignee\n"
            "Good,$10,2026-01-02,3,New,alice\n"
            "Bad one,ten dollars,2026-02-30,9,Nowhere,bob\n"
            ",5,,,,\n"
            "Good two,7,,,,\n")
    report = import_csv(crm, "Deals", write(tmp_path / "d.csv", text))
    assert not report.ok and not report.written
    assert counts() == before
    got = [(i.line, i.column, i.value) for i in report.issues]
    assert got == [(3, "Amount", "ten dollars"), (3, "Closed on", "2026-02-30"), (3, "Stars", "9"),
                   (3, "List", "Nowhere"), (3, "Assignee", "bob"), (4, "title", "")]
    reasons = {i.column: i.reason for i in report.issues}
    assert "no such date" in reasons["Closed on"] and "expected 1 to 5" in reasons["Stars"]
    assert "lists: New, Won" in reasons["List"]
    assert report.bad_lines == [3, 4] and report.rows == 4


def test_skip_bad_writes_rejects_that_reimport(crm, tmp_path):
    text = "title,Amount,Company\nGood,$10,\nBad,ten,\nAlso bad,5,Nobody Ltd\nGood two,7,\n"
    rejects = tmp_path / "rejects.csv"
    report = import_csv(crm, "Deals", write(tmp_path / "d.csv", text), skip_bad=True, rejects=rejects)
    assert report.written and (report.created, report.rejected) == (2, 2)
    assert sorted(fields_of(crm, "Deals")) == ["Good", "Good two"]
    with rejects.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["title"] for r in rows] == ["Bad", "Also bad"]
    assert "Amount" in rows[0]["reason"] and "Nobody Ltd" in rows[1]["reason"]
    # the user fixes the file and imports it again: the reason column is ignored
    rows[0]["Amount"], rows[1]["Company"] = "10", ""
    with rejects.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = import_csv(crm, "Deals", rejects)
    assert report.ok and report.created == 2 and "reason" in report.ignored_columns
    assert len(fields_of(crm, "Deals")) == 4


def test_dry_run_writes_nothing(crm, tmp_path):
    before = counts()
    report = import_csv(crm, "Deals", write(tmp_path / "d.csv", "title,Amount\nA,1\nB,2\n"), dry_run=True)
    assert report.ok and report.created == 2 and not report.written
    assert counts() == before


def test_interrupted_import_leaves_the_database_as_it_was(crm, tmp_path, monkeypatch):
    import crm_tui.domain.csv_import as mod
    from crm_tui.domain.import_writer import ChunkWriter

    before = counts()
    monkeypatch.setattr(mod, "WRITE_CHUNK", 10)
    real = ChunkWriter.create
    calls = []

    def flaky(self, rows, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            assert counts()[0] == before[0] + 20  # two chunks are in the (open) transaction
            raise KeyboardInterrupt  # Ctrl-C mid-way
        return real(self, rows, **kwargs)

    monkeypatch.setattr(ChunkWriter, "create", flaky)
    text = "title,Amount\n" + "".join(f"R{i},{i}\n" for i in range(50))
    with pytest.raises(KeyboardInterrupt):
        import_csv(crm, "Deals", write(tmp_path / "d.csv", text))
    assert len(calls) == 3 and counts() == before


def test_key_upserts_instead_of_duplicating(crm, tmp_path):
    first = write(tmp_path / "a.csv", "title,Mail,Amount,Stars\nA,a@x.io,10,3\nB,b@x.io,20,\n")
    assert import_csv(crm, "Deals", first, key="Mail").created == 2
    again = write(tmp_path / "b.csv", "title,Mail,Amount,Stars\nA renamed,a@X.IO,11,3\nB,b@x.io,20,\nC,c@x.io,5,\n")
    report = import_csv(crm, "Deals", again, key="Mail")
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 1, 1)
    deals = fields_of(crm, "Deals")
    assert sorted(deals) == ["A renamed", "B", "C"]
    assert deals["A renamed"]["fields"]["Amount"] == "11.00" and deals["A renamed"]["version"] == 2
    kinds = [e.kind for e in Event.select().where(Event.record == deals["A renamed"]["id"]).order_by(Event.id)]
    assert kinds == ["created", "updated", "updated"]  # title and Amount
    dup = write(tmp_path / "c.csv", "title,Mail\nX,d@x.io\nY,D@x.io\n")
    report = import_csv(crm, "Deals", dup, key="Mail")
    assert [(i.line, i.reason) for i in report.issues] == [(3, "the same key as line 2; each key may appear once")]


def test_references_within_the_same_file_parent_listed_further_down(crm, tmp_path):
    text = ("title,Code,Parent\n"
            "Child Co,C1,Parent Co\n"
            "Grandchild,C2,child co\n"
            "Parent Co,P1,\n")
    report = import_csv(crm, "Companies", write(tmp_path / "c.csv", text))
    assert report.ok, report.issues
    companies = fields_of(crm, "Companies")
    assert companies["Child Co"]["fields"]["Parent"]["title"] == "Parent Co"
    assert companies["Grandchild"]["fields"]["Parent"]["title"] == "Child Co"
    # by key: a reference may name the key of a row (existing or in the file)
    text = "title,Code,Parent\nNew Sub,N1,P1\nOther,O1,N1\n"
    report = import_csv(crm, "Companies", write(tmp_path / "k.csv", text), key="Code")
    assert report.ok, report.issues
    companies = fields_of(crm, "Companies")
    assert companies["New Sub"]["fields"]["Parent"]["title"] == "Parent Co"
    assert companies["Other"]["fields"]["Parent"]["title"] == "New Sub"


def test_reference_to_a_rejected_row_is_rejected_too(crm, tmp_path):
    text = "title,Code,Parent\nChild,C1,Parent\nParent,P1,Nowhere Inc\nLoner,L1,\n"
    report = import_csv(crm, "Companies", write(tmp_path / "c.csv", text), skip_bad=True,
                        rejects=tmp_path / "r.csv")
    assert report.created == 1 and report.rejected == 2
    reasons = {i.line: i.reason for i in report.issues}
    assert "line 3, which is rejected" in reasons[2]


# ------------------------------------------------------------------------------------------------
# §7 the real Maven CRM data set


def maven_rows(name: str) -> list[dict]:
    with (MAVEN / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def maven(admin):
    if not MAVEN.is_dir():
        pytest.skip(f"the Maven CRM data set is not at {MAVEN}")
    add_project(admin, "Accounts")
    add_field(admin, "Accounts", "sector", "dropdown", options=["Technology", "Medical"])
    add_field(admin, "Accounts", "year_established", "number")
    add_field(admin, "Accounts", "revenue", "currency", currency="USD")
    add_field(admin, "Accounts", "employees", "number")
    add_field(admin, "Accounts", "office_location", "text")
    add_field(admin, "Accounts", "subsidiary_of", "reference", target="Accounts")
    add_project(admin, "Products")
    add_field(admin, "Products", "series", "text")
    add_field(admin, "Products", "sales_price", "currency", currency="USD")
    add_project(admin, "Pipeline")
    for stage in ("Prospecting", "Engaging", "Won", "Lost"):
        add_list(admin, "Pipeline", stage)
    add_field(admin, "Pipeline", "agent", "text")
    add_field(admin, "Pipeline", "product", "reference", target="Products")
    add_field(admin, "Pipeline", "account", "reference", target="Accounts")
    add_field(admin, "Pipeline", "engage_date", "date")
    add_field(admin, "Pipeline", "close_date", "date")
    add_field(admin, "Pipeline", "close_value", "currency", currency="USD")
    add_field(admin, "Pipeline", "account sector", "lookup", via="account", of="sector")
    return admin


PIPELINE_MAP = ["opportunity_id=title", "sales_agent=agent", "deal_stage=list"]


def import_maven_base(actor):
    accounts = import_csv(actor, "Accounts", MAVEN / "accounts.csv", mapping=["account=title"],
                          create_options=True)
    assert accounts.ok, accounts.issues[:5]
    products = import_csv(actor, "Products", MAVEN / "products.csv", mapping=["product=title"])
    assert products.ok
    return accounts, products


def test_maven_accounts_reference_each_other(maven):
    source = maven_rows("accounts.csv")
    accounts, _ = import_maven_base(maven)
    assert accounts.created == len(source) == 85
    assert sorted(accounts.created_options["sector"]) == sorted(
        {r["sector"] for r in source} - {"technology", "medical"})
    got = {r["title"]: r["fields"] for r in list_records(maven, "Accounts")}
    expected_parents = {r["account"]: r["subsidiary_of"] for r in source if r["subsidiary_of"]}
    assert {t: f["subsidiary_of"]["title"] for t, f in got.items() if f["subsidiary_of"]} == expected_parents
    acme = next(r for r in source if r["account"] == "Acme Corporation")
    assert got["Acme Corporation"]["revenue"] == f"{Decimal(acme['revenue']):.2f}"
    assert got["Acme Corporation"]["sector"] == "technolgy"  # the data's own spelling, as a new option


def test_maven_pipeline_strict_import_refuses_and_names_gtxpro(maven, tmp_path):
    import_maven_base(maven)
    source = maven_rows("sales_pipeline.csv")
    expected_bad = [i + 2 for i, r in enumerate(source) if r["product"] == "GTXPro"]  # line = index + header
    assert expected_bad  # the data set's known quirk
    before = counts()
    report = import_csv(maven, "Pipeline", MAVEN / "sales_pipeline.csv", mapping=PIPELINE_MAP)
    assert not report.written and counts() == before
    assert report.rows == len(source) == 8800
    assert report.bad_lines == expected_bad
    issue = report.issues[0]
    assert (issue.column, issue.value) == ("product", "GTXPro")
    assert 'did you mean "GTX Pro"' in issue.reason
    # the CLI says the same, on stderr, exit code 2, still nothing written
    code = main(["import", "Pipeline", str(MAVEN / "sales_pipeline.csv"), "--user", "admin",
                 *[x for m in PIPELINE_MAP for x in ("--map", m)]])
    assert code == 2 and counts() == before


def test_maven_pipeline_skip_bad_imports_the_rest(maven, tmp_path, capsys):
    import_maven_base(maven)
    source = maven_rows("sales_pipeline.csv")
    expected_bad = sum(1 for r in source if r["product"] == "GTXPro")
    rejects = tmp_path / "rejects.csv"
    code = main(["import", "Pipeline", str(MAVEN / "sales_pipeline.csv"), "--user", "admin", "--skip-bad",
                 "--rejects", str(rejects), "--json", *[x for m in PIPELINE_MAP for x in ("--map", m)]])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rejected"] == expected_bad and report["created"] == len(source) - expected_bad
    with rejects.open(newline="", encoding="utf-8") as fh:
        rejected = list(csv.DictReader(fh))
    assert len(rejected) == expected_bad
    assert {r["product"] for r in rejected} == {"GTXPro"} and all("GTX Pro" in r["reason"] for r in rejected)
    records = {r["title"]: r for r in list_records(maven, "Pipeline")}
    assert len(records) == len(source) - expected_bad
    good = [r for r in source if r["product"] != "GTXPro"]
    # independent checks against the csv module
    assert sum(1 for r in good if r["account"] == "") == sum(
        1 for r in records.values() if r["fields"]["account"] is None)
    for stage in ("Prospecting", "Engaging", "Won", "Lost"):
        assert sum(1 for r in good if r["deal_stage"] == stage) == sum(
            1 for r in records.values() if r["list"] == stage)
    won_total = sum(Decimal(r["close_value"]) for r in good if r["deal_stage"] == "Won")
    assert sum(Decimal(r["fields"]["close_value"]) for r in records.values() if r["list"] == "Won") == won_total
    assert sum(1 for r in good if not r["engage_date"]) == sum(
        1 for r in records.values() if r["fields"]["engage_date"] is None)
    sample = good[0]
    got = records[sample["opportunity_id"]]["fields"]
    assert got["product"]["title"] == sample["product"] and got["account"]["title"] == sample["account"]
    assert got["engage_date"] == sample["engage_date"] and got["agent"] == sample["sales_agent"]
    accounts = {r["account"]: r["sector"] for r in maven_rows("accounts.csv")}
    assert got["account sector"] == accounts[sample["account"]]  # lookup through the imported reference
    # re-running with the key updates nothing and creates no duplicates
    report = import_csv(maven, "Pipeline", MAVEN / "sales_pipeline.csv",
                        mapping=["opportunity_id=title", "sales_agent=agent", "deal_stage=list"],
                        key="title", skip_bad=True, rejects=tmp_path / "again.csv")
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(source) - expected_bad)


def test_cli_import_reports_and_exit_codes(crm, tmp_path, capsys):
    path = write(tmp_path / "d.csv", "title,Amount\nA,$1\nB,lots\n")
    assert main(["import", "Deals", str(path), "--user", "admin"]) == 2
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 3: Amount: 'lots'" in err
    assert main(["import", "Deals", str(path), "--user", "admin", "--dry-run", "--skip-bad"]) == 0
    assert "would import 1 of 2 rows" in capsys.readouterr().out
    assert Record.select().count() == 0
    assert main(["import", "Deals", str(path), "--user", "admin", "--rejects", "x.csv"]) == 2
    assert "only with --skip-bad" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# Streaming: rows are written a chunk at a time inside the one transaction


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 3 rows, and the sizes of the chunks written (a spy on the writer)."""
    import crm_tui.domain.csv_import as mod
    from crm_tui.domain.import_writer import ChunkWriter

    monkeypatch.setattr(mod, "WRITE_CHUNK", 3)
    real = ChunkWriter.create
    written: list[int] = []

    def spy(self, rows, **kwargs):
        ids = real(self, rows, **kwargs)
        if ids and ids[0] > 0:
            written.append(len(ids))
        return ids

    monkeypatch.setattr(ChunkWriter, "create", spy)
    return written


def test_same_file_reference_to_a_row_several_chunks_later_resolves(crm, tmp_path, small_chunks):
    lines = ["title,Code,Parent", "Child 0,C0,Holding", "Child 1,C1,holding ", "Grandchild,G1,child 0"]
    lines += [f"Filler {i},F{i}," for i in range(8)]
    lines += ["Holding,H1,"]  # line 13: four chunks after its first mention
    report = import_csv(crm, "Companies", write(tmp_path / "c.csv", "\n".join(lines) + "\n"))
    assert report.ok, report.issues
    assert report.created == 12 and small_chunks == [3, 3, 3, 3]  # written as it was read
    companies = fields_of(crm, "Companies")
    assert companies["Child 0"]["fields"]["Parent"]["title"] == "Holding"
    assert companies["Child 1"]["fields"]["Parent"]["title"] == "Holding"
    assert companies["Grandchild"]["fields"]["Parent"]["title"] == "Child 0"
    assert companies["Filler 3"]["fields"]["Parent"] is None
    assert report.record_ids == [companies[line.split(",")[0]]["id"] for line in lines[1:]]  # file order


def test_strict_import_with_a_bad_row_in_the_last_chunk_writes_nothing(crm, tmp_path, small_chunks):
    before = counts()
    text = "title,Amount\n" + "".join(f"R{i},{i}\n" for i in range(10)) + "Last,ten\n"
    report = import_csv(crm, "Deals", write(tmp_path / "d.csv", text))
    assert small_chunks == [3, 3, 3]  # three chunks went into the transaction before the bad row...
    assert not report.ok and not report.written and counts() == before  # ...and were rolled back
    assert [(i.line, i.column, i.value) for i in report.issues] == [(12, "Amount", "ten")]
    assert (report.rows, report.created, report.rejected, report.record_ids) == (11, 10, 1, [])


def test_strict_import_refused_by_a_reference_known_bad_only_at_the_end(crm, tmp_path, small_chunks):
    before = counts()
    text = "title,Parent\nA,Nowhere Ltd\n" + "".join(f"R{i},A\n" for i in range(7))
    report = import_csv(crm, "Companies", write(tmp_path / "c.csv", text))
    assert not report.written and counts() == before
    assert report.issues[0].line == 2 and 'no record with this title in' in report.issues[0].reason
    assert [i.reason for i in report.issues[1:]] == ["refers to the row on line 2, which is rejected"] * 7
    assert report.rejected == 8 and report.bad_lines == list(range(2, 10))


def test_skip_bad_removes_written_rows_whose_reference_fails_later(crm, tmp_path, small_chunks):
    text = ("title,Code,Parent\n"
            "Early,E1,Late\n"        # written in the first chunk, refers to a row further down...
            "Fine,F1,\n"
            "Fine 2,F2,early\n"      # ...and is referred to itself
            "Fine 3,F3,\n"
            "Late,L1,Nowhere Ltd\n"  # ...which turns out bad at the end of the file
            "Fine 4,F4,fine\n")
    rejects = tmp_path / "rejects.csv"
    report = import_csv(crm, "Companies", write(tmp_path / "c.csv", text), skip_bad=True, rejects=rejects)
    assert report.written and (report.created, report.rejected) == (3, 3)
    companies = fields_of(crm, "Companies")
    assert sorted(companies) == ["Fine", "Fine 3", "Fine 4"]
    assert companies["Fine 4"]["fields"]["Parent"]["title"] == "Fine"
    assert sorted(report.record_ids) == sorted(r["id"] for r in companies.values())
    assert Record.select().count() == 3 and Event.select().count() == 3  # nothing left of the removed
    reasons = {i.line: i.reason for i in report.issues}
    assert reasons[2] == "refers to the row on line 6, which is rejected"
    assert reasons[4] == "refers to the row on line 2, which is rejected"
    assert "no record with this title" in reasons[6]
    with rejects.open(newline="", encoding="utf-8") as fh:
        assert [r["title"] for r in csv.DictReader(fh)] == ["Early", "Fine 2", "Late"]


def test_upsert_across_chunks_with_an_update_referring_to_a_new_row_further_down(crm, tmp_path, small_chunks):
    first = "title,Code,Parent\n" + "".join(f"Co {i},K{i},\n" for i in range(5))
    assert import_csv(crm, "Companies", write(tmp_path / "a.csv", first), key="Code").created == 5
    again = ("title,Code,Parent\n"
             "Co 0,K0,New parent\n"  # an update whose reference is written at the end
             "Co 1,K1,\nCo 2 renamed,K2,\nCo 3,K3,k0\nCo 4,K4,\n"
             "New parent,K9,\n")
    report = import_csv(crm, "Companies", write(tmp_path / "b.csv", again), key="Code")
    assert report.ok, report.issues
    assert (report.created, report.updated, report.unchanged) == (1, 3, 2)
    companies = fields_of(crm, "Companies")
    assert companies["Co 0"]["fields"]["Parent"]["title"] == "New parent"
    assert companies["Co 3"]["fields"]["Parent"]["title"] == "Co 0"
    assert "Co 2 renamed" in companies and len(companies) == 6


def test_update_applied_early_is_rolled_back_when_its_reference_turns_ambiguous(crm, tmp_path, small_chunks,
                                                                                  monkeypatch):
    import crm_tui.domain.csv_import as mod

    first = "title,Code,Parent\n" + "".join(f"Co {i},K{i},\n" for i in range(4))
    assert import_csv(crm, "Companies", write(tmp_path / "a.csv", first), key="Code").created == 4
    before = counts()
    small_chunks.clear()
    applied = []
    real = mod._apply_updates
    monkeypatch.setattr(mod, "_apply_updates", lambda actor, schema, rows, columns: (
        applied.append([r.title for r in rows]), real(actor, schema, rows, columns))[1])
    again = ("title,Code,Parent\n"
             "Co 0,K0,co 1\n"  # resolves to the existing "Co 1" when its chunk is written...
             "Co 2,K2,\nCo 3,K3,\nX,X1,\n"
             "Co 1,K7,\n")     # ...but a new row of the same title turns up: which one is meant?
    report = import_csv(crm, "Companies", write(tmp_path / "b.csv", again), key="Code")
    assert applied == [["Co 0", "Co 2", "Co 3"]] and small_chunks == [2]  # written, then refused
    assert not report.written and counts() == before
    assert [(i.line, i.reason) for i in report.issues] == [(2, "2 records have this title; give the id instead "
                                                                "(e.g. #12)")]
    assert fields_of(crm, "Companies")["Co 0"]["fields"]["Parent"] is None


def test_dry_run_report_is_the_real_report_and_writes_nothing(crm, tmp_path, small_chunks):
    text = ("title,Code,Parent\nA,A1,C\nB,B1,zzz\nC,C1,\nD,D1,b\n"
            + "".join(f"R{i},R{i},a\n" for i in range(6)))
    path = write(tmp_path / "c.csv", text)
    before = counts()
    dry = import_csv(crm, "Companies", path, dry_run=True, skip_bad=True)
    assert counts() == before and small_chunks == []
    real = import_csv(crm, "Companies", path, skip_bad=True, rejects=tmp_path / "r.csv")
    strip = ("written", "dry_run", "rejects_file")
    assert {k: v for k, v in dry.to_json().items() if k not in strip} == \
           {k: v for k, v in real.to_json().items() if k not in strip}
    assert (real.created, real.rejected) == (8, 2)


def test_formulas_computed_from_parsed_rows_match_a_recompute(crm, tmp_path):
    from crm_tui.db.connection import run_write
    from crm_tui.domain.computed import recompute_all

    import_csv(crm, "Companies", write(tmp_path / "c.csv", "title,Code\nAcme,A1\n"))
    text = "title,Qty,Company\n" + "".join(f"D{i},{i * 1.5 - 7},{'Acme' if i % 2 else ''}\n" for i in range(30))
    text += "Blank,,\n"
    assert import_csv(crm, "Deals", write(tmp_path / "d.csv", text)).ok
    stored = {r["title"]: (r["fields"]["Double"], r["fields"]["Company code"]) for r in list_records(crm, "Deals")}
    run_write(recompute_all)
    again = {r["title"]: (r["fields"]["Double"], r["fields"]["Company code"]) for r in list_records(crm, "Deals")}
    assert stored == again and stored["D3"] == ("-5", "A1") and stored["Blank"] == ("0", None)


def test_text_that_bulk_loading_must_escape_reads_back_exactly(crm, tmp_path):
    # a hundred rows and more go in with COPY on PostgreSQL: tabs, backslashes, newlines and "\\N"
    tricky = ["a\tb", "back\\slash", "line one\nline two", "\\N", "\\.", "ends with \\", "émoji 😀", 'say "hi"']
    rows = [[f"T{i:03d}", tricky[i % len(tricky)]] for i in range(160)]
    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["title", "Zip"], *rows])
    report = import_csv(crm, "Deals", path)
    assert report.ok and report.created == 160, report.issues[:3]
    got = {r["title"]: r["fields"]["Zip"] for r in list_records(crm, "Deals")}
    assert got == {title: text for title, text in rows}


# ------------------------------------------------------------------------------------------------
# File (attachment) columns


@pytest.fixture
def files_crm(crm, tmp_path):
    add_field(crm, "Deals", "Contract", "file")
    add_field(crm, "Deals", "Docs", "file", multiple=True)
    folder = tmp_path / "export"
    (folder / "docs").mkdir(parents=True)
    (folder / "contract.pdf").write_bytes(b"%PDF contract")
    (folder / "docs" / "a.txt").write_text("note a")
    (tmp_path / "elsewhere.txt").write_text("absolute")
    return crm


def attachments_of(actor, title: str, field: str):
    from crm_tui.domain.values import attachment_bytes

    value = fields_of(actor, "Deals")[title]["fields"][field]
    items = value if isinstance(value, list) else [value] if value else []
    return [attachment_bytes(v["id"]) for v in items]


def test_file_columns_import_paths_relative_to_the_csv_folder(files_crm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the CSV's folder: relative paths must not depend on it
    absolute = tmp_path / "export" / "elsewhere.txt"  # an absolute path inside the CSV's folder
    absolute.write_text("absolute")
    text = ("title,Contract,Docs\n"
            f"One,contract.pdf,docs/a.txt; {absolute}\n"
            "Two,,\n")
    report = import_csv(files_crm, "Deals", write(tmp_path / "export" / "d.csv", text))
    assert report.ok, report.issues
    assert report.mapping == {"title": "title", "Contract": "Contract", "Docs": "Docs"}
    assert attachments_of(files_crm, "One", "Contract") == [("contract.pdf", b"%PDF contract")]
    assert attachments_of(files_crm, "One", "Docs") == [("a.txt", b"note a"), ("elsewhere.txt", b"absolute")]
    assert attachments_of(files_crm, "Two", "Docs") == []


def test_missing_or_too_big_files_are_bad_cells_naming_the_path(files_crm, tmp_path, monkeypatch):
    import crm_tui.domain.values as values
    from crm_tui.db.models import Attachment

    monkeypatch.setattr(values, "MAX_ATTACHMENT_BYTES", 10)
    folder = tmp_path / "export"
    before = counts()
    text = ("title,Contract,Docs\n"
            "Good,,docs/a.txt\n"
            "Missing,nope.pdf,\n"
            "Big,contract.pdf,docs\n"
            "Two,,docs/a.txt;contract.pdf\n")
    report = import_csv(files_crm, "Deals", write(folder / "d.csv", text))
    assert not report.written and counts() == before and Attachment.select().count() == 0
    got = [(i.line, i.column, i.value, i.reason) for i in report.issues]
    assert got == [
        (3, "Contract", "nope.pdf", f"no such file: {folder / 'nope.pdf'} (a relative path is read from the CSV "
                                    "file's folder)"),
        (4, "Contract", "contract.pdf", f"{folder / 'contract.pdf'} is larger than 0 MB, the attachment size limit"),
        (4, "Docs", "docs", f"{folder / 'docs'} is a folder, not a file"),
        (5, "Docs", "docs/a.txt;contract.pdf", f"{folder / 'contract.pdf'} is larger than 0 MB, the attachment "
                                               "size limit"),
    ]
    two_in_one = write(folder / "e.csv", "title,Contract\nX,docs/a.txt; contract.pdf\n")
    assert import_csv(files_crm, "Deals", two_in_one).issues[0].reason == "takes a single file"


def test_file_columns_round_trip_through_an_export(files_crm, tmp_path):
    from crm_tui.domain.csv_export import export_records

    folder = tmp_path / "export"
    text = "title,Contract,Docs\nOne,contract.pdf,docs/a.txt\n"
    assert import_csv(files_crm, "Deals", write(folder / "d.csv", text)).ok
    out = folder / "out.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        export_records(files_crm, "Deals", fh)
    with out.open(newline="", encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    assert (row["Contract"], row["Docs"]) == ("contract.pdf", "a.txt")  # file names
    # onto itself by id: the names are the record's own attachments, nothing changes
    report = import_csv(files_crm, "Deals", out, key="id")
    assert report.ok and (report.updated, report.unchanged) == (0, 1), report.issues
    # a changed file beside the export replaces the attachment; the same bytes do not
    (folder / "contract.pdf").write_bytes(b"%PDF contract v2")
    report = import_csv(files_crm, "Deals", out, key="id")
    assert report.ok and report.updated == 1
    assert attachments_of(files_crm, "One", "Contract") == [("contract.pdf", b"%PDF contract v2")]
    assert import_csv(files_crm, "Deals", out, key="id").unchanged == 1
    # into another project, with the files beside the CSV
    (folder / "a.txt").write_text("note a")
    add_project(files_crm, "Copy")
    add_field(files_crm, "Copy", "Contract", "file")
    add_field(files_crm, "Copy", "Docs", "file", multiple=True)
    report = import_csv(files_crm, "Copy", out, mapping=["list="])
    assert report.ok and report.created == 1, report.issues
    copy = list_records(files_crm, "Copy")[0]["fields"]
    assert copy["Contract"]["name"] == "contract.pdf" and [d["name"] for d in copy["Docs"]] == ["a.txt"]



# File cells are confined to the CSV's folder (or --files-from): a CSV from someone else must not copy
# the importing user's private files into the shared database.


def outside(path: Path, folder: Path) -> str:
    return (f'"{path.resolve()}" is outside the CSV\'s folder {folder.resolve()} '
            "(use --files-from DIR to import files from elsewhere)")


def test_file_outside_the_csv_folder_is_refused_and_nothing_is_written(files_crm, tmp_path, monkeypatch):
    from crm_tui.db.models import Attachment

    monkeypatch.setenv("HOME", str(tmp_path))  # ~/elsewhere.txt is a file of the importing user
    folder = tmp_path / "export"
    secret = tmp_path / "elsewhere.txt"
    before = counts()
    text = ("title,Contract,Docs\n"
            "Good,contract.pdf,docs/a.txt\n"
            f"Abs,{secret},\n"
            "Home,,docs/a.txt;~/elsewhere.txt\n"
            f"Missing,{tmp_path / 'nope.txt'},\n")  # outside: refused the same, existing or not
    report = import_csv(files_crm, "Deals", write(folder / "d.csv", text))
    assert not report.ok and not report.written
    assert counts() == before and Attachment.select().count() == 0
    got = [(i.line, i.column, i.reason) for i in report.issues]
    assert got == [(3, "Contract", outside(secret, folder)),
                   (4, "Docs", outside(secret, folder)),
                   (5, "Contract", outside(tmp_path / "nope.txt", folder))]
    assert str(secret) in report.issues[0].reason and "--files-from" in report.issues[0].reason
    # a dry run and --skip-bad refuse it too
    assert [i.reason for i in import_csv(files_crm, "Deals", folder / "d.csv", dry_run=True).issues] == \
        [r for _, _, r in got]
    report = import_csv(files_crm, "Deals", folder / "d.csv", skip_bad=True, rejects=tmp_path / "r.csv")
    assert report.created == 1 and Attachment.select().count() == 2
    assert sorted(fields_of(files_crm, "Deals")) == ["Good"]


def test_dot_dot_escape_is_refused(files_crm, tmp_path):
    folder = tmp_path / "export"
    text = ("title,Contract,Docs\n"
            "Up,../elsewhere.txt,\n"
            "Deep,,docs/../../elsewhere.txt\n"
            "Inside,docs/../contract.pdf,docs/./a.txt\n")  # .. that stays inside is fine
    report = import_csv(files_crm, "Deals", write(folder / "d.csv", text))
    assert not report.written and Record.select().count() == 0
    assert [(i.line, i.reason) for i in report.issues] == [(2, outside(tmp_path / "elsewhere.txt", folder)),
                                                           (3, outside(tmp_path / "elsewhere.txt", folder))]
    report = import_csv(files_crm, "Deals", write(folder / "e.csv", "title,Contract,Docs\n" + text.splitlines()[3]))
    assert report.ok, report.issues
    assert attachments_of(files_crm, "Inside", "Contract") == [("contract.pdf", b"%PDF contract")]


def test_symlink_inside_the_folder_leading_outside_is_refused(files_crm, tmp_path):
    folder = tmp_path / "export"
    secret = tmp_path / "elsewhere.txt"
    (folder / "link.txt").symlink_to(secret)
    (folder / "outdir").symlink_to(tmp_path, target_is_directory=True)
    (folder / "inner.txt").symlink_to(folder / "docs" / "a.txt")  # a link that stays inside is fine
    text = ("title,Contract,Docs\n"
            "Link,link.txt,\n"
            "Dir,,outdir/elsewhere.txt\n"
            "Inner,inner.txt,\n")
    report = import_csv(files_crm, "Deals", write(folder / "d.csv", text))
    assert not report.written and Record.select().count() == 0
    hint = f"which is outside the CSV's folder {folder.resolve()} (use --files-from DIR to import files from elsewhere)"
    assert [(i.line, i.reason) for i in report.issues] == [
        (2, f'"{folder / "link.txt"}" leads to "{secret.resolve()}", {hint}'),
        (3, f'"{folder / "outdir" / "elsewhere.txt"}" leads to "{secret.resolve()}", {hint}'),
    ]
    report = import_csv(files_crm, "Deals", write(folder / "e.csv", "title,Contract\nInner,inner.txt\n"))
    assert report.ok, report.issues
    assert [data for _, data in attachments_of(files_crm, "Inner", "Contract")] == [b"note a"]


def test_files_from_allows_a_file_elsewhere(files_crm, tmp_path, capsys):
    folder = tmp_path / "export"
    secret = tmp_path / "elsewhere.txt"
    path = write(folder / "d.csv", f"title,Contract,Docs\nOne,{secret},docs/a.txt\n")
    assert main(["import", "Deals", str(path), "--user", "admin", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert [i["reason"] for i in out["issues"]] == [outside(secret, folder)]
    # --files-from the parent folder: the file is allowed, relative paths are read from there
    path = write(folder / "d.csv", f"title,Contract,Docs\nOne,{secret},export/docs/a.txt\n")
    assert main(["import", "Deals", str(path), "--user", "admin", "--files-from", str(tmp_path)]) == 0
    assert "imported 1 of 1 rows" in capsys.readouterr().out
    assert attachments_of(files_crm, "One", "Contract") == [("elsewhere.txt", b"absolute")]
    assert attachments_of(files_crm, "One", "Docs") == [("a.txt", b"note a")]
    # a folder that does not exist is an error, before anything is read
    assert main(["import", "Deals", str(path), "--user", "admin", "--files-from", str(tmp_path / "no")]) == 2
    assert "--files-from" in capsys.readouterr().err


def test_relative_paths_are_read_from_files_from_and_confined_to_it(files_crm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "export"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "beside.txt").write_text("beside the CSV")
    text = "title,Contract,Docs\nOne,contract.pdf,docs/a.txt\n"
    csv_path = write(tmp_path / "in" / "d.csv", text)
    report = import_csv(files_crm, "Deals", csv_path, files_from="export")  # relative to the working folder
    assert report.ok, report.issues
    assert attachments_of(files_crm, "One", "Contract") == [("contract.pdf", b"%PDF contract")]
    assert attachments_of(files_crm, "One", "Docs") == [("a.txt", b"note a")]
    # with --files-from, the CSV's own folder is no longer allowed (nor the relative base)
    beside = tmp_path / "in" / "beside.txt"
    report = import_csv(files_crm, "Deals", write(tmp_path / "in" / "e.csv",
                                                  f"title,Contract,Docs\nTwo,{beside},beside.txt\n"),
                        files_from=folder)
    assert [i.reason for i in report.issues] == [
        f'"{beside.resolve()}" is outside the --files-from folder {folder.resolve()} '
        "(give --files-from a folder that holds it)",
        f"no such file: {folder / 'beside.txt'} (a relative path is read from the --files-from folder)",
    ]
    with pytest.raises(ValidationError, match="--files-from"):
        import_csv(files_crm, "Deals", csv_path, files_from=csv_path)  # not a folder


def test_csv_from_standard_input_reads_files_only_with_files_from(files_crm, tmp_path, monkeypatch):
    import io
    import sys

    monkeypatch.chdir(tmp_path / "export")
    text = "title,Contract\nOne,contract.pdf\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    report = import_csv(files_crm, "Deals", "-")
    assert not report.written and [i.reason for i in report.issues] == [
        'cannot read "contract.pdf": the CSV comes from standard input, which has no folder '
        "(use --files-from DIR to say where its files are)"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    report = import_csv(files_crm, "Deals", "-", files_from=".")
    assert report.ok, report.issues
    assert attachments_of(files_crm, "One", "Contract") == [("contract.pdf", b"%PDF contract")]

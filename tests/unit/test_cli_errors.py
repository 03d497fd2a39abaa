"""CLI contract (issue "Foundation" §5), errors and global options. On SQLite and PostgreSQL.

Bad input never half-writes: each invalid value is refused with one stderr line naming the field and the
value, a non-zero exit code, and nothing written (records, fields and history unchanged). Unknown users,
records, lists and projects are refused the same way. ``--db``/``--user`` work before or after the
sub-command; ``CRM_TUI_DB``/``CRM_TUI_USER`` are honoured; a bad database URL is a clean error.
"""

from __future__ import annotations

import pytest

from tests.unit.cli_helpers import Cli, cli, crm, sqlite_cli  # noqa: F401 - fixtures

# project, field, bad value, words the message must contain
INVALID_VALUES = [
    ("Clients", "Email", "not-an-email", ["Email", "not-an-email"]),
    ("Clients", "Email", "bad@", ["Email", "bad@"]),
    ("Opportunities", "Amount", "12abc", ["Amount", "12abc"]),
    ("Opportunities", "Confidence", "9", ["Confidence", "9"]),
    ("Opportunities", "Deal source", "Carrier pigeon", ["Deal source", "Carrier pigeon"]),
    ("Opportunities", "Client", "No Such Client", ["Client", "No Such Client"]),
    ("Opportunities", "Client", "999", ["Client", "999"]),
    ("Opportunities", "Expected close date", "2023-02-30", ["Expected close date", "2023-02-30"]),
    ("Opportunities", "Expected close date", "someday", ["Expected close date", "someday"]),
    ("Opportunities", "Proposal URL", "not a url", ["Proposal URL", "not a url"]),
    ("Opportunities", "Contract", "/no/such/file.pdf", ["Contract", "/no/such/file.pdf"]),
    ("Clients", "Website", "http://", ["Website", "http://"]),
]


def test_invalid_values_are_refused_and_nothing_is_written(crm):
    client = crm.add("Clients", "Acme", Email="a@acme.test")
    opp = crm.add("Opportunities", "Deal", Amount="100", Client="Acme")
    targets = {"Clients": client, "Opportunities": opp}
    before = crm.snapshot()
    for project, field, value, names in INVALID_VALUES:
        # on create: alone, and next to valid values (no half-write)
        r = crm("record", "add", project, "Should not exist", "--set", f"{field}={value}")
        r.assert_clean_error(2, *names)
        r = crm("record", "add", project, "Should not exist", "--tag", "Brand new tag", "--set", "Amount=5",
                "--set", f"{field}={value}") if project == "Opportunities" else \
            crm("record", "add", project, "Should not exist", "--set", "Phone=+1 555 0100",
                "--set", f"{field}={value}")
        r.assert_clean_error(2, *names)
        # on update, with a valid change of another field in the same command
        other = "Amount=777" if project == "Opportunities" else "Phone=+44 20 7946 0000"
        r = crm("record", "set", str(targets[project]), other, f"{field}={value}", "--title", "Changed")
        r.assert_clean_error(2, *names)
    assert crm.snapshot() == before
    # not even the new tag was created
    crm("records", "Opportunities", "--tag", "Brand new tag").assert_clean_error(3, "Brand new tag")


def test_unknown_names_are_refused_and_nothing_is_written(crm):
    rid = crm.add("Opportunities", "Deal")
    before = crm.snapshot()
    cases = [
        (["record", "add", "Nowhere", "X"], 3, ["Nowhere"]),
        (["record", "add", "Opportunities", "X", "--list", "Limbo"], 3, ["Limbo"]),
        (["record", "add", "Opportunities", "X", "--set", "Colour=red"], 3, ["Colour"]),
        (["record", "add", "Opportunities", "X", "--set", "Amount"], 2, ["Amount", "FIELD=VALUE"]),
        (["record", "add", "Opportunities", "X", "--set", "title=Y"], 2, ["title", "Y"]),
        (["record", "add", "Opportunities", "  "], 2, ["title"]),
        (["record", "add", "Opportunities", "X", "--assignee", "ghost"], None, ["ghost"]),
        (["record", "set", "999", "Amount=1"], 3, ["999"]),
        (["record", "set", "abc", "Amount=1"], 2, ["abc"]),
        (["record", "set", str(rid), "Colour=red"], 3, ["Colour"]),
        (["record", "set", str(rid), "assignee=ghost"], None, ["ghost"]),
        (["record", "set", str(rid), "due=2023-02-30"], 2, ["2023-02-30"]),
        (["record", "move", str(rid), "Limbo"], 3, ["Limbo"]),
        (["record", "move", "999", "Won"], 3, ["999"]),
        (["record", "tag", "999", "SEO"], 3, ["999"]),
        (["record", "untag", "999", "SEO"], 3, ["999"]),
        (["record", "show", "999"], 3, ["999"]),
        (["record", "history", "999"], 3, ["999"]),
        (["fields", "Nowhere"], 3, ["Nowhere"]),
        (["lists", "Nowhere"], 3, ["Nowhere"]),
    ]
    for args, code, names in cases:
        crm(*args).assert_clean_error(code, *names)
    assert crm.snapshot() == before


def test_unknown_user_is_refused_and_crm_tui_user_is_honoured(crm, monkeypatch):
    rid = crm.add("Opportunities", "Deal")
    before = crm.snapshot()
    for args in (["records", "Opportunities"], ["record", "add", "Opportunities", "Intruder"],
                 ["record", "set", str(rid), "Amount=1"], ["record", "move", str(rid), "Won"],
                 ["record", "tag", str(rid), "SEO"], ["user", "add", "nobody2"], ["projects"]):
        crm(*args, user="nobody").assert_clean_error(3, "nobody")
        crm(*args, user="nobody", place="before").assert_clean_error(3, "nobody")
    monkeypatch.setenv("CRM_TUI_USER", "nobody")
    crm("record", "add", "Opportunities", "Intruder", user=None).assert_clean_error(3, "nobody")
    assert crm.snapshot() == before

    # CRM_TUI_USER picks a known user; --user wins over it
    crm.ok("user", "add", "bob")
    monkeypatch.setenv("CRM_TUI_USER", "bob")
    rid = crm.json("record", "add", "Clients", "By env", user=None)["id"]
    assert crm.history(rid)[0]["user"] == "bob"
    rid = crm.json("record", "add", "Clients", "By option", user="admin")["id"]  # --user wins over the env
    assert crm.history(rid)[0]["user"] == "admin"


def test_db_and_user_before_or_after_the_sub_command_and_crm_tui_db(crm, capsys, tmp_path, monkeypatch):
    rid = crm.json("record", "add", "Opportunities", "Before", place="before")["id"]
    assert crm.json("record", "show", str(rid), place="before")["title"] == "Before"
    assert [r["title"] for r in crm.records("Opportunities", place="before")] == ["Before"]
    # mixed: --db before, --user after (and the reverse)
    r = crm("--db", crm.url, "record", "set", str(rid), "Amount=5", "--user", "admin", "--json",
            db=None, user=None)
    assert r.code == 0 and r.json()["fields"]["Amount"] == "5.00"
    r = crm("--user", "admin", "records", "Opportunities", "--db", crm.url, "--json", db=None, user=None)
    assert r.code == 0 and [i["title"] for i in r.json()] == ["Before"]
    for args in (["projects"], ["fields", "Clients"], ["lists", "Clients"], ["user", "list"],
                 ["record", "history", str(rid)]):
        assert crm.json(*args, place="before") == crm.json(*args, place="after")

    # the db_url fixture exported CRM_TUI_DB: no --db at all reaches the same database
    cid = crm.json("record", "add", "Clients", "Via env", db=None)["id"]
    assert crm.show(cid)["title"] == "Via env"
    # --db wins over CRM_TUI_DB
    other = Cli(capsys, f"sqlite:///{tmp_path / 'other.db'}")
    other.ok("init", "--template", "sales-crm")
    other.add("Clients", "Elsewhere")
    assert [c["title"] for c in crm.records("Clients")] == ["Via env"]
    monkeypatch.setenv("CRM_TUI_DB", other.url)
    assert [c["title"] for c in other.records("Clients", db=None)] == ["Elsewhere"]
    assert [c["title"] for c in crm.records("Clients")] == ["Via env"]


BAD_URLS = ["foo://bar", "mysql://u@h/db", "sqlite://relative.db", "postgresql://postgres@127.0.0.1:1/nothing",
            "postgresql://postgres@127.0.0.1:5432/"]


def test_bad_database_url_is_a_clean_error(sqlite_cli, monkeypatch):
    cli = sqlite_cli
    for url in BAD_URLS:
        for args in (["records", "Opportunities"], ["init"], ["demo", "--no-tui", "--size", "5"]):
            cli(*args, db=url).assert_clean_error(6, url)
            cli(*args, db=url, place="before").assert_clean_error(6, url)
    for url in BAD_URLS:
        monkeypatch.setenv("CRM_TUI_DB", url)
        cli("projects", db=None).assert_clean_error(6, url)


def test_usage_errors_are_one_line_with_exit_code_2_and_help_exits_0(sqlite_cli):
    cli = sqlite_cli
    cli.ok("init", "--template", "sales-crm")
    before = cli.snapshot()
    for args in (["frobnicate"], ["record"], ["record", "add"], ["record", "add", "Opportunities"],
                 ["record", "set", "1", "--expect-version", "two"],
                 ["list", "add", "Opportunities", "X", "--kind", "maybe"],
                 ["demo", "--no-tui", "--size", "many"], ["records", "Opportunities", "--bogus"],
                 ["record", "tag", "1"], ["field", "add", "Opportunities", "X"]):
        r = cli(*args)
        r.assert_clean_error(2, "error")
    assert cli.snapshot() == before

    for args in (["--help"], ["record", "--help"], ["record", "add", "--help"], ["field", "add", "--help"]):
        r = cli(*args, db=None, user=None)
        assert r.code == 0 and "usage" in r.out.lower() and r.err == ""
    r = cli("--version", db=None, user=None)
    assert r.code == 0 and "crm-tui" in r.out


def test_unexpected_errors_and_interrupts_print_one_line_and_no_traceback(sqlite_cli, monkeypatch):
    import crm_tui.domain.record_views as views

    sqlite_cli.ok("init", "--template", "sales-crm")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(views, "list_records", interrupted)
    sqlite_cli("records", "Opportunities").assert_clean_error(130, "interrupted")

    monkeypatch.setattr(views, "list_records", boom)
    sqlite_cli("records", "Opportunities").assert_clean_error(1, "RuntimeError", "disk on fire", "CRM_TUI_DEBUG")
    monkeypatch.setenv("CRM_TUI_DEBUG", "1")
    with pytest.raises(RuntimeError):
        sqlite_cli("records", "Opportunities")

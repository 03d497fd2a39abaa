"""CLI contract (issue "Foundation" §5), workspace and schema commands: ``init``, ``demo``, ``projects``,
``project add``, ``list add``/``lists``, ``field add``/``fields``. On SQLite and PostgreSQL.

Every test calls ``crm_tui.cli.main`` in-process (see ``cli_helpers``) and checks the JSON shapes that
users' scripts rely on, and that refused commands exit non-zero with one line on stderr and write nothing.
"""

from __future__ import annotations

from tests.unit.cli_helpers import Cli, cli, crm  # noqa: F401 - fixtures

TEMPLATE_PROJECTS = ["Clients", "Opportunities", "Delivery", "Invoices"]
OPPORTUNITY_STAGES = [
    {"name": "Unqualified", "probability": 10, "kind": "open"},
    {"name": "Qualifying", "probability": 20, "kind": "open"},
    {"name": "Writing proposal", "probability": 30, "kind": "open"},
    {"name": "Proposal sent", "probability": 50, "kind": "open"},
    {"name": "Negotiation", "probability": 70, "kind": "open"},
    {"name": "Contract to sign", "probability": 90, "kind": "open"},
    {"name": "Won", "probability": 100, "kind": "won"},
    {"name": "Lost", "probability": 0, "kind": "lost"},
    {"name": "Not applicable", "probability": 0, "kind": "closed"},
]


# ------------------------------------------------------------------------------------------------ init


def test_init_creates_the_acting_user_as_admin_then_the_template(cli):
    r = cli("init", "--template", "crm-deluxe")   # refused before anything is written
    r.assert_clean_error(2, "crm-deluxe", "sales-crm")

    out = cli.json("init")
    assert out == {"database": cli.url, "user": "admin", "added": []}
    assert [(u["name"], u["admin"]) for u in cli.json("user", "list")] == [("admin", True)]
    assert cli.json("projects") == []

    out = cli.json("init", "--template", "sales-crm")
    assert isinstance(out["added"], list) and out["added"], "the first run adds the template"
    assert [p["name"] for p in cli.json("projects")] == TEMPLATE_PROJECTS
    assert "admin (admin)" in cli.ok("init").out


def test_init_twice_adds_nothing_and_a_second_user_cannot_init(crm):
    before = crm.snapshot()
    assert crm.json("init", "--template", "sales-crm")["added"] == []
    assert "nothing added" in crm.ok("init", "--template", "sales-crm").out
    assert crm.snapshot() == before
    # the first user is the admin; someone unknown cannot take over by running init
    crm("init", "--template", "sales-crm", user="mallory").assert_clean_error(3, "mallory")
    assert crm.snapshot() == before


# ------------------------------------------------------------------------------------------------ demo


def _demo_data(c: Cli) -> dict:
    out = {}
    for project in TEMPLATE_PROJECTS:
        out[project] = [(r["title"], r["list"], r["tags"], r["assignee"], r["fields"]) for r in c.records(project)]
    return out


def test_demo_counts_and_same_seed_gives_same_data(cli, capsys, tmp_path):
    counts = cli.json("demo", "--no-tui", "--size", "50", "--seed", "3")
    assert counts["opportunities"] == 50
    assert 10 <= counts["clients"] <= 25  # about N/3
    assert counts["database"] == cli.url
    projects = {p["name"]: p["records"] for p in cli.json("projects")}
    assert projects["Opportunities"] == 50
    assert projects["Clients"] == counts["clients"]
    opportunities = cli.records("Opportunities")
    assert {o["list"] for o in opportunities} >= {"Won", "Lost"}
    assert all(o["fields"]["Client name"] == (o["fields"]["Client"] or {}).get("title")
               for o in opportunities), "every lookup resolved"

    # the same seed in another database (SQLite; when cli is on PostgreSQL this also compares engines)
    same = Cli(capsys, f"sqlite:///{tmp_path / 'same.db'}")
    counts2 = same.json("demo", "--no-tui", "--size", "50", "--seed", "3")
    assert {k: v for k, v in counts2.items() if k != "database"} == \
        {k: v for k, v in counts.items() if k != "database"}
    first, second = _demo_data(cli), _demo_data(same)
    assert [(o[0], o[4]["Amount"]) for o in first["Opportunities"]] == \
        [(o[0], o[4]["Amount"]) for o in second["Opportunities"]]
    assert first == second

    other = Cli(capsys, f"sqlite:///{tmp_path / 'other.db'}")
    assert "50 opportunities" in other.ok("demo", "--no-tui", "--size", "50", "--seed", "4").out
    assert [(o[0], o[4]["Amount"]) for o in _demo_data(other)["Opportunities"]] != \
        [(o[0], o[4]["Amount"]) for o in first["Opportunities"]]

    # a database that already has records is refused, untouched
    before = cli.snapshot(history=False)
    cli("demo", "--no-tui", "--size", "50", "--seed", "3").assert_clean_error(None, "records")
    assert cli.snapshot(history=False) == before


# ------------------------------------------------------------------------------------ projects, lists


def test_projects_json_shape_and_project_add(crm):
    projects = crm.json("projects")
    assert [p["name"] for p in projects] == TEMPLATE_PROJECTS
    for p in projects:
        assert set(p) >= {"id", "name", "records", "lists"}
        assert isinstance(p["id"], int) and p["records"] == 0
        for lst in p["lists"]:
            assert set(lst) >= {"name", "probability", "kind"}
    by_name = {p["name"]: p for p in projects}
    assert [{k: l[k] for k in ("name", "probability", "kind")} for l in by_name["Opportunities"]["lists"]] \
        == OPPORTUNITY_STAGES
    assert [l["name"] for l in by_name["Clients"]["lists"]] == ["Clients"]
    assert [l["name"] for l in by_name["Delivery"]["lists"]] == ["Planned", "In progress", "Done"]
    assert [(l["name"], l["kind"]) for l in by_name["Invoices"]["lists"]] == \
        [("Draft", "open"), ("Sent", "open"), ("Paid", "won")]

    crm.add("Clients", "Acme")
    assert {p["name"]: p["records"] for p in crm.json("projects")}["Clients"] == 1
    text = crm.ok("projects").out
    assert "Opportunities" in text and "Unqualified" in text

    # project add
    out = crm.json("project", "add", "Partners")
    assert set(out) >= {"id", "name"} and out["name"] == "Partners"
    projects = crm.json("projects")
    assert projects[-1]["name"] == "Partners" and projects[-1]["id"] == out["id"]
    assert projects[-1]["records"] == 0
    assert "Suppliers" in crm.ok("project", "add", "Suppliers").out

    before = crm.snapshot()
    crm("project", "add", "Clients").assert_clean_error(None, "Clients")
    crm("project", "add", "  ").assert_clean_error()
    assert crm.snapshot() == before


LIST_REFUSALS = [
    (["Opportunities", "Later", "--kind", "maybe"], 2, ["--kind", "maybe"]),
    (["Opportunities", "Later", "--probability", "150"], 2, ["probability", "150"]),
    (["Opportunities", "Later", "--probability", "-1"], 2, ["probability", "-1"]),
    (["Opportunities", "Later", "--probability", "abc"], 2, ["probability", "abc"]),
    (["Nowhere", "Stage"], 3, ["Nowhere"]),
    (["Opportunities", "Won"], None, ["Won"]),                                   # already exists
]


def test_list_add_with_probability_and_kind(crm):
    crm.ok("project", "add", "Hiring")
    out = crm.json("list", "add", "Hiring", "Screening", "--probability", "25")
    assert {k: out[k] for k in ("name", "probability", "kind")} == \
        {"name": "Screening", "probability": 25, "kind": "open"}
    assert isinstance(out["id"], int)
    out = crm.json("list", "add", "Hiring", "Hired", "--probability", "100", "--kind", "won")
    assert (out["probability"], out["kind"]) == (100, "won")
    for kind in ("lost", "closed"):
        assert crm.json("list", "add", "Hiring", kind.title(), "--kind", kind)["kind"] == kind
    default = crm.json("list", "add", "Hiring", "Parked")
    assert (default["probability"], default["kind"]) == (0, "open")
    assert "Hiring" in crm.ok("list", "add", "Hiring", "Text output").out

    lists = crm.json("lists", "Hiring")
    assert [(l["name"], l["probability"], l["kind"]) for l in lists] == [
        ("Screening", 25, "open"), ("Hired", 100, "won"), ("Lost", 0, "lost"), ("Closed", 0, "closed"),
        ("Parked", 0, "open"), ("Text output", 0, "open")]
    assert [l["position"] for l in lists] == sorted(l["position"] for l in lists)
    hiring = [p for p in crm.json("projects") if p["name"] == "Hiring"][0]
    assert [l["name"] for l in hiring["lists"]] == [l["name"] for l in lists]
    rid = crm.add("Hiring", "Ada", "--list", "Hired")
    assert crm.show(rid)["list"] == "Hired"

    # refused: bad kind or probability, unknown project, existing name; nothing written
    before = crm.snapshot()
    for args, code, names in LIST_REFUSALS:
        crm("list", "add", *args).assert_clean_error(code, *names)
    assert crm.snapshot() == before


# ------------------------------------------------------------------------------------------------ fields


def test_fields_json_of_the_template_and_lookups_of_lookups(crm):
    fields = {f["name"]: f for f in crm.json("fields", "Opportunities")}
    assert list(fields) == ["Amount", "Cost", "Profit", "Proposal URL", "Files received", "Contract",
                            "Confidence", "Expected close date", "Client", "Client name", "Client email",
                            "Deal source", "Lost reason", "Client size"]
    for f in fields.values():
        assert set(f) >= {"id", "name", "type"}
    assert (fields["Amount"]["type"], fields["Amount"]["currency"]) == ("currency", "USD")
    assert (fields["Profit"]["type"], fields["Profit"]["formula"]) == ("formula", "{Amount} - {Cost}")
    assert (fields["Files received"]["type"], fields["Files received"]["multiple"]) == ("file", True)
    assert (fields["Confidence"]["type"], fields["Confidence"]["max"]) == ("rating", 5)
    assert (fields["Client"]["type"], fields["Client"]["target"], fields["Client"]["multiple"]) == \
        ("reference", "Clients", False)
    assert (fields["Client name"]["type"], fields["Client name"]["via"], fields["Client name"]["of"]) == \
        ("lookup", "Client", "title")
    assert (fields["Client email"]["via"], fields["Client email"]["of"]) == ("Client", "Email")
    assert fields["Deal source"]["options"] == ["Referral", "Website", "Cold call", "Trade show"]
    assert fields["Lost reason"]["options"] == ["Price", "Timing", "Competitor", "No budget", "No response",
                                                "Other"]
    delivery = {f["name"]: f for f in crm.json("fields", "Delivery")}
    assert (delivery["Client email"]["type"], delivery["Client email"]["via"], delivery["Client email"]["of"]) \
        == ("lookup", "Opportunity", "Client email")  # a lookup of a lookup
    clients = [f["name"] for f in crm.json("fields", "Clients")]
    assert clients == ["Email", "Phone", "Website", "Address", "Source", "Category"]
    assert "Amount" in crm.ok("fields", "Opportunities").out

    # a lookup of a lookup of a lookup, kept current when the client changes
    crm.ok("project", "add", "Tickets")
    crm.ok("field", "add", "Tickets", "Deal", "reference", "--target", "Delivery")
    out = crm.json("field", "add", "Tickets", "Mail", "lookup", "--via", "Deal", "--of", "Client email")
    assert (out["via"], out["of"]) == ("Deal", "Client email")
    client = crm.add("Clients", "Zoë O'Brien", Email="zoe@example.com")
    opp = crm.add("Opportunities", "Big deal", Client=str(client))
    delivery = crm.add("Delivery", "Kick-off", Opportunity="Big deal")
    ticket = crm.add("Tickets", "Help", Deal=str(delivery))
    assert crm.show(ticket)["fields"]["Mail"] == "zoe@example.com"
    crm.ok("record", "set", str(client), "Email=zoe@new.example.com")
    assert crm.show(opp)["fields"]["Client email"] == "zoe@new.example.com"
    assert crm.show(delivery)["fields"]["Client email"] == "zoe@new.example.com"
    assert crm.show(ticket)["fields"]["Mail"] == "zoe@new.example.com"


FIELD_SPECS = [
    # name, type, options, expected extra keys in the JSON
    ("Note", "text", [], {}),
    ("Story", "long_text", [], {}),
    ("Seats", "number", [], {}),
    ("Discount", "percent", [], {}),
    ("Fee", "currency", ["--currency", "EUR"], {"currency": "EUR"}),
    ("Budget", "currency", [], {"currency": "USD"}),
    ("Contact", "email", [], {}),
    ("Mobile", "phone", [], {}),
    ("Site", "url", [], {}),
    ("Office", "address", [], {}),
    ("Start", "date", [], {}),
    ("Signed", "checkbox", [], {}),
    ("Size", "dropdown", ["--option", "S", "--option", "M", "--option", "L"], {"options": ["S", "M", "L"]}),
    ("Channels", "multi_select", ["--option", "Mail", "--option", "Phone"], {"options": ["Mail", "Phone"]}),
    ("Mood", "rating", ["--max", "3"], {"max": 3}),
    ("Stars", "rating", [], {"max": 5}),
    ("Brief", "file", [], {"multiple": False}),
    ("Attachments", "file", ["--multiple"], {"multiple": True}),
    ("Owner", "reference", ["--target", "Clients"], {"target": "Clients", "multiple": False}),
    ("Partners", "reference", ["--target", "Clients", "--multiple"], {"target": "Clients", "multiple": True}),
    ("Owner email", "lookup", ["--via", "Owner", "--of", "Email"], {"via": "Owner", "of": "Email"}),
    ("Partner names", "lookup", ["--via", "Partners", "--of", "title"],
     {"via": "Partners", "of": "title", "multiple": True}),
    ("Double", "formula", ["--formula", "{Seats} * 2"], {"formula": "{Seats} * 2"}),
    ("Label", "formula", ["--formula", 'CONCAT({Note}, "!")'], {"formula": 'CONCAT({Note}, "!")'}),
]


def test_field_add_every_type(crm, tmp_path):
    crm.ok("project", "add", "Accounts")
    added = []
    for name, type_name, opts, extra in FIELD_SPECS:
        out = crm.json("field", "add", "Accounts", name, type_name, *opts)
        assert (out["name"], out["type"]) == (name, type_name)
        assert isinstance(out["id"], int)
        for key, value in extra.items():
            assert out[key] == value, (name, key, out)
        added.append(out)
    assert crm.json("fields", "Accounts") == added
    assert len({f["id"] for f in added}) == len(FIELD_SPECS)

    # the fields work: a record with a value for the plain ones, lookups and formulas resolved
    acme = crm.add("Clients", "Acme", Email="hi@acme.test")
    brief = tmp_path / "brief.txt"
    brief.write_text("hello\n")
    rid = crm.add("Accounts", "Deal", Note="Hello", Seats="21", Fee="10.5", Size="m", Channels="Mail;Phone",
                  Mood="2", Signed="yes", Start="2024-02-29", Owner=str(acme), Partners="Acme", Brief=str(brief),
                  Discount="12.5", Budget="0.1")
    fields = crm.show(rid)["fields"]
    assert list(fields) == [name for name, *_ in FIELD_SPECS]
    assert fields["Fee"] == "10.50"
    assert fields["Size"] == "M"
    assert fields["Channels"] == ["Mail", "Phone"]
    assert fields["Mood"] == 2 and fields["Signed"] is True and fields["Start"] == "2024-02-29"
    assert fields["Owner"] == {"id": acme, "title": "Acme"}
    assert fields["Partners"] == [{"id": acme, "title": "Acme"}]
    assert fields["Owner email"] == "hi@acme.test"
    assert fields["Partner names"] == ["Acme"]
    assert fields["Double"] == "42"
    assert fields["Label"] == "Hello!"
    assert fields["Attachments"] == []
    assert (fields["Brief"]["name"], fields["Brief"]["size"]) == ("brief.txt", 6)
    assert fields["Discount"] == "12.5" and fields["Budget"] == "0.10"
    assert fields["Story"] is None and fields["Contact"] is None

    assert "Seats" in crm.ok("field", "add", "Accounts", "Seats2", "number").out


FIELD_REFUSALS = [
    (["Margin", "formula", "--formula", "{Amount} - {Nope}"], ["Margin", "{Nope}"]),
    (["Margin", "formula", "--formula", "{Margin} + 1"], ["Margin"]),           # a cycle on itself
    (["Margin", "formula", "--formula", "{Amount} -"], ["Margin", "{Amount} -"]),
    (["Margin", "formula"], ["Margin", "--formula"]),
    (["Echo", "lookup", "--via", "Client", "--of", "Echo"], ["Echo"]),           # a lookup of itself
    (["Echo", "lookup", "--via", "Amount", "--of", "Email"], ["Amount"]),        # via is not a reference
    (["Echo", "lookup", "--via", "Client", "--of", "Nope"], ["Nope"]),
    (["Echo", "lookup", "--via", "Client"], ["Echo"]),
    (["Link", "reference", "--target", "Nowhere"], ["Nowhere"]),
    (["Link", "reference"], ["Link", "--target"]),
    (["Pick", "dropdown"], ["Pick", "--option"]),
    (["Stars", "rating", "--max", "11"], ["Stars", "11"]),
    (["Stars", "rating", "--max", "many"], ["Stars", "many"]),
    (["Fee", "currency", "--currency", "EURO"], ["Fee", "EURO"]),
    (["Thing", "sometype"], ["sometype"]),
    (["Amount", "number"], ["Amount"]),                                          # already exists
    (["Title", "text"], ["Title"]),                                              # a built-in name
]


def test_field_add_refused_writes_nothing_and_needs_an_admin(crm):
    before = crm.snapshot()
    for args, names in FIELD_REFUSALS:
        r = crm("field", "add", "Opportunities", *args)
        r.assert_clean_error(None, *names)
    crm("field", "add", "Nowhere", "X", "text").assert_clean_error(3, "Nowhere")
    assert crm.snapshot() == before

    # schema changes need an admin
    crm.ok("user", "add", "bob")
    before = crm.snapshot()
    crm("project", "add", "Mine", user="bob").assert_clean_error(5)
    crm("list", "add", "Opportunities", "Mine", user="bob").assert_clean_error(5)
    crm("field", "add", "Opportunities", "Mine", "text", user="bob").assert_clean_error(5)
    assert crm.snapshot() == before

"""What the cheaper writes and reads must not lose, on SQLite and PostgreSQL.

``create_record`` computes a new record's lookups and formulas without propagation (nothing can refer
to a record that did not exist) and writes its values without deleting first; ``update_record`` reads
the record once, before its transaction, and proves it unchanged by its version; ``FieldGraph`` reads
the field definitions on every write (another process may have changed them); listings read the raw
cursor. Each test below pins one of those down.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest

from crm_tui.db import connection, queries
from crm_tui.db.models import Event, Record, StageList, User
from crm_tui.domain import records as records_module
from crm_tui.domain.computed import FieldGraph
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.projects import add_field, add_project
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import create_record, update_record
from crm_tui.domain.values import load_values
from crm_tui.errors import ConflictError, NotFoundError

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END")


@contextlib.contextmanager
def statements():
    """Every SQL statement sent while the block runs, seen at the cursor (so raw-cursor inserts count
    too), without transaction control — what ``benchmarks/run.py`` counts."""
    db = connection.database.obj
    sent: list[str] = []
    original = db.cursor

    class Counting:
        def __init__(self, cursor):
            self._cursor = cursor

        def execute(self, sql, *args, **kwargs):
            if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
                sent.append(sql)
            return self._cursor.execute(sql, *args, **kwargs)

        def executemany(self, sql, *args, **kwargs):
            sent.append(sql)
            return self._cursor.executemany(sql, *args, **kwargs)

        def __iter__(self):
            return iter(self._cursor)

        def __getattr__(self, name):
            return getattr(self._cursor, name)

    db.cursor = lambda *a, **k: Counting(original(*a, **k))
    try:
        yield sent
    finally:
        del db.cursor


def fields(actor, record_id) -> dict:
    return show_record(actor, record_id)["fields"]


# ------------------------------------------------------------------------------------- create_record

def test_a_new_record_costs_no_propagation_and_no_deletes(sales):
    client = create_record(sales, "Clients", "Acme", values={"Email": "sales@acme.com"})
    with statements() as sent:
        opp = create_record(sales, "Opportunities", "Acme website", list_name="Negotiation", tags=["SEO"],
                            values={"Amount": "1234.56", "Cost": "234.50", "Client": client,
                                    "Expected close date": "2026-06-30"})
    text = "\n".join(sent)
    assert not [s for s in sent if s.lstrip().upper().startswith("DELETE")], text
    assert not [s for s in sent if '"ref_id" IN' in s], text  # who refers to it: nobody can yet
    assert len(sent) <= 16, text
    got = fields(sales, opp)
    assert got["Client name"] == "Acme" and got["Client email"] == "sales@acme.com"
    assert got["Profit"] == "1000.06"


def test_a_new_record_gets_every_kind_of_lookup_and_formulas_over_them(sales):
    add_project(sales, "Bundles")
    add_field(sales, "Bundles", "Deals", "reference", target="Opportunities", multiple=True)
    add_field(sales, "Bundles", "Amounts", "lookup", via="Deals", of="Amount")
    add_field(sales, "Bundles", "Deal names", "lookup", via="Deals", of="title")
    add_field(sales, "Bundles", "Deal clients", "lookup", via="Deals", of="Client name")  # of a lookup
    add_field(sales, "Bundles", "Deal profits", "lookup", via="Deals", of="Profit")        # of a formula
    add_field(sales, "Bundles", "Total", "formula", formula="SUM({Amounts})")
    add_field(sales, "Bundles", "Margin", "formula", formula="SUM({Deal profits}) / {Total}")  # formula of one
    client = create_record(sales, "Clients", "Globex", values={"Email": "buy@globex.example"})
    a = create_record(sales, "Opportunities", "A", values={"Amount": "100", "Cost": "75", "Client": client})
    b = create_record(sales, "Opportunities", "B", values={"Amount": "300", "Cost": "25"})
    bundle = create_record(sales, "Bundles", "Both", values={"Deals": [a, b]})
    got = fields(sales, bundle)
    assert got["Amounts"] == ["100.00", "300.00"]
    assert got["Deal names"] == ["A", "B"]
    assert got["Deal clients"] == ["Globex"]
    assert got["Deal profits"] == ["25.00", "275.00"]
    assert got["Total"] == "400.00"
    assert Decimal(got["Margin"]) == Decimal("0.75")
    # and an empty reference leaves the lookups empty while formulas are still computed
    empty = fields(sales, create_record(sales, "Bundles", "None yet"))
    assert empty["Amounts"] == [] and empty["Deal names"] == [] and empty["Total"] == "0.00"


def test_a_new_record_that_others_then_reference_is_followed(sales):
    client = create_record(sales, "Clients", "Initech", values={"Email": "a@initech.example"})
    opp = create_record(sales, "Opportunities", "Initech deal", values={"Client": client, "Amount": "10"})
    delivery = create_record(sales, "Delivery", "Deliver Initech", values={"Opportunity": opp})
    assert fields(sales, delivery)["Client email"] == "a@initech.example"
    update_record(sales, client, values={"Email": "b@initech.example"}, title="Initech Inc")
    assert fields(sales, opp)["Client email"] == "b@initech.example"
    assert fields(sales, opp)["Client name"] == "Initech Inc"
    assert fields(sales, delivery)["Client email"] == "b@initech.example"  # lookup of a lookup
    update_record(sales, opp, values={"Amount": "99"})
    assert fields(sales, delivery)["Deal value"] == "99.00"
    assert [r["id"] for r in show_record(sales, client)["referenced_by"]] == [opp]


def test_a_record_without_a_list_goes_to_the_end(admin):
    add_project(admin, "Notes")  # no lists at all
    first = create_record(admin, "Notes", "One")
    second = create_record(admin, "Notes", "Two")
    rows = {r.id: r for r in Record.select().where(Record.id.in_([first, second]))}
    assert rows[first].list_id is None and rows[second].position > rows[first].position
    assert [r["title"] for r in list_records(admin, "Notes")] == ["One", "Two"]


def test_a_new_record_stores_its_columns_as_peewee_did(sales):
    bob = ensure_bob()
    rid = create_record(sales, "Opportunities", "Typed", list_name="Qualifying", assignee="bob",
                        due_date="2026-07-01", description="Long text")
    record = Record.get_by_id(rid)
    assert record.due_date == dt.date(2026, 7, 1)
    assert isinstance(record.created_at, dt.datetime) and record.created_at == record.list_entered_at
    assert record.archived is False and record.version == 1 and record.assignee_id == bob
    assert record.list_id == StageList.get(StageList.name == "Qualifying").id
    created = Event.get((Event.record == rid) & (Event.kind == "created"))
    assert isinstance(created.at, dt.datetime) and created.at == record.created_at
    assert Record.select().where(Record.created_at == record.created_at).count() == 1  # comparable


def ensure_bob() -> int:
    from crm_tui.domain.actors import ensure_user

    return ensure_user("bob").id


# ---------------------------------------------------------------------------------------- FieldGraph

def _in_another_process(db_url: str, code: str) -> None:
    script = "from crm_tui.db import open_database\nopen_database(%r)\n" % db_url + textwrap.dedent(code)
    env = dict(os.environ, CRM_TUI_DB=db_url)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_fields_added_by_another_process_are_seen_by_the_next_write(sales, db_url):
    rid = create_record(sales, "Opportunities", "Before", values={"Amount": "10"})
    assert "Double" not in {f.name for f in FieldGraph().fields.values()}
    _in_another_process(db_url, """
        from crm_tui.domain.actors import actor_for, ensure_user
        from crm_tui.domain.projects import add_field
        admin = actor_for(ensure_user("admin", is_admin=True))
        add_field(admin, "Opportunities", "Double", "formula", formula="{Amount} * 2")
        add_field(admin, "Opportunities", "Client phone", "lookup", via="Client", of="Phone")
    """)
    graph = FieldGraph()
    assert {"Double", "Client phone"} <= {f.name for f in graph.fields.values()}
    client = create_record(sales, "Clients", "Hooli", values={"Phone": "+1 555 0100"})
    new = create_record(sales, "Opportunities", "After", values={"Amount": "21", "Client": client})
    assert fields(sales, new)["Double"] == "42.00"
    assert fields(sales, new)["Client phone"] == "+1 555 0100"
    update_record(sales, rid, values={"Amount": "5"})
    assert fields(sales, rid)["Double"] == "10.00"
    update_record(sales, client, values={"Phone": "+1 555 0199"})
    assert fields(sales, new)["Client phone"] == "+1 555 0199"


def test_field_graph_reads_what_all_field_defs_reads(sales):
    from crm_tui.domain.project_schema import all_field_defs

    add_field(sales, "Opportunities", "Secret", "text", hidden=True)
    assert FieldGraph().fields == all_field_defs()


# ------------------------------------------------------------------------------------- update_record

def _change_between_read_and_write(monkeypatch, change) -> None:
    """Run ``change`` once, after update_record read the record and before its transaction (another
    user's write landing in between)."""
    original = records_module.prepare_values
    pending = [change]

    def prepare_then_change(*args, **kwargs):
        result = original(*args, **kwargs)
        while pending:
            pending.pop()()
        return result

    monkeypatch.setattr(records_module, "prepare_values", prepare_then_change)


def _someone_else_sets_title(rid: int, title: str):
    def change():
        Record.update(title=title, version=Record.version + 1).where(Record.id == rid).execute()
    return change


def test_update_reads_the_record_once(sales):
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10"})
    with statements() as sent:
        update_record(sales, rid, values={"Amount": "20"}, expect_version=1)
    record_reads = [s for s in sent if s.lstrip().startswith("SELECT") and 'FROM "record" AS "t1"' in s
                    and '"t1"."version"' in s]
    assert len(record_reads) == 1, "\n".join(sent)


def test_a_change_landing_between_the_read_and_the_write_is_not_lost(sales, monkeypatch):
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10"})
    _change_between_read_and_write(monkeypatch, _someone_else_sets_title(rid, "Theirs"))
    version = update_record(sales, rid, values={"Amount": "20"})
    item = show_record(sales, rid)
    assert version == 3 == item["version"]
    assert item["title"] == "Theirs" and item["fields"]["Amount"] == "20.00"
    assert item["fields"]["Profit"] == "20.00"


def test_setting_back_what_was_read_still_writes_when_it_changed_meanwhile(sales, monkeypatch):
    rid = create_record(sales, "Opportunities", "Mine")
    _change_between_read_and_write(monkeypatch, _someone_else_sets_title(rid, "Theirs"))
    # equal to what was read, so a no-op against the read — but not against what is stored now
    assert update_record(sales, rid, title="Mine") == 3
    assert show_record(sales, rid)["title"] == "Mine"
    assert [e.new for e in Event.select().where((Event.record == rid) & (Event.kind == "updated"))] == ['"Mine"']


def test_a_version_expected_before_a_change_landing_meanwhile_is_a_conflict(sales, monkeypatch):
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10"})
    _change_between_read_and_write(monkeypatch, _someone_else_sets_title(rid, "Theirs"))
    events = Event.select().count()
    with pytest.raises(ConflictError):
        update_record(sales, rid, values={"Amount": "20"}, expect_version=1)
    item = show_record(sales, rid)
    assert item["fields"]["Amount"] == "10.00" and item["version"] == 2
    assert Event.select().count() == events


def test_a_record_archived_or_purged_meanwhile(sales, monkeypatch):
    rid = create_record(sales, "Opportunities", "Deal")
    _change_between_read_and_write(monkeypatch, lambda: Record.delete().where(Record.id == rid).execute())
    with pytest.raises(NotFoundError):
        update_record(sales, rid, title="Gone")


def test_a_no_op_update_writes_nothing(sales):
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10"})
    events = Event.select().count()
    assert update_record(sales, rid, title="Deal", values={"Amount": "10.00"}) == 1
    assert Event.select().count() == events and show_record(sales, rid)["version"] == 1


# -------------------------------------------------------------------------------------- raw reads

def test_record_rows_match_peewee_dicts(sales):
    from peewee import JOIN

    ensure_bob()
    create_record(sales, "Opportunities", "Full", list_name="Won", assignee="bob", due_date="2026-07-01",
                  description="x")
    create_record(sales, "Opportunities", "Bare")
    create_record(sales, "Clients", "Client")
    query = Record.select().order_by(Record.id)
    expected = list(query.select_extend(StageList.name.alias("list_name"), User.name.alias("assignee_name"))
                    .join_from(Record, StageList, JOIN.LEFT_OUTER, on=(Record.list == StageList.id))
                    .join_from(Record, User, JOIN.LEFT_OUTER, on=(Record.assignee == User.id)).dicts())
    got = queries.record_rows(Record.select().order_by(Record.id))
    assert got == expected
    assert [{k: type(v) for k, v in r.items()} for r in got] == [{k: type(v) for k, v in r.items()}
                                                                 for r in expected]


def test_listed_values_keep_their_types(sales):
    add_field(sales, "Opportunities", "Signed", "checkbox")
    add_field(sales, "Opportunities", "Start", "date")
    rid = create_record(sales, "Opportunities", "Typed",
                        values={"Amount": "0.10", "Cost": "0.07", "Signed": "yes", "Start": "2026-02-28"})
    schema = load_schema("Opportunities")
    got = load_values(schema, [rid])[rid]
    f = {x.name: x.id for x in schema.fields}
    assert got[f["Amount"]] == Decimal("0.10") and isinstance(got[f["Amount"]], Decimal)
    assert got[f["Profit"]] == Decimal("0.03")
    assert got[f["Start"]] == dt.date(2026, 2, 28) and type(got[f["Start"]]) is dt.date
    assert got[f["Signed"]] is True
    listed = list_records(sales, "Opportunities")[0]
    assert listed["fields"]["Start"] == "2026-02-28" and listed["fields"]["Profit"] == "0.03"
    assert listed["created_at"].endswith("Z") and "T" in listed["created_at"]


def test_show_record_lists_checklist_and_blockers(sales):
    from crm_tui.domain.record_extras import add_checklist_item, add_dependency, set_checklist_done

    rid = create_record(sales, "Opportunities", "Deal", tags=["SEO", "Branding"])
    blocker = create_record(sales, "Opportunities", "Contract first")
    first = add_checklist_item(sales, rid, "Send the NDA")
    second = add_checklist_item(sales, rid, "Book the kick-off")
    set_checklist_done(sales, first, True)
    add_dependency(sales, rid, blocked_by=blocker)
    item = show_record(sales, rid)
    assert item["checklist"] == [{"id": first, "text": "Send the NDA", "done": True},
                                 {"id": second, "text": "Book the kick-off", "done": False}]
    assert item["blocked_by"] == [{"id": blocker, "title": "Contract first"}]
    assert item["tags"] == ["Branding", "SEO"]
    with pytest.raises(NotFoundError):
        show_record(sales, 999_999)


def test_page_reads_accept_lists_queries_and_nothing(sales):
    rid = create_record(sales, "Opportunities", "Deal", tags=["SEO"], values={"Amount": "5"})
    schema = load_schema("Opportunities")
    by_query = Record.select(Record.id).where(Record.id == rid)
    assert list(queries.tags_of([rid])) == list(queries.tags_of(by_query)) == [(rid, "SEO")]
    assert list(queries.tags_of([])) == [] and list(queries.referenced_by([])) == []
    assert load_values(schema, []) == {} and load_values(schema, [rid], field_ids=[]) == {}
    assert load_values(schema, by_query) == load_values(schema, [rid]) == load_values(schema, {rid})

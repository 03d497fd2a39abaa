"""The activity log: every change to a record appends its event, with the user, in order.

``events.history`` is what ``record history`` and the TUI show; fields hidden from an actor are left
out of it. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace

from crm_tui.db.models import Event
from crm_tui.domain import events
from crm_tui.domain.actors import actor_for, ensure_user
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.record_views import show_record
from crm_tui.domain.records import (archive_record, create_record, move_record, restore_record,
                                    tag_record, untag_record, update_record)


def summary(record_id, actor) -> list[tuple]:
    return [(e["kind"], e["user"], e["field"], e["old"], e["new"]) for e in events.history(record_id, actor)]


def test_created_event_carries_title_list_and_initial_values(sales):
    client = create_record(sales, "Clients", "Acme")
    rid = create_record(sales, "Opportunities", "Deal", list_name="Qualifying", tags=["SEO"],
                        values={"Amount": "1234.5", "Client": client}, assignee="admin")
    history = events.history(rid, sales)
    assert [e["kind"] for e in history] == ["created", "tagged", "assigned"]
    created = history[0]
    assert created["user"] == "admin" and created["at"].endswith("Z")
    assert created["new"] == {"title": "Deal", "list": "Qualifying",
                              "fields": {"Amount": "1234.50", "Client": {"id": client, "title": "Acme"}}}
    assert (history[1]["field"], history[1]["new"]) == ("tags", "SEO")
    assert (history[2]["field"], history[2]["new"]) == ("assignee", "admin")


def test_every_kind_of_change_is_logged_in_order(sales):
    bob = actor_for(ensure_user("bob"))
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10"})
    update_record(bob, rid, title="Big deal", values={"Amount": "20", "Confidence": "4"})
    move_record(bob, rid, "Negotiation")
    tag_record(sales, rid, ["Website"])
    untag_record(bob, rid, ["Website"])
    update_record(sales, rid, assignee="bob")
    update_record(sales, rid, values={"Amount": ""})
    archive_record(bob, rid)
    restore_record(sales, rid)
    assert summary(rid, sales)[1:] == [
        ("updated", "bob", "title", "Deal", "Big deal"),
        ("updated", "bob", "Amount", "10.00", "20.00"),
        ("updated", "bob", "Confidence", None, 4),
        ("moved", "bob", "list", "Unqualified", "Negotiation"),
        ("tagged", "admin", "tags", None, "Website"),
        ("untagged", "bob", "tags", "Website", None),
        ("assigned", "admin", "assignee", None, "bob"),
        ("updated", "admin", "Amount", "20.00", None),
        ("deleted", "bob", None, None, None),
        ("restored", "admin", None, None, None),
    ]
    ids = [e["id"] for e in events.history(rid, sales)]
    assert ids == sorted(ids)


def test_changes_that_change_nothing_log_nothing(sales):
    rid = create_record(sales, "Opportunities", "Deal", tags=["SEO"], values={"Amount": "10"})
    count = Event.select().count()
    update_record(sales, rid, title="Deal", values={"Amount": "10.00"})
    move_record(sales, rid, "Unqualified")
    tag_record(sales, rid, ["seo"])
    archive_record(sales, rid)
    archive_record(sales, rid)
    assert Event.select().count() == count + 1  # only the archive


def test_computed_values_do_not_log_events_of_their_own(sales):
    client = create_record(sales, "Clients", "Acme", values={"Email": "a@acme.com"})
    opp = create_record(sales, "Opportunities", "Deal", values={"Client": client, "Amount": "5"})
    before = [e["kind"] for e in events.history(opp, sales)]
    update_record(sales, client, values={"Email": "b@acme.com"})
    assert show_record(sales, opp)["fields"]["Client email"] == "b@acme.com"
    assert [e["kind"] for e in events.history(opp, sales)] == before


def test_history_is_per_record(sales):
    a = create_record(sales, "Opportunities", "A")
    b = create_record(sales, "Opportunities", "B")
    update_record(sales, b, title="B2")
    assert [e["kind"] for e in events.history(a, sales)] == ["created"]
    assert [e["kind"] for e in events.history(b, sales)] == ["created", "updated"]


def test_hidden_fields_are_left_out_of_history(sales):
    opps = load_schema("Opportunities")
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "100", "Cost": "40",
                                                                  "Confidence": "3"})
    update_record(sales, rid, values={"Cost": "50"})
    update_record(sales, rid, values={"Confidence": "5"})
    viewer = replace(sales, is_admin=False, hidden_fields=frozenset({opps.field("Cost").id}))
    history = events.history(rid, viewer)
    assert history[0]["new"]["fields"] == {"Amount": "100.00", "Confidence": 3}
    assert [(e["kind"], e["field"]) for e in history] == [("created", "title"), ("updated", "Confidence")]
    assert all("50" not in str((e["field"], e["old"], e["new"])) for e in history)  # not the time: 06:05:50
    # the record itself hides the field, and the formula computed from it
    shown = show_record(viewer, rid)["fields"]
    assert "Cost" not in shown and "Profit" not in shown and shown["Amount"] == "100.00"
    # the admin sees everything
    assert [e["field"] for e in events.history(rid, sales)] == ["title", "Cost", "Confidence"]


def test_last_event_id_moves_with_every_change(sales):
    start = events.last_event_id()
    rid = create_record(sales, "Opportunities", "Deal")
    after_create = events.last_event_id()
    assert after_create > start
    move_record(sales, rid, "Won")
    assert events.last_event_id() > after_create


def test_demo_data_logs_created_and_moved_events(sales):
    from crm_tui.domain.demo import build_demo

    build_demo(sales, size=12, seed=3)
    opps = load_schema("Opportunities")
    first = opps.lists[0].name
    from crm_tui.db.models import Record

    for record in Record.select().where(Record.project == opps.id):
        kinds = [(e["kind"], e["old"], e["new"]) for e in events.history(record.id, sales)]
        assert kinds[0][0] == "created"
        lst = opps.list_by_id(record.list_id).name
        if lst != first:
            assert ("moved", first, lst) in kinds


def test_event_table_is_indexed_for_its_readers(db):
    from crm_tui.db.connection import database

    indexed = {tuple(i.columns) for i in database.get_indexes("event")}
    assert ("record", "id") in indexed
    assert ("kind", "at") in indexed
    assert ("at",) in indexed

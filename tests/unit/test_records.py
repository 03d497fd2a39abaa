"""Records through the domain: create, edit, move, tag, assign, archive, list — and optimistic locking.

Runs on SQLite and PostgreSQL. A stale ``expect_version`` raises ``ConflictError`` and writes nothing;
tagging never conflicts.
"""

from __future__ import annotations

import datetime as dt

import pytest

from crm_tui.db.models import Event, Record
from crm_tui.domain.actors import actor_for, ensure_user
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import (archive_record, create_record, move_record, reorder_record,
                                    restore_record, tag_record, untag_record, update_record)
from crm_tui.errors import ConflictError, NotFoundError, ValidationError


def test_show_record_has_the_documented_shape(sales):
    client = create_record(sales, "Clients", "Zoë O'Brien 张伟", values={"Email": "zoe@obrien.ie"})
    opp = create_record(sales, "Opportunities", "  Website for Zoë  ", list_name="Qualifying",
                        tags=["Website", "SEO"], values={"Amount": "12,500", "Client": client},
                        assignee="admin", due_date="2026-07-01", description="Big one")
    item = show_record(sales, opp)
    assert {"id", "project", "title", "list", "tags", "assignee", "version", "fields",
            "referenced_by"} <= set(item)
    assert item["id"] == opp and item["project"] == "Opportunities"
    assert item["title"] == "Website for Zoë"  # trimmed
    assert item["list"] == "Qualifying"
    assert item["tags"] == ["SEO", "Website"]
    assert item["assignee"] == "admin"
    assert item["version"] == 1
    assert item["due_date"] == "2026-07-01" and item["description"] == "Big one"
    assert item["fields"]["Amount"] == "12500.00"
    assert item["fields"]["Client"] == {"id": client, "title": "Zoë O'Brien 张伟"}
    assert item["referenced_by"] == []
    assert show_record(sales, client)["title"] == "Zoë O'Brien 张伟"


def test_a_project_hides_the_default_fields_it_hides(sales):
    client = show_record(sales, create_record(sales, "Clients", "Acme", description="Agency in Paris"))
    assert "due_date" not in client and client["description"] == "Agency in Paris"
    assert "due_date" in show_record(sales, create_record(sales, "Opportunities", "Deal"))


def test_a_new_record_goes_to_the_first_list_at_its_end(sales):
    first = create_record(sales, "Opportunities", "First")
    second = create_record(sales, "Opportunities", "Second")
    won = create_record(sales, "Opportunities", "Closed", list_name="won")  # case-insensitive
    listed = list_records(sales, "Opportunities")
    assert [(r["title"], r["list"]) for r in listed] == [
        ("First", "Unqualified"), ("Second", "Unqualified"), ("Closed", "Won")]
    assert [r["id"] for r in listed] == [first, second, won]


def test_unknown_list_or_project_is_refused_and_nothing_written(sales):
    with pytest.raises(NotFoundError) as info:
        create_record(sales, "Opportunities", "Deal", list_name="Maybe later")
    assert "Maybe later" in str(info.value) and "Unqualified" in str(info.value)
    with pytest.raises(NotFoundError):
        create_record(sales, "Prospects", "Deal")
    assert Record.select().count() == 0 and Event.select().count() == 0


def test_update_changes_title_description_due_date_and_assignee(sales):
    bob = ensure_user("bob")
    rid = create_record(sales, "Opportunities", "Deal", due_date="2026-01-01")
    version = update_record(sales, rid, title="Better deal", description="notes", due_date="2026-02-01",
                            assignee="bob")
    item = show_record(sales, rid)
    assert version == 2 and item["version"] == 2
    assert (item["title"], item["description"], item["due_date"], item["assignee"]) == (
        "Better deal", "notes", "2026-02-01", bob.name)
    update_record(sales, rid, due_date=None, assignee=None)
    item = show_record(sales, rid)
    assert item["due_date"] is None and item["assignee"] is None and item["version"] == 3


def test_update_of_a_missing_record_is_refused(sales):
    with pytest.raises(NotFoundError):
        update_record(sales, 12345, title="Ghost")


def test_move_changes_list_and_resets_days_in_stage(sales):
    rid = create_record(sales, "Opportunities", "Deal")
    Record.update(list_entered_at=dt.datetime(2020, 1, 1)).where(Record.id == rid).execute()
    version = move_record(sales, rid, "Negotiation")
    row = Record.get_by_id(rid)
    assert version == 2 and show_record(sales, rid)["list"] == "Negotiation"
    assert row.list_entered_at > dt.datetime(2025, 1, 1)
    # moving to the list it is in already changes nothing
    assert move_record(sales, rid, "negotiation") == 2
    with pytest.raises(NotFoundError):
        move_record(sales, rid, "Nowhere")
    assert show_record(sales, rid)["list"] == "Negotiation"


def test_reorder_swaps_neighbours_in_a_list(sales):
    ids = [create_record(sales, "Opportunities", t) for t in ("A", "B", "C")]
    reorder_record(sales, ids[2], -1)
    assert [r["title"] for r in list_records(sales, "Opportunities")] == ["A", "C", "B"]
    reorder_record(sales, ids[0], +1)
    assert [r["title"] for r in list_records(sales, "Opportunities")] == ["C", "A", "B"]


def test_tags_are_added_once_and_removed(sales):
    rid = create_record(sales, "Opportunities", "Deal", tags=["seo"])
    assert show_record(sales, rid)["tags"] == ["SEO"]  # the existing tag, whatever the case typed
    assert tag_record(sales, rid, ["Website", "SEO", "Upsell"]) == ["Website", "Upsell"]
    assert show_record(sales, rid)["tags"] == ["SEO", "Upsell", "Website"]
    assert untag_record(sales, rid, ["seo"]) == ["SEO"]
    assert show_record(sales, rid)["tags"] == ["Upsell", "Website"]
    with pytest.raises(ValidationError) as info:
        untag_record(sales, rid, ["Nonexistent"])
    assert "Nonexistent" in str(info.value)
    assert show_record(sales, rid)["tags"] == ["Upsell", "Website"]


def test_archived_records_leave_lists_and_come_back(sales):
    keep = create_record(sales, "Opportunities", "Keep")
    gone = create_record(sales, "Opportunities", "Gone")
    assert archive_record(sales, gone) == 2
    assert [r["id"] for r in list_records(sales, "Opportunities")] == [keep]
    listed = list_records(sales, "Opportunities", include_archived=True)
    assert {r["id"]: r["archived"] for r in listed} == {keep: False, gone: True}
    assert restore_record(sales, gone) == 3
    assert [r["id"] for r in list_records(sales, "Opportunities")] == [keep, gone]


def test_an_archived_client_cannot_be_picked_by_title(sales):
    client = create_record(sales, "Clients", "Acme")
    archive_record(sales, client)
    with pytest.raises(ValidationError):
        create_record(sales, "Opportunities", "Deal", values={"Client": "Acme"})


def test_list_records_filters_by_list_tag_and_search(sales):
    acme = create_record(sales, "Clients", "Acme", values={"Email": "hello@acme.com"})
    create_record(sales, "Clients", "Globex", values={"Email": "buy@globex.example"})
    a = create_record(sales, "Opportunities", "Acme website", list_name="Won", tags=["Website"],
                      values={"Client": acme})
    b = create_record(sales, "Opportunities", "Acme SEO", list_name="Lost", tags=["SEO", "Website"])
    c = create_record(sales, "Opportunities", "Other", list_name="Won", tags=["SEO"])
    ids = lambda **kw: [r["id"] for r in list_records(sales, "Opportunities", **kw)]  # noqa: E731
    assert ids(list_name="Won") == [a, c]
    assert ids(tag="Website") == [a, b]
    assert ids(tag=["Website", "SEO"]) == [b]
    assert ids(search="acme") == [a, b]
    assert ids(search="ACME", list_name="Lost") == [b]
    assert ids(search="hello@acme") == [a]  # through the Client email lookup
    assert [r["title"] for r in list_records(sales, "Clients", search="globex.example")] == ["Globex"]
    with pytest.raises(NotFoundError):
        list_records(sales, "Opportunities", tag="Nope")


def test_list_records_limit_keeps_board_order(sales):
    for n in range(5):
        create_record(sales, "Opportunities", f"Deal {n}", list_name="Won" if n % 2 else "Unqualified")
    assert [r["title"] for r in list_records(sales, "Opportunities", limit=3)] == [
        "Deal 0", "Deal 2", "Deal 4"]


# ---------------------------------------------------------------------------------- optimistic locks

def test_update_with_the_current_version_succeeds(sales):
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10"})
    assert update_record(sales, rid, values={"Amount": "20"}, expect_version=1) == 2
    assert update_record(sales, rid, values={"Amount": "30"}, expect_version="2") == 3
    assert show_record(sales, rid)["fields"]["Amount"] == "30.00"


def test_stale_version_is_a_conflict_and_writes_nothing(sales):
    rid = create_record(sales, "Opportunities", "Deal", values={"Amount": "10", "Cost": "4"})
    update_record(sales, rid, values={"Cost": "5"}, expect_version=1)  # someone else's edit
    before = show_record(sales, rid)
    events = Event.select().count()
    with pytest.raises(ConflictError) as info:
        update_record(sales, rid, title="Mine", values={"Amount": "99"}, expect_version=1)
    assert f"#{rid}" in str(info.value)
    after = show_record(sales, rid)
    assert after == before
    assert after["title"] == "Deal" and after["fields"]["Amount"] == "10.00"
    assert after["fields"]["Profit"] == "5.00" and after["version"] == 2
    assert Event.select().count() == events


def test_stale_version_on_move_and_archive_is_a_conflict(sales):
    rid = create_record(sales, "Opportunities", "Deal")
    update_record(sales, rid, title="Deal v2")
    with pytest.raises(ConflictError):
        move_record(sales, rid, "Won", expect_version=1)
    with pytest.raises(ConflictError):
        archive_record(sales, rid, expect_version=1)
    item = show_record(sales, rid)
    assert item["list"] == "Unqualified" and item["archived"] is False and item["version"] == 2


def test_tags_never_conflict(sales):
    rid = create_record(sales, "Opportunities", "Deal")
    # someone opens the edit form at version 1; meanwhile others tag and untag the record
    tag_record(sales, rid, ["SEO", "Branding"])
    untag_record(sales, rid, ["Branding"])
    assert show_record(sales, rid)["version"] == 1
    # the form's save still goes through, and the tags stay
    assert update_record(sales, rid, values={"Amount": "100"}, expect_version=1) == 2
    item = show_record(sales, rid)
    assert item["tags"] == ["SEO"] and item["fields"]["Amount"] == "100.00"


def test_every_write_is_attributed_to_its_user(sales):
    bob = actor_for(ensure_user("bob"))
    rid = create_record(bob, "Opportunities", "Bob's deal")
    assert Record.get_by_id(rid).created_by_id == bob.id
    update_record(sales, rid, title="Admin's now")
    users = [e.user_id for e in Event.select().where(Event.record == rid).order_by(Event.id)]
    assert users == [bob.id, sales.id]

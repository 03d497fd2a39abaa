"""Record screen: a reference field holding several records is a list editor — ``a`` / enter adds with
the type-ahead picker, ``x`` / delete removes the highlighted one, ctrl+s saves it like any field."""

from __future__ import annotations

import pytest

from crm_tui.db.models import Record
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.projects import add_field
from crm_tui.domain.record_views import show_record
from crm_tui.tui.widgets.field_editors import ReferenceListInput

from tests.tui.tuihelpers import open_project, screen_text, settle


@pytest.fixture
def contacts(demo):
    """A "Contacts" field on Opportunities holding several Clients; returns two clients (A, B)."""
    add_field(demo, "Opportunities", "Contacts", "reference", target="Clients", multiple=True)
    clients = list(Record.select().where(Record.project == load_schema("Clients").id).order_by(Record.title))
    return clients[0], clients[-1]


async def pick(pilot, record) -> None:
    """In the open reference picker: narrow by the title, highlight ``record``, choose it."""
    await pilot.press(*record.title[:5])
    await settle(pilot)
    picker = pilot.app.screen
    while picker.matches[picker.query_one("#picker-options").highlighted][0] != record.id:
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_add_two_references_remove_the_first_and_save(demo, make_app, contacts, size):
    first, second = contacts
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        row = next(r for r in screen.rows if r.label == "Contacts")
        editor = row.editor
        assert isinstance(editor, ReferenceListInput)
        editor.focus()
        await pilot.pause()
        assert "(none) — a adds one" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        await pick(pilot, first)
        await pilot.press("enter")  # enter adds too
        await settle(pilot)
        assert first.id not in [rid for rid, _ in app.screen.matches]  # already listed: not offered again
        await pick(pilot, second)
        assert app.screen is screen
        assert row.raw() == [first.id, second.id]
        await pilot.pause()
        # one line per record, and the next row starts below the list (nothing overlaps)
        assert editor.region.height == 2
        following = screen.rows[screen.rows.index(row) + 1]
        assert following.region.y >= editor.region.bottom
        text = screen_text(app)
        assert first.title[:12] in text and second.title[:12] in text
        await pilot.press("up")  # the cursor is on the record just added: move to the first
        await pilot.press("x")
        await pilot.pause()
        assert row.raw() == [second.id]
        assert show_record(demo, record_id)["fields"]["Contacts"] == []  # nothing written before ctrl+s
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = show_record(demo, record_id)
        assert [r["id"] for r in saved["fields"]["Contacts"]] == [second.id]
        assert saved["version"] == 2
        reloaded = next(r for r in app.screen.rows if r.label == "Contacts")
        assert reloaded.raw() == [second.id] and not reloaded.changed


async def test_delete_removes_and_an_emptied_list_is_saved_empty(demo, make_app, contacts):
    from crm_tui.domain.records import update_record

    first, second = contacts
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        update_record(demo, record_id, values={"Contacts": [first.id, second.id]}, expect_version=1)
        await pilot.press("enter")
        await settle(pilot)
        row = next(r for r in app.screen.rows if r.label == "Contacts")
        assert row.raw() == [first.id, second.id]
        row.editor.focus()
        await pilot.press("down", "delete")  # the second one
        assert row.raw() == [first.id]
        await pilot.press("x")
        assert row.raw() == [] and row.changed
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert show_record(demo, record_id)["fields"]["Contacts"] == []


async def test_a_changed_list_meets_a_conflict_like_any_field(demo, make_app, contacts):
    from crm_tui.domain.records import update_record

    first, _ = contacts
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        await pilot.press("enter")
        await settle(pilot)
        row = next(r for r in app.screen.rows if r.label == "Contacts")
        row.editor.focus()
        await pilot.press("a")
        await settle(pilot)
        await pick(pilot, first)
        update_record(demo, record_id, values={"Amount": "1"},
                      expect_version=1)  # someone else saves meanwhile
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Someone else saved this record" in screen_text(app)
        assert show_record(demo, record_id)["fields"]["Contacts"] == []  # not written
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert [r["id"] for r in show_record(demo, record_id)["fields"]["Contacts"]] == [first.id]

"""Record editor: invalid input refused next to the field, valid input saved, conflicts shown,
referenced-by navigation, history, a new record."""

from __future__ import annotations

import pytest

from crm_tui.db.models import Event
from crm_tui.domain.record_views import show_record
from crm_tui.tui.screens.record import RecordScreen

from tests.tui.tuihelpers import open_project, screen_text, settle


def row_for(screen: RecordScreen, label: str):
    return next(r for r in screen.rows if r.label.rstrip(" ƒ") == label)


async def open_first_record(pilot):
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RecordScreen)
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_invalid_input_is_refused_then_valid_input_saved(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        record_id = app.screen.table.current_id
        screen = await open_first_record(pilot)
        email = row_for(screen, "Email")
        before = show_record(demo, record_id)["fields"]["Email"]
        email.editor.focus()
        email.editor.value = "not an email"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Email: 'not an email' is not valid" in email.error
        assert "is not valid" in screen_text(app)
        assert show_record(demo, record_id)["fields"]["Email"] == before  # nothing saved
        email.editor.value = "ana@example.com"
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = show_record(demo, record_id)
        assert saved["fields"]["Email"] == "ana@example.com"
        assert saved["version"] == 2
        assert Event.select().where((Event.record == record_id) & (Event.field_name == "Email")).count() == 1
        new_screen = app.screen
        assert row_for(new_screen, "Email").error == ""
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.table.rows[record_id].cells[app.screen.columns.index(
            next(c for c in app.screen.columns if c.label == "Email"))] == "ana@example.com"


async def test_every_editor_kind_on_an_opportunity(demo, make_app, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22")  # so ctrl+l copies, never opens a browser
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        screen = await open_first_record(pilot)
        kinds = {r.label.rstrip(" ƒ"): r.kind for r in screen.rows}
        assert kinds["Amount"] == "input" and kinds["Confidence"] == "rating"
        assert kinds["Client"] == "reference" and kinds["Deal source"] == "choice"
        assert kinds["Profit"] == "readonly" and kinds["Files received"] == "file"
        amount = row_for(screen, "Amount")
        amount.editor.focus()
        amount.editor.value = ""
        await pilot.press(*"a1x2,5")  # letters are refused as they are typed
        assert amount.editor.value == "12,5"
        amount.editor.value = "12500"
        confidence = row_for(screen, "Confidence")
        confidence.editor.focus()
        await pilot.press("5")
        assert confidence.raw() == 5
        source = row_for(screen, "Deal source")
        source.editor.focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*"Trad", "enter")
        await settle(pilot)
        assert source.raw() == "Trade show"
        url = row_for(screen, "Proposal URL")
        url.editor.focus()
        url.editor.value = "https://example.com/p/1"
        await pilot.press("ctrl+l")
        assert app.clipboard == "https://example.com/p/1"
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = show_record(demo, record_id)
        assert saved["fields"]["Amount"] == "12500.00"
        assert saved["fields"]["Confidence"] == 5
        assert saved["fields"]["Deal source"] == "Trade show"
        assert saved["fields"]["Proposal URL"] == "https://example.com/p/1"
        assert saved["fields"]["Profit"] is not None


async def test_conflicting_save_shows_both_values(demo, make_app):
    from crm_tui.domain.records import update_record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        record_id = app.screen.table.current_id
        screen = await open_first_record(pilot)
        update_record(demo, record_id, values={"Phone": "+1 555 0100"}, expect_version=1)  # someone else
        phone = row_for(screen, "Phone")
        phone.editor.focus()
        phone.editor.value = "+44 20 7946 0000"
        await pilot.press("ctrl+s")
        await settle(pilot)
        text = screen_text(app)
        assert "Someone else saved this record" in text
        assert "+1 555 0100" in text and "+44 20 7946 0000" in text
        assert show_record(demo, record_id)["fields"]["Phone"] == "+1 555 0100"  # not overwritten
        await pilot.press("ctrl+o")  # keep mine
        await settle(pilot)
        assert show_record(demo, record_id)["fields"]["Phone"] == "+44 20 7946 0000"


async def test_referenced_by_jumps_to_the_referring_record_and_history_is_listed(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        refs_col = next(i for i, c in enumerate(table.columns) if c.key == "refby")
        row = next(i for i, rid in enumerate(table.ids) if rid in table.rows and table.rows[rid].cells[refs_col])
        table.move_cursor(row=row)
        client_id = table.current_id
        screen = await open_first_record(pilot)
        referring = show_record(demo, client_id)["referenced_by"][0]
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "Referenced by" in screen_text(app) and referring["title"] in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen) and app.screen is not screen
        assert app.screen.record_id == referring["id"]
        await pilot.press("ctrl+t", "ctrl+t")
        await settle(pilot)
        assert "created" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_new_record_from_the_table(demo, make_app):
    from crm_tui.db.models import Record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecordScreen) and screen.record_id is None
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "a record needs a title" in row_for(screen, "Title").error
        row_for(screen, "Title").editor.value = "Zoë 张伟 Studio"
        await pilot.press("ctrl+s")
        await settle(pilot)
        record = Record.get(Record.title == "Zoë 张伟 Studio")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.table.current_id == record.id


async def test_reference_picker_types_ahead_over_the_target_project(demo, make_app):
    from crm_tui.db.models import Record
    from crm_tui.domain.project_schema import load_schema

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        screen = await open_first_record(pilot)
        client = row_for(screen, "Client")
        target = (Record.select().where(Record.project == load_schema("Clients").id)
                  .order_by(Record.title.desc()).first())
        client.editor.focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*target.title[:5])
        await settle(pilot)
        assert target.title in screen_text(app)
        picker = app.screen
        while picker.matches[picker.query_one("#picker-options").highlighted][0] != target.id:
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert client.raw() == target.id
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert show_record(demo, record_id)["fields"]["Client"]["id"] == target.id
        assert show_record(demo, record_id)["fields"]["Client name"] == target.title  # lookup followed

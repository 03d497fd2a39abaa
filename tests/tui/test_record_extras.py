"""Record screen: checklist (add, tick, remove), dependencies (add with the picker, remove) and
saving a stored attachment back out — each change checked in the database through the domain."""

from __future__ import annotations

import pytest

from crm_tui.domain.record_views import show_record
from crm_tui.tui.screens.record import RecordScreen, SavePathScreen

from tests.tui.tuihelpers import open_project, screen_text, settle


async def open_opportunity(pilot):
    await settle(pilot)
    await open_project(pilot, "Opportunities", "table")
    record_id = pilot.app.screen.table.current_id
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RecordScreen)
    return record_id, pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_checklist_add_toggle_remove(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        record_id, screen = await open_opportunity(pilot)
        before = show_record(demo, record_id)["checklist"]
        screen.query_one("#checklist").focus()
        await pilot.press("a")
        assert app.focused is screen.query_one("#checklist-new")
        await pilot.press(*"Send NDA", "enter")
        await settle(pilot)
        items = show_record(demo, record_id)["checklist"]
        assert [i["text"] for i in items] == [i["text"] for i in before] + ["Send NDA"]
        assert items[-1]["done"] is False
        checklist = screen.query_one("#checklist")
        checklist.focus()
        checklist.highlighted = len(items) - 1
        await pilot.press("space")
        await settle(pilot)
        assert show_record(demo, record_id)["checklist"][-1]["done"] is True
        assert "☑ Send NDA" in screen_text(app) or size == (80, 24)
        await pilot.press("space")
        await settle(pilot)
        assert show_record(demo, record_id)["checklist"][-1]["done"] is False
        await pilot.press("delete")
        await settle(pilot)
        assert [i["text"] for i in show_record(demo, record_id)["checklist"]] == [i["text"] for i in before]
        assert app.screen is screen


async def test_empty_checklist_item_is_refused(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        record_id, screen = await open_opportunity(pilot)
        before = show_record(demo, record_id)["checklist"]
        screen.query_one("#checklist-new").focus()
        await pilot.press("space", "enter")
        await settle(pilot)
        assert show_record(demo, record_id)["checklist"] == before


async def test_dependency_added_with_the_picker_and_removed(demo, make_app):
    from crm_tui.db.models import Record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        record_id, screen = await open_opportunity(pilot)
        project = Record.get_by_id(record_id).project_id
        other = (Record.select().where((Record.project == project) & (Record.id != record_id))
                 .order_by(Record.title.desc()).first())
        screen.query_one("#blocked-by").focus()
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*other.title[:6])
        await settle(pilot)
        picker = app.screen
        while picker.matches[picker.query_one("#picker-options").highlighted][0] != other.id:
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert {"id": other.id, "title": other.title} in show_record(demo, record_id)["blocked_by"]
        # the reverse would be a cycle: refused with a message, no traceback
        from crm_tui.domain.record_extras import add_dependency
        from crm_tui.errors import ValidationError
        with pytest.raises(ValidationError):
            add_dependency(demo, other.id, record_id)
        blocked = screen.query_one("#blocked-by")
        blocked.focus()
        blocked.highlighted = [b["id"] for b in show_record(demo, record_id)["blocked_by"]].index(other.id)
        await pilot.press("delete")
        await settle(pilot)
        assert other.id not in [b["id"] for b in show_record(demo, record_id)["blocked_by"]]


async def test_self_dependency_is_refused_with_a_message(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        record_id, screen = await open_opportunity(pilot)
        screen.change_extras("add_dependency", record_id, record_id)
        await settle(pilot)
        assert show_record(demo, record_id)["blocked_by"] == []
        assert any("cannot block itself" in str(n.message) for n in app._notifications)
        assert app.screen is screen


async def test_save_attachment_as(demo, make_app, tmp_path, monkeypatch):
    from crm_tui.domain.records import update_record

    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        source = tmp_path / "in" / "contract.pdf"
        source.parent.mkdir()
        source.write_bytes(b"%PDF-1.4 contract")
        version = show_record(demo, record_id)["version"]
        update_record(demo, record_id, values={"Files received": [str(source)]}, expect_version=version)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        row = next(r for r in screen.rows if r.label == "Files received")
        row.editor.focus()
        await pilot.press("ctrl+g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SavePathScreen)
        assert dialog.query_one("#save-path").value == "~/contract.pdf"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert (tmp_path / "contract.pdf").read_bytes() == b"%PDF-1.4 contract"
        assert any(str(tmp_path / "contract.pdf") in str(n.message) for n in app._notifications)
        # a path that cannot be written: a message, no traceback
        await pilot.press("ctrl+g")
        await settle(pilot)
        app.screen.query_one("#save-path").value = str(tmp_path / "missing" / "dir" / "x.pdf")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert any("could not write" in str(n.message) for n in app._notifications)

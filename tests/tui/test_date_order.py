"""The date order setting: picked from the palette with the keyboard, saved in the config file (TOML),
and used at once by the record editor's date inputs (03/04/2026 is 3 April under DMY)."""

from __future__ import annotations

import tomllib

import pytest

from crm_tui.config import config_path
from crm_tui.domain.record_views import show_record
from crm_tui.tui import settings
from crm_tui.tui.screens.record import RecordScreen
from crm_tui.tui.screens.settings import DateOrderScreen

from tests.tui.tuihelpers import open_project, screen_text, settle


def saved_settings() -> dict:
    with open(config_path(), "rb") as fh:
        return tomllib.load(fh)


async def open_date_order(pilot) -> DateOrderScreen:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*"Date order")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DateOrderScreen)
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_date_order_is_saved_and_read_by_the_record_editor(demo, make_app, size):
    settings.save_setting("theme", "dark")  # other settings are kept
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        record_id = app.screen.table.current_id
        await pilot.press("enter")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, RecordScreen) and app.date_order == "YMD"
        dialog = await open_date_order(pilot)
        text = screen_text(app)
        assert "03/04/2026 → 3 April 2026" in text and "03/04/2026 → 4 March 2026" in text
        await pilot.press("down", "enter")  # YMD → DMY
        await settle(pilot)
        assert app.screen is editor and dialog is not app.screen
        assert app.date_order == "DMY"
        assert saved_settings() == {"theme": "dark", "date_order": "DMY"}
        assert any("date order: DMY" in str(n.message) for n in app._notifications)
        close = next(r for r in editor.rows if r.label == "Expected close date")
        assert close.editor.placeholder.startswith("31/12/2026")  # the hint follows at once
        close.editor.focus()
        close.editor.value = "03/04/2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert show_record(demo, record_id)["fields"]["Expected close date"] == "2026-04-03"  # 3 April
        # MDY, with the vim keys this time: the same text is now 4 March
        await open_date_order(pilot)
        await pilot.press("j", "j", "enter")
        await settle(pilot)
        assert saved_settings()["date_order"] == "MDY"
        close = next(r for r in app.screen.rows if r.label == "Expected close date")
        close.editor.focus()
        close.editor.value = "03/04/2026"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert show_record(demo, record_id)["fields"]["Expected close date"] == "2026-03-04"


async def test_escape_keeps_the_date_order(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_date_order(pilot)
        await pilot.press("down", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, DateOrderScreen)
        assert app.date_order == "YMD"
        assert not config_path().exists()


async def test_the_saved_order_is_used_by_the_next_run(demo, make_app):
    settings.save_date_order("dmy")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.date_order == "DMY"
        dialog = await open_date_order(pilot)
        assert dialog.query_one("#date-orders").highlighted == 1  # the current order is highlighted


def test_date_order_setting_env_and_validation(monkeypatch):
    assert settings.date_order() == "YMD"
    settings.save_setting("date_order", "nonsense")
    assert settings.date_order() == "YMD"
    settings.save_date_order("mdy")
    assert settings.date_order() == "MDY"
    monkeypatch.setenv("CRM_TUI_DATE_ORDER", "dmy")
    assert settings.date_order() == "DMY"
    with pytest.raises(ValueError, match="expected one of YMD, DMY, MDY"):
        settings.save_date_order("DYM")

"""App shell: first run, command palette, help, themes, keymap, the entry point."""

from __future__ import annotations

import tomllib

import pytest

from crm_tui.config import config_path
from crm_tui.tui.screens.first_run import FirstRunScreen
from crm_tui.tui.screens.table import TableScreen

from tests.tui.tuihelpers import open_project, screen_text, settle


async def test_first_run_installs_the_template(make_app):
    from crm_tui.domain.projects import projects_summary

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        assert "Sales CRM template" in screen_text(app)
        await pilot.press("i")
        await settle(pilot)
        assert [p["name"] for p in projects_summary()] == ["Clients", "Opportunities", "Delivery", "Invoices"]
        assert isinstance(app.screen, TableScreen)
        assert app.screen.schema.name == "Clients"
        assert "no records yet" in screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_palette_opens_projects(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities")
        assert type(app.screen).__name__ == "BoardScreen"
        await open_project(pilot, "Clients")
        assert isinstance(app.screen, TableScreen)
        assert app.screen.schema.name == "Clients"
        header = screen_text(app).splitlines()[0]
        assert "Clients · table" in header and "admin" in header
        assert len(app.screen_stack) == 2  # projects replace each other


async def test_help_lists_the_bindings_with_ids(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "table.sort" in text and "table.down" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen)


async def test_theme_switch_is_saved(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "dark"
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Swit")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*"light")
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "light"
    with open(config_path(), "rb") as fh:
        assert tomllib.load(fh)["theme"] == "light"


async def test_theme_option_and_every_shipped_theme_loads(demo, make_app):
    app = make_app(theme="terminal-16")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "terminal-16"
        for name in ("dark", "light", "high-contrast", "terminal-16"):
            assert name in app.available_themes
        assert not config_path().exists()  # --theme is not a saved choice


async def test_keys_are_remapped_from_the_config(demo, make_app):
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('[keys]\n"table.sort" = "S"\n', encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        await pilot.press("s")
        await settle(pilot)
        assert (app.screen.sort_key, app.screen.descending) == ("title", False)
        await pilot.press("S")
        await settle(pilot)
        assert app.screen.descending is True
        assert table.ids[0] != sorted(table.ids)[0] or len(table.ids) < 2


def test_run_tui_creates_the_first_user_and_reports_unknown_users(sqlite_url, monkeypatch, capsys):
    from crm_tui.db.models import User
    from crm_tui.tui import app as app_module

    seen = {}

    def fake_run(self):
        seen["actor"] = self.actor.name
        return 0

    monkeypatch.setattr(app_module.CrmApp, "run", fake_run)
    assert app_module.run_tui(sqlite_url, "zoe") == 0
    assert seen["actor"] == "zoe" and User.get(User.name == "zoe").is_admin
    assert app_module.run_tui(sqlite_url, "mallory") == 3
    assert "unknown user 'mallory'" in capsys.readouterr().err

"""Automations in the app: the rules of a project from the palette (the template's presets, enable,
the rule editor, the run log), and the background tick — its interval, off by env, a firing that reaches
the header's unread count, and a failure shown once."""

from __future__ import annotations

import pytest

from crm_tui.domain.automations.rules import list_rules
from crm_tui.domain.record_views import list_records
from crm_tui.tui.automation_ticks import automation_interval

from tests.tui.tuihelpers import screen_text, settle

PRESETS = ["Deal aging alert", "Follow-up reminder", "New lead assignment", "Stage change notification"]


async def run_command(pilot, query: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*query)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def enabled(actor, project: str) -> dict[str, bool]:
    return {r["name"]: r["enabled"] for r in list_rules(project)}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_palette_lists_the_presets_and_enabling_one_works(demo, make_app, size):
    from crm_tui.tui.screens.automations import AutomationsScreen

    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await run_command(pilot, "Autom Opp")
        screen = app.screen
        assert isinstance(screen, AutomationsScreen) and screen.project == "Opportunities"
        text = screen_text(app)
        for name in PRESETS:
            assert name[:12] in text
        assert "0 of 4 enabled" in text
        await pilot.press("down", "down", "down")  # Stage change notification
        await pilot.press("space")
        await settle(pilot)
        assert "1 of 4 enabled" in screen_text(app)
        assert enabled(demo, "Opportunities")["Stage change notification"] is True
        await pilot.press("space")
        await settle(pilot)
        assert enabled(demo, "Opportunities")["Stage change notification"] is False
        await pilot.press("escape")
        await settle(pilot)
        await run_command(pilot, "Autom Cli")
        assert app.screen.project == "Clients" and "Client update notification"[:12] in screen_text(app)


async def test_rule_editor_and_run_log_open_from_the_rules(demo, make_app):
    from textual.widgets import TextArea

    from crm_tui.tui.screens.automations import AutomationsScreen, RuleEditorScreen, RunLogScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Autom Opp")
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, RuleEditorScreen)
        assert 'name = "Deal aging alert"' in app.screen.query_one(TextArea).text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AutomationsScreen)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, RunLogScreen)


async def test_the_background_tick_fires_a_rule_and_the_header_counts_it(demo, make_app):
    from crm_tui.domain.automations.rules import set_enabled
    from crm_tui.domain.records import move_record, update_record

    set_enabled(demo, "Opportunities", "Stage change notification", True)
    deal = list_records(demo, "Opportunities", limit=1)[0]
    update_record(demo, deal["id"], assignee="admin")
    target = "Contract to sign" if deal["list"] != "Contract to sign" else "Proposal sent"
    app = make_app(automations=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.unread == 0
        move_record(demo, deal["id"], target)
        for _ in range(40):
            await pilot.pause(0.1)
            if app.unread:
                break
        await settle(pilot)
        assert app.unread == 1
        assert "✉ 1" in screen_text(app).splitlines()[0]


async def test_a_failing_tick_is_shown_once_and_the_app_goes_on(demo, make_app, monkeypatch):
    from crm_tui.domain.automations import engine

    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("database is locked")

    monkeypatch.setattr(engine, "tick", broken)
    app = make_app(automations=0.05)
    said = []
    async with app.run_test(size=(80, 24)) as pilot:
        notify = app.notify
        app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]
        await settle(pilot)
        for _ in range(20):
            await pilot.pause(0.05)
            if len(calls) >= 3:
                break
        await settle(pilot)
        assert len(calls) >= 3
        assert app.is_running
        await pilot.press("question_mark")  # still answers keys
        await settle(pilot)
    failures = [m for m in said if m.startswith("automations:")]
    assert len(failures) == 1 and "database is locked" in failures[0]


async def test_no_tick_when_automations_are_off(demo, make_app, monkeypatch):
    from crm_tui.domain.automations import engine

    calls = []
    monkeypatch.setattr(engine, "tick", lambda *a, **kw: calls.append(1))
    app = make_app()  # CRM_TUI_AUTOMATIONS=off (conftest)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not any(timer for timer in app._timers if getattr(timer, "name", "") == "automation-ticks")
        await pilot.pause(0.2)
    assert calls == []


def test_automation_interval_from_env_and_config(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_TUI_AUTOMATIONS", "off")
    assert automation_interval({"automations": {"interval": 5}}) is None
    monkeypatch.setenv("CRM_TUI_AUTOMATIONS", "12")
    assert automation_interval({}) == 12.0
    monkeypatch.delenv("CRM_TUI_AUTOMATIONS")
    assert automation_interval({}) == 30.0
    assert automation_interval({"automations": {"interval": 5}}) == 5.0
    assert automation_interval({"automations": {"interval": "soon"}}) == 30.0
    assert automation_interval({"automations": {"enabled": False}}) is None
    (tmp_path / "config.toml").write_text("[automations]\ninterval = 7\n")
    monkeypatch.setenv("CRM_TUI_CONFIG", str(tmp_path / "config.toml"))
    assert automation_interval() == 7.0

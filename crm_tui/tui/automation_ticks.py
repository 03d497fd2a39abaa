"""The background tick that runs the automations while the app is open: every N seconds
(``CRM_TUI_AUTOMATIONS``, config ``[automations] interval``, default 30) the engine's ``tick`` runs
in a thread worker, so it never blocks input. A failing tick is logged and posts
``AutomationsFailed`` (the app shows it once); the next tick runs as usual.

Its own module, without the automation screens' widgets, because the app starts it at start-up.
"""

from __future__ import annotations

import logging

from textual.message import Message

from .dbwork import db_session

log = logging.getLogger("crm_tui.automations.tui")


def tick_interval(settings: dict | None = None) -> float:
    """Seconds between ticks in the TUI: ``[automations] interval`` in the settings (default 30)."""
    from .. import config

    section = (settings if settings is not None else config.load_settings()).get("automations", {}) or {}
    try:
        return max(float(section.get("interval", 30)), 1.0)
    except (TypeError, ValueError):
        return 30.0


OFF = ("off", "0", "false", "no", "none")


def automation_interval(settings: dict | None = None) -> float | None:
    """Seconds between ticks in the TUI, or None when the app should not run automations:
    ``CRM_TUI_AUTOMATIONS`` (``off``, or a number of seconds) over ``[automations]`` in the settings
    (``enabled = false``; ``interval``, default 30). Tests set ``CRM_TUI_AUTOMATIONS=off``."""
    import os

    env = os.environ.get("CRM_TUI_AUTOMATIONS", "").strip().lower()
    if env in OFF:
        return None
    try:
        return max(float(env), 1.0)
    except ValueError:  # "on" or anything else: the configured interval
        pass
    return _configured_interval(settings)


def _configured_interval(settings: dict | None) -> float | None:
    from .. import config

    settings = settings if settings is not None else config.load_settings()
    section = settings.get("automations", {}) or {}
    if isinstance(section, dict) and section.get("enabled") is False:
        return None
    return tick_interval(settings)


def start_automation_ticks(app, seconds: float | None = None):
    """Run the automations every ``seconds`` in a thread worker while ``app`` is open; returns the timer.
    A tick starts only when the previous one has ended (a thread cannot be cancelled half-way); with
    several users' apps open on one database the ledger keeps every firing single."""

    def run_tick() -> None:
        if any(w.group == "automation-ticks" and w.is_running for w in app.workers):
            return
        _tick_worker(app)

    return app.set_interval(seconds or tick_interval(), run_tick, name="automation-ticks")


def _tick_worker(app) -> None:
    def body():
        from ..domain.automations.engine import tick

        try:
            with db_session():
                result = tick()
        except Exception as exc:  # noqa: BLE001 - the TUI outlives a failing tick
            log.warning("automation tick failed: %s", exc)
            app.post_message(AutomationsFailed(f"{type(exc).__name__}: {exc}"))
            return
        if result.fired or result.reminders:
            app.post_message(AutomationsTicked(result.as_dict()))

    app.run_worker(body, thread=True, exclusive=True, group="automation-ticks", exit_on_error=False)


class AutomationsFailed(Message):
    """A background tick raised (the database went away…): the app says so once, and ticks on."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class AutomationsTicked(Message):
    """A background tick fired something: refresh the unread count, the open record…"""

    def __init__(self, result: dict) -> None:
        super().__init__()
        self.result = result

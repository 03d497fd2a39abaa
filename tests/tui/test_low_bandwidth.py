"""The low-bandwidth mode: from ``--low-bandwidth``, ``CRM_TUI_LOW_BANDWIDTH`` or the config file, toggled
and saved from the palette; in force as a lower frame rate on every screen, slower polls, a still loading
indicator, the import's progress bar moving at most once a second, the terminal's mouse-motion and focus
reports off, and ``lb`` in the header where it fits."""

from __future__ import annotations

import tomllib

import pytest
import textual.screen
from textual.widgets import Input, LoadingIndicator, ProgressBar, Select

from crm_tui import cli
from crm_tui.config import config_path
from crm_tui.tui import settings
from crm_tui.tui.app import (LOW_BANDWIDTH_FPS, LOW_BANDWIDTH_POLL_SECONDS, LOW_BANDWIDTH_TERMINAL_MODES,
                             NORMAL_TERMINAL_MODES, POLL_SECONDS, CrmApp, QuietTerminal)
from crm_tui.tui.screens.import_wizard import ImportFinished, ImportProgressed, ImportWizard, ProgressThrottle

from tests.tui.tuihelpers import screen_text, settle

LOW_PERIOD = 1 / LOW_BANDWIDTH_FPS
NORMAL_PERIOD = textual.screen.UPDATE_PERIOD  # Textual's: 1 / TEXTUAL_FPS (60)


def saved_settings() -> dict:
    with open(config_path(), "rb") as fh:
        return tomllib.load(fh)


def frame_period(screen) -> float:
    return screen._update_timer._interval


def poll_timer(screen):
    """The project view's change poll (``set_interval(app.poll_seconds, self.poll)``)."""
    return next(t for t in screen._timers if getattr(t, "_callback", None) == screen.poll)


def header_line(app) -> str:
    return screen_text(app).splitlines()[0]


# -- where the setting comes from ------------------------------------------------------------------

def test_setting_from_config_env_and_flag(monkeypatch):
    monkeypatch.delenv("CRM_TUI_LOW_BANDWIDTH", raising=False)
    assert settings.low_bandwidth() is False
    settings.save_setting("low_bandwidth", True)
    assert settings.low_bandwidth() is True
    monkeypatch.setenv("CRM_TUI_LOW_BANDWIDTH", "0")  # the env overrides the saved choice, both ways
    assert settings.low_bandwidth() is False
    settings.save_setting("low_bandwidth", False)
    for value in ("1", "true", "YES", "on"):
        monkeypatch.setenv("CRM_TUI_LOW_BANDWIDTH", value)
        assert settings.low_bandwidth() is True
    monkeypatch.setenv("CRM_TUI_LOW_BANDWIDTH", "maybe")  # meaningless: counts as unset
    assert settings.low_bandwidth() is False
    monkeypatch.setenv("CRM_TUI_LOW_BANDWIDTH", "0")
    assert settings.low_bandwidth(True) is True  # --low-bandwidth wins
    settings.save_setting("low_bandwidth", "nonsense")
    monkeypatch.delenv("CRM_TUI_LOW_BANDWIDTH")
    assert settings.low_bandwidth() is False


def test_cli_global_option_reaches_run_tui(admin_actor, sqlite_url, monkeypatch):
    assert cli.command_word(["--low-bandwidth"]) is None  # the app: no need to build every sub-parser
    assert cli.command_word(["--low-bandwidth", "--theme", "light", "demo"]) == "demo"
    assert cli.build_parser(None).parse_args(["--low-bandwidth"]).low_bandwidth is True
    assert cli.build_parser(None).parse_args([]).low_bandwidth is None  # None: the env, then the config
    assert cli.build_parser("demo").parse_args(["demo", "--low-bandwidth"]).low_bandwidth is True
    assert cli.build_parser("demo").parse_args(["--low-bandwidth", "demo"]).low_bandwidth is True
    assert "--low-bandwidth" in cli.build_parser().format_help()

    import crm_tui.tui.app as tui_app

    calls = []
    monkeypatch.setattr(tui_app, "run_tui", lambda *args, **kwargs: calls.append(kwargs) or 0)
    assert cli.main(["--db", sqlite_url, "--user", "admin", "--low-bandwidth"]) == 0
    assert cli.main(["--db", sqlite_url, "--user", "admin"]) == 0
    assert [c["low_bandwidth"] for c in calls] == [True, None]


# -- in force ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_saved_setting_slows_frames_and_polls(demo, make_app, size):
    settings.save_setting("low_bandwidth", True)
    app = make_app(poll_seconds=None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.low_bandwidth is True
        assert app.poll_seconds == LOW_BANDWIDTH_POLL_SECONDS == 15
        table = app.screen
        assert type(table).__name__ == "TableScreen"
        assert frame_period(table) == pytest.approx(LOW_PERIOD)
        assert poll_timer(table)._interval == 15
        assert app._unread_timer._interval == 15
        assert poll_timer(table)._interval == 15  # the open table polls at the new rate at once
        assert header_line(app).rstrip().endswith("lb  admin")
        # a screen pushed later gets the same frame rate
        await pilot.press("question_mark")
        await settle(pilot)
        assert app.screen is not table and frame_period(app.screen) == pytest.approx(LOW_PERIOD)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_normal_mode_keeps_textual_defaults(demo, make_app, size):
    app = make_app(poll_seconds=None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.low_bandwidth is False and app.poll_seconds == POLL_SECONDS == 3
        assert frame_period(app.screen) == NORMAL_PERIOD
        assert poll_timer(app.screen)._interval == 3
        assert " lb " not in header_line(app)


async def test_env_and_argument_turn_it_on(demo, make_app, monkeypatch):
    monkeypatch.setenv("CRM_TUI_LOW_BANDWIDTH", "1")
    assert make_app().low_bandwidth is True
    monkeypatch.setenv("CRM_TUI_LOW_BANDWIDTH", "0")
    assert make_app().low_bandwidth is False
    app = make_app(low_bandwidth=True)  # what run_tui passes for --low-bandwidth
    assert app.low_bandwidth is True
    assert app.poll_seconds == 3600  # an explicit interval (the tests') is kept


async def test_the_mark_gives_way_to_the_place(demo, make_app):
    settings.save_setting("low_bandwidth", True)
    app = make_app()
    async with app.run_test(size=(30, 12)) as pilot:
        await settle(pilot)
        assert app.low_bandwidth and " lb " not in header_line(app)


# -- the palette ---------------------------------------------------------------------------------

async def toggle_from_palette(pilot) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*"Low-bandwidth")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_palette_toggles_and_saves(demo, make_app, size):
    settings.save_setting("theme", "dark")  # other settings are kept
    app = make_app(poll_seconds=None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Low-bandwidth")
        await settle(pilot)
        assert "now off" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is table
        assert app.low_bandwidth is True
        assert saved_settings() == {"theme": "dark", "low_bandwidth": True}
        assert any("low-bandwidth mode: on (saved)" in str(n.message) for n in app._notifications)
        assert frame_period(table) == pytest.approx(LOW_PERIOD)
        assert app._unread_timer._interval == 15
        assert header_line(app).rstrip().endswith("lb  admin")
        # it still paints: a cursor move shows
        before = table.table.current_id
        await pilot.press("down")
        await settle(pilot)
        assert table.table.current_id != before

        await toggle_from_palette(pilot)
        assert app.low_bandwidth is False
        assert saved_settings() == {"theme": "dark", "low_bandwidth": False}
        assert frame_period(table) == NORMAL_PERIOD
        assert app._unread_timer._interval == 3
        assert " lb " not in header_line(app)


async def test_the_next_run_reads_the_saved_choice(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await toggle_from_palette(pilot)
    assert saved_settings()["low_bandwidth"] is True
    assert make_app().low_bandwidth is True


# -- nothing animates ----------------------------------------------------------------------------

async def test_loading_indicators_stand_still(demo, make_app):
    app = make_app(low_bandwidth=True)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        table = app.screen.table
        table.loading = True
        await settle(pilot)
        indicator = table._cover_widget  # a loading widget covers the table, outside the DOM
        assert isinstance(indicator, LoadingIndicator) and indicator.auto_refresh is None
        assert "Loading" in screen_text(app)
        table.loading = False
        app.notify("a toast still shows", severity="error")  # errors matter: toasts stay
        await settle(pilot)
        assert "a toast still shows" in screen_text(app)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette_indicator = app.screen.query_one(LoadingIndicator)  # shown when a search is slow
        assert palette_indicator.auto_refresh is None
        assert all(not box.cursor_blink for box in app.screen.query(Input))


def test_progress_throttle():
    now = [100.0]
    throttle = ProgressThrottle(1.0, clock=lambda: now[0])
    assert throttle.wait() == 0  # nothing shown yet: at once
    throttle.shown()
    now[0] += 0.25
    assert throttle.wait() == pytest.approx(0.75)
    now[0] += 0.75
    assert throttle.wait() == 0
    unthrottled = ProgressThrottle(0.0, clock=lambda: now[0])
    unthrottled.shown()
    assert unthrottled.wait() == 0  # the normal mode: every update shows


async def test_wizard_progress_moves_at_most_once_per_interval(demo, make_app):
    app = make_app(low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(ImportWizard("Clients"))
        await settle(pilot)
        wizard = app.screen
        assert not wizard.query_one("#path", Input).cursor_blink  # idle on the wizard: 0 bytes
        bar = wizard.query_one("#progress", ProgressBar)
        assert bar.query_one("#bar").auto_refresh is None  # no "indeterminate" animation timer
        wizard.progress_throttle = ProgressThrottle(0.3, clock=lambda: 0.0)  # the timers wait in real time
        for done in (10, 20, 30):
            wizard.post_message(ImportProgressed(done, 100))
        await settle(pilot)
        assert bar.progress == 10  # the first at once; the others wait for the interval
        await pilot.pause(0.45)
        assert bar.progress == 30  # then only the newest
        wizard.progress_throttle.interval = 60
        wizard.post_message(ImportProgressed(40, 100))
        await settle(pilot)
        assert bar.progress == 30 and wizard._progress_timer is not None

        class Report:
            created, updated, unchanged, rejected, rejects_file = 100, 0, 0, 0, None

        wizard.post_message(ImportFinished(Report()))  # the end shows at once; the held update is dropped
        await settle(pilot)
        assert bar.percentage == 1
        await pilot.pause(0.4)
        assert bar.percentage == 1 and wizard._progress_timer is None


async def test_low_bandwidth_import_still_completes(demo, make_app, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("Company,Email\nLow Band One,one@example.com\nLow Band Two,two@example.com\n",
                    encoding="utf-8")
    app = make_app(low_bandwidth=True)
    results = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(ImportWizard("Clients", str(path)), results.append)
        await settle(pilot)
        wizard = app.screen
        await pilot.press("ctrl+n")
        await settle(pilot)
        wizard.query_one("#map-0", Select).value = "title"
        for _ in range(2):  # mapping → preview → run
            await pilot.press("ctrl+n")
            await settle(pilot)
        assert wizard.step == "run" and wizard.result is not None
        assert wizard.result.created == 2
        assert wizard.query_one("#progress", ProgressBar).percentage == 1
        assert "Imported: 2 created" in screen_text(app)


# -- the terminal's reports ----------------------------------------------------------------------

class FakeDriver:
    def __init__(self, app, mouse: bool = True) -> None:
        self._app, self._mouse, self.out = app, mouse, []

    def start_application_mode(self) -> None:
        self.out.append("<textual start>")

    def stop_application_mode(self) -> None:
        self.out.append("<textual stop>")

    def write(self, data: str) -> None:
        self.out.append(data)

    def flush(self) -> None:
        pass


class Quiet(QuietTerminal, FakeDriver):
    pass


def test_terminal_reports_off_in_low_bandwidth():
    class App:
        low_bandwidth = True

    driver = Quiet(App())
    driver.start_application_mode()
    assert driver.out == ["<textual start>", LOW_BANDWIDTH_TERMINAL_MODES]
    assert "\x1b[?1003l" in LOW_BANDWIDTH_TERMINAL_MODES and "\x1b[?1002h" in LOW_BANDWIDTH_TERMINAL_MODES
    assert "\x1b[?1004l" in LOW_BANDWIDTH_TERMINAL_MODES
    driver.set_low_bandwidth(False)  # from the palette: Textual's modes again
    assert driver.out[-1] == NORMAL_TERMINAL_MODES and "\x1b[?1003h" in NORMAL_TERMINAL_MODES
    driver.stop_application_mode()
    assert driver.out[-2:] == ["\x1b[?1002l", "<textual stop>"]

    App.low_bandwidth = False
    normal = Quiet(App())
    normal.start_application_mode()
    assert normal.out == ["<textual start>"]  # the normal mode: Textual's driver as it is
    no_mouse = Quiet(App(), mouse=False)
    no_mouse.set_low_bandwidth(True)
    assert no_mouse.out == ["\x1b[?1004l"]


def test_the_app_uses_the_quiet_driver(admin_actor, sqlite_url):
    from textual.drivers.linux_driver import LinuxDriver

    driver_class = CrmApp(sqlite_url, admin_actor).driver_class
    assert issubclass(driver_class, QuietTerminal) and issubclass(driver_class, LinuxDriver)

"""The crm-tui application: wiring only — themes, keymap, the project list, which screen opens.

>>> raise SystemExit(run_tui("sqlite:///crm.db", "alice", theme="light"))

| key        | action                                   | binding id     |
| ---------- | ---------------------------------------- | -------------- |
| ctrl+p     | command palette (projects, views, actions) | app.palette  |
| ?          | keys of the current screen               | app.help       |
| ctrl+q     | quit at once, from anywhere              | app.quit       |
| ,          | settings of the project in view (table, board) | app.settings |
| i          | notifications inbox (again: close it)    | app.inbox      |

Besides the screens, the app runs two light timers: every ``poll_seconds`` a thread worker counts the
acting user's unread notifications (one indexed COUNT; the header repaints only when the number
changes), and every ``[automations] interval`` seconds (default 30; ``CRM_TUI_AUTOMATIONS=off`` or a
number of seconds) the automation tick runs in a thread worker.

The low-bandwidth mode (``--low-bandwidth``, ``CRM_TUI_LOW_BANDWIDTH=1``, ``low_bandwidth = true``, or
the palette's "Low-bandwidth mode", which saves the choice) sends only what a key press must change,
and less of that: at most ``LOW_BANDWIDTH_FPS`` frames a second (changes that come faster — key
repeat, typing in the palette — go out merged), the polls every ``LOW_BANDWIDTH_POLL_SECONDS``, mouse
motion reported by the terminal only while a button is held, and no focus-in/-out reports (each one
repainted the whole screen). The header shows ``lb`` while it is on (where there is room).
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import textual.screen
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import LoadingIndicator

from ..errors import CrmError
from . import settings
from .commands import CrmCommands
from .dbwork import cancelled, db_session
from .screens.help import HelpScreen
from .screens.picker import ChoiceScreen
from .themes import load_themes


POLL_SECONDS = 3.0  # the unread count and the project views' change check
LOW_BANDWIDTH_POLL_SECONDS = 15.0  # a change by someone else shows later, and the link stays quiet
LOW_BANDWIDTH_FPS = 12  # frames a second at most in the low-bandwidth mode (Textual's default: 60)
# Mouse: any-motion tracking (1003) off, button-event tracking (1002) on — clicks, the wheel and drags
# still arrive, bare motion over the window does not; focus-in/-out reports (1004) off.
LOW_BANDWIDTH_TERMINAL_MODES = "\x1b[?1003l\x1b[?1002h\x1b[?1004l"
NORMAL_TERMINAL_MODES = "\x1b[?1002l\x1b[?1000h\x1b[?1003h\x1b[?1004h"  # what Textual sets up


class QuietTerminal:
    """Mixed into Textual's terminal driver (``CrmApp.get_driver_class``): in the low-bandwidth mode the
    terminal reports no bare mouse motion (Textual asks for every move: a sweep over 80 cells of the
    table and key hints sent 0.9 KB up and 5 KB of hover repaints down) and no focus changes (a window
    switch, out and back, repainted the whole screen twice: 9 KB at 80×24). Otherwise it is
    Textual's driver."""

    def start_application_mode(self) -> None:
        super().start_application_mode()
        if getattr(self._app, "low_bandwidth", False):  # also after a resume from ctrl+z
            self.set_low_bandwidth(True)

    def stop_application_mode(self) -> None:
        self.write("\x1b[?1002l")  # Textual turns off the modes it set; this one is ours
        super().stop_application_mode()

    def set_low_bandwidth(self, on: bool) -> None:
        modes = LOW_BANDWIDTH_TERMINAL_MODES if on else NORMAL_TERMINAL_MODES
        if not self._mouse:  # the app runs without the mouse: only the focus reports change
            modes = modes[modes.index("\x1b[?1004"):]
        self.write(modes)
        self.flush()


class StillLoadingIndicator(LoadingIndicator):
    """Textual's loading indicator without its refresh timer: with ``animation_level`` "none" it
    shows a still "Loading...", which it repainted 16 times a second all the same."""

    @property
    def auto_refresh(self) -> None:
        return None

    @auto_refresh.setter
    def auto_refresh(self, interval) -> None:
        pass  # LoadingIndicator asks for 1/16 s on mount: no timer


def workspace_name(db_url: str) -> str:
    """What the header calls the database: the file name, or the PostgreSQL database name."""
    tail = db_url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return Path(tail).stem or "crm"


class ProjectsLoaded(Message):
    def __init__(self, projects: list[dict], first_run: bool, dashboards: list[str] | None = None,
                 unread: int | None = None) -> None:
        super().__init__()
        self.projects = projects
        self.first_run = first_run
        self.dashboards = dashboards
        self.unread = unread


class DashboardsLoaded(Message):
    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class UnreadCounted(Message):
    """The acting user's unread notifications (posted only when the number changed)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


class ExportFinished(Message):
    def __init__(self, project: str, path: Path, count: int) -> None:
        super().__init__()
        self.project, self.path, self.count = project, path, count


class ScreenReady(Message):
    """A project view whose data was read before it is shown (so it paints once). At start-up it
    also carries the project list (without record counts: those are read after the first paint)."""

    def __init__(self, project_id: int, view: str, data, projects: list[dict] | None = None) -> None:
        super().__init__()
        self.project_id, self.view, self.data, self.projects = project_id, view, data, projects


class CrmApp(App[int]):
    """The terminal CRM. ``actor`` is who acts (``crm_tui.domain.actors.Actor``)."""

    CSS_PATH = "app.tcss"
    TITLE = "crm-tui"
    COMMANDS = {CrmCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False),
        Binding("ctrl+p", "command_palette", "Palette", id="app.palette", priority=True, show=False),
        Binding("question_mark", "help", "Keys", id="app.help", key_display="?"),
        Binding("ctrl+c", "help_quit", show=False, system=True, id="app.ctrl_c"),
        Binding("comma", "project_settings", "Settings", id="app.settings", key_display=",", show=False),
        Binding("i", "inbox", "Notifications", id="app.inbox", show=False),
    ]

    def __init__(self, db_url: str, actor, *, theme: str | None = None, poll_seconds: float | None = None,
                 automations: float | bool | None = None, first_view: Future | None = None,
                 low_bandwidth: bool | None = None):
        """``poll_seconds``: how often the unread count and the project in view are checked; None: 3 s,
        15 s in the low-bandwidth mode. ``automations``: seconds between automation ticks, False for
        none, None for the config (``CRM_TUI_AUTOMATIONS``, ``[automations]``). ``first_view``: the
        first screen's data being read already (``read_first_view``), else the app reads it.
        ``low_bandwidth``: True for ``--low-bandwidth``; None for the env / the saved choice."""
        super().__init__()
        self.first_view = first_view
        self.db_url = db_url
        self.actor = actor
        self.workspace = workspace_name(db_url)
        self.low_bandwidth = settings.low_bandwidth(low_bandwidth)
        self._poll_seconds = poll_seconds
        self._unread_timer = None
        self.automations = automations
        self.projects: list[dict] = []
        self.dashboards: list[str] = []  # names the actor may see, for the palette
        self.unread = 0  # the actor's unread notifications, for the header and the palette
        self._tick_errors: set[str] = set()
        self._first_painted = False  # see _after_first_paint
        self._first_view_awaited = False
        self.date_order = settings.date_order()
        self.shipped_themes: list[str] = []
        self.theme_problems: list[str] = []
        self.animation_level = "none"  # nothing animates over a slow link
        self._use_theme(settings.theme_name(theme))

    @property
    def poll_seconds(self) -> float:
        """Seconds between the checks for changes made elsewhere (unread count, the project in view)."""
        if self._poll_seconds is not None:
            return self._poll_seconds
        return LOW_BANDWIDTH_POLL_SECONDS if self.low_bandwidth else POLL_SECONDS

    @property
    def frame_period(self) -> float:
        """Seconds between two repaints of a screen, at least (Textual's: 1/60, or 1/``TEXTUAL_FPS``)."""
        textual_period = textual.screen.UPDATE_PERIOD
        return max(1 / LOW_BANDWIDTH_FPS, textual_period) if self.low_bandwidth else textual_period

    def get_driver_class(self):
        driver = super().get_driver_class()
        try:
            from textual.drivers.linux_driver import LinuxDriver
        except ImportError:  # Windows: its console driver is left as it is
            return driver
        if issubclass(driver, LinuxDriver) and not issubclass(driver, QuietTerminal):
            return type(f"Quiet{driver.__name__}", (QuietTerminal, driver), {})
        return driver

    def get_loading_widget(self):
        return StillLoadingIndicator()

    def _use_theme(self, requested: str) -> None:
        """Register the theme files and pick one — before the first paint, so it paints once."""
        themes, problems = load_themes()
        for theme in themes:
            self.register_theme(theme)
        self.shipped_themes = [theme.name for theme in themes]
        if requested not in self.available_themes:
            problems.append(f"unknown theme {requested!r}; themes: " + ", ".join(self.shipped_themes))
            requested = settings.DEFAULT_THEME
        self.theme_problems = problems
        # Not `self.theme = …`: its watcher schedules a re-parse of every stylesheet, which at start-up
        # (nothing parsed or styled yet) only doubled the CSS work before the first paint (~20 ms).
        self.set_reactive(App.theme, requested)
        dark = self.current_theme.dark
        self.update_classes({f"-theme-{requested}": True, "-dark-mode": dark, "-light-mode": not dark},
                            update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    # -- start-up -----------------------------------------------------------------------------

    def on_load(self) -> None:
        # before the terminal is even set up: the first screen's data is read while Textual starts
        if self.first_view is None:
            self.first_view = start_first_view(self.actor)
        self._first_view_awaited = not self.first_view.done()
        if self._first_view_awaited:
            self.await_first_view()

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._pace, immediate=True)
        self._pace(self.screen)
        keymap = settings.keymap()
        if keymap:
            self.set_keymap(keymap)
        for problem in self.theme_problems:
            self.notify(problem, severity="warning")
        if not self._first_view_awaited:
            # read before the app started: the first frame is the project's screen, not a blank one
            self._first_view_read(self.first_view)

    def open_first_project(self) -> None:
        """Show the first project (the first-run screen, once it installed the template), and read
        the palette's data again."""
        self.first_view = start_first_view(self.actor)
        self.await_first_view()
        self.load_projects()

    @work(thread=True, exclusive=True, group="first-view", exit_on_error=False)
    def await_first_view(self) -> None:
        """The start-up read was slower than the app's start (a locked or distant database): wait."""
        wait([self.first_view])
        self.call_from_thread(self._first_view_read, self.first_view)

    def _first_view_read(self, future: Future) -> None:
        try:
            projects, ready = future.result()
        except Exception as exc:  # noqa: BLE001 - shown as a message, as a failed worker's would be
            self.report(exc)
            return
        if ready is None:  # no project: the first-run screen
            self.post_message(ProjectsLoaded(projects, first_run=True))
        else:
            self._screen_ready(ScreenReady(*ready, projects=projects))

    def _after_first_paint(self) -> None:
        """What the first screen does not need: the palette's data (record counts, dashboards, unread
        count), the unread poll and the automation ticks. Started once the first screen is on the
        terminal, so its imports and queries do not compete with the first paint."""
        if self._first_painted:
            return
        self._first_painted = True
        self.load_projects()
        self._unread_timer = self.set_interval(self.poll_seconds, self._poll_unread, name="unread-count")
        self._start_automations()

    # -- low bandwidth ------------------------------------------------------------------------

    def _pace(self, screen) -> None:
        """Give ``screen`` the app's frame rate. Textual repaints a screen from a timer of its own
        (started at the first change after idle: one change paints at once, the ones that follow within
        the period go out together at its end). Its period comes from ``TEXTUAL_FPS``, read once at
        import for every app of the process; this sets it per screen, so it follows the setting while
        the app runs (called for every screen shown, and for all when the setting changes)."""
        period = self.frame_period
        old = getattr(screen, "_Screen__update_timer", None)
        if old is None and period == textual.screen.UPDATE_PERIOD:
            return  # Textual makes its own at the default rate
        if old is not None and old._interval == period:
            return
        screen._Screen__update_timer = screen.set_interval(period, screen._on_timer_update,
                                                           name="screen_update", pause=True)
        if old is not None:
            old.stop()
            screen.check_idle()  # a change that waited for the old timer is painted by the new one

    def set_low_bandwidth(self, on: bool) -> None:
        """Turn the low-bandwidth mode on or off while the app runs: the frame rate of every screen,
        the unread poll, the terminal's mouse and focus reports and the header's ``lb`` follow at once;
        a project view polls at the new rate from its next opening (or at once, if it has a
        ``poll_seconds_changed`` hook)."""
        if on == self.low_bandwidth:
            return
        self.low_bandwidth = on
        for screen in self.screen_stack:
            self._pace(screen)
            hook = getattr(screen, "poll_seconds_changed", None)
            if callable(hook):
                hook(self.poll_seconds)
        if self._unread_timer is not None:
            self._unread_timer.stop()
            self._unread_timer = self.set_interval(self.poll_seconds, self._poll_unread, name="unread-count")
        driver = getattr(self, "_driver", None)
        if isinstance(driver, QuietTerminal):
            driver.set_low_bandwidth(on)
        self._refresh_headers()

    def action_toggle_low_bandwidth(self) -> None:
        """The palette's "Low-bandwidth mode": switch it, and save the choice in the config file."""
        on = not self.low_bandwidth
        self.set_low_bandwidth(on)
        state = "on" if on else "off"
        try:
            settings.save_setting("low_bandwidth", on)
        except OSError as exc:
            self.notify(f"low-bandwidth mode {state}, but not saved to {settings.config_path()}: "
                        f"{exc.strerror or exc}", severity="error", timeout=8)
            return
        self.notify(f"low-bandwidth mode: {state} (saved)")

    def _start_automations(self) -> None:
        from .automation_ticks import automation_interval, start_automation_ticks

        seconds = self.automations
        if seconds is None:
            seconds = automation_interval()
        elif seconds is True:
            seconds = automation_interval({}) or 30.0
        if seconds:
            start_automation_ticks(self, float(seconds))

    def save_theme(self, name: str) -> None:
        """Remember ``name`` in the config file (a ``--theme`` for one run is not saved)."""
        try:
            settings.save_setting("theme", name)
        except OSError as exc:
            self.notify(f"could not save the theme to {settings.config_path()}: {exc}", severity="error")

    @work(thread=True, exclusive=True, group="projects", exit_on_error=False)
    def load_projects(self) -> None:
        """The project list with record counts, the dashboards and the unread count (for the palette
        and the header); the first screen's data is read apart, before (``start_first_view``)."""
        from ..domain.board import project_views
        from ..domain.projects import projects_summary

        with db_session():
            projects = project_views()
            counts = {p["id"]: p["records"] for p in projects_summary()}
            dashboards = self._read_dashboards()
            unread = self._read_unread()
        for project in projects:
            project["records"] = counts.get(project["id"], 0)
        self.post_message(ProjectsLoaded(projects, first_run=False, dashboards=dashboards, unread=unread))

    def _read_dashboards(self) -> list[str] | None:
        from ..domain.dashboards import list_dashboards

        try:
            return [d["name"] for d in list_dashboards(self.actor)]
        except CrmError as exc:  # the palette still works without dashboards
            self.log.warning(f"dashboards: {exc}")
            return None

    def _read_unread(self) -> int | None:
        from ..domain.automations.notify import unread_count

        return unread_count(self.actor.id) if self.actor.id is not None else None

    @work(thread=True, exclusive=True, group="dashboards", exit_on_error=False)
    def load_dashboards(self) -> None:
        """The dashboard names again (after one was created), for the palette."""
        with db_session():
            names = self._read_dashboards()
        if names is not None:
            self.post_message(DashboardsLoaded(names))

    def refresh_unread(self) -> None:
        """Count the unread notifications in a worker; the header repaints only if the number changed.
        Called after anything that may change the number (a newer count supersedes a running one)."""
        self.count_unread(self.unread)

    def _poll_unread(self) -> None:
        # every poll_seconds: one indexed COUNT; a count still running (a locked database) is not doubled
        if not any(w.group == "unread" and w.is_running for w in self.workers):
            self.count_unread(self.unread)

    @work(thread=True, exclusive=True, group="unread", exit_on_error=False)
    def count_unread(self, known: int) -> None:
        with db_session():
            count = self._read_unread()
        if count is not None and count != known and not cancelled():
            self.post_message(UnreadCounted(count))

    @on(ProjectsLoaded)
    def _projects_loaded(self, message: ProjectsLoaded) -> None:
        self.projects = message.projects
        if message.dashboards is not None:
            self.dashboards = message.dashboards
        if message.unread is not None:
            self._set_unread(message.unread)
        if message.first_run:
            from .screens.first_run import FirstRunScreen

            self._show_top(FirstRunScreen())
            self.call_after_refresh(self._after_first_paint)

    @on(DashboardsLoaded)
    def _dashboards_loaded(self, message: DashboardsLoaded) -> None:
        self.dashboards = message.names

    @on(UnreadCounted)
    def _unread_counted(self, message: UnreadCounted) -> None:
        self._set_unread(message.count)

    def _set_unread(self, count: int) -> None:
        if count == self.unread:
            return
        self.unread = count
        self._refresh_headers()

    def _refresh_headers(self) -> None:
        from .widgets.header import AppHeader

        for screen in self.screen_stack:
            for header in screen.query(AppHeader):
                header.refresh()

    def on_automations_ticked(self, message) -> None:
        """A background tick fired rules or turned reminders into notifications."""
        self.refresh_unread()

    def on_automations_failed(self, message) -> None:
        # once per distinct error: a database that stays away must not stack a toast every tick
        if message.error not in self._tick_errors:
            self._tick_errors.add(message.error)
            self.notify(f"automations: the background run failed ({message.error}); it keeps trying",
                        severity="warning", timeout=8)

    @on(ScreenReady)
    def _screen_ready(self, message: ScreenReady) -> None:
        from .screens.board import BoardScreen
        from .screens.table import TableScreen

        if message.projects is not None and not self.projects:
            self.projects = message.projects
        if message.view == "board":
            screen = BoardScreen(message.project_id, preloaded=message.data)
        else:
            screen = TableScreen(message.project_id, preloaded=message.data)
        self._show_top(screen)
        if not self._first_painted:
            self.call_after_refresh(self._after_first_paint)

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            self.report(event.worker.error)

    @property
    def _background_screens(self) -> list:
        # Textual always composites the screen under a dialog and re-draws the dialog whenever that
        # screen changes (4–5 full frames, 20–45 KB, for opening one at 80x24). Our dialogs are
        # opaque (app.tcss), so nothing underneath can show: do not composite it.
        try:
            if self.screen.styles.background.a >= 1:
                return []
        except Exception:  # no screen yet
            pass
        return App._background_screens.fget(self)

    # -- navigation ---------------------------------------------------------------------------

    def project(self, project_id: int) -> dict | None:
        return next((p for p in self.projects if p["id"] == project_id), None)

    def _show_top(self, screen) -> None:
        """Make ``screen`` the one top-level screen (projects replace each other, not stack)."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def open_project(self, project_id: int, view: str | None = None) -> None:
        """Open a project in ``view`` (``table`` or ``board``), else its default view. The current
        screen stays until the new one's data is read, so the switch paints once."""
        info = self.project(project_id) or {"id": project_id, "name": "", "view": "table", "lists": 1}
        view = view or info.get("view", "table")
        if view == "board" and info.get("lists", 1) < 2:
            view = "table"
        self.prepare_view(project_id, view)

    @work(thread=True, exclusive=True, group="open-view", exit_on_error=False)
    def prepare_view(self, project_id: int, view: str) -> None:
        with db_session():
            data = fetch_view(self.actor, project_id, view)
        self.post_message(ScreenReady(project_id, view, data))

    def open_record(self, record_id: int | None = None, callback=None, *, project_id: int | None = None) -> None:
        """Push the record screen (a new record of ``project_id`` when ``record_id`` is None) once its
        data is read, so it paints once."""
        self.prepare_record(record_id, project_id, callback)

    @work(thread=True, exclusive=True, group="open-record", exit_on_error=False)
    def prepare_record(self, record_id, project_id, callback) -> None:
        from .screens.record import fetch_record

        with db_session():
            data = fetch_record(self.actor, record_id, project_id)
        self.call_from_thread(self._push_record, record_id, project_id, data, callback)

    def _push_record(self, record_id, project_id, data, callback) -> None:
        from .screens.record import RecordScreen

        self.push_screen(RecordScreen(record_id=record_id, project_id=project_id, preloaded=data), callback)

    # -- actions ------------------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    def action_switch_theme(self) -> None:
        ours = [name for name in self.shipped_themes if name in self.available_themes]
        others = sorted(name for name in self.available_themes if name not in ours)
        options = [(name, name) for name in ours] + [(name, f"{name}  (Textual)") for name in others]

        def chosen(name: str | None) -> None:
            if name:
                self.theme = name
                self.save_theme(name)
                self.notify(f"theme: {name} (saved)")

        self.push_screen(ChoiceScreen("Switch theme", options, current=self.theme), chosen)

    def action_new_record(self) -> None:
        screen = self.screen
        if hasattr(screen, "action_new_record"):
            screen.action_new_record()
        else:
            self.notify("open a project first (ctrl+p)", severity="warning")

    def open_dashboard(self, name: str) -> None:
        """The dashboard ``name``: figures are computed on opening (and with ``r`` on the screen)."""
        from .screens.dashboard import DashboardScreen

        screen = self.screen
        if isinstance(screen, DashboardScreen):
            screen.dashboard_name = name
            screen.action_refresh()
        else:
            self.push_screen(DashboardScreen(name))

    def _open_record_from(self, record_id: int | None) -> None:
        """What the inbox and the reminders dismiss with: a record to open, or nothing."""
        self.refresh_unread()
        if record_id:
            self.open_record(record_id)

    def action_inbox(self) -> None:
        from .screens.notifications import NotificationsScreen

        if isinstance(self.screen, NotificationsScreen):
            self.screen.dismiss(None)
            return
        if isinstance(self.screen, HelpScreen):  # `i` read in the list of keys: go there
            self.pop_screen()
        self.push_screen(NotificationsScreen(), self._open_record_from)

    def action_reminders(self) -> None:
        from .screens.notifications import RemindersScreen

        self.push_screen(RemindersScreen(), self._open_record_from)

    def open_automations(self, project: str) -> None:
        from .screens.automations import AutomationsScreen

        self.push_screen(AutomationsScreen(project))

    def import_csv(self, project_id: int) -> None:
        """The import wizard for the project; after an import, the project list and the view re-read."""
        from .screens.import_wizard import ImportWizard

        info = self.project(project_id)
        if info is None:
            return

        def finished(report) -> None:
            if report is None or not (report.created or report.updated):
                return
            self.load_projects()
            if self._project_in_view() == project_id:
                self.open_project(project_id, "board" if type(self.screen).__name__ == "BoardScreen" else "table")

        self.push_screen(ImportWizard(info["name"]), finished)

    def export_csv(self, project_id: int) -> None:
        """Ask where, then write the project's CSV in a worker and say where it went."""
        from .screens.export import ExportDialog

        info = self.project(project_id)
        if info is None:
            return

        def chosen(answer) -> None:
            if answer:
                path, bom = answer
                self.run_export(info["name"], path, bom)

        self.push_screen(ExportDialog(info["name"]), chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def run_export(self, project: str, path: Path, bom: bool) -> None:
        from .screens.export import write_export

        with db_session():
            count = write_export(self.actor, project, path, bom=bom)
        self.post_message(ExportFinished(project, path, count))

    @on(ExportFinished)
    def _export_finished(self, message: ExportFinished) -> None:
        self.notify(f"exported {message.count:,} {message.project} records to {message.path}", timeout=8)

    def _project_in_view(self, screen=None) -> int | None:
        from .screens.board import BoardScreen
        from .screens.table import TableScreen

        screen = screen or self.screen
        return screen.project_id if isinstance(screen, (TableScreen, BoardScreen)) else None

    def check_action(self, action: str, parameters) -> bool | None:
        # `?` asks while the help dialog is on top: answer for the screen it describes
        screen = self.screen.target if isinstance(self.screen, HelpScreen) else self.screen
        if action == "project_settings":
            return self._project_in_view(screen) is not None
        if action == "inbox":  # not over a dialog: it would wait, hidden, under the inbox
            return not isinstance(screen, ModalScreen)
        return True

    def action_project_settings(self, project_id: int | None = None) -> None:
        """The settings of ``project_id``, else of the project in view, else of the first project."""
        from .screens.settings import SettingsScreen

        project_id = project_id or self._project_in_view() or (self.projects[0]["id"] if self.projects else None)
        if project_id is None:
            self.notify("no project yet — the first-run screen adds the Sales CRM", severity="warning")
            return
        view = self._project_in_view() is not None and type(self.screen).__name__

        def closed(changed) -> None:
            if changed:
                self.load_projects()
                if view:  # the view re-reads the project: new columns, lists, hidden fields
                    self.open_project(project_id, "board" if view == "BoardScreen" else "table")

        self.push_screen(SettingsScreen(project_id), closed)

    def action_users_and_roles(self) -> None:
        from .screens.users import UsersScreen

        self.push_screen(UsersScreen(self._project_in_view()))

    def action_command_palette(self) -> None:
        super().action_command_palette()
        self.call_after_refresh(self._calm_palette)
        # the palette lists the cached names; re-read them for next time (a dashboard shared meanwhile)
        self.load_dashboards()

    def _calm_palette(self) -> None:
        from textual.widgets import Input

        for widget in self.screen.query(Input):
            widget.cursor_blink = False
        for indicator in self.screen.query(LoadingIndicator):  # shown while a search is slow
            indicator.auto_refresh = None

    def report(self, error: BaseException | None) -> None:
        """Show a failure as a message: a CrmError's own words, or one line for anything else."""
        if error is None:
            return
        if isinstance(error, CrmError):
            self.notify(str(error), severity="error", timeout=8)
        else:
            self.log.error(repr(error))
            self.notify(f"unexpected error: {type(error).__name__}: {error}", severity="error", timeout=8)


def fetch_view(actor, project_id: int, view: str):
    """The data a project's ``view`` (``table`` or ``board``) shows first."""
    if view == "board":
        from .screens.board import fetch_board

        return fetch_board(actor, project_id)
    from .screens.table import fetch_table

    return fetch_table(actor, project_id)


def _first_view(actor) -> tuple[list[dict], tuple | None]:
    from ..domain.board import project_views

    with db_session():
        projects = project_views()
        if not projects:
            return projects, None
        first = projects[0]
        return projects, (first["id"], first["view"], fetch_view(actor, first["id"], first["view"]))


def start_first_view(actor) -> Future:
    """Read the project list and the first project's screen in a thread of its own."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="first-view")
    future = pool.submit(_first_view, actor)
    pool.shutdown(wait=False)
    return future


def read_first_view(actor, wait_seconds: float = 0.5) -> Future:
    """Start reading the first project's screen before the app starts, and give it up to
    ``wait_seconds``: read before Textual starts, the first frame the terminal gets is that screen
    (one paint instead of a blank screen, then the screen: fewer bytes, sooner). A database slower
    than that does not hold the app back: it starts and waits for the read in a worker."""
    future = start_first_view(actor)
    wait([future], timeout=wait_seconds)
    return future


def run_tui(db_url: str, user_name: str, *, theme: str | None = None, low_bandwidth: bool | None = None) -> int:
    """Open the database, resolve the user, run the app; returns the process exit code.

    On a database with no users yet, ``user_name`` becomes its first (admin) user, as ``init`` does.
    ``low_bandwidth``: True for ``--low-bandwidth``, None for ``CRM_TUI_LOW_BANDWIDTH`` / the saved choice.
    """
    from ..db import open_database
    from ..domain.actors import actor_for, ensure_user, has_users, resolve_actor

    try:
        open_database(db_url)
        if not has_users():
            actor = actor_for(ensure_user(user_name, is_admin=True))
        else:
            actor = resolve_actor(user_name)
    except CrmError as exc:
        print(f"crm-tui: {exc}", file=sys.stderr)
        return exc.exit_code
    app = CrmApp(db_url, actor, theme=theme, first_view=read_first_view(actor), low_bandwidth=low_bandwidth)
    result = app.run()
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code)

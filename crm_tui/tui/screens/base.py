"""What every screen of the app shares: failed workers become messages, never tracebacks."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState


class ReportsErrors:
    """Mixin: a worker of this screen that raised is reported by the app (its message, once)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker.error)

    def worker_failed(self, error: BaseException | None) -> None:
        self.app.report(error)


def _screen_bindings(prefix: str) -> list[Binding]:
    """Textual's screen keys, again with ids so they can be remapped too."""
    return [
        Binding("tab", "app.focus_next", "Next field", show=False, id=f"{prefix}.focus_next"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, id=f"{prefix}.focus_previous"),
        Binding("ctrl+c,super+c", "screen.copy_text", "Copy selected text", show=False, id=f"{prefix}.copy"),
    ]


# Styles of the screens and dialogs (screens.tcss) load with the first one shown, not at start-up.
SCREENS_CSS = "screens.tcss"


class CrmScreen(ReportsErrors, Screen):
    """A full screen of the app."""

    CSS_PATH = SCREENS_CSS
    BINDINGS = _screen_bindings("screen")


class CrmModal(ReportsErrors, ModalScreen):
    """A dialog over the current screen."""

    CSS_PATH = SCREENS_CSS
    BINDINGS = _screen_bindings("dialog")

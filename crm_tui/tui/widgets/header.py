"""One-line header: workspace and project on the left, status in the middle, the unread
notifications (``✉ 3``), ``lb`` while the low-bandwidth mode is on (only where it fits: the place and the
status come first) and the user on the right.

No clock and no timers: it repaints only when its text changes. The unread count is the app's
``unread`` (the app counts in a worker and refreshes the headers only when the number changes).
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widget import Widget


class AppHeader(Widget):
    """``crm-tui · demo │ Opportunities · board          3 filters  ✉ 2  alice``"""

    DEFAULT_CSS = """
    AppHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, place: str = "", status: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._place = place
        self._status = status

    def set_text(self, place: str | None = None, status: str | None = None) -> None:
        changed = False
        if place is not None and place != self._place:
            self._place, changed = place, True
        if status is not None and status != self._status:
            self._status, changed = status, True
        if changed:
            self.refresh()

    @property
    def text(self) -> str:
        return f"{self._place} {self._status}"

    LOW_BANDWIDTH_MARK = "lb"

    @staticmethod
    def unread_text(count: int) -> str:
        """What the header shows for ``count`` unread notifications (nothing for none)."""
        return f"✉ {count:,}" if count else ""

    def render(self) -> Text:
        app = self.app
        left = f" {getattr(app, 'workspace', 'crm')} │ {self._place}"
        actor = getattr(app, "actor", None)
        unread = self.unread_text(getattr(app, "unread", 0) or 0)
        status = f"{self._status}  "
        user = f"{actor.name if actor else ''} "
        right_width = cell_len(status) + cell_len(user) + (cell_len(unread) + 2 if unread else 0)
        width = self.size.width
        gap = width - cell_len(left) - right_width
        mark = self.LOW_BANDWIDTH_MARK if getattr(app, "low_bandwidth", False) else ""
        if mark and gap >= cell_len(mark) + 3:  # a blank either side, and never at the place's expense
            gap -= cell_len(mark) + 2
        else:
            mark = ""
        if gap < 1:
            left = set_cell_size(left, max(0, width - right_width - 1))
            gap = 1
        text = Text(no_wrap=True, overflow="crop")
        text.append(left, style="bold")
        text.append(" " * gap)
        text.append(status)
        if unread:
            text.append(unread, style="bold")
            text.append("  ")
        if mark:
            text.append(mark, style="dim")
            text.append("  ")
        text.append(user)
        return text

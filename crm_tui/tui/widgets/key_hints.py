"""One-line key hints at the bottom of a screen: what Textual's ``Footer`` shows, drawn as one widget.

Textual's ``Footer`` mounts a widget per binding and re-composes them whenever the bindings change
(every focus change): at start-up that was ~40 ms of CSS matching and layout for a line of text, a
third of the time between the first screen's data and its paint. This widget renders the same
hints — the focused screen's shown bindings, one per action, then the palette key on the right —
as a single line of text, and repaints only when that text changed. A click on a hint presses its
key, as on the footer.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget


class KeyHints(Widget, can_focus=False):
    """``n New  enter Open  / Filter  s Sort …                                  ^p Palette``"""

    COMPONENT_CLASSES = {"key-hints--key"}
    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $foreground;
        & > .key-hints--key { text-style: bold; color: $accent; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._hints: list[tuple[str, str, str, bool]] = []  # (key, key display, description, enabled)
        self._palette: tuple[str, str, str, bool] | None = None
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) of what is drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._read_bindings()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if self.is_attached and screen is self.screen:
            self._read_bindings()

    def _read_bindings(self) -> None:
        app = self.app
        active = self.screen.active_bindings
        hints, seen = [], set()
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            hints.append((binding.key, app.get_key_display(binding), binding.description, enabled))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = (binding.key, app.get_key_display(binding), binding.description, enabled)
            hints = [hint for hint in hints if hint[0] != binding.key]
        if hints != self._hints or palette != self._palette:
            self._hints, self._palette = hints, palette
            self.refresh()

    @property
    def text(self) -> str:
        """The hints as plain text (what a test or a screen reader would read)."""
        return self.render().plain

    def render(self) -> Text:
        width = self.size.width or 80
        key_style = self.get_component_rich_style("key-hints--key", partial=True)
        dim = Style(dim=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []
        right = ""
        if self._palette:
            right = f"{self._palette[1]} {self._palette[2]} "
        room = width - cell_len(right) - 1
        for key, shown, description, enabled in self._hints:
            part = f" {shown} {description} " if description else f" {shown} "
            if cell_len(text.plain) + cell_len(part) > room:
                break
            start = cell_len(text.plain)
            text.append(f" {shown}", style=key_style if enabled else dim)
            if description:
                text.append(f" {description} ", style=None if enabled else dim)
            else:
                text.append(" ")
            spans.append((start, cell_len(text.plain), key))
        if right:
            gap = max(1, width - cell_len(text.plain) - cell_len(right))
            text.append(" " * gap)
            start = cell_len(text.plain)
            text.append(f"{self._palette[1]}", style=key_style)
            text.append(f" {self._palette[2]} ")
            spans.append((start, cell_len(text.plain), self._palette[0]))
        self._spans = spans
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return

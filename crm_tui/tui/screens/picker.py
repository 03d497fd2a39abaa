"""Pick one of a few choices (a stage, a tag, an assignee, a theme), typing to narrow the list.

| key            | action                  | binding id     |
| -------------- | ----------------------- | -------------- |
| up / down      | previous / next choice  | picker.up/down |
| enter          | choose                  | picker.choose  |
| escape         | cancel                  | picker.cancel  |
"""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from .base import CrmModal


class ChoiceScreen(CrmModal):
    """Dismisses with the chosen value, or ``None``."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="picker.down"),
        Binding("up", "move(-1)", "Up", show=False, id="picker.up"),
        Binding("enter", "choose", "Choose", id="picker.choose", priority=True),
    ]

    def __init__(self, title: str, options: list[tuple[object, str]], current=None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            search = Input(placeholder="type to narrow", id="picker-search")
            search.cursor_blink = False
            yield search
            yield OptionList(id="picker-options")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#picker-search", Input).focus()

    def _fill(self, text: str) -> None:
        key = text.strip().casefold()
        options = self.query_one("#picker-options", OptionList)
        options.clear_options()
        shown = [(value, label) for value, label in self.options if key in label.casefold()]
        # an exact or leading match first: typing "light" picks light, not ansi-light
        shown.sort(key=lambda item: (item[1].casefold() != key, not item[1].casefold().startswith(key)))
        self._shown = shown
        options.add_options([Option(label) for _, label in self._shown])
        highlight = next((i for i, (value, _) in enumerate(self._shown) if value == self.current), 0)
        if self._shown:
            options.highlighted = highlight

    @on(Input.Changed, "#picker-search")
    def _narrow(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if self._shown:
            options.highlighted = max(0, min(len(self._shown) - 1, (options.highlighted or 0) + step))

    def action_choose(self) -> None:
        index = self.query_one("#picker-options", OptionList).highlighted
        if index is not None and 0 <= index < len(self._shown):
            self.dismiss(self._shown[index][0])

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self._shown):
            self.dismiss(self._shown[event.option_index][0])

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Type-ahead over a project's titles to pick the record a reference points at. Each keystroke is
one indexed query of at most 20 rows, in a worker. Records in ``exclude`` (those a list already holds)
are not offered.

| key        | action                       | binding id          |
| ---------- | ---------------------------- | ------------------- |
| up / down  | previous / next match        | reference_picker.up/down |
| enter      | choose                       | reference_picker.choose |
| escape     | cancel                       | reference_picker.cancel |
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..dbwork import cancelled, db_session
from .base import CrmModal


class MatchesFound(Message):
    def __init__(self, matches: list[tuple[int, str]]) -> None:
        super().__init__()
        self.matches = matches


class ReferencePickerScreen(CrmModal):
    """Dismisses with ``(record id, title)`` or ``None``."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="reference_picker.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="reference_picker.down"),
        Binding("up", "move(-1)", "Up", show=False, id="reference_picker.up"),
        Binding("enter", "choose", "Choose", id="reference_picker.choose", priority=True),
    ]

    def __init__(self, project_id: int, title: str, exclude=()) -> None:
        super().__init__()
        self.project_id = project_id
        self.title_text = title
        self.exclude = frozenset(exclude)
        self.matches: list[tuple[int, str]] = []

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            search = Input(placeholder="type a title or #id", id="picker-search")
            search.cursor_blink = False
            yield search
            yield OptionList(id="picker-options")

    def on_mount(self) -> None:
        self.query_one("#picker-search", Input).focus()
        self.search("")

    @on(Input.Changed, "#picker-search")
    def _typed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @work(thread=True, exclusive=True, group="reference-search", exit_on_error=False)
    def search(self, text: str) -> None:
        from ...domain.browse import find_titles

        with db_session():
            matches = find_titles(self.project_id, text, limit=20 + len(self.exclude))
        matches = [m for m in matches if m[0] not in self.exclude][:20]
        if not cancelled():
            self.post_message(MatchesFound(matches))

    @on(MatchesFound)
    def _found(self, message: MatchesFound) -> None:
        self.matches = message.matches
        options = self.query_one("#picker-options", OptionList)
        options.clear_options()
        options.add_options([Option(f"{title}  #{rid}") for rid, title in self.matches])
        if self.matches:
            options.highlighted = 0

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if self.matches:
            options.highlighted = max(0, min(len(self.matches) - 1, (options.highlighted or 0) + step))

    def action_choose(self) -> None:
        index = self.query_one("#picker-options", OptionList).highlighted
        if index is not None and 0 <= index < len(self.matches):
            self.dismiss(self.matches[index])

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.matches):
            self.dismiss(self.matches[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)

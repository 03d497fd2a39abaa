"""A yes/no question before something that changes data (archive, discard).

| key            | action | binding id      |
| -------------- | ------ | --------------- |
| y / enter      | yes    | confirm.yes     |
| n / escape     | no     | confirm.no      |
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from .base import CrmModal


class ConfirmScreen(CrmModal):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str = "yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            yield Static(f"[b]y[/b] {self.yes}   [b]n[/b] cancel", classes="dialog-hint")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

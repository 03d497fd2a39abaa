"""A small form in a dialog (add a list, rename a field, add a role…) that runs its domain call itself,
so a refusal (a ``CrmError``) appears inside the dialog and nothing is lost: fix it and save again.

>>> entries = [Entry("name", "Name"), Entry("probability", "Probability %", "number", "10")]
>>> app.push_screen(FormDialog("Add a list", entries, lambda v: add_list(actor, pid, v["name"], ...)),
...                 callback)                       # callback gets the call's result, or None

| key              | action                                   | binding id     |
| ---------------- | ---------------------------------------- | -------------- |
| ctrl+s / enter   | save (enter in a one-line field)         | form.save      |
| escape           | cancel                                   | form.cancel    |
| tab / shift+tab  | next / previous field                    | dialog.focus_next |

The call runs in a thread worker inside its own connection (schema changes recompute formulas).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, SelectionList, Static

from ...errors import CrmError
from ..dbwork import db_session
from ..widgets.field_editors import ChoiceInput, FieldRow, _input
from .base import SCREENS_CSS, CrmModal


@dataclass
class Entry:
    """One row of a form. ``kind``: text | number | choice | check | multi (``value`` a list)."""

    key: str
    label: str
    kind: str = "text"
    value: object = ""
    options: list = field(default_factory=list)
    placeholder: str = ""


class FormSaved(Message):
    def __init__(self, result) -> None:
        super().__init__()
        self.result = result


class FormRefused(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def _editor(entry: Entry):
    if entry.kind == "number":
        return _input(str(entry.value), entry.placeholder, r"[0-9]*")
    if entry.kind == "choice":
        return ChoiceInput([str(o) for o in entry.options], str(entry.value or ""), allow_blank=False)
    if entry.kind == "check":
        return Checkbox("", bool(entry.value), compact=True)
    if entry.kind == "multi":
        chosen = set(entry.value or [])
        return SelectionList(*[(str(o), str(o), o in chosen) for o in entry.options])
    return _input(str(entry.value or ""), entry.placeholder)


class FormDialog(CrmModal):
    """Dismisses with what ``submit(values)`` returned (``True`` when it returned ``None``), or ``None``
    when cancelled. ``values`` maps each entry's key to its text, choice, bool or list."""

    CSS_PATH = [SCREENS_CSS, "settings.tcss"]
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, title: str, entries: list[Entry], submit: Callable[[dict], object], *,
                 hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries
        self.submit = submit
        self.hint = hint
        self.rows: list[FieldRow] = []
        self.busy = False

    def compose(self):
        self.rows = [FieldRow(e.key, e.label, _editor(e), None) for e in self.entries]
        with VerticalScroll(classes="dialog form-dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield from self.rows
            if self.hint:
                yield Static(self.hint, classes="form-hint", markup=False)
            yield Static("", id="form-error", markup=False)
            yield Static("[b]ctrl+s[/b] save   [b]escape[/b] cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        if self.rows:
            self.rows[0].editor.focus()

    def values(self) -> dict:
        return {row.key: row.raw() for row in self.rows}

    def show_error(self, text: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(text)
        error.display = bool(text)
        if text:
            self.query_one(VerticalScroll).scroll_to_widget(error, animate=False)

    @on(ChoiceInput.PickRequested)
    def _pick(self, message: ChoiceInput.PickRequested) -> None:
        from .picker import ChoiceScreen

        editor = message.editor
        row = next((r for r in self.rows if r.editor is editor), None)

        def chosen(value) -> None:
            if value is not None:
                editor.choose(value)

        self.app.push_screen(ChoiceScreen(row.label if row else "Choose", [(o, o) for o in editor.options],
                                          current=editor.value), chosen)

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        if not self.busy:
            self.busy = True
            self.run_submit(self.values())

    @work(thread=True, exclusive=True, group="form-save", exit_on_error=False)
    def run_submit(self, values: dict) -> None:
        try:
            with db_session():
                result = self.submit(values)
        except CrmError as exc:
            self.post_message(FormRefused(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never as a traceback
            self.post_message(FormRefused(f"unexpected error: {type(exc).__name__}: {exc}"))
            return
        self.post_message(FormSaved(True if result is None else result))

    @on(FormRefused)
    def _refused(self, message: FormRefused) -> None:
        self.busy = False
        self.show_error(message.text)

    @on(FormSaved)
    def _saved(self, message: FormSaved) -> None:
        self.dismiss(message.result)

    def action_cancel(self) -> None:
        self.dismiss(None)

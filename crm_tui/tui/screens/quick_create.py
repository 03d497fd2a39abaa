"""Quick entry of a card in a board column: title, amount, client (type-ahead over the client
project). Dismisses with the new record's id.

| key          | action                                              | binding id       |
| ------------ | --------------------------------------------------- | ---------------- |
| enter        | pick the highlighted client / create the card       | quick.save       |
| up / down    | previous / next client match                        | quick.prev/next  |
| escape       | cancel                                              | quick.cancel     |
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...errors import CrmError
from ..dbwork import cancelled, db_session
from .base import CrmModal

AMOUNT_CHARS = r"[-+0-9.,' $€£¥₹\u00a0]*"


class MatchesFound(Message):
    def __init__(self, matches: list[tuple[int, str]]) -> None:
        super().__init__()
        self.matches = matches


class Created(Message):
    def __init__(self, record_id: int) -> None:
        super().__init__()
        self.record_id = record_id


class CreateRefused(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class QuickCreateScreen(CrmModal):
    BINDINGS = [
        Binding("enter", "save", "Create", id="quick.save", priority=True),
        Binding("down", "match(1)", "Next match", show=False, id="quick.next"),
        Binding("up", "match(-1)", "Previous match", show=False, id="quick.prev"),
        Binding("escape", "cancel", "Cancel", id="quick.cancel"),
    ]

    def __init__(self, schema, target_list, fields) -> None:
        super().__init__()
        self.schema = schema
        self.target_list = target_list
        self.fields = fields
        self.client_field = fields.client if fields and fields.client and fields.client.type == "reference" else None
        self.matches: list[tuple[int, str]] = []
        self.client_id: int | None = None

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(f"New card in {self.target_list.name}", classes="dialog-title")
            with Horizontal(classes="quick-row"):
                yield Label("Title")
                yield self._input(id="quick-title", placeholder="what is the deal?")
            if self.fields and self.fields.amount:
                with Horizontal(classes="quick-row"):
                    yield Label(self.fields.amount.name[:8])
                    yield self._input(id="quick-amount", placeholder="12,500", restrict=AMOUNT_CHARS)
            if self.client_field:
                with Horizontal(classes="quick-row"):
                    yield Label(self.client_field.name[:8])
                    yield self._input(id="quick-client", placeholder="type to search")
                yield OptionList(id="quick-matches")
            yield Static("", id="quick-error")
            yield Static("enter create · tab next field · escape cancel", classes="dialog-hint")

    @staticmethod
    def _input(**kwargs) -> Input:
        widget = Input(**kwargs)
        widget.cursor_blink = False
        return widget

    def on_mount(self) -> None:
        self.query_one("#quick-title", Input).focus()
        if self.client_field:
            self.query_one("#quick-matches").display = False

    @on(Input.Changed, "#quick-client")
    def _client_typed(self, event: Input.Changed) -> None:
        self.client_id = None
        if event.value.strip():
            self.search(self.client_field.config.get("target"), event.value)
        else:
            self._show_matches([])

    @work(thread=True, exclusive=True, group="quick-search", exit_on_error=False)
    def search(self, project_id: int, text: str) -> None:
        from ...domain.browse import find_titles

        with db_session():
            matches = find_titles(project_id, text, limit=8)
        if not cancelled():
            self.post_message(MatchesFound(matches))

    @on(MatchesFound)
    def _found(self, message: MatchesFound) -> None:
        self._show_matches(message.matches)

    def _show_matches(self, matches) -> None:
        self.matches = matches
        options = self.query_one("#quick-matches", OptionList)
        options.clear_options()
        options.add_options([Option(title) for _, title in matches])
        options.display = bool(matches)
        if matches:
            options.highlighted = 0

    def action_match(self, step: int) -> None:
        if not self.matches or self.focused is None or self.focused.id != "quick-client":
            return
        options = self.query_one("#quick-matches", OptionList)
        options.highlighted = max(0, min(len(self.matches) - 1, (options.highlighted or 0) + step))

    def action_save(self) -> None:
        focused = self.focused
        if focused is not None and focused.id == "quick-client" and self.matches and self.client_id is None:
            index = self.query_one("#quick-matches", OptionList).highlighted or 0
            self.client_id, title = self.matches[index]
            client = self.query_one("#quick-client", Input)
            with client.prevent(Input.Changed):
                client.value = title
            self._show_matches([])
            self.client_id = self.client_id
            return
        title = self.query_one("#quick-title", Input).value
        values = {}
        if self.fields and self.fields.amount:
            amount = self.query_one("#quick-amount", Input).value.strip()
            if amount:
                values[self.fields.amount.name] = amount
        if self.client_field:
            text = self.query_one("#quick-client", Input).value.strip()
            if self.client_id is not None:
                values[self.client_field.name] = self.client_id
            elif text:
                values[self.client_field.name] = text
        self.query_one("#quick-error", Static).update("")
        self.create(title, values)

    @work(thread=True, exclusive=True, group="quick-create", exit_on_error=False)
    def create(self, title: str, values: dict) -> None:
        from ...domain.records import create_record

        with db_session():
            try:
                record_id = create_record(self.app.actor, self.schema, title, list_name=self.target_list.name,
                                          values=values, date_order=self.app.date_order)
            except CrmError as exc:
                self.post_message(CreateRefused(str(exc)))
                return
        self.post_message(Created(record_id))

    @on(CreateRefused)
    def _refused(self, message: CreateRefused) -> None:
        self.query_one("#quick-error", Static).update(message.text)

    @on(Created)
    def _created(self, message: Created) -> None:
        self.dismiss(message.record_id)

    def action_cancel(self) -> None:
        self.dismiss(None)

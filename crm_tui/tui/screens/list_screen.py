"""The list screen under the inbox, the reminders, the automations and their run log: a header, a
table of items read in a thread worker, a status line and the footer.

>>> class RemindersScreen(ListScreen):
...     columns, title_text = ("due", "message"), "reminders"
...     def row(self, item): return (item["due_at"], item["message"])
"""

from __future__ import annotations

from textual.message import Message
from textual.widgets import DataTable, Static

from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import CrmScreen


class ItemsLoaded(Message):
    def __init__(self, items: list[dict]) -> None:
        super().__init__()
        self.items = items


class ItemsChanged(Message):
    """A write finished: load again (from the app thread)."""


class ListScreen(CrmScreen):
    """A header, a table of items, a status line and the footer.

    A subclass names its ``columns``, reads the items in ``load`` (a thread worker that posts
    ``ItemsLoaded``), turns one into a ``row`` and says what enter does (``action_open``); a write of
    its posts ``ItemsChanged``, which loads again.
    """

    columns: tuple[str, ...] = ()
    title_text = ""
    table_id: str | None = None
    status_id: str | None = "list-status"  # None: no status line
    keep_cursor = True  # after a load, the cursor stays on the row number it was on

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict] = []

    def compose(self):
        yield AppHeader(self.title_text)
        yield DataTable(id=self.table_id, cursor_type="row")
        if self.status_id:
            yield Static("", id=self.status_id)
        yield KeyHints()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.columns)
        table.focus()
        self.load()

    def load(self) -> None:  # overridden by a thread worker
        raise NotImplementedError

    def row(self, item: dict) -> tuple:
        raise NotImplementedError

    def on_items_loaded(self, message: ItemsLoaded) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.items = message.items
        for item in self.items:
            table.add_row(*self.row(item))
        if self.items and self.keep_cursor:
            table.move_cursor(row=min(row or 0, len(self.items) - 1))
        if self.status_id:
            self.query_one(f"#{self.status_id}", Static).update(self.status())
        self.loaded()

    def loaded(self) -> None:
        """After each load (the inbox asks the app to count the unread again, for the header)."""

    def on_items_changed(self, message: ItemsChanged) -> None:
        self.load()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        # enter on the table: the table's own binding takes the key, so act on its message
        message.stop()
        self.action_open()

    def action_open(self) -> None:  # overridden
        pass

    def status(self) -> str:
        return f"{len(self.items)} item(s)"

    def current(self) -> dict | None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

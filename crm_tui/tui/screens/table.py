"""The table view of a project (the client database, or any project): sort, filter as you type,
open, create, archive — over any number of records.

| key        | action                                        | binding id          |
| ---------- | --------------------------------------------- | ------------------- |
| enter      | open the record                               | table.open          |
| s          | sort by the focused column (again: reverse)   | table.sort          |
| /          | filter as you type (title and text fields)    | table.filter        |
| f, t, a    | filter by list, by tag, by assignee           | table.by_list/by_tag/by_assignee |
| x          | clear the filters                             | table.clear         |
| n          | new record                                    | table.new           |
| d          | archive the record (asks first)               | table.archive       |
| u          | restore the last archived record              | table.restore       |
| v          | switch to the board                           | table.view          |
| q          | quit                                          | table.quit          |

Heavy reads run in thread workers: the sorted id list (one id-only query), and each window of rows
the table is about to show. Changes by other users appear within a few seconds (the project's last
event id is polled; nothing is re-read while it stays the same).
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.message import Message

from ...domain import browse
from ..dbwork import cancelled, db_session
from ..widgets.header import AppHeader
from ..widgets.record_table import RecordTable
from .confirm import ConfirmScreen
from .project_view import ProjectChanged, ProjectViewScreen

FIRST_WINDOW = 64  # rows read with the ids: a tall terminal's first screen


class TableLoaded(Message):
    def __init__(self, schema, columns, ids, rows, total, last_event, users, keep) -> None:
        super().__init__()
        self.schema, self.columns, self.ids, self.rows = schema, columns, ids, rows
        self.total, self.last_event, self.users, self.keep = total, last_event, users, keep


class RowsLoaded(Message):
    def __init__(self, rows: dict) -> None:
        super().__init__()
        self.rows = rows


class Archived(Message):
    def __init__(self, record_id: int, title: str) -> None:
        super().__init__()
        self.record_id, self.title = record_id, title


def fetch_table(actor, project_id: int, filters=browse.Filters(), sort_key: str = "title",
                descending: bool = False, keep: int | None = None) -> TableLoaded:
    """Everything a table screen shows first (run in a worker, inside a connection context)."""
    from ...domain.board import last_change
    from ...domain.project_schema import load_schema

    last = last_change(project_id)
    schema = load_schema(project_id)
    columns = browse.table_columns(actor, schema)
    if sort_key != "title" and not any(c.key == sort_key for c in columns):
        sort_key = "title"
    ids = browse.ordered_ids(actor, schema, sort=sort_key, descending=descending, filters=filters)
    total = len(ids) if not filters.active else browse.count_records(actor, schema)
    start = 0
    if keep is not None and keep in ids:
        start = max(0, ids.index(keep) - FIRST_WINDOW // 2)
    rows = browse.table_rows(actor, schema, columns, ids[start:start + FIRST_WINDOW])
    users = browse.active_users()
    return TableLoaded(schema, columns, ids, rows, total, last, users, keep)


class TableScreen(ProjectViewScreen):
    help_title = "table"
    view_class = RecordTable
    other_view = "board"
    filter_placeholder = "filter: title and text fields (enter: keep, escape: clear)"
    BINDINGS = [
        Binding("s", "sort", "Sort", id="table.sort"),
        Binding("slash", "filter", "Filter", id="table.filter", key_display="/"),
        Binding("n", "new_record", "New", id="table.new"),
        Binding("d", "archive", "Archive", id="table.archive"),
        Binding("v", "switch_view", "Board", id="table.view"),
        Binding("f", "filter_list", "List", show=False, id="table.by_list"),
        Binding("t", "filter_tag", "Tag", show=False, id="table.by_tag"),
        Binding("a", "filter_assignee", "Assignee", show=False, id="table.by_assignee"),
        Binding("x", "clear_filters", "Clear filters", show=False, id="table.clear"),
        Binding("u", "restore", "Restore", show=False, id="table.restore"),
        Binding("escape", "escape", "Back", show=False, id="table.escape"),
        Binding("q", "app.quit", "Quit", id="table.quit"),
    ]

    def __init__(self, project_id: int, preloaded: TableLoaded | None = None) -> None:
        super().__init__(project_id, preloaded)
        self.columns: list = []
        self.sort_key = "title"
        self.descending = False
        self.total = 0
        self.last_archived: tuple[int, str] | None = None

    def make_view(self) -> RecordTable:
        return RecordTable(id="records")

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    # -- loading ------------------------------------------------------------------------------

    def reload(self, keep: int | None = None) -> None:
        self.table.empty_text = "loading…"
        self.load(self.filters, self.sort_key, self.descending, keep)

    @work(thread=True, exclusive=True, group="table-ids", exit_on_error=False)
    def load(self, filters, sort_key, descending, keep) -> None:
        with db_session():
            message = fetch_table(self.app.actor, self.project_id, filters, sort_key, descending, keep)
        if not cancelled():
            self.post_message(message)

    @on(TableLoaded)
    def _loaded(self, message: TableLoaded) -> None:
        self.schema, self.columns = message.schema, message.columns
        self.total, self.last_event, self.users = message.total, message.last_event, message.users
        table = self.table
        table.sort_key, table.descending = self.sort_key, self.descending
        if [c.key for c in table.columns] != [c.key for c in message.columns]:
            table.set_columns(message.columns)
        else:
            table.columns = message.columns
        table.empty_text = "no records match the filter (x clears)" if self.filters.active else \
            "no records yet — n adds one"
        table.rows.update(message.rows)
        table.set_ids(message.ids, keep=message.keep)
        self._update_header()
        if self.is_mounted and self.preloaded is None:
            self.refresh_bindings()  # v (board) depends on the lists just read

    @on(RecordTable.WindowNeeded)
    def _window_needed(self, message: RecordTable.WindowNeeded) -> None:
        if self.schema is not None:
            self.load_rows(self.schema, self.columns, message.ids)

    @work(thread=True, exclusive=True, group="table-rows", exit_on_error=False)
    def load_rows(self, schema, columns, ids) -> None:
        with db_session():
            rows = browse.table_rows(self.app.actor, schema, columns, ids)
        if not cancelled():
            self.post_message(RowsLoaded(rows))

    @on(RowsLoaded)
    def _rows_loaded(self, message: RowsLoaded) -> None:
        self.table.add_rows(message.rows)

    @on(ProjectChanged)
    def _changed(self, message: ProjectChanged) -> None:
        self.last_event = message.last_event
        self.table.rows.clear()
        self.reload(keep=self.table.current_id)

    def _update_header(self) -> None:
        name = self.schema.name if self.schema else "…"
        shown = len(self.table.ids)
        count = f"{shown:,} of {self.total:,}" if self.filters.active else f"{self.total:,} records"
        parts = [count]
        if self.filters.search.strip():
            parts.append(f"/{self.filters.search.strip()}")
        for label, value in (("list", self._list_name(self.filters.list_id)),
                             ("tag", self._tag_name(self.filters.tag_id)),
                             ("@", self._user_name(self.filters.assignee_id))):
            if value:
                parts.append(f"{label} {value}" if label != "@" else f"@{value}")
        self.query_one(AppHeader).set_text(f"{name} · table", " · ".join(parts))

    def _list_name(self, list_id):
        if list_id is None or self.schema is None:
            return ""
        lst = self.schema.list_by_id(list_id)
        return lst.name if lst else ""

    def _tag_name(self, tag_id):
        if tag_id is None or self.schema is None:
            return ""
        return next((t.name for t in self.schema.tags if t.id == tag_id), "")

    def _user_name(self, user_id):
        return next((name for uid, name, _ in self.users if uid == user_id), "") if user_id else ""

    # -- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "switch_view":
            return self.schema is not None and len(self.schema.lists) > 1
        if action == "filter_list":
            return self.schema is None or len(self.schema.lists) > 1
        if action == "filter_assignee":
            return self.schema is None or self.schema.shows("assignee")
        return True

    def action_sort(self) -> None:
        column = self.table.current_column
        if column is None:
            return
        if column.key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key, self.descending = column.key, False
        self.reload(keep=self.table.current_id)

    def refilter(self) -> None:  # a new filter starts at the first row
        self.table.cursor_row = 0
        self.reload()

    def action_filter_list(self) -> None:
        if self.schema:
            self._pick("Filter by list", [(l.id, l.name) for l in self.schema.lists],
                       self.filters.list_id, "list_id")

    @on(RecordTable.Opened)
    def _open(self, message: RecordTable.Opened) -> None:
        self.app.open_record(message.record_id, self._record_closed)

    def _record_closed(self, result) -> None:
        if result:
            self.table.invalidate()
            self.reload(keep=result if isinstance(result, int) else self.table.current_id)

    def action_new_record(self) -> None:
        if self.schema is None:
            return
        self.app.open_record(None, self._record_closed, project_id=self.project_id)

    def action_archive(self) -> None:
        row = self.table.current_row
        if row is None:
            return
        title = row.cells[0] if row.cells else f"#{row.id}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.archive(row.id, row.version, title)

        self.app.push_screen(ConfirmScreen(f"Archive “{title}”?\nIt disappears from views; u restores it.",
                                           yes="archive"), answered)

    @work(thread=True, group="table-write", exit_on_error=False)
    def archive(self, record_id: int, version: int, title: str) -> None:
        from ...domain.records import archive_record

        with db_session():
            archive_record(self.app.actor, record_id, expect_version=version)
        self.post_message(Archived(record_id, title))

    @on(Archived)
    def _archived(self, message: Archived) -> None:
        self.last_archived = (message.record_id, message.title)
        self.notify(f"archived “{message.title}” — u restores it")
        ids = self.table.ids
        if message.record_id in ids:
            index = ids.index(message.record_id)
            neighbour = ids[index + 1] if index + 1 < len(ids) else (ids[index - 1] if index else None)
            self.reload(keep=neighbour)

    def action_restore(self) -> None:
        if self.last_archived is None:
            self.notify("nothing archived in this session")
            return
        self.restore(*self.last_archived)

    @work(thread=True, group="table-write", exit_on_error=False)
    def restore(self, record_id: int, title: str) -> None:
        from ...domain.records import restore_record

        with db_session():
            restore_record(self.app.actor, record_id)
        self.app.call_from_thread(self._restored, record_id, title)

    def _restored(self, record_id: int, title: str) -> None:
        self.last_archived = None
        self.notify(f"restored “{title}”")
        self.reload(keep=record_id)

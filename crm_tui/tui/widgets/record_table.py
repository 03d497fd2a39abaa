"""A table of records that renders only the rows on screen (Line API), for any number of records.

The widget holds the ordered record ids and a cache of display rows; when rows it must show are not
cached it posts ``WindowNeeded`` and draws placeholders until ``add_rows`` brings them. Moving the
cursor repaints two lines; only scrolling repaints the table. The title column stays pinned while
the other columns scroll sideways to keep the focused column in view.

| key                  | action                       | binding id        |
| -------------------- | ---------------------------- | ----------------- |
| up / k, down / j     | previous / next record       | table.up / .down  |
| left / h, right / l  | previous / next column       | table.left/.right |
| pageup, pagedown     | a screen up / down           | table.page_up/_down |
| home / g, end / G    | first / last record          | table.first/.last |
| enter                | open the record              | table.open        |
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..cells import fit

GAP = 1
MAX_CACHED_ROWS = 3000


class RecordTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows are records (ids in table order); columns are ``crm_tui.domain.browse.Column``."""

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("left,h", "cursor_left", "Left", show=False, id="table.left"),
        Binding("right,l", "cursor_right", "Right", show=False, id="table.right"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First", show=False, id="table.first"),
        Binding("end,G", "last", "Last", show=False, id="table.last"),
        Binding("enter", "open", "Open", id="table.open"),
    ]

    COMPONENT_CLASSES = {
        "record-table--header",
        "record-table--sorted",
        "record-table--cursor",
        "record-table--cursor-cell",
        "record-table--placeholder",
        "record-table--empty",
    }

    DEFAULT_CSS = """
    RecordTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: scroll;  /* always there: a scrollbar that comes and goes re-lays the table out */
        scrollbar-size-vertical: 1;
        & > .record-table--header { background: $panel; text-style: bold; }
        & > .record-table--sorted { color: $accent; text-style: bold; }
        & > .record-table--cursor { background: $block-cursor-blurred-background; }
        & > .record-table--cursor-cell { background: $block-cursor-background;
                                         color: $block-cursor-foreground; }
        & > .record-table--placeholder { color: $text-muted; }
        & > .record-table--empty { color: $text-muted; }
        &:focus > .record-table--cursor { background: $block-cursor-blurred-background; }
    }
    """

    class Opened(Message):
        """Enter (or a double click) on a record."""

        def __init__(self, record_id: int) -> None:
            super().__init__()
            self.record_id = record_id

    class WindowNeeded(Message):
        """Rows about to be shown are not cached: load ``ids`` and call ``add_rows``."""

        def __init__(self, ids: list[int]) -> None:
            super().__init__()
            self.ids = ids

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns: list = []
        self.ids: list[int] = []
        self.rows: dict[int, object] = {}
        self.cursor_row = 0
        self.cursor_col = 0
        self.left_col = 0  # first shown column after the pinned title
        self.sort_key = "title"
        self.descending = False
        self.empty_text = "no records"
        self._columns_cache: tuple | None = None
        self._last_request: tuple[int, ...] = ()

    # -- data ---------------------------------------------------------------------------------

    def set_columns(self, columns: list) -> None:
        self.columns = list(columns)
        self.cursor_col = min(self.cursor_col, max(0, len(self.columns) - 1))
        self._columns_cache = None
        self.refresh()

    def set_ids(self, ids: list[int], *, keep: int | None = None) -> None:
        """New order or filter. The cursor stays on record ``keep`` when it is still there."""
        self.ids = ids
        if keep is not None:
            try:
                self.cursor_row = ids.index(keep)
            except ValueError:
                self.cursor_row = min(self.cursor_row, max(0, len(ids) - 1))
        else:
            self.cursor_row = min(self.cursor_row, max(0, len(ids) - 1))
        self.virtual_size = Size(0, len(ids) + 1)  # width 0: columns are laid out here, never scrolled
        self._scroll_cursor_into_view()
        self.refresh()
        self._request_window()

    def add_rows(self, rows: dict) -> None:
        """Rows arrived (``{id: TableRow}``); repaint the visible ones that changed."""
        if not rows:
            return
        self.rows.update(rows)
        if len(self.rows) > MAX_CACHED_ROWS:
            for key in list(self.rows)[: len(self.rows) - MAX_CACHED_ROWS]:
                self.rows.pop(key, None)
        first, last = self._visible_range()
        for index in range(first, last):
            if self.ids[index] in rows:
                self._refresh_row(index)
        self._last_request = ()

    def invalidate(self, ids=None) -> None:
        """Forget cached rows (all, or ``ids``) and ask again for the visible ones."""
        if ids is None:
            self.rows.clear()
        else:
            for rid in ids:
                self.rows.pop(rid, None)
        self._last_request = ()
        self._request_window()

    @property
    def current_id(self) -> int | None:
        if 0 <= self.cursor_row < len(self.ids):
            return self.ids[self.cursor_row]
        return None

    @property
    def current_row(self):
        rid = self.current_id
        return self.rows.get(rid) if rid is not None else None

    @property
    def current_column(self):
        return self.columns[self.cursor_col] if self.columns else None

    # -- geometry -----------------------------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _visible_range(self) -> tuple[int, int]:
        first = int(self.scroll_y)
        return first, min(len(self.ids), first + self._page)

    def _layout(self) -> list[tuple[int, int, int]]:
        """(column index, x, width) of the columns on screen."""
        width = self.scrollable_content_region.width or self.size.width
        key = (width, len(self.columns), self.left_col, id(self.columns))
        if self._columns_cache and self._columns_cache[0] == key:
            return self._columns_cache[1]
        layout: list[tuple[int, int, int]] = []
        if self.columns and width > 0:
            ideal = [c.ideal for c in self.columns]
            total = sum(ideal) + GAP * (len(ideal) - 1)
            if total <= width:
                widths = list(ideal)
                spare = width - total
                grow = min(spare, max(0, 36 - widths[0]))
                widths[0] += grow
                spare -= grow
                if len(widths) > 1:
                    share, rest = divmod(spare, len(widths))
                    widths = [w + share for w in widths]
                    widths[0] += rest
                else:
                    widths[0] += spare
                shown = list(range(len(self.columns)))
            else:
                title = max(self.columns[0].minimum, min(ideal[0], width * 2 // 5))
                room = width - title
                shown, widths_rest = [0], []
                for index in range(1 + self.left_col, len(self.columns)):
                    need = ideal[index] + GAP
                    if need > room:
                        # squeeze in a last column rather than leave a gap (always the focused one)
                        if room - GAP >= max(6, self.columns[index].minimum) or not widths_rest:
                            shown.append(index)
                            widths_rest.append(max(1, room - GAP))
                            room = 0
                        break
                    shown.append(index)
                    widths_rest.append(ideal[index])
                    room -= need
                widths = [title + room] + widths_rest
            x = 0
            for index, w in zip(shown, widths):
                layout.append((index, x, w))
                x += w + GAP
        self._columns_cache = (key, layout)
        return layout

    def _keep_column_visible(self) -> None:
        if self.cursor_col == 0:
            return
        for _ in range(len(self.columns)):
            widths = {index: w for index, _, w in self._layout()}
            ideal = self.columns[self.cursor_col].ideal
            if self.cursor_col in widths and (widths[self.cursor_col] >= ideal
                                              or self.left_col >= self.cursor_col - 1):
                return
            if self.cursor_col <= self.left_col:
                self.left_col = self.cursor_col - 1
            else:
                self.left_col += 1
            self._columns_cache = None

    def _scroll_cursor_into_view(self) -> None:
        first, _ = int(self.scroll_y), None
        page = self._page
        if self.cursor_row < first:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= first + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False, immediate=True)

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y <= self._page:
            self.refresh(Region(0, y, self.size.width, 1))

    # Focus changes only the cursor cell's colour: repaint that line, not the whole table (Textual's
    # default repaints every line, which doubled the bytes of the first paint).
    def _on_focus(self, event) -> None:
        event.prevent_default()
        self.has_focus = True
        self._refresh_row(self.cursor_row)
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def _on_blur(self, event) -> None:
        event.prevent_default()
        self.has_focus = False
        self._refresh_row(self.cursor_row)
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))

    def on_resize(self, event) -> None:
        self._columns_cache = None
        self.virtual_size = Size(0, len(self.ids) + 1)
        self._keep_column_visible()
        self._request_window()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._request_window()

    def _request_window(self) -> None:
        if not self.ids:
            return
        first, last = self._visible_range()
        margin = self._page
        start, end = max(0, first - margin), min(len(self.ids), last + margin)
        wanted = [rid for rid in self.ids[first:last] if rid not in self.rows]
        if not wanted:
            return
        wanted = [rid for rid in self.ids[start:end] if rid not in self.rows]
        request = tuple(wanted)
        if request == self._last_request:
            return
        self._last_request = request
        self.post_message(self.WindowNeeded(wanted))

    # -- moving -------------------------------------------------------------------------------

    def move_cursor(self, row: int | None = None, col: int | None = None) -> None:
        old_row, old_col = self.cursor_row, self.cursor_col
        if row is not None and self.ids:
            self.cursor_row = max(0, min(len(self.ids) - 1, row))
        if col is not None and self.columns:
            self.cursor_col = max(0, min(len(self.columns) - 1, col))
        before = int(self.scroll_y)
        old_left = self.left_col
        self._keep_column_visible()
        self._scroll_cursor_into_view()
        if old_left != self.left_col:
            self.refresh()
            return
        if int(self.scroll_y) == before:
            if old_col != self.cursor_col:
                self.refresh(Region(0, 0, self.size.width, 1))
            self._refresh_row(old_row)
            self._refresh_row(self.cursor_row)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_left(self) -> None:
        self.move_cursor(col=self.cursor_col - 1)

    def action_cursor_right(self) -> None:
        self.move_cursor(col=self.cursor_col + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._page)

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._page)

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.ids) - 1)

    def action_open(self) -> None:
        if self.current_id is not None:
            self.post_message(self.Opened(self.current_id))

    def on_click(self, event) -> None:
        row = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.ids):
            column = next((index for index, x, w in self._layout() if x <= event.x < x + w + GAP), None)
            self.move_cursor(row=row, col=column)
            if event.chain >= 2:
                self.action_open()

    # -- drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        row = int(self.scroll_y) + y - 1
        if row >= len(self.ids):
            if not self.ids and y == 1:
                style = base + self.get_component_rich_style("record-table--empty")
                return Strip([Segment(fit("  " + self.empty_text, width), style)], width)
            return Strip.blank(width, base)
        record = self.rows.get(self.ids[row])
        is_cursor = row == self.cursor_row
        row_style = base + self.get_component_rich_style("record-table--cursor") if is_cursor else base
        cell_style = (base + self.get_component_rich_style("record-table--cursor-cell")
                      if is_cursor and self.has_focus else row_style)
        segments: list[Segment] = []
        if record is None:
            style = row_style + self.get_component_rich_style("record-table--placeholder")
            return Strip([Segment(fit(" …", width), style)], width)
        for index, x, w in self._layout():
            column = self.columns[index]
            text = fit(record.cells[index] if index < len(record.cells) else "", w, column.align)
            segments.append(Segment(text, cell_style if index == self.cursor_col else row_style))
            segments.append(Segment(" " * GAP, row_style))
        # one escape sequence per style run, not per cell: a row is ~100 bytes instead of ~260
        return Strip(segments).adjust_cell_length(width, row_style).simplify()

    def _header(self, width: int, base: Style) -> Strip:
        header = base + self.get_component_rich_style("record-table--header")
        sorted_style = header + self.get_component_rich_style("record-table--sorted")
        segments: list[Segment] = []
        for index, x, w in self._layout():
            column = self.columns[index]
            label = column.label
            if column.key == self.sort_key:
                label += " ▼" if self.descending else " ▲"
            if index == 0 and self.left_col > 0:
                label += " ‹"
            style = sorted_style if column.key == self.sort_key else header
            if index == self.cursor_col:
                style = style + Style(underline=True)
            segments.append(Segment(fit(label, w, column.align), style))
            segments.append(Segment(" " * GAP, header))
        layout = self._layout()
        if layout and layout[-1][0] < len(self.columns) - 1 and segments:
            segments[-1] = Segment("›", header)
        return Strip(segments).adjust_cell_length(width, header).simplify()

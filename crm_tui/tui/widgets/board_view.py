"""The pipeline board as one Line-API widget: a column per list, cards drawn from a cache, only the
lines on screen rendered — a column of 10,000 deals costs what a column of 10 does.

Each column scrolls on its own; the board scrolls sideways to keep the focused column in view;
closed columns (won / lost / closed) can collapse to a narrow strip. Moving the focus repaints the
two cards involved; a move repaints the two columns.

| key                 | action                          | binding id               |
| ------------------- | ------------------------------- | ------------------------ |
| left / h, right / l | previous / next column          | board.left / board.right |
| up / k, down / j    | previous / next card            | board.up / board.down    |
| pageup, pagedown    | a screen of cards up / down     | board.page_up / _down    |
| home / g, end / G   | first / last card of the column | board.first / board.last |
| enter               | open the card's record          | board.open               |
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ..cells import fit, join_fit

HEADER_LINES = 4  # name · count, total, weighted, rule
CARD_LINES = 3
CARD_HEIGHT = CARD_LINES + 1
MIN_COLUMN = 24
COLLAPSED = 6
GAP = 1


class BoardView(Widget, can_focus=True):
    """Columns are ``crm_tui.domain.board.BoardColumn``; cards ``crm_tui.domain.board.Card``."""

    BINDINGS = [
        Binding("left,h", "focus_column(-1)", "Left", show=False, id="board.left"),
        Binding("right,l", "focus_column(1)", "Right", show=False, id="board.right"),
        Binding("up,k", "focus_card(-1)", "Up", show=False, id="board.up"),
        Binding("down,j", "focus_card(1)", "Down", show=False, id="board.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="board.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="board.page_down"),
        Binding("home,g", "edge(-1)", "First", show=False, id="board.first"),
        Binding("end,G", "edge(1)", "Last", show=False, id="board.last"),
        Binding("enter", "open", "Open", id="board.open"),
    ]

    COMPONENT_CLASSES = {
        "board--header",
        "board--header-focus",
        "board--money",
        "board--rule",
        "board--card",
        "board--card-title",
        "board--cursor",
        "board--aging",
        "board--muted",
        "board--collapsed",
    }

    DEFAULT_CSS = """
    BoardView {
        background: $surface;
        color: $foreground;
        & > .board--header { text-style: bold; }
        & > .board--header-focus { color: $accent; text-style: bold; }
        & > .board--money { color: $success; }
        & > .board--rule { color: $text-muted; }
        & > .board--card { background: $panel; }
        & > .board--card-title { text-style: bold; }
        & > .board--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .board--aging { color: $warning; text-style: bold; }
        & > .board--muted { color: $text-muted; }
        & > .board--collapsed { color: $text-muted; }
    }
    """

    class Opened(Message):
        def __init__(self, record_id: int) -> None:
            super().__init__()
            self.record_id = record_id

    class CardsNeeded(Message):
        """Cards about to be shown are not cached: load ``ids`` and call ``add_cards``."""

        def __init__(self, ids: list[int]) -> None:
            super().__init__()
            self.ids = ids

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns: list = []
        self.cards: dict[int, object] = {}
        self.money = lambda value: ""
        self.collapse_closed = True
        self.col = 0
        self.index: dict[int, int] = {}  # list id → focused card index
        self.top: dict[int, int] = {}  # list id → first card shown
        self.left = 0
        self.empty_text = "loading…"
        self._last_request: tuple[int, ...] = ()

    # -- data ---------------------------------------------------------------------------------

    def set_board(self, columns: list, *, keep: int | None = None) -> None:
        """New columns (a reload); the focus stays on card ``keep`` when it is still on the board."""
        old_list = self.current_column.list.id if self.current_column else None
        self.columns = columns
        target = None
        if keep is not None:
            target = next(((ci, c.ids.index(keep)) for ci, c in enumerate(columns) if keep in c.ids), None)
        if target is not None:
            self.col = target[0]
            self.index[columns[target[0]].list.id] = target[1]
        elif old_list is not None:
            self.col = next((ci for ci, c in enumerate(columns) if c.list.id == old_list), 0)
        self.col = min(self.col, max(0, len(columns) - 1))
        if self.columns and self._collapsed(self.col):
            self.col = self._nearest_open(self.col)
        for column in columns:
            self._clamp(column)
        self._keep_column_visible()
        self.refresh()
        self._request_cards()

    def add_cards(self, cards: dict) -> None:
        if not cards:
            return
        self.cards.update(cards)
        self._last_request = ()
        self.refresh()

    def set_collapse(self, collapse: bool) -> None:
        self.collapse_closed = collapse
        if self.columns and self._collapsed(self.col):
            self.col = self._nearest_open(self.col)
        self.left = 0
        self._keep_column_visible()
        self.refresh()
        self._request_cards()

    @property
    def current_column(self):
        return self.columns[self.col] if 0 <= self.col < len(self.columns) else None

    @property
    def current_card(self):
        column = self.current_column
        if column is None or not column.ids:
            return None
        index = self.index.get(column.list.id, 0)
        if 0 <= index < len(column.ids):
            return self.cards.get(column.ids[index])
        return None

    @property
    def current_id(self) -> int | None:
        column = self.current_column
        if column is None or not column.ids:
            return None
        index = self.index.get(column.list.id, 0)
        return column.ids[index] if 0 <= index < len(column.ids) else None

    def visible_windows(self) -> dict[int, tuple[int, int]]:
        """list id → (first card shown, cards that fit) for the columns on screen."""
        out = {}
        per = self._cards_per_column()
        for ci, _, _ in self._layout():
            column = self.columns[ci]
            if not self._collapsed(ci):
                out[column.list.id] = (self.top.get(column.list.id, 0), per)
        return out

    # -- geometry -----------------------------------------------------------------------------

    def _collapsed(self, ci: int) -> bool:
        return self.collapse_closed and self.columns[ci].closed

    def _nearest_open(self, ci: int) -> int:
        for distance in range(len(self.columns)):
            for candidate in (ci - distance, ci + distance):
                if 0 <= candidate < len(self.columns) and not self._collapsed(candidate):
                    return candidate
        return ci

    def _cards_per_column(self) -> int:
        return max(1, (self.size.height - HEADER_LINES + 1) // CARD_HEIGHT)

    def _clamp(self, column) -> None:
        key = column.list.id
        count = len(column.ids)
        index = max(0, min(self.index.get(key, 0), count - 1)) if count else 0
        self.index[key] = index
        per = self._cards_per_column()
        top = self.top.get(key, 0)
        if index < top:
            top = index
        elif index >= top + per:
            top = index - per + 1
        self.top[key] = max(0, min(top, max(0, count - per)))

    def _fits(self, left: int) -> list[int]:
        """Indices of the columns that fit when ``left`` is the first one shown."""
        width = self.size.width
        used, shown = 0, []
        for ci in range(left, len(self.columns)):
            need = (COLLAPSED if self._collapsed(ci) else MIN_COLUMN) + (GAP if shown else 0)
            if used + need > width and shown:
                break
            shown.append(ci)
            used += need
        return shown

    def _keep_column_visible(self) -> None:
        if not self.columns:
            return
        self.left = min(self.left, self.col)
        while self.col not in self._fits(self.left) and self.left < self.col:
            self.left += 1

    def _layout(self) -> list[tuple[int, int, int]]:
        """(column index, x, width) of the columns on screen; open columns share the spare width."""
        shown = self._fits(self.left)
        if not shown:
            return []
        width = self.size.width
        base = [COLLAPSED if self._collapsed(ci) else MIN_COLUMN for ci in shown]
        spare = width - sum(base) - GAP * (len(shown) - 1)
        open_columns = [i for i, ci in enumerate(shown) if not self._collapsed(ci)]
        if spare > 0 and open_columns:
            share, rest = divmod(spare, len(open_columns))
            for n, i in enumerate(open_columns):
                base[i] += share + (1 if n < rest else 0)
        out, x = [], 0
        for ci, w in zip(shown, base):
            out.append((ci, x, min(w, max(1, width - x))))
            x += w + GAP
        return out

    def _column_region(self, ci: int) -> Region | None:
        for index, x, w in self._layout():
            if index == ci:
                return Region(x, 0, w, self.size.height)
        return None

    def _card_region(self, ci: int, index: int) -> Region | None:
        region = self._column_region(ci)
        if region is None:
            return None
        column = self.columns[ci]
        slot = index - self.top.get(column.list.id, 0)
        if not 0 <= slot < self._cards_per_column():
            return None
        return Region(region.x, HEADER_LINES + slot * CARD_HEIGHT, region.width, CARD_LINES)

    def refresh_columns(self, *indices: int) -> None:
        for ci in indices:
            region = self._column_region(ci)
            if region is not None:
                self.refresh(region)

    def on_resize(self, event) -> None:
        for column in self.columns:
            self._clamp(column)
        self._keep_column_visible()
        self._request_cards()

    def _request_cards(self) -> None:
        per = self._cards_per_column()
        wanted: list[int] = []
        missing_on_screen = False
        for ci, _, _ in self._layout():
            if self._collapsed(ci):
                continue
            column = self.columns[ci]
            top = self.top.get(column.list.id, 0)
            on_screen = column.ids[top:top + per]
            if any(rid not in self.cards for rid in on_screen):
                missing_on_screen = True
            wanted += [rid for rid in column.ids[max(0, top - per):top + 2 * per] if rid not in self.cards]
        if not missing_on_screen or not wanted:
            return
        request = tuple(wanted)
        if request != self._last_request:
            self._last_request = request
            self.post_message(self.CardsNeeded(wanted))

    # -- moving the focus ---------------------------------------------------------------------

    def focus_card_index(self, ci: int, index: int) -> None:
        """Put the focus on card ``index`` of column ``ci``, repainting as little as possible."""
        if not self.columns:
            return
        old_ci = self.col
        old_index = self.index.get(self.columns[old_ci].list.id, 0)
        old_left = self.left
        column = self.columns[ci]
        old_top = self.top.get(column.list.id, 0)
        self.col = ci
        self.index[column.list.id] = index
        self._clamp(column)
        self._keep_column_visible()
        if self.left != old_left:
            self.refresh()
        elif self.top.get(column.list.id, 0) != old_top:
            self.refresh_columns(ci)
            if old_ci != ci:
                self.refresh_columns(old_ci)
        else:
            for region in (self._card_region(old_ci, old_index),
                           self._card_region(ci, self.index[column.list.id])):
                if region is not None:
                    self.refresh(region)
            if old_ci != ci:
                for c in (old_ci, ci):
                    region = self._column_region(c)
                    if region is not None:
                        self.refresh(Region(region.x, 0, region.width, 1))
        self._request_cards()

    def action_focus_column(self, step: int) -> None:
        ci = self.col + step
        while 0 <= ci < len(self.columns) and self._collapsed(ci):
            ci += step
        if 0 <= ci < len(self.columns):
            self.focus_card_index(ci, self.index.get(self.columns[ci].list.id, 0))

    def action_focus_card(self, step: int) -> None:
        column = self.current_column
        if column and column.ids:
            index = max(0, min(len(column.ids) - 1, self.index.get(column.list.id, 0) + step))
            self.focus_card_index(self.col, index)

    def action_page(self, step: int) -> None:
        self.action_focus_card(step * self._cards_per_column())

    def action_edge(self, step: int) -> None:
        column = self.current_column
        if column and column.ids:
            self.focus_card_index(self.col, 0 if step < 0 else len(column.ids) - 1)

    def action_open(self) -> None:
        if self.current_id is not None:
            self.post_message(self.Opened(self.current_id))

    def on_click(self, event) -> None:
        for ci, x, w in self._layout():
            if x <= event.x < x + w and not self._collapsed(ci):
                column = self.columns[ci]
                slot = (event.y - HEADER_LINES) // CARD_HEIGHT if event.y >= HEADER_LINES else -1
                index = self.top.get(column.list.id, 0) + slot
                if slot >= 0 and index < len(column.ids):
                    self.focus_card_index(ci, index)
                    if event.chain >= 2:
                        self.action_open()
                else:
                    self.focus_card_index(ci, self.index.get(column.list.id, 0))
                return

    # -- drawing ------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if not self.columns:
            return Strip([Segment(fit("  " + self.empty_text, width), base)] if y == 0 else [], width) \
                .adjust_cell_length(width, base)
        layout = self._layout()
        segments: list[Segment] = []
        for n, (ci, x, w) in enumerate(layout):
            if n:
                segments.append(Segment(" " * GAP, base))
            first, last = n == 0, n == len(layout) - 1
            more_left = first and ci > 0
            more_right = last and ci < len(self.columns) - 1
            segments.extend(self._column_line(ci, y, w, base, more_left, more_right))
        return Strip(segments).adjust_cell_length(width, base).simplify()

    def _column_line(self, ci: int, y: int, w: int, base: Style, more_left: bool, more_right: bool):
        column = self.columns[ci]
        focused = ci == self.col
        header = base + self._style("board--header-focus" if focused else "board--header")
        if self._collapsed(ci):
            style = base + self._style("board--collapsed")
            text = {0: column.list.name, 1: f"{column.count:,}", 2: "▸"}.get(y, "")
            return [Segment(fit(text, w), style)]
        if y == 0:
            name = ("‹ " if more_left else "") + column.list.name
            count = f"{column.count:,}" + (" ›" if more_right else "")
            return [Segment(join_fit(name, count, w), header)]
        if y == 1:
            total = self.money(column.total)
            return [Segment(fit(f"Σ {total}" if total else "", w), base + self._style("board--money"))]
        if y == 2:
            weighted = self.money(column.weighted)
            text = f"≈ {weighted} · {column.list.probability}%" if weighted else ""
            return [Segment(fit(text, w), base + self._style("board--muted"))]
        per = self._cards_per_column()
        top = self.top.get(column.list.id, 0)
        if y == 3:
            rule = base + self._style("board--rule")
            count = len(column.ids)
            label = f" {top + 1}–{min(count, top + per)} of {count:,} " if count > per else ""
            if not count:
                label = " empty "
            return [Segment(fit(("─" * 2 + label).ljust(w, "─") if label else "─" * w, w), rule)]
        slot, line = divmod(y - HEADER_LINES, CARD_HEIGHT)
        index = top + slot
        if slot >= per or index >= len(column.ids) or line >= CARD_LINES:
            return [Segment(" " * w, base)]
        rid = column.ids[index]
        card = self.cards.get(rid)
        is_cursor = focused and index == self.index.get(column.list.id, 0)
        card_style = base + self._style("board--cursor" if is_cursor else "board--card")
        if card is None:
            return [Segment(fit(" …" if line == 0 else "", w), card_style)]
        inner = max(1, w - 2)
        if line == 0:
            mark = "⚑" if card.aging else ""
            title_style = card_style + self._style("board--card-title")
            segs = [Segment(" ", card_style), Segment(fit(card.title, inner - (2 if mark else 0)), title_style)]
            if mark:
                segs.append(Segment(" " + mark, card_style if is_cursor else card_style + self._style("board--aging")))
            segs.append(Segment(" ", card_style))
            return segs
        if line == 1:
            amount = card.amount
            client = card.client
            text = f"{amount} · {client}" if amount and client else (amount or client)
            return [Segment(" " + fit(text, inner) + " ", card_style)]
        stars = ""
        if card.stars is not None:
            stars = "★" * card.stars + "☆" * max(0, card.stars_max - card.stars)
        left = " ".join(part for part in (stars, ", ".join(card.tags)) if part)
        right = " ".join(part for part in (card.initials, f"{card.days_in_stage}d") if part)
        style = card_style + self._style("board--aging") if card.aging and not is_cursor else card_style
        text = join_fit(left, right, inner)
        cut = len(text) - len(right)
        return [Segment(" " + text[:cut], card_style), Segment(text[cut:] + " ", style)]

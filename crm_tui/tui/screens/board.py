"""The pipeline board of a project (Opportunities by default): columns per list with exact totals,
cards moved by key, live updates from other users.

| key                      | action                                     | binding id          |
| ------------------------ | ------------------------------------------ | ------------------- |
| arrows / h j k l         | move the focus                             | board.left/right/up/down |
| shift+right / L          | move the card to the next list             | board.move_next     |
| shift+left / H           | move the card to the previous list         | board.move_prev     |
| m                        | move the card to a list you pick           | board.move_to       |
| ctrl+up / ctrl+down      | reorder the card within its list           | board.reorder_up / _down |
| enter                    | open the card's record                     | board.open          |
| n                        | quick-create a card in the focused list    | board.new           |
| c                        | collapse / expand closed lists             | board.collapse      |
| /, t, a                  | filter by text, by tag, by assignee        | board.filter / by_tag / by_assignee |
| x                        | clear the filters                          | board.clear         |
| v                        | switch to the table                        | board.view          |
| q                        | quit                                       | board.quit          |

The board polls the project's last event id every few seconds (one indexed MAX) and re-reads only
when another user changed something; its own writes are told apart by counting events.
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.message import Message

from ...domain import browse
from ...errors import ConflictError
from ..dbwork import cancelled, db_session
from ..widgets.board_view import BoardView
from ..widgets.header import AppHeader
from .picker import ChoiceScreen
from .project_view import ProjectChanged, ProjectViewScreen

PRELOAD = 14  # cards read per column with the board, before the widget asks for more


class BoardLoaded(Message):
    def __init__(self, schema, board, cards, users, keep) -> None:
        super().__init__()
        self.schema, self.board, self.cards, self.users, self.keep = schema, board, cards, users, keep


class CardsLoaded(Message):
    def __init__(self, cards: dict) -> None:
        super().__init__()
        self.cards = cards


class CardMoved(Message):
    def __init__(self, card_id, from_list, to_list, version, last_event, clean) -> None:
        super().__init__()
        self.card_id, self.from_list, self.to_list = card_id, from_list, to_list
        self.version, self.last_event, self.clean = version, last_event, clean


class CardReordered(Message):
    def __init__(self, card_id: int, step: int, version: int) -> None:
        super().__init__()
        self.card_id, self.step, self.version = card_id, step, version


class MoveFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def fetch_board(actor, project_id: int, filters=browse.Filters(), keep: int | None = None,
                windows: dict | None = None, collapse_closed: bool = True) -> BoardLoaded:
    """Everything a board shows first: columns with totals and ids, the cards of the visible
    windows (run in a worker, inside a connection context)."""
    from ...domain.board import load_board, load_cards
    from ...domain.project_schema import load_schema

    windows = windows or {}
    schema = load_schema(project_id)
    board = load_board(actor, schema, filters)
    wanted: list[int] = []
    for column in board.columns:
        if collapse_closed and column.closed:
            continue
        top, per = windows.get(column.list.id, (0, PRELOAD))
        if keep in column.ids:
            top = max(0, column.ids.index(keep) - per // 2)
        wanted += column.ids[top:top + max(per, PRELOAD)]
    cards = load_cards(actor, schema, board.fields, wanted)
    return BoardLoaded(schema, board, cards, browse.active_users(), keep)


class BoardScreen(ProjectViewScreen):
    help_title = "board"
    view_class = BoardView
    other_view = "table"
    filter_placeholder = "filter cards (enter: keep, escape: clear)"
    BINDINGS = [
        Binding("shift+right,L", "move(1)", "Move", id="board.move_next", key_display="⇧→"),
        Binding("shift+left,H", "move(-1)", "Move back", show=False, id="board.move_prev", key_display="⇧←"),
        Binding("m", "move_to", "Stage", id="board.move_to"),
        Binding("ctrl+up", "reorder(-1)", "Reorder up", show=False, id="board.reorder_up"),
        Binding("ctrl+down", "reorder(1)", "Reorder down", show=False, id="board.reorder_down"),
        Binding("n", "new_record", "New", id="board.new"),
        Binding("c", "collapse", "Collapse", id="board.collapse"),
        Binding("slash", "filter", "Filter", id="board.filter", key_display="/"),
        Binding("t", "filter_tag", "Tag", show=False, id="board.by_tag"),
        Binding("a", "filter_assignee", "Assignee", show=False, id="board.by_assignee"),
        Binding("x", "clear_filters", "Clear filters", show=False, id="board.clear"),
        Binding("v", "switch_view", "Table", show=False, id="board.view"),
        Binding("escape", "escape", "Back", show=False, id="board.escape"),
        Binding("q", "app.quit", "Quit", id="board.quit"),
    ]

    def __init__(self, project_id: int, preloaded: BoardLoaded | None = None) -> None:
        super().__init__(project_id, preloaded)
        self.fields = None
        self.said = ""

    def make_view(self) -> BoardView:
        return BoardView(id="board")

    @property
    def board(self) -> BoardView:
        return self.query_one(BoardView)

    # -- loading ------------------------------------------------------------------------------

    def reload(self, keep: int | None = None) -> None:
        board = self.board
        windows = board.visible_windows() if board.columns else {}
        self.load(self.filters, keep if keep is not None else board.current_id, windows, board.collapse_closed)

    @work(thread=True, exclusive=True, group="board-load", exit_on_error=False)
    def load(self, filters, keep, windows, collapse_closed) -> None:
        with db_session():
            message = fetch_board(self.app.actor, self.project_id, filters, keep, windows, collapse_closed)
        if not cancelled():
            self.post_message(message)

    @on(BoardLoaded)
    def _loaded(self, message: BoardLoaded) -> None:
        from ...domain.board import format_money

        self.schema, self.fields, self.users = message.schema, message.board.fields, message.users
        self.last_event = message.board.last_event_id
        board = self.board
        board.money = lambda value: format_money(self.fields, value)
        board.cards = message.cards
        board.empty_text = "this project has no lists" if not message.board.columns else ""
        board.set_board(message.board.columns, keep=message.keep)
        self._update_header()

    @on(BoardView.CardsNeeded)
    def _cards_needed(self, message: BoardView.CardsNeeded) -> None:
        if self.schema is not None:
            self.load_cards(self.schema, self.fields, message.ids)

    @work(thread=True, exclusive=True, group="board-cards", exit_on_error=False)
    def load_cards(self, schema, fields, ids) -> None:
        from ...domain.board import load_cards

        with db_session():
            cards = load_cards(self.app.actor, schema, fields, ids)
        if not cancelled():
            self.post_message(CardsLoaded(cards))

    @on(CardsLoaded)
    def _cards_loaded(self, message: CardsLoaded) -> None:
        self.board.add_cards(message.cards)

    @on(ProjectChanged)
    def _changed(self, message: ProjectChanged) -> None:
        if message.last_event != self.last_event and not self._busy:
            self.reload()

    def _say(self, text: str) -> None:
        """A short confirmation in the header: no toast, so nothing repaints when it would expire."""
        self.said = text
        self._update_header()

    def _update_header(self) -> None:
        if self.schema is None:
            return
        total = sum(c.count for c in self.board.columns)
        parts = [self.said] if self.said else []
        parts.append(f"{total:,} cards")
        if self.filters.search.strip():
            parts.append(f"/{self.filters.search.strip()}")
        if self.filters.tag_id is not None:
            parts.append("tag " + next((t.name for t in self.schema.tags if t.id == self.filters.tag_id), "?"))
        if self.filters.assignee_id is not None:
            parts.append("@" + next((n for uid, n, _ in self.users if uid == self.filters.assignee_id), "?"))
        self.query_one(AppHeader).set_text(f"{self.schema.name} · board", " · ".join(parts))

    # -- moves --------------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        board = self.board
        card = board.current_card
        target = board.col + step
        if card is None or not 0 <= target < len(board.columns):
            return
        self._move(card, board.columns[target].list)

    def action_move_to(self) -> None:
        card = self.board.current_card
        if card is None or self.schema is None:
            return
        options = [(lst.id, f"{lst.name}  ({lst.probability}%, {lst.kind})") for lst in self.schema.lists]

        def chosen(list_id) -> None:
            if list_id is not None and list_id != card.list_id:
                self._move(card, self.schema.list_by_id(list_id))

        self.app.push_screen(ChoiceScreen(f"Move “{card.title}” to", options, current=card.list_id), chosen)

    def _move(self, card, target) -> None:
        self._busy = True
        self.move_card(card.id, card.version, card.list_id, target.id, target.name, self.last_event)

    @work(thread=True, group="board-write", exit_on_error=False)
    def move_card(self, card_id, version, from_list, to_list, to_name, known_event) -> None:
        from ...domain.board import changes_since
        from ...domain.records import move_record

        with db_session():
            try:
                new_version = move_record(self.app.actor, card_id, to_name, expect_version=version)
            except ConflictError as exc:
                self.post_message(MoveFailed(str(exc)))
                return
            count, last = changes_since(self.project_id, known_event)
        self.post_message(CardMoved(card_id, from_list, to_list, new_version, last, clean=count == 1))

    @on(CardMoved)
    def _moved(self, message: CardMoved) -> None:
        self._busy = False
        board = self.board
        columns = board.columns
        source = next((ci for ci, c in enumerate(columns) if c.list.id == message.from_list), None)
        target = next((ci for ci, c in enumerate(columns) if c.list.id == message.to_list), None)
        if not message.clean or source is None or target is None or message.card_id not in columns[source].ids:
            self.last_event = message.last_event
            self.reload(keep=message.card_id)
            return
        self.last_event = message.last_event
        card = board.cards.get(message.card_id)
        src, dst = columns[source], columns[target]
        index = src.ids.index(message.card_id)
        src.ids.pop(index)
        dst.ids.insert(0, message.card_id)  # the domain puts a moved card on top of its new list
        amount = card.amount_value if card is not None else None
        src.count -= 1
        dst.count += 1
        if amount is not None and src.total is not None and dst.total is not None:
            from ...domain.decimals import normalize

            src.total = normalize(src.total - amount)
            dst.total = normalize(dst.total + amount)
            src.weighted = normalize(src.total * src.list.probability / 100)
            dst.weighted = normalize(dst.total * dst.list.probability / 100)
        if card is not None:
            card.version, card.list_id, card.days_in_stage, card.aging = message.version, dst.list.id, 0, False
        board.index[src.list.id] = min(index, max(0, len(src.ids) - 1))
        board._clamp(src)
        if board._collapsed(target):
            board.refresh()
            board._request_cards()
        else:
            board.index[dst.list.id] = 0
            board.focus_card_index(target, 0)
            board.refresh_columns(source, target)
        self._say(f"moved to {dst.list.name}")

    @on(MoveFailed)
    def _move_failed(self, message: MoveFailed) -> None:
        self._busy = False
        self.notify(message.text, severity="error", timeout=8)
        self.reload()

    def worker_failed(self, error) -> None:
        self._busy = False
        super().worker_failed(error)

    def action_reorder(self, step: int) -> None:
        board = self.board
        card_id = board.current_id
        column = board.current_column
        if card_id is None or column is None:
            return
        index = column.ids.index(card_id)
        if not 0 <= index + step < len(column.ids):
            return
        self.reorder(card_id, step)

    @work(thread=True, group="board-write", exit_on_error=False)
    def reorder(self, card_id: int, step: int) -> None:
        from ...domain.records import reorder_record

        with db_session():
            version = reorder_record(self.app.actor, card_id, step)
        self.post_message(CardReordered(card_id, step, version))

    @on(CardReordered)
    def _reordered(self, message: CardReordered) -> None:
        if self.filters.active:  # the stored neighbour may be a card the filter hides
            self.reload(keep=message.card_id)
            return
        board = self.board
        for ci, column in enumerate(board.columns):
            if message.card_id in column.ids:
                index = column.ids.index(message.card_id)
                other = index + message.step
                if 0 <= other < len(column.ids):
                    column.ids[index], column.ids[other] = column.ids[other], column.ids[index]
                    card = board.cards.get(message.card_id)
                    if card is not None:
                        card.version = message.version
                    board.focus_card_index(ci, other)
                    board.refresh_columns(ci)
                return

    # -- other actions ------------------------------------------------------------------------

    @on(BoardView.Opened)
    def _open(self, message: BoardView.Opened) -> None:
        self.app.open_record(message.record_id, self._record_closed)

    def _record_closed(self, result) -> None:
        if result:
            self.board.cards.clear()
            self.reload(keep=result if isinstance(result, int) else None)

    def _card_created(self, result) -> None:
        if result:
            self.said = "card created"
            self._record_closed(result)

    def action_new_record(self) -> None:
        column = self.board.current_column
        if self.schema is None or column is None:
            return
        from .quick_create import QuickCreateScreen

        self.app.push_screen(QuickCreateScreen(self.schema, column.list, self.fields), self._card_created)

    def action_collapse(self) -> None:
        board = self.board
        board.set_collapse(not board.collapse_closed)
        self._say("closed lists " + ("collapsed" if board.collapse_closed else "expanded"))

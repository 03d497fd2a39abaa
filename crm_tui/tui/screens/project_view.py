"""What the table and the board of a project share: the header, the view, a filter bar and the
footer; the data read before the screen was shown; the poll of the project's last event id; the
filters (as you type, by tag, by assignee, cleared) and the switch to the other view.

>>> class TableScreen(ProjectViewScreen):
...     view_class, other_view = RecordTable, "board"
...     def make_view(self): return RecordTable(id="records")

A subclass brings what differs: its widget (``make_view``), its keys (``BINDINGS``, with ids of its
own), its loader (``reload``, and ``_loaded`` as the handler of its loaded message) and what a change
by another user does (a handler of ``ProjectChanged``).
"""

from __future__ import annotations

from dataclasses import replace

from textual import on, work
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input

from ...domain import browse
from ..dbwork import db_session
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import CrmScreen
from .picker import ChoiceScreen


class ProjectChanged(Message):
    """The project's last event id is no longer the one the screen knows."""

    def __init__(self, last_event: int) -> None:
        super().__init__()
        self.last_event = last_event


class ProjectViewScreen(CrmScreen):
    """A project seen through one widget (``view_class``), with a filter bar under it."""

    CSS_PATH = None  # the first screen of the app: app.tcss is all it needs (see base.SCREENS_CSS)
    view_class: type[Widget]  # the one widget the project is seen through
    other_view = ""  # what v switches to
    filter_placeholder = ""

    def __init__(self, project_id: int, preloaded=None) -> None:
        super().__init__()
        self.project_id = project_id
        self.preloaded = preloaded
        self.schema = None
        self.filters = browse.Filters()
        self.last_event = 0
        self.users: list = []
        self._debounce = None
        self._busy = False  # a write of this screen is under way: the poll waits for its answer

    def compose(self):
        yield AppHeader("…")
        yield self.make_view()
        yield KeyHints()  # the filter bar is mounted on the first `/` (an Input costs the first paint ~10%)

    def make_view(self) -> Widget:
        raise NotImplementedError

    @property
    def view(self):
        return self.query_one(self.view_class)

    def on_mount(self) -> None:
        self.view.focus()
        if self.preloaded is not None:  # read before the screen was shown: one paint, not two
            self._loaded(self.preloaded)
            self.preloaded = None
        else:
            self.reload()
        self._poll_timer = self.set_interval(self.app.poll_seconds, self.poll)

    def poll_seconds_changed(self, seconds: float) -> None:
        """The app's poll rate changed (the low-bandwidth setting): poll at the new rate at once."""
        self._poll_timer.stop()
        self._poll_timer = self.set_interval(seconds, self.poll)

    def reload(self, keep: int | None = None) -> None:
        """Read the view again in a worker, the cursor on ``keep`` where it still shows."""
        raise NotImplementedError

    def _loaded(self, message) -> None:
        """Show what ``reload`` (or the app, before the screen was shown) read."""
        raise NotImplementedError

    def refilter(self) -> None:
        """The filters changed: read again."""
        self.reload()

    # -- changes by other users ---------------------------------------------------------------

    def poll(self) -> None:
        if self.schema is not None and self.app.screen is self and not self._busy:
            self.check_changes(self.last_event)

    @work(thread=True, exclusive=True, group="project-poll", exit_on_error=False)
    def check_changes(self, known: int) -> None:
        from ...domain.board import last_change

        with db_session():
            last = last_change(self.project_id)
        if last != known:
            self.post_message(ProjectChanged(last))

    # -- filters ------------------------------------------------------------------------------

    def _search_bar(self) -> Input | None:
        """The filter bar, if it was ever opened."""
        return next(iter(self.query("#filter").results(Input)), None)

    async def action_filter(self) -> None:
        search = self._search_bar()
        if search is None:
            search = Input(placeholder=self.filter_placeholder, id="filter", classes="filter-bar")
            search.cursor_blink = False
            await self.mount(search, after=self.view)
        search.display = True
        search.focus()

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.15, self._apply_search)

    def _apply_search(self) -> None:
        self._debounce = None
        search = self._search_bar()
        text = search.value if search is not None else ""
        if text != self.filters.search:
            self.filters = replace(self.filters, search=text)
            self.refilter()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._apply_search()
        if not self.query_one("#filter", Input).value:
            self.query_one("#filter").display = False
        self.view.focus()

    def _close_search(self) -> None:
        search = self._search_bar()
        if search is not None:
            search.value = ""
            search.display = False
        self.view.focus()

    def action_escape(self) -> None:
        search = self._search_bar()
        if search is not None and (search.has_focus or search.display):
            self._close_search()
            if self.filters.search:
                self.filters = replace(self.filters, search="")
                self.reload(keep=self.view.current_id)

    def action_clear_filters(self) -> None:
        self._close_search()
        if self.filters.active:
            self.filters = browse.Filters()
            self.reload(keep=self.view.current_id)

    def _pick(self, title: str, options, current, field: str) -> None:
        def chosen(value) -> None:
            if value is None:
                return
            self.filters = replace(self.filters, **{field: None if value == "" else value})
            self.refilter()

        self.app.push_screen(ChoiceScreen(title, [("", "(any)")] + options, current=current), chosen)

    def action_filter_tag(self) -> None:
        if self.schema is None:
            return
        if not self.schema.tags:
            self.notify("this project has no tags yet")
            return
        self._pick("Filter by tag", [(t.id, t.name) for t in self.schema.tags], self.filters.tag_id, "tag_id")

    def action_filter_assignee(self) -> None:
        self._pick("Filter by assignee", [(uid, name) for uid, name, _ in self.users],
                   self.filters.assignee_id, "assignee_id")

    def action_switch_view(self) -> None:
        self.app.open_project(self.project_id, self.other_view)

"""A dashboard: a grid of stat cards, pies and bar charts, computed in a worker, laid out by keys.

| key                      | action                                        | binding id              |
| ------------------------ | --------------------------------------------- | ----------------------- |
| arrows / h j k l         | focus the widget to the left / below / …      | dashboard.left/down/up/right |
| ctrl+arrows              | move the focused widget by one cell           | dashboard.move_left/…   |
| shift+arrows             | resize it (right/down grow, left/up shrink)   | dashboard.narrower/…    |
| a                        | add a widget (a form over the metric spec)    | dashboard.add           |
| e / enter                | edit the focused widget                       | dashboard.edit          |
| x / delete               | remove the focused widget (asks first)        | dashboard.remove        |
| r                        | recompute every figure                        | dashboard.refresh       |
| d                        | open another dashboard                        | dashboard.switch        |
| n                        | new dashboard                                 | dashboard.new           |
| escape                   | back                                          | dashboard.back          |

Self-contained: ``app.push_screen(DashboardScreen("Sales"))``; it needs ``app.actor`` and
``app.report(error)`` like every screen. ``DashboardCommands`` is a palette provider ("Open dashboard
Sales", one per dashboard the user can see) to add to the app's ``COMMANDS``. The layout comes first (one small query), then each widget's
figures arrive one by one from a thread worker, so the grid paints at once and never freezes; the layout
is saved on every move or resize (``crm_tui.domain.dashboards``), and the positions shown are the ones
stored. Charts are plain text from ``crm_tui.charts`` (theme colours only).
"""

from __future__ import annotations

from functools import partial

from textual import on, work
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from ..dbwork import cancelled, db_session
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import SCREENS_CSS, CrmModal, CrmScreen

ROW_LINES = 5  # terminal lines per grid row: a stat card is one row, a chart three


# ------------------------------------------------------------------------------------------------
# messages


class LayoutLoaded(Message):
    def __init__(self, name: str, columns: int, widgets: list, access: str) -> None:
        super().__init__()
        self.name, self.columns, self.widgets, self.access = name, columns, widgets, access


class WidgetComputed(Message):
    def __init__(self, widget_id: int, figures: dict) -> None:
        super().__init__()
        self.widget_id, self.figures = widget_id, figures


class LayoutChanged(Message):
    """A write (move, resize, add, edit, remove) finished; ``focus_id`` keeps the focus there."""

    def __init__(self, focus_id: int | None, recompute: bool) -> None:
        super().__init__()
        self.focus_id, self.recompute = focus_id, recompute


# ------------------------------------------------------------------------------------------------
# a tile


class DashboardTile(Static, can_focus=True):
    """One widget: its title on the border, its figure or chart inside, redrawn to its size."""

    def __init__(self, widget_def, **kwargs) -> None:
        super().__init__("…", markup=False, **kwargs)
        self.widget_def = widget_def
        self.figures: dict | None = None
        self.border_title = widget_def.title
        self.styles.column_span = widget_def.w
        self.styles.row_span = widget_def.h

    def show(self, figures: dict | None) -> None:
        self.figures = figures
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        from ... import charts

        figures = self.figures
        if figures is None:
            self.update("computing…")
            return
        width = max(10, self.content_size.width)
        height = max(4, self.content_size.height)
        if figures.get("kind") == "stat" and not figures.get("error") and not figures.get("no_access"):
            value = charts.format_value_fit(figures.get("value"), figures.get("format", "number"), width)
            self.update(f"{value}\n{charts.format_change(figures)}")
            return
        self.update(charts.render(figures, width=width, height=height, show_title=False) or " ")


class Filler(Widget):
    """An empty grid cell (so that Textual's grid places every tile exactly where it is stored)."""

    can_focus = False

    def render(self) -> str:
        return ""


# ------------------------------------------------------------------------------------------------
# the screen


class DashboardScreen(CrmScreen):
    help_title = "dashboard"
    CSS_PATH = [SCREENS_CSS, "dashboard.tcss"]
    BINDINGS = [
        Binding("left,h", "focus_to(-1,0)", "Left", show=False, id="dashboard.left"),
        Binding("right,l", "focus_to(1,0)", "Right", show=False, id="dashboard.right"),
        Binding("up,k", "focus_to(0,-1)", "Up", show=False, id="dashboard.up"),
        Binding("down,j", "focus_to(0,1)", "Down", show=False, id="dashboard.down"),
        Binding("ctrl+left", "move(-1,0)", "Move", id="dashboard.move_left", key_display="^←→↑↓"),
        Binding("ctrl+right", "move(1,0)", "Move right", show=False, id="dashboard.move_right"),
        Binding("ctrl+up", "move(0,-1)", "Move up", show=False, id="dashboard.move_up"),
        Binding("ctrl+down", "move(0,1)", "Move down", show=False, id="dashboard.move_down"),
        Binding("shift+left", "resize(-1,0)", "Resize", id="dashboard.narrower", key_display="⇧←→↑↓"),
        Binding("shift+right", "resize(1,0)", "Wider", show=False, id="dashboard.wider"),
        Binding("shift+up", "resize(0,-1)", "Shorter", show=False, id="dashboard.shorter"),
        Binding("shift+down", "resize(0,1)", "Taller", show=False, id="dashboard.taller"),
        Binding("a", "add", "Add", id="dashboard.add"),
        Binding("e,enter", "edit", "Edit", id="dashboard.edit"),
        Binding("x,delete", "remove", "Remove", id="dashboard.remove"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh"),
        Binding("d", "switch", "Dashboards", id="dashboard.switch"),
        Binding("n", "new_dashboard", "New", show=False, id="dashboard.new"),
        Binding("escape", "back", "Back", show=False, id="dashboard.back"),
    ]

    def __init__(self, name: str = "Sales") -> None:
        super().__init__()
        self.dashboard_name = name
        self.columns = 10
        self.access = "view"
        self.widget_defs: list = []
        self.figures: dict[int, dict] = {}
        self._want_focus: int | None = None

    def compose(self):
        yield AppHeader(f"Dashboard · {self.dashboard_name}")
        with VerticalScroll(id="dashboard-scroll"):
            yield Grid(id="dashboard-grid")
        yield Static("", id="dashboard-empty")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#dashboard-empty").display = False
        self.load()

    # -- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="dashboard-load", exit_on_error=False)
    def load(self, recompute: bool = True) -> None:
        from ...domain.dashboards import access_of, columns_of, compute_widget, get_dashboard, widgets_of
        from ...domain.metrics import SchemaCache

        actor = self.app.actor
        with db_session():
            board = get_dashboard(actor, self.dashboard_name)
            widgets = widgets_of(board)
            self.post_message(LayoutLoaded(board.name, columns_of(board), widgets, access_of(actor, board)))
            if not recompute:
                return
            cache = SchemaCache()
            for widget in widgets:
                if cancelled():
                    return
                self.post_message(WidgetComputed(widget.id, compute_widget(actor, widget, cache=cache)))

    @on(LayoutLoaded)
    async def _layout_loaded(self, message: LayoutLoaded) -> None:
        focused = self._want_focus if self._want_focus is not None else self.focused_widget_id
        self._want_focus = None
        self.dashboard_name, self.columns, self.access = message.name, message.columns, message.access
        self.widget_defs = message.widgets
        self.query_one(AppHeader).set_text(place=f"Dashboard · {message.name}",
                                           status="" if message.access != "view" else "view only")
        grid = self.query_one("#dashboard-grid", Grid)
        grid.styles.grid_size_columns = self.columns
        rows = max([w.y + w.h for w in message.widgets] or [1])
        grid.styles.grid_size_rows = rows
        grid.styles.height = rows * ROW_LINES
        await grid.remove_children()
        await grid.mount_all(self._cells(message.widgets, rows))
        for tile in self.query(DashboardTile):
            tile.show(self.figures.get(tile.widget_def.id))
        empty = self.query_one("#dashboard-empty", Static)
        empty.display = not message.widgets
        empty.update("This dashboard has no widgets yet: press a to add one.")
        self._focus_id(focused if focused is not None else (message.widgets[0].id if message.widgets else None))

    def _cells(self, widgets: list, rows: int) -> list[Widget]:
        """Tiles in reading order, with a filler in every free cell before each tile."""
        covered = {(w.x + i, w.y + j): w for w in widgets for i in range(w.w) for j in range(w.h)}
        out: list[Widget] = []
        for y in range(rows):
            for x in range(self.columns):
                owner = covered.get((x, y))
                if owner is None:
                    out.append(Filler(classes="filler"))
                elif (owner.x, owner.y) == (x, y):
                    out.append(DashboardTile(owner, id=f"tile-{owner.id}", classes=f"tile {owner.kind}"))
        return out

    @on(WidgetComputed)
    def _computed(self, message: WidgetComputed) -> None:
        self.figures[message.widget_id] = message.figures
        for tile in self.query(DashboardTile):
            if tile.widget_def.id == message.widget_id:
                tile.show(message.figures)

    # -- focus ----------------------------------------------------------------------------------

    @property
    def focused_tile(self) -> DashboardTile | None:
        return self.focused if isinstance(self.focused, DashboardTile) else None

    @property
    def focused_widget_id(self) -> int | None:
        tile = self.focused_tile
        return tile.widget_def.id if tile else None

    def _focus_id(self, widget_id: int | None) -> None:
        for tile in self.query(DashboardTile):
            if tile.widget_def.id == widget_id:
                tile.focus()
                tile.scroll_visible()
                return
        tiles = list(self.query(DashboardTile))
        if tiles:
            tiles[0].focus()

    def action_focus_to(self, dx: int, dy: int) -> None:
        """The nearest tile in that direction (by the centres of the cells)."""
        tile = self.focused_tile
        if tile is None:
            self._focus_id(None)
            return
        here = tile.widget_def
        cx, cy = here.x + here.w / 2, here.y + here.h / 2
        best = None
        for other in self.widget_defs:
            if other.id == here.id:
                continue
            ox, oy = other.x + other.w / 2, other.y + other.h / 2
            ahead = (ox - cx) * dx + (oy - cy) * dy
            if ahead <= 0:
                continue
            side = abs((ox - cx) * dy) + abs((oy - cy) * dx)
            score = (side > 0, ahead + 2 * side)
            if best is None or score < best[0]:
                best = (score, other.id)
        if best:
            self._focus_id(best[1])

    # -- layout and editing (writes in a worker, then the layout again) ---------------------------

    def _editable(self) -> bool:
        if self.access == "view":
            self.notify("you may view this dashboard but not change it", severity="warning")
            return False
        return True

    @work(thread=True, exclusive=True, group="dashboard-write", exit_on_error=False)
    def write(self, change, focus_id: int | None, recompute: bool) -> None:
        with db_session():
            result = change(self.app.actor)
        if isinstance(result, int) and focus_id is None:
            focus_id = result
        self.post_message(LayoutChanged(focus_id, recompute))

    @on(LayoutChanged)
    def _layout_changed(self, message: LayoutChanged) -> None:
        self._want_focus = message.focus_id
        self.load(recompute=message.recompute)

    def action_move(self, dx: int, dy: int) -> None:
        tile = self.focused_tile
        if tile is None or not self._editable():
            return
        from ...domain.dashboards import move_widget

        wid = tile.widget_def.id
        self.write(lambda actor: move_widget(actor, wid, dx, dy), wid, False)

    def action_resize(self, dw: int, dh: int) -> None:
        tile = self.focused_tile
        if tile is None or not self._editable():
            return
        from ...domain.dashboards import resize_widget

        wid = tile.widget_def.id
        self.write(lambda actor: resize_widget(actor, wid, dw, dh), wid, False)

    def action_add(self) -> None:
        if not self._editable():
            return
        name = self.dashboard_name

        def chosen(result) -> None:
            if result:
                from ...domain.dashboards import add_widget

                title, kind, spec, size = result
                self.write(lambda actor: add_widget(actor, name, title, kind, spec, w=size[0], h=size[1]),
                           None, True)

        self.app.push_screen(WidgetFormScreen(), chosen)

    def action_edit(self) -> None:
        tile = self.focused_tile
        if tile is None or not self._editable():
            return
        wid = tile.widget_def.id

        def chosen(result) -> None:
            if result:
                from ...domain.dashboards import update_widget

                title, kind, spec, _ = result
                self.figures.pop(wid, None)
                self.write(lambda actor: update_widget(actor, wid, title=title, kind=kind, spec=spec), wid, True)

        self.app.push_screen(WidgetFormScreen(tile.widget_def), chosen)

    def action_remove(self) -> None:
        tile = self.focused_tile
        if tile is None or not self._editable():
            return
        from .confirm import ConfirmScreen

        wid, title = tile.widget_def.id, tile.widget_def.title

        def answered(yes) -> None:
            if yes:
                from ...domain.dashboards import remove_widget

                self.figures.pop(wid, None)
                self.write(lambda actor: remove_widget(actor, wid), None, False)

        self.app.push_screen(ConfirmScreen(f"Remove the widget {title!r}?", yes="remove"), answered)

    def action_refresh(self) -> None:
        self.figures.clear()
        for tile in self.query(DashboardTile):
            tile.show(None)
        self.load()

    def action_switch(self) -> None:
        self.pick_dashboard()

    @work(thread=True, exclusive=True, group="dashboard-list", exit_on_error=False)
    def pick_dashboard(self) -> None:
        from ...domain.dashboards import list_dashboards

        with db_session():
            names = [d["name"] for d in list_dashboards(self.app.actor)]
        self.app.call_from_thread(self._choose_dashboard, names)

    def _choose_dashboard(self, names: list[str]) -> None:
        from .picker import ChoiceScreen

        def chosen(name) -> None:
            if name and name != self.dashboard_name:
                self.dashboard_name = name
                self.figures.clear()
                self.load()

        self.app.push_screen(ChoiceScreen("Open a dashboard", [(n, n) for n in names], current=self.dashboard_name),
                             chosen)

    def action_new_dashboard(self) -> None:
        def named(name) -> None:
            if name:
                self.create_dashboard(name)

        self.app.push_screen(NameScreen("New dashboard"), named)

    @work(thread=True, exclusive=True, group="dashboard-write", exit_on_error=False)
    def create_dashboard(self, name: str) -> None:
        from ...domain.dashboards import create_dashboard

        with db_session():
            board = create_dashboard(self.app.actor, name)
        self.dashboard_name = board.name
        self.figures.clear()
        self.post_message(LayoutChanged(None, True))
        reload_names = getattr(self.app, "load_dashboards", None)
        if reload_names is not None:  # the app's cached list, for the palette
            self.app.call_from_thread(reload_names)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


# ------------------------------------------------------------------------------------------------
# the widget form


KIND_OPTIONS = [("Stat card", "stat"), ("Bar chart", "bar"), ("Pie", "pie")]
FORMAT_OPTIONS = [("Money", "money"), ("Count", "count"), ("Number", "number"), ("Percent", "percent")]
TIMEFRAME_OPTIONS = [("This month", "this_month"), ("Last 3 months", "last_3_months"),
                     ("Last 6 months", "last_6_months"), ("Last 12 months", "last_12_months"),
                     ("This year", "this_year")]
DEFAULT_SIZES = {"stat": (2, 1), "bar": (5, 3), "pie": (5, 3)}


def _csv(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class WidgetFormScreen(CrmModal):
    """Add or edit a widget: title, kind, and the metric spec (projects, measure, grouping, filters).

    | key      | action | binding id          |
    | -------- | ------ | ------------------- |
    | ctrl+s   | save   | widget_form.save    |
    | escape   | cancel | widget_form.cancel  |
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="widget_form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="widget_form.cancel"),
    ]

    def __init__(self, widget_def=None) -> None:
        super().__init__()
        self.widget_def = widget_def

    def compose(self):
        spec = dict(self.widget_def.spec) if self.widget_def else {}
        metric = spec.get("metric", {"projects": ["Opportunities"], "measure": "count"})
        ratio = "ratio" in spec
        measure = metric.get("measure", "count") + (f":{metric['field']}" if metric.get("field") else "")
        group = metric.get("group", "none")
        by = "" if group == "none" else group if group in ("list", "tag", "assignee") else \
            metric.get("group_field", "") if group == "field" else f"{group}:{metric.get('date_field', 'created')}"

        def field(label: str, widget) -> Horizontal:
            return Horizontal(Label(label, classes="form-label"), widget, classes="form-row")

        def text(value, name, placeholder="") -> Input:
            box = Input(value=value or "", id=name, placeholder=placeholder, compact=True)
            box.cursor_blink = False
            return box

        with Vertical(classes="dialog widget-form"):
            yield Static("Edit widget" if self.widget_def else "Add a widget", classes="dialog-title")
            yield field("Title", text(self.widget_def.title if self.widget_def else "", "wf-title"))
            yield field("Kind", Select(KIND_OPTIONS, value=self.widget_def.kind if self.widget_def else "stat",
                                       allow_blank=False, id="wf-kind", compact=True))
            if ratio:
                yield Static("A rate of two figures: only the title can be changed here.", classes="dialog-hint")
            else:
                yield field("Projects", text(", ".join(metric.get("projects", [])), "wf-projects", "A, B"))
                yield field("Measure", text(measure, "wf-measure", "count, sum:Amount, weighted:Amount…"))
                yield field("Group by", text(by, "wf-by", "list, tag, assignee, a dropdown, month:created…"))
                yield field("Lists", text(", ".join(metric.get("lists", [])), "wf-lists", "all lists"))
                yield field("Kinds", text(", ".join(metric.get("kinds", [])), "wf-kinds", "open, won, lost, closed"))
                yield field("Tags", text(", ".join(metric.get("tags", [])), "wf-tags", "every record"))
                yield field("Period", Select(TIMEFRAME_OPTIONS, value=metric.get("timeframe") or Select.NULL,
                                             prompt="any time", id="wf-timeframe", compact=True))
                yield field("Date", text(metric.get("date_field", "created") if group == "none" else "", "wf-date",
                                         "created, won or a date field (period and range)"))
            yield field("Format", Select(FORMAT_OPTIONS, value=spec.get("format", "number"), allow_blank=False,
                                         id="wf-format", compact=True))
            yield Checkbox("Compare with the previous period", value=bool(spec.get("compare")), id="wf-compare",
                           compact=True)
            yield Static("", id="wf-error", classes="form-error")
            yield Static("[b]ctrl+s[/b] save   [b]escape[/b] cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#wf-title", Input).focus()

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def action_save(self) -> None:
        from ...domain.dashboards import check_widget_spec
        from ...domain.metrics import MetricSpec, parse_group, parse_measure, split_projects
        from ...errors import CrmError

        kind = self.query_one("#wf-kind", Select).value
        try:
            if self.widget_def and "ratio" in self.widget_def.spec:
                spec = dict(self.widget_def.spec)
            else:
                measure, field = parse_measure(self._value("wf-measure"))
                grouping = parse_group(self._value("wf-by"))
                date_field = self._value("wf-date").strip()
                if date_field and "date_field" not in grouping:
                    grouping["date_field"] = date_field
                timeframe = self.query_one("#wf-timeframe", Select).value
                metric = MetricSpec(projects=split_projects(self._value("wf-projects")), measure=measure,
                                    field=field, lists=_csv(self._value("wf-lists")),
                                    kinds=[k.casefold() for k in _csv(self._value("wf-kinds"))],
                                    tags=_csv(self._value("wf-tags")),
                                    timeframe=None if timeframe is Select.NULL else timeframe, **grouping)
                spec = {"metric": metric.to_json()}
            spec["format"] = self.query_one("#wf-format", Select).value
            spec["compare"] = self.query_one("#wf-compare", Checkbox).value
            check_widget_spec(kind, spec)
        except CrmError as exc:
            self.query_one("#wf-error", Static).update(exc.message)
            return
        title = self._value("wf-title").strip() or "Untitled"
        self.dismiss((title, kind, spec, DEFAULT_SIZES.get(kind, (2, 1))))

    def action_cancel(self) -> None:
        self.dismiss(None)


class NameScreen(CrmModal):
    """Ask for a name (a new dashboard). Enter saves, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="name.cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            box = Input(id="name-input", placeholder="name")
            box.cursor_blink = False
            yield box

    def on_mount(self) -> None:
        self.query_one("#name-input", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------------------------------------
# the palette


class DashboardCommands(Provider):
    """"Open dashboard NAME" for every dashboard the user can see (names read once, off the UI thread,
    when the palette opens)."""

    async def startup(self) -> None:
        import asyncio

        self._names: list[str] = []
        try:
            self._names = await asyncio.to_thread(self._load_names)
        except Exception as exc:  # noqa: BLE001 - the palette still works without dashboards
            self.app.report(exc)

    def _load_names(self) -> list[str]:
        from ...domain.dashboards import list_dashboards

        with db_session():
            return [d["name"] for d in list_dashboards(self.app.actor)]

    def _open(self, name: str) -> None:
        screen = self.app.screen
        if isinstance(screen, DashboardScreen):
            screen.dashboard_name = name
            screen.figures.clear()
            screen.load()
        else:
            self.app.push_screen(DashboardScreen(name))

    def _commands(self) -> list[tuple[str, str, object]]:
        return [(f"Open dashboard {name}", "stat cards, pies and bars", partial(self._open, name))
                for name in getattr(self, "_names", [])]

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)

"""Dashboards: named grids of widgets (stat card, pie, bar) over metric specs, owned and shared.

>>> install_sales_dashboard(actor)                     # the template's "Sales" (idempotent)
>>> figures = compute_dashboard(actor, "Sales")         # {"name": "Sales", "widgets": [{title, kind, …}]}
>>> share_dashboard(owner, "My pipeline", "bob", "view")

A widget's spec is JSON: ``{"metric": <MetricSpec as JSON>, "format": "money"|"count"|"percent",
"compare": true}``, or for a rate ``{"ratio": [<numerator spec>, <denominator spec>], "format":
"percent"}``. ``compare`` adds the change against the previous period of the spec's timeframe.

Who sees what: a user sees the dashboards they own, those shared with them (view or edit) and
workspace dashboards (no owner, like the template's "Sales"; admins edit those). A widget over a field
the user may not see shows "no access", never the figure.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from peewee import fn

from ..db.connection import database, run_write
from ..db.dashboard_models import DASHBOARD_MODELS, Dashboard, DashboardShare, Widget
from ..db.models import User, utcnow
from ..errors import CrmError, NotFoundError, PermissionDenied, ValidationError
from .actors import Actor
from .metrics import (MetricSpec, SchemaCache, change, compute_metric, compute_previous, json_number,
                      previous_label)

SALES = "Sales"
KINDS = ("stat", "pie", "bar")
FORMATS = ("money", "count", "number", "percent")
ACCESS = ("view", "edit")
DEFAULT_COLUMNS = 10


def ensure_dashboard_tables() -> None:
    """Create the dashboard tables in a workspace made before dashboards existed (cheap when present)."""
    if not database.table_exists("dashboard"):
        database.create_tables(DASHBOARD_MODELS, safe=True)


# ------------------------------------------------------------------------------------------------
# the template's "Sales" dashboard

_OPP = ["Opportunities"]


def _metric(**kw) -> dict:
    return MetricSpec(**kw).to_json()


# (title, kind, spec, x, y, w, h) on a 10-column grid
SALES_WIDGETS = [
    ("Open pipeline value", "stat",
     {"metric": _metric(projects=_OPP, measure="sum", field="Amount", kinds=["open"]), "format": "money"},
     0, 0, 2, 1),
    ("Weighted forecast", "stat",
     {"metric": _metric(projects=_OPP, measure="weighted", field="Amount", kinds=["open"]), "format": "money"},
     2, 0, 2, 1),
    ("Won this month", "stat",
     {"metric": _metric(projects=_OPP, measure="sum", field="Amount", date_field="won", timeframe="this_month"),
      "format": "money", "compare": True},
     4, 0, 2, 1),
    ("Active opportunities", "stat",
     {"metric": _metric(projects=_OPP, measure="count", kinds=["open"]), "format": "count"},
     6, 0, 2, 1),
    ("Win rate", "stat",
     {"ratio": [_metric(projects=_OPP, measure="count", kinds=["won"], date_field="entered",
                        timeframe="last_3_months"),
                _metric(projects=_OPP, measure="count", kinds=["won", "lost"], date_field="entered",
                        timeframe="last_3_months")],
      "format": "percent", "compare": True},
     8, 0, 2, 1),
    ("Pipeline generated per month", "bar",
     {"metric": _metric(projects=_OPP, measure="sum", field="Amount", group="month", date_field="created",
                        timeframe="last_12_months"), "format": "money"},
     0, 1, 5, 3),
    ("Sales per month", "bar",
     {"metric": _metric(projects=_OPP, measure="sum", field="Amount", group="month", date_field="won",
                        timeframe="last_12_months"), "format": "money"},
     5, 1, 5, 3),
    ("New opportunities per month", "bar",
     {"metric": _metric(projects=_OPP, measure="count", group="month", date_field="created",
                        timeframe="last_12_months"), "format": "count"},
     0, 4, 5, 3),
    ("Revenue per month", "bar",
     {"metric": _metric(projects=["Invoices"], measure="sum", field="Invoice amount", lists=["Paid"],
                        group="month", date_field="Paid date", timeframe="last_12_months"), "format": "money"},
     5, 4, 5, 3),
    ("Sales by service", "pie",
     {"metric": _metric(projects=_OPP, measure="sum", field="Amount", group="tag", kinds=["won"]),
      "format": "money"},
     0, 7, 5, 3),
    ("Deals by stage", "pie",
     {"metric": _metric(projects=_OPP, measure="count", group="list", kinds=["open"]), "format": "count"},
     5, 7, 5, 3),
]


def install_sales_dashboard(actor: Actor) -> list[str]:
    """Add the workspace dashboard "Sales" unless one exists; returns what was added. Called by the
    template install inside its transaction (safe on its own too)."""
    ensure_dashboard_tables()

    def write():
        if Dashboard.select().where(Dashboard.name == SALES).exists():
            return []
        board = Dashboard.create(name=SALES, owner=None, settings=json.dumps({"columns": DEFAULT_COLUMNS}))
        Widget.insert_many([dict(dashboard=board.id, title=t, kind=k, spec=json.dumps(s), x=x, y=y, w=w, h=h)
                            for t, k, s, x, y, w, h in SALES_WIDGETS]).execute()
        return [f"dashboard {SALES}"]

    return run_write(write)


# ------------------------------------------------------------------------------------------------
# storage and sharing


@dataclass
class WidgetDef:
    id: int
    title: str
    kind: str
    spec: dict
    x: int
    y: int
    w: int
    h: int


def access_of(actor: Actor, board: Dashboard) -> str | None:
    """``owner``, ``edit``, ``view`` or None (not visible)."""
    if board.owner_id is None:
        return "edit" if actor.is_admin else "view"
    if actor.id is not None and board.owner_id == actor.id:
        return "owner"
    share = DashboardShare.get_or_none((DashboardShare.dashboard == board.id) & (DashboardShare.user == actor.id))
    return share.access if share else None


def _visible_query(actor: Actor):
    shared = DashboardShare.select(DashboardShare.dashboard).where(DashboardShare.user == actor.id)
    return Dashboard.select().where(Dashboard.owner.is_null() | (Dashboard.owner == actor.id)
                                    | Dashboard.id.in_(shared))


def list_dashboards(actor: Actor) -> list[dict]:
    """The dashboards ``actor`` may see: name, owner, their access, number of widgets."""
    ensure_dashboard_tables()
    boards = list(_visible_query(actor).order_by(Dashboard.position, Dashboard.name))
    counts = dict(Widget.select(Widget.dashboard, fn.COUNT(Widget.id)).group_by(Widget.dashboard).tuples())
    owners = {u.id: u.name for u in User.select(User.id, User.name)
              .where(User.id.in_([b.owner_id for b in boards if b.owner_id]))}
    return [{"name": b.name, "owner": owners.get(b.owner_id), "access": access_of(actor, b),
             "widgets": counts.get(b.id, 0)} for b in boards]


def get_dashboard(actor: Actor, name: str, *, edit: bool = False) -> Dashboard:
    ensure_dashboard_tables()
    text = (name or "").strip()
    board = Dashboard.get_or_none(Dashboard.name == text)
    if board is None:
        board = next((b for b in _visible_query(actor) if b.name.casefold() == text.casefold()), None)
    access = access_of(actor, board) if board else None
    if access is None:
        names = ", ".join(d["name"] for d in list_dashboards(actor)) or "none"
        raise NotFoundError(f"no dashboard {text!r}; dashboards: {names}")
    if edit and access == "view":
        raise PermissionDenied(f"you may view the dashboard {board.name!r} but not change it")
    return board


def create_dashboard(actor: Actor, name: str, *, columns: int = DEFAULT_COLUMNS) -> Dashboard:
    ensure_dashboard_tables()
    text = (name or "").strip()
    if not text or len(text) > 200:
        raise ValidationError("dashboard name", text, "use 1–200 characters")

    def write():
        if Dashboard.select().where(Dashboard.name == text).exists():
            raise ValidationError("dashboard name", text, "a dashboard with this name exists")
        return Dashboard.create(name=text, owner=actor.id, settings=json.dumps({"columns": columns}))

    return run_write(write)


def delete_dashboard(actor: Actor, name: str) -> None:
    board = get_dashboard(actor, name, edit=True)
    if access_of(actor, board) not in ("owner",) and not actor.is_admin:
        raise PermissionDenied(f"only the owner may delete the dashboard {board.name!r}")
    run_write(lambda: Dashboard.delete().where(Dashboard.id == board.id).execute())


def share_dashboard(actor: Actor, name: str, user_name: str, access: str = "view") -> None:
    """Share with a user as ``view`` or ``edit`` (the owner or an admin may)."""
    if access not in ACCESS:
        raise ValidationError("access", str(access), "expected view or edit")
    board = get_dashboard(actor, name)
    if access_of(actor, board) != "owner" and not actor.is_admin:
        raise PermissionDenied(f"only the owner may share the dashboard {board.name!r}")
    user = User.get_or_none(User.name == (user_name or "").strip())
    if user is None:
        raise NotFoundError(f"no user {user_name!r} (see `crm-tui user list`)")

    def write():
        updated = DashboardShare.update(access=access).where(
            (DashboardShare.dashboard == board.id) & (DashboardShare.user == user.id)).execute()
        if not updated:
            DashboardShare.create(dashboard=board.id, user=user.id, access=access)

    run_write(write)


def unshare_dashboard(actor: Actor, name: str, user_name: str) -> None:
    board = get_dashboard(actor, name)
    if access_of(actor, board) != "owner" and not actor.is_admin:
        raise PermissionDenied(f"only the owner may change who sees the dashboard {board.name!r}")
    run_write(lambda: DashboardShare.delete().where(
        (DashboardShare.dashboard == board.id)
        & DashboardShare.user.in_(User.select(User.id).where(User.name == user_name))).execute())


def columns_of(board: Dashboard) -> int:
    return int(json.loads(board.settings or "{}").get("columns", DEFAULT_COLUMNS))


def widgets_of(board: Dashboard) -> list[WidgetDef]:
    """Widgets in reading order (row, then column)."""
    return [WidgetDef(w.id, w.title, w.kind, json.loads(w.spec or "{}"), w.x, w.y, w.w, w.h)
            for w in Widget.select().where(Widget.dashboard == board.id).order_by(Widget.y, Widget.x, Widget.id)]


def check_widget_spec(kind: str, spec: dict) -> dict:
    """Validate a widget spec's shape (names are checked when computed); returns it."""
    if kind not in KINDS:
        raise ValidationError("widget kind", str(kind), "expected stat, pie or bar")
    if not isinstance(spec, dict) or ("metric" in spec) == ("ratio" in spec):
        raise ValidationError("widget", json.dumps(spec)[:60], "expected {\"metric\": …} or {\"ratio\": [a, b]}")
    if "ratio" in spec:
        if kind != "stat" or not isinstance(spec["ratio"], list) or len(spec["ratio"]) != 2:
            raise ValidationError("widget", "ratio", "a ratio is a stat of two specs [numerator, denominator]")
        for part in spec["ratio"]:
            MetricSpec.from_json(part)
    else:
        metric = MetricSpec.from_json(spec["metric"])
        if kind != "stat" and metric.group == "none":
            raise ValidationError("widget", spec["metric"].get("measure", ""), f"a {kind} needs a grouping")
    if spec.get("format", "number") not in FORMATS:
        raise ValidationError("widget format", str(spec.get("format")), f"expected {', '.join(FORMATS)}")
    return spec


def _require_dashboard_role(actor: Actor, spec: dict) -> None:
    """Roles may withhold ``edit_dashboards`` in a project: then no widget over it may be added or changed."""
    from .project_schema import find_project

    parts = spec["ratio"] if "ratio" in spec else [spec["metric"]]
    for part in parts:
        projects = part.get("projects") or []
        for ref in projects if isinstance(projects, list) else [projects]:
            project = find_project(ref)
            actor.require("edit_dashboards", project.id, project.name)


def add_widget(actor: Actor, name: str, title: str, kind: str, spec: dict, *, x: int | None = None,
               y: int | None = None, w: int = 2, h: int = 1) -> int:
    board = get_dashboard(actor, name, edit=True)
    check_widget_spec(kind, spec)
    _require_dashboard_role(actor, spec)
    title = (title or "").strip() or "Untitled"

    def write():
        if y is None:
            bottom = max([wd.y + wd.h for wd in widgets_of(board)] or [0])
            px, py = 0, bottom
        else:
            px, py = x or 0, y
        widget = Widget.create(dashboard=board.id, title=title, kind=kind, spec=json.dumps(spec),
                               x=px, y=py, w=max(1, min(w, columns_of(board))), h=max(1, h))
        if y is not None:  # a chosen place: the widgets in the way make room
            _relayout(board, widget.id, widget.x, widget.y, widget.w, widget.h)
        Dashboard.update(updated_at=utcnow()).where(Dashboard.id == board.id).execute()
        return widget.id

    return run_write(write)


def _editable_widget(actor: Actor, widget_id: int) -> tuple[Widget, Dashboard]:
    widget = Widget.get_or_none(Widget.id == widget_id)
    if widget is None:
        raise NotFoundError(f"no widget #{widget_id}")
    board = Dashboard.get_by_id(widget.dashboard_id)
    access = access_of(actor, board)
    if access is None:
        raise NotFoundError(f"no widget #{widget_id}")
    if access == "view":
        raise PermissionDenied(f"you may view the dashboard {board.name!r} but not change it")
    return widget, board


def update_widget(actor: Actor, widget_id: int, *, title: str | None = None, kind: str | None = None,
                  spec: dict | None = None) -> None:
    widget, _ = _editable_widget(actor, widget_id)
    new_kind = kind or widget.kind
    new_spec = spec if spec is not None else json.loads(widget.spec)
    check_widget_spec(new_kind, new_spec)
    if spec is not None:
        _require_dashboard_role(actor, new_spec)
    changes = {"kind": new_kind, "spec": json.dumps(new_spec)}
    if title is not None:
        changes["title"] = title.strip() or "Untitled"
    run_write(lambda: Widget.update(**changes).where(Widget.id == widget.id).execute())


def remove_widget(actor: Actor, widget_id: int) -> None:
    widget, _ = _editable_widget(actor, widget_id)
    run_write(lambda: Widget.delete().where(Widget.id == widget.id).execute())


def settle_layout(cells: list[tuple[int, int, int, int]], columns: int, first: int | None = None
                  ) -> list[tuple[int, int, int, int]]:
    """Non-overlapping positions for ``(x, y, w, h)`` cells on a grid ``columns`` wide.

    Cells are placed in reading order of their wished position (``first``, an index, before all
    others: the one just moved or resized wins its place); a cell whose place is taken goes to the
    next free place in reading order where it fits. Pure: the TUI shows exactly these positions.
    """
    order = sorted(range(len(cells)), key=lambda i: (i != first, cells[i][1], cells[i][0], i))
    taken: set[tuple[int, int]] = set()
    placed: dict[int, tuple[int, int, int, int]] = {}
    for i in order:
        x, y, w, h = cells[i]
        w = max(1, min(w, columns))
        h = max(1, h)
        x = max(0, min(x, columns - w))
        y = max(0, y)
        while True:
            area = {(cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)}
            if taken.isdisjoint(area):
                break
            x += 1
            if x + w > columns:
                x, y = 0, y + 1
        taken |= area
        placed[i] = (x, y, w, h)
    return [placed[i] for i in range(len(cells))]


def _relayout(board: Dashboard, widget_id: int, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
    widgets = widgets_of(board)
    cells = [(x, y, w, h) if wd.id == widget_id else (wd.x, wd.y, wd.w, wd.h) for wd in widgets]
    index = next(i for i, wd in enumerate(widgets) if wd.id == widget_id)
    settled = settle_layout(cells, columns_of(board), first=index)

    def write():
        for wd, cell, new in zip(widgets, cells, settled):
            if (wd.x, wd.y, wd.w, wd.h) != new:
                Widget.update(x=new[0], y=new[1], w=new[2], h=new[3]).where(Widget.id == wd.id).execute()
        Dashboard.update(updated_at=utcnow()).where(Dashboard.id == board.id).execute()

    run_write(write)
    return settled[index]


def move_widget(actor: Actor, widget_id: int, dx: int = 0, dy: int = 0) -> tuple[int, int]:
    """Move by whole cells, kept inside the grid; widgets in the way make room. Returns the new (x, y)."""
    widget, board = _editable_widget(actor, widget_id)
    x, y, _, _ = _relayout(board, widget.id, widget.x + dx, widget.y + dy, widget.w, widget.h)
    return x, y


def resize_widget(actor: Actor, widget_id: int, dw: int = 0, dh: int = 0) -> tuple[int, int]:
    """Grow or shrink by whole cells (at least one, at most the grid's width); returns (w, h)."""
    widget, board = _editable_widget(actor, widget_id)
    w = max(1, min(widget.w + dw, columns_of(board) - widget.x))
    _, _, w, h = _relayout(board, widget.id, widget.x, widget.y, w, max(1, widget.h + dh))
    return w, h


# ------------------------------------------------------------------------------------------------
# figures


def _ratio(numerator, denominator) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def compute_widget(actor: Actor, widget: WidgetDef, *, today: dt.date | None = None,
                   cache: SchemaCache | None = None) -> dict:
    """One widget's figures, JSON-ready: ``{"title", "kind", "value"}`` for a stat (with ``change``,
    ``previous`` and ``compared_with`` when it compares), ``{"title", "kind", "rows", "total"}`` for a pie
    or bar; ``"no_access": true`` instead of figures over a hidden field; ``"error"`` when the spec no
    longer fits the projects (a renamed field) — one broken widget never hides the others."""
    today = today or dt.date.today()
    cache = cache or SchemaCache()
    spec = widget.spec
    out: dict = {"id": widget.id, "title": widget.title, "kind": widget.kind, "format": spec.get("format", "number")}
    try:
        if "ratio" in spec:
            num_spec, den_spec = (MetricSpec.from_json(s) for s in spec["ratio"])
            num = compute_metric(actor, num_spec, today=today, cache=cache)
            den = compute_metric(actor, den_spec, today=today, cache=cache)
            if num.no_access or den.no_access:
                return {**out, "value": None, "no_access": True}
            out["value"] = json_number(_ratio(num.total, den.total))
            if spec.get("compare") and num_spec.timeframe:
                pnum = compute_previous(actor, num_spec, today=today, cache=cache)
                pden = compute_previous(actor, den_spec, today=today, cache=cache)
                previous = _ratio(pnum.total, pden.total)
                current = _ratio(num.total, den.total)
                out["previous"] = json_number(previous)
                out["change"] = json_number(None if current is None or previous is None else current - previous)
                out["change_unit"] = "points"
                out["compared_with"] = previous_label(num_spec.timeframe)
            return out
        metric = MetricSpec.from_json(spec["metric"])
        result = compute_metric(actor, metric, today=today, cache=cache)
        if result.no_access:
            return {**out, **({"value": None} if widget.kind == "stat" else {"rows": []}), "no_access": True}
        if widget.kind == "stat":
            out["value"] = json_number(result.total)
            if spec.get("compare") and metric.timeframe:
                previous = compute_previous(actor, metric, today=today, cache=cache)
                out["previous"] = json_number(previous.total)
                out["change"] = json_number(change(result.total, previous.total))
                out["change_unit"] = "percent"
                out["compared_with"] = previous_label(metric.timeframe)
            return out
        data = result.to_json()
        out["rows"] = data["rows"]
        out["total"] = data["total"]
        if result.overlapping:
            out["overlapping"] = True
        return out
    except CrmError as exc:
        return {**out, "error": exc.message}


def compute_dashboard(actor: Actor, name: str, *, today: dt.date | None = None) -> dict:
    """Every widget of a dashboard the actor may see: ``{"name", "columns", "widgets": [...]}``."""
    board = get_dashboard(actor, name)
    cache = SchemaCache()
    widgets = []
    for widget in widgets_of(board):
        figures = compute_widget(actor, widget, today=today, cache=cache)
        figures.update(x=widget.x, y=widget.y, w=widget.w, h=widget.h)
        widgets.append(figures)
    return {"name": board.name, "columns": columns_of(board), "widgets": widgets}

"""Dashboards: the template's "Sales" dashboard against hand-written SQL, sharing, "no access", the text
rendering of widgets, and the ``report`` / ``dashboard`` commands (JSON contract and text)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

import pytest

from crm_tui import charts
from crm_tui.cli import main
from crm_tui.db.connection import database, is_postgres
from crm_tui.domain.actors import Actor, actor_for, ensure_user
from crm_tui.domain.dashboards import (SALES, add_widget, compute_dashboard, create_dashboard, get_dashboard,
                                       install_sales_dashboard, list_dashboards, move_widget, remove_widget,
                                       resize_widget, share_dashboard, unshare_dashboard, update_widget,
                                       widgets_of)
from crm_tui.domain.decimals import from_scaled
from crm_tui.domain.demo import build_demo
from crm_tui.domain.metrics import month_start
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.template import install_sales_crm
from crm_tui.errors import NotFoundError, PermissionDenied, ValidationError

TODAY = dt.date(2026, 11, 27)


def sql(text: str, *params) -> list[tuple]:
    if is_postgres():
        text = text.replace("?", "%s")
    return list(database.execute_sql(text, params).fetchall())


def ts(day: dt.date):
    value = dt.datetime.combine(day, dt.time())
    return value if is_postgres() else value.isoformat(sep=" ")


def month_of(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM')" if is_postgres() else f"substr({column}, 1, 7)"


@pytest.fixture
def demo(sales):
    build_demo(sales, size=400, seed=3, today=TODAY)
    return sales


def widget(board: dict, title: str) -> dict:
    return next(w for w in board["widgets"] if w["title"] == title)


# ------------------------------------------------------------------------------------------------
# the template's dashboard


def test_template_installs_the_sales_dashboard_once(sales):
    names = [d["name"] for d in list_dashboards(sales)]
    assert names == [SALES]
    titles = [w.title for w in widgets_of(get_dashboard(sales, SALES))]
    assert set(titles) == {"Open pipeline value", "Weighted forecast", "Won this month", "Active opportunities",
                           "Win rate", "Pipeline generated per month", "Sales per month",
                           "New opportunities per month", "Sales by service", "Deals by stage", "Revenue per month"}
    assert install_sales_crm(sales) == []
    assert install_sales_dashboard(sales) == []
    assert len(widgets_of(get_dashboard(sales, "sales"))) == 11


def test_sales_dashboard_figures_match_hand_written_sql(demo):
    board = compute_dashboard(demo, SALES, today=TODAY)
    amount = load_schema("Opportunities").field("Amount").id
    opp = "(SELECT id FROM project WHERE name = 'Opportunities')"
    open_sum, open_weighted, open_count = sql(
        "SELECT SUM(fv.number), SUM(fv.number * l.probability), COUNT(*) FROM record r "
        "JOIN list l ON l.id = r.list_id AND l.kind = 'open' "
        "JOIN field_value fv ON fv.record_id = r.id AND fv.field_id = ? "
        f"WHERE r.project_id = {opp} AND NOT r.archived", amount)[0]
    assert widget(board, "Open pipeline value")["value"] == str(from_scaled(open_sum))
    assert Decimal(widget(board, "Weighted forecast")["value"]) == Decimal(int(open_weighted)) / 100_000_000
    assert widget(board, "Active opportunities")["value"] == open_count

    def won_between(start, end):
        (total,), = sql("SELECT SUM(fv.number) FROM record r JOIN list l ON l.id = r.list_id AND l.kind = 'won' "
                        "JOIN field_value fv ON fv.record_id = r.id AND fv.field_id = ? "
                        f"WHERE r.project_id = {opp} AND NOT r.archived "
                        "AND r.list_entered_at >= ? AND r.list_entered_at < ?", amount, ts(start), ts(end))
        return from_scaled(int(total or 0))

    won = widget(board, "Won this month")
    this_month, previous = won_between(dt.date(2026, 11, 1), dt.date(2026, 12, 1)), \
        won_between(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert Decimal(won["value"]) == this_month and Decimal(won["previous"]) == previous
    assert won["compared_with"] == "previous month"
    assert Decimal(won["change"]) == ((this_month - previous) * 100 / previous).quantize(Decimal("0.1"))

    def closed(kinds, start, end):
        return sql("SELECT COUNT(*) FROM record r JOIN list l ON l.id = r.list_id "
                   f"WHERE r.project_id = {opp} AND NOT r.archived AND l.kind IN ({kinds}) "
                   "AND r.list_entered_at >= ? AND r.list_entered_at < ?", ts(start), ts(end))[0][0]

    start = dt.date(2026, 9, 1)
    rate = Decimal(closed("'won'", start, dt.date(2026, 12, 1)) * 100) / closed("'won', 'lost'", start,
                                                                                dt.date(2026, 12, 1))
    assert Decimal(widget(board, "Win rate")["value"]) == rate.quantize(Decimal("0.1"))
    assert widget(board, "Win rate")["change_unit"] == "points"

    pipeline = widget(board, "Pipeline generated per month")
    expected = {k: from_scaled(v) for k, v in sql(
        f"SELECT {month_of('r.created_at')} AS m, SUM(fv.number) FROM record r "
        "JOIN field_value fv ON fv.record_id = r.id AND fv.field_id = ? "
        f"WHERE r.project_id = {opp} AND NOT r.archived AND r.created_at >= ? GROUP BY m",
        amount, ts(dt.date(2025, 12, 1)))}
    assert len(pipeline["rows"]) == 12 and pipeline["rows"][0]["key"] == "2025-12"
    assert {r["key"]: Decimal(r["value"]) for r in pipeline["rows"] if Decimal(r["value"])} == expected

    new = widget(board, "New opportunities per month")
    counts = dict(sql(f"SELECT {month_of('created_at')} AS m, COUNT(*) FROM record "
                      f"WHERE project_id = {opp} AND NOT archived AND created_at >= ? GROUP BY m",
                      ts(dt.date(2025, 12, 1))))
    assert {r["key"]: r["value"] for r in new["rows"] if r["value"]} == counts

    invoices = load_schema("Invoices")
    revenue = widget(board, "Revenue per month")
    paid = {k: from_scaled(v) for k, v in sql(
        f"SELECT {month_of('d.date')} AS m, SUM(a.number) FROM record r JOIN list l ON l.id = r.list_id "
        "JOIN field_value a ON a.record_id = r.id AND a.field_id = ? "
        "JOIN field_value d ON d.record_id = r.id AND d.field_id = ? "
        "WHERE NOT r.archived AND l.name = 'Paid' AND d.date >= ? AND d.date <= ? GROUP BY m",
        invoices.field("Invoice amount").id, invoices.field("Paid date").id,
        dt.date(2025, 12, 1).isoformat(), dt.date(2026, 11, 30).isoformat())}
    assert {r["key"]: Decimal(r["value"]) for r in revenue["rows"] if Decimal(r["value"])} == paid

    by_service = widget(board, "Sales by service")
    assert by_service["overlapping"] is True
    tags = {k: from_scaled(v) for k, v in sql(
        "SELECT t.name, SUM(fv.number) FROM record r JOIN list l ON l.id = r.list_id AND l.kind = 'won' "
        "JOIN record_tag rt ON rt.record_id = r.id JOIN tag t ON t.id = rt.tag_id "
        "JOIN field_value fv ON fv.record_id = r.id AND fv.field_id = ? "
        f"WHERE r.project_id = {opp} AND NOT r.archived GROUP BY t.name", amount)}
    assert {r["key"]: Decimal(r["value"]) for r in by_service["rows"] if r["key"]} == tags
    stages = widget(board, "Deals by stage")
    assert [r["key"] for r in stages["rows"]][:2] == ["Unqualified", "Qualifying"]
    assert sum(r["value"] for r in stages["rows"]) == open_count


def test_a_widget_over_a_hidden_field_shows_no_access(demo):
    amount = load_schema("Opportunities").field("Amount").id
    viewer = Actor(id=demo.id, name=demo.name, hidden_fields=frozenset({amount}))
    board = compute_dashboard(viewer, SALES, today=TODAY)
    assert widget(board, "Open pipeline value")["no_access"] is True
    assert widget(board, "Open pipeline value")["value"] is None
    assert widget(board, "Sales by service")["rows"] == []
    assert "no_access" not in widget(board, "Active opportunities")
    assert isinstance(widget(board, "Active opportunities")["value"], int)
    text = charts.render(widget(board, "Sales per month"))
    assert "no access" in text and "0" not in text.replace("Sales per month", "")


# ------------------------------------------------------------------------------------------------
# storage and sharing


def test_own_dashboards_and_sharing(sales):
    ann = actor_for(ensure_user("ann"))
    bob = actor_for(ensure_user("bob"))
    create_dashboard(ann, "Ann's pipeline")
    wid = add_widget(ann, "Ann's pipeline", "Open deals", "stat",
                     {"metric": {"projects": ["Opportunities"], "measure": "count", "kinds": ["open"]},
                      "format": "count"})
    assert [d["name"] for d in list_dashboards(bob)] == [SALES]
    with pytest.raises(NotFoundError):
        get_dashboard(bob, "Ann's pipeline")
    with pytest.raises(PermissionDenied):
        share_dashboard(bob, SALES, "ann")

    share_dashboard(ann, "Ann's pipeline", "bob", "view")
    assert {d["name"]: d["access"] for d in list_dashboards(bob)} == {SALES: "view", "Ann's pipeline": "view"}
    assert compute_dashboard(bob, "Ann's pipeline")["widgets"][0]["value"] == 0
    with pytest.raises(PermissionDenied):
        move_widget(bob, wid, 1, 0)
    with pytest.raises(PermissionDenied):
        add_widget(bob, SALES, "x", "stat", {"metric": {"projects": ["Opportunities"], "measure": "count"}})

    share_dashboard(ann, "Ann's pipeline", "bob", "edit")
    assert move_widget(bob, wid, 3, 2) == (3, 2)
    assert move_widget(bob, wid, 100, -5) == (8, 0)  # kept inside the 10-column grid
    assert resize_widget(bob, wid, 5, 1) == (2, 2)
    update_widget(bob, wid, title="Open opportunities")
    assert widgets_of(get_dashboard(ann, "Ann's pipeline"))[0].title == "Open opportunities"
    unshare_dashboard(ann, "Ann's pipeline", "bob")
    assert [d["name"] for d in list_dashboards(bob)] == [SALES]
    remove_widget(ann, wid)
    assert widgets_of(get_dashboard(ann, "Ann's pipeline")) == []
    # the workspace dashboard: everyone views it, admins edit it
    assert {d["name"]: d["access"] for d in list_dashboards(sales)}[SALES] == "edit"


def test_widget_specs_are_checked(sales):
    create_dashboard(sales, "Mine")
    with pytest.raises(ValidationError):
        add_widget(sales, "Mine", "x", "donut", {"metric": {"projects": ["Opportunities"]}})
    with pytest.raises(ValidationError, match="grouping"):
        add_widget(sales, "Mine", "x", "bar", {"metric": {"projects": ["Opportunities"], "measure": "count"}})
    with pytest.raises(ValidationError):
        create_dashboard(sales, "Mine")
    # a widget whose field disappeared shows an error, the others still compute
    add_widget(sales, "Mine", "Broken", "stat", {"metric": {"projects": ["Opportunities"], "measure": "sum",
                                                            "field": "Nope"}})
    add_widget(sales, "Mine", "Fine", "stat", {"metric": {"projects": ["Opportunities"], "measure": "count"}})
    board = compute_dashboard(sales, "Mine")
    assert "no field 'Nope'" in widget(board, "Broken")["error"]
    assert widget(board, "Fine")["value"] == 0


# ------------------------------------------------------------------------------------------------
# text rendering (charts.py)


def test_pie_is_a_proportional_bar_with_legend_and_percentages():
    text = charts.render({"title": "Sales by service", "kind": "pie", "format": "money", "overlapping": True,
                          "total": "60", "rows": [{"key": "Web", "value": "50"}, {"key": "SEO", "value": "25.5"},
                                                  {"key": "Print", "value": "0"}, {"key": None, "value": "24.5"}]})
    lines = text.splitlines()
    assert lines[0] == "Sales by service"
    bar = lines[1].strip()
    assert len(bar) == 74 and bar.count("█") == 37
    assert "Web" in lines[2] and "50.00" in lines[2] and "50.0%" in lines[2]
    assert "25.5%" in lines[3] and "(none)" in lines[4] and "Print" not in text
    assert "overlap" in lines[-1]


def test_bar_chart_and_stat_text():
    rows = [{"key": f"2026-{m:02d}", "value": str(m * 1000)} for m in range(1, 13)]
    text = charts.render({"title": "Sales per month", "kind": "bar", "format": "money", "rows": rows,
                          "total": "78000"}, width=78)
    assert "Sales per month · Jan 2026 – Dec 2026" in text
    assert "Jan" in text and "Dec" in text and "total 78,000.00" in text
    assert "\x1b[" not in text  # plain text for mail
    stat = charts.render({"title": "Won this month", "kind": "stat", "format": "money", "value": "1234.5",
                          "change": "-12.5", "change_unit": "percent", "compared_with": "previous month"})
    assert stat == "Won this month: 1,234.50  -12.5% vs previous month"
    assert charts.format_value_fit("32298517.06", "money", 20) == "32,298,517.06"
    assert charts.format_value_fit("32298517.06", "money", 10) == "32.3M"
    assert charts.render({"title": "Win rate", "kind": "stat", "format": "percent", "value": None,
                          "no_access": True}) == "Win rate: no access"


# ------------------------------------------------------------------------------------------------
# CLI


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv) + ["--user", "admin"])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_json_contract(demo, capsys):
    code, out, err = run(capsys, "report", "Opportunities", "--measure", "sum:Amount", "--by", "month:won",
                         "--from", "2026-01-01", "--to", "2026-03-31", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"rows", "total"}
    assert [r["key"] for r in data["rows"]] == ["2026-01", "2026-02", "2026-03"]
    assert all(isinstance(r["value"], str) for r in data["rows"])
    assert Decimal(data["total"]) == sum(Decimal(r["value"]) for r in data["rows"])

    code, out, _ = run(capsys, "report", "Opportunities", "--measure", "count", "--by", "tag", "--json")
    data = json.loads(out)
    assert data["overlapping"] is True and isinstance(data["total"], int)
    assert all(isinstance(r["value"], int) for r in data["rows"])

    code, out, _ = run(capsys, "report", "Opportunities,Invoices", "--measure", "count", "--by", "list",
                       "--list", "Won", "--list", "Paid", "--json")
    keys = [r["key"] for r in json.loads(out)["rows"]]
    assert keys == ["Won", "Paid"]


def test_report_text_and_errors(demo, capsys):
    code, out, _ = run(capsys, "report", "Opportunities", "--measure", "weighted:Amount", "--kind", "open")
    assert code == 0 and out.strip().replace(",", "").replace(".", "").isdigit()
    code, out, _ = run(capsys, "report", "Opportunities", "--measure", "count", "--by", "Deal source")
    assert out.splitlines()[0].startswith("Deal source") and out.splitlines()[-1].startswith("total")
    code, _, err = run(capsys, "report", "Opportunities", "--measure", "sum:Title")
    assert code == 3 and "no field 'Title'" in err
    code, _, err = run(capsys, "report", "Opportunities", "--measure", "median:Amount")
    assert code == 2 and "--measure" in err
    code, _, err = run(capsys, "report", "Opportunities", "--measure", "count", "--from", "31/12/2026")
    assert code == 2 and "2017-03-31" in err
    code, _, err = run(capsys, "report", "Nope", "--measure", "count")
    assert code == 3 and "no project" in err


def test_dashboard_list_and_show(demo, capsys):
    code, out, _ = run(capsys, "dashboard", "list", "--json")
    assert json.loads(out) == [{"name": SALES, "owner": None, "access": "edit", "widgets": 11}]
    code, out, _ = run(capsys, "dashboard", "show", "Sales", "--json")
    data = json.loads(out)
    assert data["name"] == SALES and len(data["widgets"]) == 11
    for w in data["widgets"]:
        assert w["kind"] in ("stat", "pie", "bar")
        assert ("value" in w) if w["kind"] == "stat" else isinstance(w["rows"], list)
    code, out, _ = run(capsys, "dashboard", "show", "Sales", "--width", "78")
    assert code == 0
    for title in ("Open pipeline value:", "Weighted forecast:", "Win rate:", "Revenue per month",
                  "Sales by service", "Deals by stage", "vs previous month"):
        assert title in out
    code, _, err = run(capsys, "dashboard", "show", "Nope")
    assert code == 3 and "dashboards: Sales" in err


def test_cli_modules_import_neither_plotext_nor_textual():
    code = ("import sys, crm_tui.cli, crm_tui.cli_ext.reports, crm_tui.domain.metrics, "
            "crm_tui.domain.dashboards, crm_tui.charts; "
            "crm_tui.cli.build_parser(); "
            "bad = [m for m in ('plotext', 'textual') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_month_start_helper():
    assert month_start(dt.date(2026, 1, 31), 1) == dt.date(2025, 12, 1)
    assert month_start(dt.date(2026, 12, 5), -1) == dt.date(2027, 1, 1)


def test_a_role_without_edit_dashboards_cannot_add_widgets_over_the_project(sales):
    ann = ensure_user("ann")
    opp = load_schema("Opportunities").id
    restricted = Actor(id=ann.id, name="ann", capabilities={opp: frozenset({"create", "edit"})})
    create_dashboard(restricted, "Ann's")
    with pytest.raises(PermissionDenied, match="edit dashboards in Opportunities"):
        add_widget(restricted, "Ann's", "Deals", "stat",
                   {"metric": {"projects": ["Opportunities"], "measure": "count"}})
    add_widget(restricted, "Ann's", "Clients", "stat", {"metric": {"projects": ["Clients"], "measure": "count"}})


def test_settle_layout_never_overlaps_and_the_moved_widget_wins():
    from crm_tui.domain.dashboards import settle_layout

    # two stat cards side by side; the second moved left onto the first: the first makes room
    assert settle_layout([(0, 0, 2, 1), (1, 0, 2, 1)], 10, first=1) == [(3, 0, 2, 1), (1, 0, 2, 1)]
    # too wide for the grid: clipped; out of the grid on the left or top: brought back
    assert settle_layout([(8, 0, 5, 1), (-3, -2, 1, 1)], 10) == [(5, 0, 5, 1), (0, 0, 1, 1)]
    # a tall widget pushes the one it would cover to the next free place that fits
    cells = settle_layout([(0, 0, 5, 3), (0, 1, 5, 1), (5, 0, 5, 1)], 10)
    assert cells == [(0, 0, 5, 3), (5, 1, 5, 1), (5, 0, 5, 1)]
    occupied = [(x + i, y + j) for x, y, w, h in cells for i in range(w) for j in range(h)]
    assert len(occupied) == len(set(occupied))


def test_moving_a_sales_widget_makes_room(sales):
    board = get_dashboard(sales, SALES)
    first, second = widgets_of(board)[:2]
    move_widget(sales, second.id, -2, 0)
    after = {w.id: (w.x, w.y) for w in widgets_of(board)}
    assert after[second.id] == (0, 0)
    assert after[first.id] != (0, 0)
    cells = [(w.x + i, w.y + j) for w in widgets_of(board) for i in range(w.w) for j in range(w.h)]
    assert len(cells) == len(set(cells))


def test_a_role_hiding_amount_gives_no_access_in_the_cli(demo, capsys):
    from crm_tui.domain.permissions import add_role, set_user_role

    ensure_user("bob")
    add_role(demo, "Opportunities", "Junior", hide=["Amount"])
    set_user_role(demo, "bob", "Opportunities", "Junior")
    code = main(["dashboard", "show", "Sales", "--json", "--user", "bob"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    pipeline = widget(data, "Open pipeline value")
    assert pipeline["no_access"] is True and pipeline["value"] is None
    assert widget(data, "Sales per month")["rows"] == []
    assert isinstance(widget(data, "Active opportunities")["value"], int)
    code = main(["report", "Opportunities", "--measure", "sum:Amount", "--user", "bob"])
    assert code == 0 and "no access" in capsys.readouterr().out


def test_a_widget_added_at_a_taken_place_gets_it_and_the_others_make_room(sales):
    wid = add_widget(sales, SALES, "Lost deals", "stat",
                     {"metric": {"projects": ["Opportunities"], "measure": "count", "kinds": ["lost"]}}, x=0, y=0)
    widgets = widgets_of(get_dashboard(sales, SALES))
    assert next((w.x, w.y) for w in widgets if w.id == wid) == (0, 0)
    cells = [(w.x + i, w.y + j) for w in widgets for i in range(w.w) for j in range(w.h)]
    assert len(cells) == len(set(cells)) and len(widgets) == 12

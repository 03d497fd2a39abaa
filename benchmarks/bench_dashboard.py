"""Benchmark: the template's "Sales" dashboard over 100k opportunities vs hand-written SQL for the same
figures. Prints a markdown table (median of N runs per widget, the ratio engine / SQL; goal ≤ 2).

    python benchmarks/bench_dashboard.py                      # SQLite, db cached in benchmarks/results/
    python benchmarks/bench_dashboard.py --size 20000 --repeat 5
    python benchmarks/bench_dashboard.py --db postgresql://postgres@127.0.0.1/crm_bench

The demo database is built once (``build_demo``, about a minute at 100k) with a fixed "today", so the
figures are the same on every run; the SQLite file is kept under benchmarks/results/. The hand-written
SQL uses ids looked up beforehand (what a person writing the report by hand would do); the engine
resolves project, list and field names on every run, and that cost is included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from crm_tui.db import open_database  # noqa: E402
from crm_tui.db.connection import database, is_postgres  # noqa: E402
from crm_tui.db.models import Record  # noqa: E402

TODAY = dt.date(2026, 11, 27)


def _open(url: str, size: int) -> None:
    from crm_tui.domain.actors import actor_for, ensure_user
    from crm_tui.domain.demo import build_demo

    open_database(url)
    if not Record.select().exists():
        started = time.perf_counter()
        admin = actor_for(ensure_user("admin", is_admin=True))
        print(f"building the demo database ({size:,} opportunities) …", file=sys.stderr)
        build_demo(admin, size=size, seed=1, today=TODAY)
        print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _hand_written_queries() -> dict[str, list[tuple[str, tuple]]]:
    """The same figures as the Sales dashboard, written by hand (ids resolved beforehand)."""
    from crm_tui.domain.metrics import timeframe_range
    from crm_tui.domain.project_schema import load_schema

    opp, inv = load_schema("Opportunities"), load_schema("Invoices")
    amount = opp.field("Amount").id
    paid_amount, paid_date = inv.field("Invoice amount").id, inv.field("Paid date").id
    paid_list = inv.list("Paid").id

    def ids(kinds):
        return "(" + ", ".join(str(l.id) for l in opp.lists if l.kind in kinds) + ")"

    pg = is_postgres()
    month = (lambda c: f"to_char({c}, 'YYYY-MM')") if pg else (lambda c: f"strftime('%Y-%m', {c})")
    p = "%s" if pg else "?"

    def ts(day):
        value = dt.datetime.combine(day, dt.time())
        return value if pg else value.isoformat(sep=" ")

    def period(timeframe, previous=False):
        start, end = timeframe_range(timeframe, TODAY, previous=previous)
        return ts(start), ts(end + dt.timedelta(days=1))

    base = f"FROM record r JOIN field_value fv ON fv.record_id = r.id AND fv.field_id = {amount} " \
           f"WHERE r.project_id = {opp.id} AND NOT r.archived"
    won_sum = f"SELECT SUM(fv.number) {base} AND r.list_id IN {ids({'won'})} " \
              f"AND r.list_entered_at >= {p} AND r.list_entered_at < {p}"
    rate = (f"SELECT COUNT(*) FROM record r WHERE r.project_id = {opp.id} AND NOT r.archived "
            f"AND r.list_id IN {{}} AND r.list_entered_at >= {p} AND r.list_entered_at < {p}")
    year = period("last_12_months")
    tag_join = "LEFT JOIN record_tag rt ON rt.record_id = r.id LEFT JOIN tag t ON t.id = rt.tag_id"
    return {
        "Open pipeline value": [(f"SELECT SUM(fv.number) {base} AND r.list_id IN {ids({'open'})}", ())],
        "Weighted forecast": [(f"SELECT SUM(fv.number * l.probability) FROM record r "
                               f"JOIN list l ON l.id = r.list_id "
                               f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id = {amount} "
                               f"WHERE r.project_id = {opp.id} AND NOT r.archived AND r.list_id IN {ids({'open'})}",
                               ())],
        "Won this month": [(won_sum, period("this_month")), (won_sum, period("this_month", previous=True))],
        "Active opportunities": [(f"SELECT COUNT(*) FROM record r WHERE r.project_id = {opp.id} "
                                  f"AND NOT r.archived AND r.list_id IN {ids({'open'})}", ())],
        "Win rate": [(rate.format(ids({"won"})), period("last_3_months")),
                     (rate.format(ids({"won", "lost"})), period("last_3_months")),
                     (rate.format(ids({"won"})), period("last_3_months", previous=True)),
                     (rate.format(ids({"won", "lost"})), period("last_3_months", previous=True))],
        "Pipeline generated per month": [(f"SELECT {month('r.created_at')} AS m, SUM(fv.number) {base} "
                                          f"AND r.created_at >= {p} AND r.created_at < {p} GROUP BY m", year)],
        "Sales per month": [(f"SELECT {month('r.list_entered_at')} AS m, SUM(fv.number) {base} "
                             f"AND r.list_id IN {ids({'won'})} AND r.list_entered_at >= {p} "
                             f"AND r.list_entered_at < {p} GROUP BY m", year)],
        "New opportunities per month": [(f"SELECT {month('r.created_at')} AS m, COUNT(*) FROM record r "
                                         f"WHERE r.project_id = {opp.id} AND NOT r.archived "
                                         f"AND r.created_at >= {p} AND r.created_at < {p} GROUP BY m", year)],
        "Revenue per month": [(f"SELECT {month('d.date')} AS m, SUM(a.number) FROM record r "
                               f"JOIN field_value a ON a.record_id = r.id AND a.field_id = {paid_amount} "
                               f"JOIN field_value d ON d.record_id = r.id AND d.field_id = {paid_date} "
                               f"WHERE r.project_id = {inv.id} AND NOT r.archived AND r.list_id = {paid_list} "
                               f"AND d.date >= {p} AND d.date <= {p} GROUP BY m",
                               tuple(x.isoformat() if not pg else x
                                     for x in timeframe_range("last_12_months", TODAY)))],
        "Sales by service": [(f"SELECT t.name, SUM(fv.number) {base.replace('WHERE', tag_join + ' WHERE')} "
                              f"AND r.list_id IN {ids({'won'})} GROUP BY t.name", ()),
                             (f"SELECT SUM(fv.number) {base} AND r.list_id IN {ids({'won'})}", ())],
        "Deals by stage": [(f"SELECT l.name, COUNT(*) FROM record r JOIN list l ON l.id = r.list_id "
                            f"WHERE r.project_id = {opp.id} AND NOT r.archived AND r.list_id IN {ids({'open'})} "
                            f"GROUP BY l.name", ())],
    }


def _paired_medians(engine_fn, hand_fn, repeat: int) -> tuple[float, float]:
    """Median ms of each, timed in alternation so that load from other processes hits both alike."""
    engine_fn(), hand_fn()  # warm the page cache and the statement cache
    engine, hand = [], []
    for _ in range(repeat):
        for fn, out in ((engine_fn, engine), (hand_fn, hand)):
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
    return statistics.median(engine), statistics.median(hand)


def time_to_first_paint(actor, size=(160, 50)) -> tuple[float, float]:
    """Milliseconds from pushing the dashboard screen until its tiles are on screen (the layout, "computing…"),
    and until every figure has arrived. Headless (Textual's test driver), so terminal I/O is not counted."""
    import asyncio

    from textual.app import App

    from crm_tui.tui.screens.dashboard import DashboardScreen, DashboardTile

    class BenchApp(App):
        def __init__(self):
            super().__init__()
            self.actor = actor

        def report(self, error):
            raise error

    async def run() -> tuple[float, float]:
        app = BenchApp()
        async with app.run_test(size=size) as pilot:
            started = time.perf_counter()
            app.push_screen(DashboardScreen("Sales"))
            first = done = None
            while done is None:
                await pilot.pause(0.005)
                tiles = list(app.screen.query(DashboardTile)) if isinstance(app.screen, DashboardScreen) else []
                if tiles and first is None:
                    first = time.perf_counter()
                if tiles and all(t.figures is not None for t in tiles):
                    done = time.perf_counter()
            return (first - started) * 1000, (done - started) * 1000

    return asyncio.run(run())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="opportunities (default 100000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (median)")
    parser.add_argument("--db", help="database URL (default: a cached SQLite file in benchmarks/results/)")
    parser.add_argument("--tui", action="store_true", help="also time the dashboard screen's first paint")
    args = parser.parse_args(argv)

    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    url = args.db or f"sqlite:///{results / f'dashboard_{args.size}.db'}"
    _open(url, args.size)

    from crm_tui.domain.actors import actor_for, ensure_user
    from crm_tui.domain.dashboards import SALES, compute_dashboard, compute_widget, get_dashboard, widgets_of
    from crm_tui.domain.metrics import SchemaCache

    actor = actor_for(ensure_user("admin", is_admin=True))
    hand = _hand_written_queries()
    widgets = widgets_of(get_dashboard(actor, SALES))
    engine_name = "PostgreSQL" if is_postgres() else "SQLite"

    def run_hand(queries):
        return [database.execute_sql(sql, params).fetchall() for sql, params in queries]

    lines = [f"Sales dashboard, {engine_name}, {args.size:,} opportunities (median of {args.repeat} runs; "
             f"engine includes resolving names)", "",
             "| widget | engine ms | hand-written SQL ms | ratio |", "| --- | ---: | ---: | ---: |"]
    engine_total = hand_total = 0.0
    for widget in widgets:
        engine_ms, hand_ms = _paired_medians(
            lambda: compute_widget(actor, widget, today=TODAY, cache=SchemaCache()),
            lambda: run_hand(hand[widget.title]), args.repeat)
        engine_total += engine_ms
        hand_total += hand_ms
        lines.append(f"| {widget.title} | {engine_ms:.1f} | {hand_ms:.1f} | {engine_ms / hand_ms:.2f} |")
    board_ms, all_hand_ms = _paired_medians(lambda: compute_dashboard(actor, SALES, today=TODAY),
                                            lambda: [run_hand(q) for q in hand.values()], args.repeat)
    lines.append(f"| **whole dashboard** (one schema cache) | **{board_ms:.1f}** | **{all_hand_ms:.1f}** | "
                 f"**{board_ms / all_hand_ms:.2f}** |")
    if args.tui:
        paints = [time_to_first_paint(actor) for _ in range(3)]
        first = statistics.median(p[0] for p in paints)
        full = statistics.median(p[1] for p in paints)
        lines += ["", "| dashboard screen (headless, 160×50) | ms |", "| --- | ---: |",
                  f"| first paint (grid of tiles, figures pending) | {first:.0f} |",
                  f"| every figure shown | {full:.0f} |"]
    print("\n".join(lines))
    return 0 if board_ms / all_hand_ms <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())

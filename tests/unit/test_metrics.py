"""The metrics engine against hand-written SQL and against figures computed from the Maven CRM CSV.

Every engine figure is compared with a plain SQL statement written here (its own month bucketing:
``substr`` on SQLite, ``to_char`` on PostgreSQL) over generated data with empty months, two projects
with same-named lists and tags, multi-tag records, archived records and awkward decimals; and with
sums computed by the csv module over ../shared/datasets/maven-crm/sales_pipeline.csv.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from crm_tui.db.connection import database, is_postgres, run_write
from crm_tui.db.models import Record
from crm_tui.domain.actors import Actor, ensure_user
from crm_tui.domain.decimals import from_scaled
from crm_tui.domain.metrics import (MetricSpec, change, compute_metric, compute_previous, parse_group,
                                    parse_measure, period_keys, timeframe_range)
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.projects import add_field, add_list, add_project, add_tag
from crm_tui.domain.records import NewRecord, create_records_bulk
from crm_tui.errors import NotFoundError, ValidationError

MAVEN = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "maven-crm" / "sales_pipeline.csv"
BOTH = ["North", "South"]


# ------------------------------------------------------------------------------------------------
# hand-written SQL


def sql(text: str, *params) -> list[tuple]:
    if is_postgres():
        text = text.replace("?", "%s")
    return list(database.execute_sql(text, params).fetchall())


def month_of(column: str) -> str:
    return f"to_char({column}, 'YYYY-MM')" if is_postgres() else f"substr({column}, 1, 7)"


def dec(scaled) -> Decimal:
    return from_scaled(int(scaled or 0))


def field_ids(name: str) -> list[int]:
    return [r[0] for r in sql("SELECT f.id FROM field f JOIN project p ON p.id = f.project_id "
                              "WHERE f.name = ? AND p.name IN ('North', 'South')", name)]


def in_list(ids) -> str:
    return "(" + ", ".join(str(int(i)) for i in ids) + ")"


def rows_of(result) -> dict:
    return dict(result.rows)


# ------------------------------------------------------------------------------------------------
# generated data


@pytest.fixture
def two_projects(admin):
    """North and South: same-named lists (Open 30%, Won, Lost) and tags (Web, SEO), plus a list and a tag
    only one has; Amount, Closed on and Source in both. 160 records created Jan–Jun 2026 with March
    left empty, multi-tag records, unassigned records and archived ones."""
    users = [ensure_user("ann"), ensure_user("ben")]
    for name in BOTH:
        add_project(admin, name)
        add_list(admin, name, "Open", probability=30)
        add_list(admin, name, "Won", probability=100, kind="won")
        add_list(admin, name, "Lost", probability=0, kind="lost")
        add_tag(admin, name, "Web")
        add_tag(admin, name, "SEO")
        add_field(admin, name, "Amount", "currency")
        add_field(admin, name, "Closed on", "date")
        add_field(admin, name, "Source", "dropdown", options=["Referral", "Website", "Cold call"])
    add_list(admin, "South", "Pitch", probability=55)
    add_tag(admin, "North", "Print")
    rng = random.Random(7)
    months = [1, 2, 4, 5, 6]
    cents = ["0.01", "0.1", "0.2", "0.33", "0.000001", "99.99", "1234567.89"]

    def write():
        for name in BOTH:
            schema = load_schema(name)
            f = {x.name: x.id for x in schema.fields}
            lists = {l.name: l.id for l in schema.lists}
            tags = [t.name for t in schema.tags]
            items = []
            for i in range(80):
                created = dt.datetime(2026, rng.choice(months), rng.randint(1, 28), rng.randint(0, 23), 30)
                list_name = rng.choice(list(lists))
                entered = created + dt.timedelta(days=rng.randint(0, 40))
                values = {}
                if i % 9 != 0:  # some records have no amount
                    values[f["Amount"]] = Decimal(rng.randint(0, 50000)) + Decimal(rng.choice(cents))
                if i % 4 != 0:
                    values[f["Closed on"]] = (entered + dt.timedelta(days=rng.randint(0, 20))).date()
                if i % 5 != 0:
                    values[f["Source"]] = rng.choice(["Referral", "Website", "Cold call"])
                items.append(NewRecord(f"{name} {i}", list_id=lists[list_name],
                                       tags=rng.sample(tags, k=rng.choice([0, 1, 1, 2, 2, 3][:len(tags) + 1])),
                                       values=values, assignee_id=rng.choice([users[0].id, users[1].id, None]),
                                       created_at=created, list_entered_at=entered))
            ids = create_records_bulk(admin, schema, items)
            Record.update(archived=True).where(Record.id.in_(ids[::10])).execute()

    run_write(write)
    return admin


# ------------------------------------------------------------------------------------------------
# pure helpers


def test_parse_measure_and_group():
    assert parse_measure("count") == ("count", None)
    assert parse_measure("sum:Amount") == ("sum", "Amount")
    assert parse_measure("weighted: Amount") == ("weighted", "Amount")
    with pytest.raises(ValidationError):
        parse_measure("median:Amount")
    with pytest.raises(ValidationError):
        parse_measure("sum")
    assert parse_group("month:created") == {"group": "month", "date_field": "created"}
    assert parse_group("quarter:Paid date") == {"group": "quarter", "date_field": "Paid date"}
    assert parse_group("tag") == {"group": "tag"}
    assert parse_group("Deal source") == {"group": "field", "group_field": "Deal source"}


def test_timeframes_at_month_edges():
    assert timeframe_range("this_month", dt.date(2026, 3, 1)) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert timeframe_range("this_month", dt.date(2026, 3, 31), previous=True) == (dt.date(2026, 2, 1),
                                                                                   dt.date(2026, 2, 28))
    assert timeframe_range("last_3_months", dt.date(2026, 1, 31)) == (dt.date(2025, 11, 1), dt.date(2026, 1, 31))
    assert timeframe_range("last_3_months", dt.date(2026, 1, 1), previous=True) == (dt.date(2025, 8, 1),
                                                                                      dt.date(2025, 10, 31))
    assert timeframe_range("last_12_months", dt.date(2024, 2, 29)) == (dt.date(2023, 3, 1), dt.date(2024, 2, 29))
    assert timeframe_range("this_year", dt.date(2026, 12, 31), previous=True) == (dt.date(2025, 1, 1),
                                                                                    dt.date(2025, 12, 31))
    with pytest.raises(ValidationError):
        timeframe_range("last_2_weeks", dt.date(2026, 1, 1))


def test_period_keys_fill_every_period():
    assert period_keys("month", dt.date(2025, 11, 15), dt.date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01",
                                                                                "2026-02"]
    assert period_keys("quarter", dt.date(2025, 12, 31), dt.date(2026, 4, 1)) == ["2025-Q4", "2026-Q1", "2026-Q2"]
    assert period_keys("week", dt.date(2026, 3, 1), dt.date(2026, 3, 9)) == ["2026-02-23", "2026-03-02",
                                                                             "2026-03-09"]
    assert len(period_keys("day", dt.date(2024, 2, 1), dt.date(2024, 3, 1))) == 30


def test_change_is_relative_and_none_without_a_base():
    assert change(Decimal(150), Decimal(100)) == Decimal("50.0")
    assert change(Decimal(0), Decimal(100)) == Decimal("-100.0")
    assert change(Decimal(5), Decimal(0)) is None


def test_spec_round_trips_through_json():
    spec = MetricSpec(["A", "B"], "sum", "Amount", group="month", date_field="won", tags=["Web"],
                      date_from=dt.date(2026, 1, 1), timeframe="last_3_months")
    assert MetricSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValidationError):
        MetricSpec.from_json({"projects": ["A"], "bogus": 1})


# ------------------------------------------------------------------------------------------------
# against hand-written SQL


def test_sum_by_month_created_across_projects_with_empty_months(two_projects):
    spec = MetricSpec(BOTH, "sum", "Amount", group="month", date_field="created",
                      date_from=dt.date(2025, 12, 1), date_to=dt.date(2026, 6, 30))
    result = compute_metric(two_projects, spec)
    expected = {k: dec(v) for k, v in sql(
        f"SELECT {month_of('r.created_at')} AS m, SUM(fv.number) FROM record r "
        f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {in_list(field_ids('Amount'))} "
        "JOIN project p ON p.id = r.project_id WHERE p.name IN ('North', 'South') AND NOT r.archived "
        "GROUP BY m")}
    assert [k for k, _ in result.rows] == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert rows_of(result)["2025-12"] == 0 and rows_of(result)["2026-03"] == 0
    assert {k: v for k, v in result.rows if v} == expected
    assert result.total == sum(expected.values())
    assert not result.overlapping


def test_count_by_month_without_a_range_spans_the_data(two_projects):
    result = compute_metric(two_projects, MetricSpec(BOTH, "count", group="month"))
    expected = dict(sql(f"SELECT {month_of('created_at')} AS m, COUNT(*) FROM record WHERE NOT archived GROUP BY m"))
    assert [k for k, _ in result.rows] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert {k: v for k, v in result.rows if v} == expected
    assert rows_of(result)["2026-03"] == 0
    assert result.total == sum(expected.values())


def test_same_named_lists_merge_and_lists_without_records_appear(two_projects):
    result = compute_metric(two_projects, MetricSpec(BOTH, "count", group="list"))
    expected = dict(sql("SELECT l.name, COUNT(*) FROM record r JOIN list l ON l.id = r.list_id "
                        "WHERE NOT r.archived GROUP BY l.name"))
    assert [k for k, _ in result.rows] == ["Open", "Won", "Lost", "Pitch"]
    assert rows_of(result) == expected
    only_north = compute_metric(two_projects, MetricSpec(["North"], "count", group="list"))
    assert [k for k, _ in only_north.rows] == ["Open", "Won", "Lost"]


def test_multi_tag_records_count_in_every_slice_and_the_total_is_distinct(two_projects):
    result = compute_metric(two_projects, MetricSpec(BOTH, "sum", "Amount", group="tag"))
    amount = in_list(field_ids("Amount"))
    expected = {k: dec(v) for k, v in sql(
        "SELECT t.name, SUM(fv.number) FROM record r "
        f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {amount} "
        "JOIN record_tag rt ON rt.record_id = r.id JOIN tag t ON t.id = rt.tag_id "
        "WHERE NOT r.archived GROUP BY t.name")}
    (untagged,) = sql("SELECT SUM(fv.number) FROM record r "
                      f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {amount} "
                      "WHERE NOT r.archived AND NOT EXISTS (SELECT 1 FROM record_tag rt WHERE rt.record_id = r.id)")
    (distinct,) = sql("SELECT SUM(fv.number) FROM record r "
                      f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {amount} WHERE NOT r.archived")
    rows = rows_of(result)
    assert {k: v for k, v in rows.items() if k is not None} == expected
    assert rows[None] == dec(untagged[0])
    assert [k for k, _ in result.rows] == ["Print", "SEO", "Web", None]
    assert result.overlapping is True
    assert result.total == dec(distinct[0])
    assert sum(rows.values()) > result.total  # a record with two tags counts in both slices

    counts = compute_metric(two_projects, MetricSpec(BOTH, "count", group="tag"))
    (n,) = sql("SELECT COUNT(*) FROM record WHERE NOT archived")
    assert counts.total == n[0] and counts.to_json()["overlapping"] is True


def test_weighted_is_value_times_list_probability_exactly(two_projects):
    result = compute_metric(two_projects, MetricSpec(BOTH, "weighted", "Amount", group="list"))
    expected = {k: Decimal(int(v or 0)) / 100_000_000 for k, v in sql(
        "SELECT l.name, SUM(fv.number * l.probability) FROM record r JOIN list l ON l.id = r.list_id "
        f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {in_list(field_ids('Amount'))} "
        "WHERE NOT r.archived GROUP BY l.name")}
    assert rows_of(result) == expected
    assert rows_of(result)["Lost"] == 0
    open_sum = compute_metric(two_projects, MetricSpec(BOTH, "sum", "Amount", lists=["Open"])).total
    assert rows_of(result)["Open"] == open_sum * Decimal("0.3")


def test_avg_min_max_are_exact_decimals(two_projects):
    amount = in_list(field_ids("Amount"))
    (total, n, low, high), = sql(
        f"SELECT SUM(fv.number), COUNT(fv.number), MIN(fv.number), MAX(fv.number) FROM record r "
        f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {amount} WHERE NOT r.archived")
    avg = compute_metric(two_projects, MetricSpec(BOTH, "avg", "Amount")).total
    assert avg == (Decimal(int(total)) / 10**6 / n).quantize(Decimal("0.000001"))
    assert compute_metric(two_projects, MetricSpec(BOTH, "min", "Amount")).total == dec(low)
    assert compute_metric(two_projects, MetricSpec(BOTH, "max", "Amount")).total == dec(high)
    by_assignee = compute_metric(two_projects, MetricSpec(BOTH, "max", "Amount", group="assignee"))
    assert [k for k, _ in by_assignee.rows] == ["ann", "ben", None]
    assert by_assignee.total == dec(high)


def test_decimal_sums_are_exact(admin):
    add_project(admin, "Tiny")
    add_list(admin, "Tiny", "Open", probability=33)
    add_field(admin, "Tiny", "Amount", "number")
    schema = load_schema("Tiny")
    amounts = ["0.1", "0.2", "0.000001", "1234567.89", "-0.3", "9999999999.999999"]
    run_write(lambda: create_records_bulk(admin, schema, [
        NewRecord(f"r{i}", values={schema.field("Amount").id: Decimal(a)}) for i, a in enumerate(amounts)]))
    result = compute_metric(admin, MetricSpec(["Tiny"], "sum", "Amount"))
    assert result.total == sum(Decimal(a) for a in amounts) == Decimal("10001234567.89")
    weighted = compute_metric(admin, MetricSpec(["Tiny"], "weighted", "Amount")).total
    assert weighted == sum(Decimal(a) for a in amounts) * Decimal("0.33")
    assert result.to_json()["total"] == "10001234567.89"


def test_archived_records_never_count(two_projects):
    (live,) = sql("SELECT COUNT(*) FROM record WHERE NOT archived")
    (everything,) = sql("SELECT COUNT(*) FROM record")
    assert everything[0] > live[0]
    assert compute_metric(two_projects, MetricSpec(BOTH, "count")).total == live[0]


def test_filters_lists_tags_assignee_and_kinds(two_projects):
    web_seo = sql("SELECT COUNT(*) FROM record r WHERE NOT r.archived "
                  "AND EXISTS (SELECT 1 FROM record_tag rt JOIN tag t ON t.id = rt.tag_id "
                  "            WHERE rt.record_id = r.id AND t.name = 'Web') "
                  "AND EXISTS (SELECT 1 FROM record_tag rt JOIN tag t ON t.id = rt.tag_id "
                  "            WHERE rt.record_id = r.id AND t.name = 'SEO')")[0][0]
    assert compute_metric(two_projects, MetricSpec(BOTH, "count", tags=["web", "SEO"])).total == web_seo
    won_lost = sql("SELECT COUNT(*) FROM record r JOIN list l ON l.id = r.list_id "
                   "WHERE NOT r.archived AND l.name IN ('Won', 'Lost')")[0][0]
    assert compute_metric(two_projects, MetricSpec(BOTH, "count", lists=["Won", "lost"])).total == won_lost
    assert compute_metric(two_projects, MetricSpec(BOTH, "count", kinds=["won", "lost"])).total == won_lost
    ann = sql("SELECT COUNT(*) FROM record r JOIN \"user\" u ON u.id = r.assignee_id "
              "WHERE NOT r.archived AND u.name = 'ann'")[0][0]
    assert compute_metric(two_projects, MetricSpec(BOTH, "count", assignee="ann")).total == ann
    with pytest.raises(ValidationError, match="open, won, lost, closed"):
        compute_metric(two_projects, MetricSpec(BOTH, "count", kinds=["opne"]))
    with pytest.raises(NotFoundError, match="Pitch"):
        compute_metric(two_projects, MetricSpec(BOTH, "count", lists=["Nope"]))
    with pytest.raises(NotFoundError, match="no tag"):
        compute_metric(two_projects, MetricSpec(BOTH, "count", tags=["Nope"]))
    with pytest.raises(NotFoundError, match="no field"):
        compute_metric(two_projects, MetricSpec(BOTH, "sum", "Nope"))
    with pytest.raises(ValidationError, match="dropdown"):
        compute_metric(two_projects, MetricSpec(BOTH, "sum", "Source"))


def test_group_by_dropdown_keeps_option_order_and_records_without_a_value(two_projects):
    result = compute_metric(two_projects, MetricSpec(BOTH, "count", group="field", group_field="Source"))
    expected = dict(sql("SELECT fv.text, COUNT(*) FROM record r LEFT JOIN field_value fv ON fv.record_id = r.id "
                        f"AND fv.field_id IN {in_list(field_ids('Source'))} WHERE NOT r.archived GROUP BY fv.text"))
    assert [k for k, _ in result.rows] == ["Referral", "Website", "Cold call", None]
    assert rows_of(result) == expected


def test_sales_by_month_won_uses_the_time_records_entered_a_won_list(two_projects):
    spec = MetricSpec(BOTH, "sum", "Amount", group="month", date_field="won",
                      date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 8, 31))
    result = compute_metric(two_projects, spec)
    expected = {k: dec(v) for k, v in sql(
        f"SELECT {month_of('r.list_entered_at')} AS m, SUM(fv.number) FROM record r "
        "JOIN list l ON l.id = r.list_id AND l.kind = 'won' "
        f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {in_list(field_ids('Amount'))} "
        "WHERE NOT r.archived GROUP BY m")}
    assert len(result.rows) == 8
    assert {k: v for k, v in result.rows if v} == expected


def test_group_by_a_date_field_and_range_on_it(two_projects):
    spec = MetricSpec(BOTH, "count", group="month", date_field="Closed on",
                      date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 4, 30))
    result = compute_metric(two_projects, spec)
    closed_on = in_list(field_ids("Closed on"))
    expected = dict(sql(f"SELECT {month_of('fv.date')} AS m, COUNT(*) FROM record r "
                        f"JOIN field_value fv ON fv.record_id = r.id AND fv.field_id IN {closed_on} "
                        "WHERE NOT r.archived AND fv.date >= ? AND fv.date <= ? GROUP BY m",
                        dt.date(2026, 2, 1).isoformat(), dt.date(2026, 4, 30).isoformat()))
    assert [k for k, _ in result.rows] == ["2026-02", "2026-03", "2026-04"]
    assert {k: v for k, v in result.rows if v} == expected


def test_week_quarter_and_day_keys(two_projects):
    weeks = compute_metric(two_projects, MetricSpec(BOTH, "count", group="week",
                                                    date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31)))
    assert weeks.rows[0][0] == "2026-W01" and weeks.rows[-1][0] == "2026-W05"
    (january,) = sql("SELECT COUNT(*) FROM record WHERE NOT archived AND created_at >= ? AND created_at < ?",
                     *(("2026-01-01", "2026-02-01") if not is_postgres() else
                       (dt.datetime(2026, 1, 1), dt.datetime(2026, 2, 1))))
    assert weeks.total == january[0]
    quarters = compute_metric(two_projects, MetricSpec(BOTH, "count", group="quarter"))
    (h1,) = sql("SELECT COUNT(*) FROM record WHERE NOT archived")
    assert [k for k, _ in quarters.rows] == ["2026-Q1", "2026-Q2"]
    assert quarters.total == h1[0]
    days = compute_metric(two_projects, MetricSpec(BOTH, "count", group="day",
                                                   date_from=dt.date(2026, 2, 27), date_to=dt.date(2026, 3, 2)))
    assert [k for k, _ in days.rows] == ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]


def test_relative_timeframes_with_an_injected_today(admin):
    add_project(admin, "Edge")
    add_list(admin, "Edge", "Open")
    schema = load_schema("Edge")
    stamps = [dt.datetime(2026, 2, 28, 23, 59, 59, 999999), dt.datetime(2026, 3, 1, 0, 0),
              dt.datetime(2026, 3, 31, 23, 59, 59), dt.datetime(2026, 4, 1, 0, 0), dt.datetime(2025, 12, 31, 12)]
    run_write(lambda: create_records_bulk(admin, schema, [NewRecord(f"r{i}", created_at=s)
                                                          for i, s in enumerate(stamps)]))
    today = dt.date(2026, 3, 1)
    this_month = MetricSpec(["Edge"], "count", timeframe="this_month")
    assert compute_metric(admin, this_month, today=today).total == 2
    assert compute_metric(admin, this_month, today=dt.date(2026, 3, 31)).total == 2
    assert compute_previous(admin, this_month, today=today).total == 1
    assert compute_metric(admin, this_month, today=dt.date(2026, 4, 1)).total == 1
    by_month = compute_metric(admin, MetricSpec(["Edge"], "count", group="month", timeframe="last_3_months"),
                              today=today)
    assert by_month.rows == [("2026-01", 0), ("2026-02", 1), ("2026-03", 2)]
    assert compute_metric(admin, MetricSpec(["Edge"], "count", timeframe="this_year"), today=today).total == 4
    assert compute_previous(admin, MetricSpec(["Edge"], "count", timeframe="this_year"), today=today).total == 1


def test_a_hidden_field_gives_no_access_never_the_figure(two_projects):
    hidden = frozenset(field_ids("Amount")[:1])
    viewer = Actor(id=two_projects.id, name="viewer", hidden_fields=hidden)
    result = compute_metric(viewer, MetricSpec(BOTH, "sum", "Amount", group="month"))
    assert result.no_access and result.rows == [] and result.total is None
    assert result.to_json() == {"rows": [], "total": None, "no_access": True}
    assert compute_metric(viewer, MetricSpec(BOTH, "count")).total > 0
    hidden_date = Actor(id=two_projects.id, name="v2", hidden_fields=frozenset(field_ids("Closed on")))
    assert compute_metric(hidden_date, MetricSpec(BOTH, "count", group="month", date_field="Closed on")).no_access


# ------------------------------------------------------------------------------------------------
# against the Maven CRM data set


def _maven_rows():
    with MAVEN.open(newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["deal_stage"] in ("Won", "Lost")]


@pytest.mark.skipif(not MAVEN.exists(), reason="maven-crm data set not present")
def test_maven_won_and_lost_deals_match_an_independent_csv_computation(admin):
    rows = _maven_rows()[:3000]
    add_project(admin, "Maven")
    add_list(admin, "Maven", "Won", probability=100, kind="won")
    add_list(admin, "Maven", "Lost", kind="lost")
    add_field(admin, "Maven", "Close value", "currency")
    add_field(admin, "Maven", "Close date", "date")
    agents = {name: ensure_user(name.replace(" ", ".")).id for name in sorted({r["sales_agent"] for r in rows})}
    schema = load_schema("Maven")
    lists = {l.name: l.id for l in schema.lists}
    value_id, date_id = schema.field("Close value").id, schema.field("Close date").id
    items = []
    for r in rows:
        values = {date_id: dt.date.fromisoformat(r["close_date"])}
        if r["close_value"]:
            values[value_id] = Decimal(r["close_value"])
        items.append(NewRecord(r["opportunity_id"], list_id=lists[r["deal_stage"]], tags=[r["product"]],
                               values=values, assignee_id=agents[r["sales_agent"]],
                               created_at=dt.datetime.fromisoformat(r["engage_date"])))
    run_write(lambda: create_records_bulk(admin, schema, items))

    won = [r for r in rows if r["deal_stage"] == "Won"]
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for r in won:
        by_month[r["close_date"][:7]] += Decimal(r["close_value"])
    result = compute_metric(admin, MetricSpec(["Maven"], "sum", "Close value", lists=["Won"], group="month",
                                              date_field="Close date"))
    assert {k: v for k, v in result.rows if v} == dict(by_month)
    assert result.total == sum(by_month.values())

    by_product = Counter(r["product"] for r in won)
    per_tag = compute_metric(admin, MetricSpec(["Maven"], "count", kinds=["won"], group="tag"))
    assert rows_of(per_tag) == dict(by_product)

    by_agent: dict[str, Decimal] = defaultdict(Decimal)
    for r in won:
        by_agent[r["sales_agent"].replace(" ", ".")] += Decimal(r["close_value"])
    per_agent = compute_metric(admin, MetricSpec(["Maven"], "sum", "Close value", kinds=["won"], group="assignee"))
    assert {k: v for k, v in per_agent.rows if v} == dict(by_agent)

    stages = Counter(r["deal_stage"] for r in rows)
    assert rows_of(compute_metric(admin, MetricSpec(["Maven"], "count", group="list"))) == dict(stages)

    q1 = [r for r in won if "2017-01-01" <= r["close_date"] <= "2017-03-31"]
    ranged = compute_metric(admin, MetricSpec(["Maven"], "avg", "Close value", lists=["Won"], date_field="Close date",
                                              date_from=dt.date(2017, 1, 1), date_to=dt.date(2017, 3, 31)))
    expected_avg = (sum(Decimal(r["close_value"]) for r in q1) / len(q1)).quantize(Decimal("0.000001"))
    assert ranged.total == expected_avg


def test_a_range_with_one_bound_and_no_data_still_lists_its_period(admin):
    add_project(admin, "Empty")
    only_from = compute_metric(admin, MetricSpec(["Empty"], "count", group="month", date_from=dt.date(2026, 5, 3)))
    assert only_from.rows == [("2026-05", 0)] and only_from.total == 0
    only_to = compute_metric(admin, MetricSpec(["Empty"], "count", group="day", date_to=dt.date(2026, 5, 3)))
    assert only_to.rows == [("2026-05-03", 0)]
    nothing = compute_metric(admin, MetricSpec(["Empty"], "count", group="quarter"))
    assert nothing.rows == [] and nothing.total == 0

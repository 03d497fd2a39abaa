"""Timed scenarios over the benchmark data sets; prints a markdown table and writes JSON.

    python benchmarks/run.py                                   # sizes 1000,10000, every scenario
    python benchmarks/run.py --sizes 100000 --only grouped_sum # opt-in 100k rows
    python benchmarks/run.py --only list_opportunities,record_show --readme
    python benchmarks/run.py --list                            # the registry

Each scenario is a function registered with ``@scenario(...)``; it gets a :class:`Context` (the size,
the cached data set from ``generate.py``, helpers to time, count queries and make scratch copies) and
returns one or more :class:`Row`. Later issues add rows by adding functions here. Each (scenario, size)
runs in its own Python process, so peak memory is per scenario and no cache leaks between rows.

Results: ``benchmarks/results/run-<time>.json`` (this run) and ``benchmarks/results/latest.json`` (the
latest row per scenario and size, merged across runs); ``--readme`` rewrites the table in README.md
from latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)
from generate import RESULTS, Dataset  # noqa: E402

ROOT = Path(__file__).resolve().parent
README = ROOT / "README.md"
TABLE_START = "<!-- results:start -->"
TABLE_END = "<!-- results:end -->"


# ---------------------------------------------------------------------------------------------
# rows, registry


@dataclass
class Row:
    """One line of the table. ``seconds`` is the headline time (a median unless ``extra`` says
    otherwise); ``data`` holds every raw number for the JSON file."""

    scenario: str
    size: int
    seconds: float
    queries: int | None = None
    extra: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    fn: Callable[["Context"], list[Row]]
    title: str
    min_size: int = 1


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, title: str, *, min_size: int = 1):
    """Register a scenario: ``fn(ctx) -> Row | list[Row]``; runs once per size ≥ ``min_size``."""
    def register(fn):
        SCENARIOS[name] = Scenario(name, fn, title, min_size)
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# measuring


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END")


class QueryCounter:
    """Counts SQL statements sent to the database while active.

    Wraps the peewee database's ``cursor()`` so both peewee's ``execute_sql`` and the raw-cursor bulk
    inserts of ``crm_tui.db.bulk`` are seen; one ``executemany`` counts as one statement; transaction control (BEGIN, SAVEPOINT…) is not counted."""

    def __init__(self):
        self.count = 0
        self.statements: list[str] = []
        self.keep = False

    @contextlib.contextmanager
    def active(self, keep: bool = False):
        from crm_tui.db.connection import database

        db = database.obj
        original = db.cursor
        shadowed = vars(db).get("cursor")  # another wrapper already in place (a profiler, say)
        counter = self
        self.count = 0
        self.statements = []
        self.keep = keep

        class CountingCursor:
            def __init__(self, cursor):
                self._cursor = cursor

            def execute(self, sql, *args, **kwargs):
                counter._seen(sql)
                return self._cursor.execute(sql, *args, **kwargs)

            def executemany(self, sql, *args, **kwargs):
                counter._seen(sql)
                return self._cursor.executemany(sql, *args, **kwargs)

            def __iter__(self):
                return iter(self._cursor)

            def __getattr__(self, name):
                return getattr(self._cursor, name)

        def cursor(*args, **kwargs):
            return CountingCursor(original(*args, **kwargs))

        db.cursor = cursor
        try:
            yield self
        finally:
            if shadowed is None:
                vars(db).pop("cursor", None)  # back to the class's method
            else:
                db.cursor = shadowed

    def _seen(self, sql) -> None:
        text = sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql)
        if text.lstrip()[:9].upper().startswith(TRANSACTION_CONTROL):
            return  # BEGIN/SAVEPOINT…: not a query
        self.count += 1
        if self.keep:
            self.statements.append(text[:160])


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def median(values) -> float:
    return statistics.median(values)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def traced_peak_mib(fn, *args, **kwargs) -> float:
    """Peak Python allocation (tracemalloc) while ``fn`` runs — untimed: tracing slows it down."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1] / (1024 * 1024)
    finally:
        tracemalloc.stop()


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_size(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


# ---------------------------------------------------------------------------------------------
# context given to scenarios


class Context:
    def __init__(self, size: int, seed: int, dataset: Dataset, server_url: str | None):
        self.size = size
        self.seed = seed
        self.dataset = dataset
        self.server_url = server_url
        self.rng = random.Random(seed * 7919 + size)
        self.queries = QueryCounter()
        self.repeat = 5 if size <= 10_000 else 2

    @property
    def engine(self) -> str:
        return "postgresql" if self.dataset.is_postgres else "sqlite"

    def open(self, url: str | None = None):
        """Open the data set (or a scratch copy) and return the benchmark user as an Actor."""
        from crm_tui.db import close_database, open_database
        from crm_tui.domain.actors import resolve_actor

        close_database()
        open_database(url or self.dataset.url)
        return resolve_actor(generate.BENCH_USER)

    def scratch(self) -> generate.Scratch:
        from crm_tui.db import close_database

        close_database()  # PostgreSQL copies a database only while nobody is connected to it
        return generate.scratch_copy(self.dataset, self.server_url)

    def row(self, name: str, seconds: float, queries=None, extra: str = "", **data) -> Row:
        data.setdefault("engine", self.engine)
        return Row(name, self.size, seconds, queries, extra, data)


# ---------------------------------------------------------------------------------------------
# helpers shared by the scenarios


def opportunity_ids() -> list[int]:
    from crm_tui.db.models import Record
    from crm_tui.domain.project_schema import load_schema

    schema = load_schema("Opportunities")
    query = Record.select(Record.id).where((Record.project == schema.id) & (Record.archived == False))  # noqa: E712
    return [r for (r,) in query.order_by(Record.id).tuples()]


def client_ids() -> list[int]:
    from crm_tui.db.models import Record
    from crm_tui.domain.project_schema import load_schema

    schema = load_schema("Clients")
    return [r for (r,) in Record.select(Record.id).where(Record.project == schema.id).order_by(Record.id).tuples()]


def make_attachment() -> int:
    import hashlib

    from crm_tui.db.connection import run_write
    from crm_tui.db.models import Attachment

    content = b"%PDF-1.4 benchmark contract\n" * 64
    return run_write(lambda: Attachment.create(name="contract.pdf", size=len(content),
                                               sha256=hashlib.sha256(content).hexdigest(), content=content).id)


STAGES = ["Unqualified", "Qualifying", "Writing proposal", "Proposal sent", "Negotiation", "Contract to sign",
          "Won", "Lost", "Not applicable"]
SERVICES = ["Branding", "Website", "SEO", "Facebook management"]


def opportunity_specs(rng: random.Random, count: int, clients: list[int], attachment_id: int) -> list[dict]:
    """``count`` opportunities with every settable template field (by name, canonical values).

    Every record has Amount, Cost, Confidence, Expected close date, Client, Deal source, Client size
    and 1–3 tags; 40 % a Proposal URL, 20 % a Contract and Files received (an existing attachment),
    lost deals a Lost reason. Profit, Client name and Client email are computed by the domain."""
    specs = []
    for i in range(count):
        stage = rng.choice(STAGES)
        amount = Decimal(rng.randrange(500, 60000, 50)) + Decimal(rng.choice([0, 0, 50, 99])) / 100
        cost = (amount * Decimal(rng.randint(25, 75)) / 100).quantize(Decimal("0.01"))
        values = {
            "Amount": amount,
            "Cost": cost,
            "Confidence": rng.randint(1, 5),
            "Expected close date": generate.TODAY + dt.timedelta(days=rng.randint(-200, 120)),
            "Client": clients[rng.randrange(len(clients))],
            "Deal source": rng.choice(["Referral", "Website", "Cold call", "Trade show"]),
            "Client size": rng.choice(["Small", "Medium", "Enterprise"]),
        }
        if rng.random() < 0.4:
            values["Proposal URL"] = f"https://docs.example.com/bench/{i + 1}"
        if rng.random() < 0.2:
            values["Contract"] = attachment_id
            values["Files received"] = [attachment_id]
        if stage == "Lost":
            values["Lost reason"] = rng.choice(["Price", "Timing", "Competitor", "No budget"])
        specs.append({"title": f"Bench deal {i + 1} — {rng.choice(SERVICES)}", "list": stage,
                      "tags": rng.sample(SERVICES, k=rng.choice([1, 1, 2, 3])), "values": values})
    return specs


def as_text(name: str, value):
    """A canonical value as a user would type it (what ``record add --set`` receives)."""
    if name in ("Amount", "Cost"):
        return f"${value:,}"
    if name == "Client":
        return f"#{value}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, list)):
        return value  # ratings as ints are fine; files are attachment ids
    return str(value)


def check_computed(ids: list[int], expected: list[dict]) -> None:
    """Profit = Amount − Cost and the two lookups are stored for the new records (spot check)."""
    from crm_tui.domain.project_schema import load_schema
    from crm_tui.domain.values import load_values

    schema = load_schema("Opportunities")
    f = {x.name: x.id for x in schema.fields}
    sample = list(range(0, len(ids), max(1, len(ids) // 50)))
    values = load_values(schema, [ids[i] for i in sample])
    for i in sample:
        got = values[ids[i]]
        spec = expected[i]["values"]
        profit = spec["Amount"] - spec["Cost"]
        assert got.get(f["Profit"]) == profit, (ids[i], got.get(f["Profit"]), profit)
        assert got.get(f["Client name"]), f"record {ids[i]}: Client name lookup missing"
        assert got.get(f["Client email"]), f"record {ids[i]}: Client email lookup missing"


# ---------------------------------------------------------------------------------------------
# scenarios of issue 2 (foundation)


@scenario("create_bulk", "create N opportunities with all template fields via create_records_bulk (one "
          "transaction, lookups and Profit computed set-based)")
def create_bulk(ctx: Context) -> list[Row]:
    from crm_tui.db.connection import run_write
    from crm_tui.domain.project_schema import load_schema
    from crm_tui.domain.records import NewRecord, create_records_bulk

    runs = 3 if ctx.size <= 10_000 else 1
    times, queries, values_written = [], [], 0
    for run in range(runs):
        with ctx.scratch() as scratch:
            actor = ctx.open(scratch.url)
            schema = load_schema("Opportunities")
            fid = {f.name: f.id for f in schema.fields}
            lid = {l.name: l.id for l in schema.lists}
            specs = opportunity_specs(random.Random(run), ctx.size, client_ids(), make_attachment())
            items = [NewRecord(s["title"], list_id=lid[s["list"]], tags=s["tags"],
                               values={fid[k]: v for k, v in s["values"].items()}) for s in specs]
            from crm_tui.db.models import FieldValue

            before = FieldValue.select().count()
            with ctx.queries.active() as qc:
                seconds, ids = timed(run_write, lambda: create_records_bulk(actor, schema, items))
            values_written = FieldValue.select().count() - before
            check_computed(ids, specs)
            times.append(seconds)
            queries.append(qc.count)
    t = median(times)
    return [ctx.row("create_bulk", t, median(queries),
                    f"{ctx.size / t:,.0f} records/s; {values_written:,} values; median of {runs}",
                    records=ctx.size, runs=times, values_written=values_written,
                    records_per_second=ctx.size / t, peak_rss_mib=peak_rss_mib())]


@scenario("create_per_record", "create opportunities one at a time with create_record (text input as the "
          "CLI passes it, one transaction each; at most 1,000 per size)")
def create_per_record(ctx: Context) -> list[Row]:
    from crm_tui.domain.records import create_record

    count = min(ctx.size, 1000)
    with ctx.scratch() as scratch:
        actor = ctx.open(scratch.url)
        specs = opportunity_specs(random.Random(0), count, client_ids(), make_attachment())
        per_record, per_queries, ids = [], [], []
        for spec in specs:
            values = {k: as_text(k, v) for k, v in spec["values"].items()}
            with ctx.queries.active() as qc:
                seconds, rid = timed(create_record, actor, "Opportunities", spec["title"], list_name=spec["list"],
                                     tags=spec["tags"], values=values)
            per_record.append(seconds)
            per_queries.append(qc.count)
            ids.append(rid)
        check_computed(ids, specs)
    total = sum(per_record)
    return [ctx.row("create_per_record", total, round(median(per_queries)),
                    f"{count:,} records (total time), {count / total:,.0f} records/s; per record "
                    f"{fmt_seconds(median(per_record))} median, p95 {fmt_seconds(percentile(per_record, 0.95))}, "
                    f"queries per record",
                    records=count, total_seconds=total, median_seconds=median(per_record),
                    p95_seconds=percentile(per_record, 0.95), queries_per_record=median(per_queries),
                    peak_rss_mib=peak_rss_mib())]


@scenario("update_per_record", "update_record of one opportunity's Amount (Profit recomputed, Delivery's Deal "
          "value kept current), 200 random opportunities, one transaction each")
def update_per_record(ctx: Context) -> list[Row]:
    from crm_tui.domain.records import update_record

    with ctx.scratch() as scratch:
        actor = ctx.open(scratch.url)
        ids = opportunity_ids()
        picks = [ctx.rng.choice(ids) for _ in range(200)]
        update_record(actor, picks[0], values={"Amount": "$1"})  # warm up
        times, counts = [], []
        for n, rid in enumerate(picks):
            with ctx.queries.active() as qc:
                seconds, _ = timed(update_record, actor, rid, values={"Amount": f"${1000 + n:,}.25"})
            times.append(seconds)
            counts.append(qc.count)
    t = median(times)
    return [ctx.row("update_per_record", t, round(median(counts)),
                    f"median of 200; p95 {fmt_seconds(percentile(times, 0.95))}; queries per update",
                    runs=len(times), p95_seconds=percentile(times, 0.95), queries_per_update=median(counts),
                    peak_rss_mib=peak_rss_mib())]


@scenario("list_opportunities", "record_views.list_records of every opportunity (3 lookup-style columns: "
          "Client, Client name, Client email; formula Profit) as JSON-ready dicts")
def list_opportunities(ctx: Context) -> list[Row]:
    from crm_tui.domain.record_views import list_records

    actor = ctx.open()
    list_records(actor, "Opportunities")  # warm the page cache
    times, queries = [], []
    for _ in range(ctx.repeat):
        with ctx.queries.active(keep=True) as qc:
            seconds, rows = timed(list_records, actor, "Opportunities")
        times.append(seconds)
        queries.append(qc.count)
    assert len(rows) == ctx.dataset.counts["opportunities"], (len(rows), ctx.dataset.counts)
    sample = rows[len(rows) // 2]["fields"]
    assert sample["Client name"] and sample["Profit"] is not None, sample
    traced = traced_peak_mib(list_records, actor, "Opportunities")
    t = median(times)
    return [ctx.row("list_opportunities", t, queries[-1],
                    f"{len(rows):,} rows, {t / len(rows) * 1e6:.0f} µs/row; Python peak {traced:.0f} MiB",
                    rows=len(rows), runs=times, statements=qc.statements, tracemalloc_peak_mib=traced,
                    peak_rss_mib=peak_rss_mib())]


@scenario("record_show", "in-process record_views.show_record of 200 random opportunities")
def record_show(ctx: Context) -> list[Row]:
    from crm_tui.domain.record_views import show_record

    actor = ctx.open()
    ids = opportunity_ids()
    picks = [ctx.rng.choice(ids) for _ in range(200)]
    show_record(actor, picks[0])
    times, queries = [], []
    for rid in picks:
        with ctx.queries.active() as qc:
            seconds, item = timed(show_record, actor, rid)
        times.append(seconds)
        queries.append(qc.count)
        assert item["id"] == rid
    t = median(times)
    return [ctx.row("record_show", t, round(median(queries)),
                    f"median of 200 ids; p95 {fmt_seconds(percentile(times, 0.95))}",
                    runs=len(times), p95_seconds=percentile(times, 0.95), max_seconds=max(times),
                    peak_rss_mib=peak_rss_mib())]


def _wall(cmd: list[str], env: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return times


@scenario("cli_record_show", "wall time of the process `crm-tui record show ID --json` (median of 10) "
          "against `python -c \"import peewee\"`")
def cli_record_show(ctx: Context) -> list[Row]:
    from crm_tui.db import close_database

    ctx.open()
    ids = opportunity_ids()
    picks = [ctx.rng.choice(ids) for _ in range(11)]
    close_database()
    crm = str(Path(sys.executable).with_name("crm-tui"))
    env = dict(os.environ, CRM_TUI_DB=ctx.dataset.url, CRM_TUI_USER=generate.BENCH_USER)
    base_cmd = [crm] if Path(crm).exists() else [sys.executable, "-m", "crm_tui"]
    baseline = _wall([sys.executable, "-c", "import peewee"], env, 11)[1:]
    cli = []
    out = None
    for rid in picks:
        cli.extend(_wall(base_cmd + ["record", "show", str(rid), "--json"], env, 1))
    cli = cli[1:]  # the first run warms the OS cache
    out = subprocess.run(base_cmd + ["record", "show", str(picks[-1]), "--json"], env=env,
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    assert json.loads(out)["id"] == picks[-1]
    probe = subprocess.run([sys.executable, "-c",
                            "import sys\nfrom crm_tui.cli import main\n"
                            f"main(['record', 'show', '{picks[0]}', '--json'])\n"
                            "sys.stdout.flush()\n"
                            "print(sorted(m for m in ('textual', 'plotext', 'rich') if m in sys.modules), "
                            "file=sys.stderr)"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    heavy = probe.stderr.strip().splitlines()[-1]
    t, b = median(cli), median(baseline)
    return [ctx.row("cli_record_show", t, None,
                    f"{t / b:.1f}× `python -c \"import peewee\"` ({fmt_seconds(b)}); "
                    + (f"textual/plotext/rich loaded: {heavy}" if heavy != "[]" else "no textual, plotext or rich"),
                    runs=cli, baseline_runs=baseline, ratio=t / b, heavy_modules=heavy)]


def _month_sql(column: str, postgres: bool) -> str:
    return f"to_char({column}, 'YYYY-MM')" if postgres else f"strftime('%Y-%m', {column})"


@scenario("grouped_sum", "SUM(Amount) GROUP BY month of created_at: EAV field_value (BIGINT) vs a plain "
          "table with a real amount column holding the same data (three EAV query shapes)")
def grouped_sum(ctx: Context) -> list[Row]:
    from crm_tui.db.connection import database
    from crm_tui.domain.project_schema import load_schema

    pg = ctx.dataset.is_postgres
    month = lambda column: _month_sql(column, pg)  # noqa: E731
    # the natural join: the planner drives it from record (an index range) and probes field_value
    # once per record
    eav_sql = (f"SELECT {month('r.created_at')} AS month, SUM(v.number) "
               "FROM record r JOIN field_value v ON v.record_id = r.id AND v.field_id = %s "
               "WHERE r.project_id = %s AND r.archived = %s GROUP BY month ORDER BY month")
    # driven from the field's values instead (SQLite keeps the order of a CROSS JOIN)
    first_sql = (f"SELECT {month('r.created_at')} AS month, SUM(v.number) FROM field_value v "
                 + ("JOIN" if pg else "CROSS JOIN") + " record r ON r.id = v.record_id "
                 "WHERE v.field_id = %s AND r.project_id = %s AND r.archived = %s GROUP BY month ORDER BY month")
    plain_sql = (f"SELECT {month('created_at')} AS month, SUM(amount) FROM bench_plain_opportunity "
                 "WHERE project_id = %s AND archived = %s GROUP BY month ORDER BY month")
    if not pg:
        eav_sql, first_sql, plain_sql = (q.replace("%s", "?") for q in (eav_sql, first_sql, plain_sql))

    def run(sql, params):
        return [(m, int(s)) for m, s in database.execute_sql(sql, params).fetchall()]

    def measure(variants: dict) -> dict:
        """Median seconds per variant, runs interleaved so drift hits all alike."""
        repeat = 9 if ctx.size <= 10_000 else 5
        times: dict = {name: [] for name in variants}
        for name, (sql, params) in variants.items():
            run(sql, params)  # warm
        for _ in range(repeat):
            for name, (sql, params) in variants.items():
                times[name].append(timed(run, sql, params)[0])
        return {name: median(ts) for name, ts in times.items()}

    with ctx.scratch() as scratch:
        ctx.open(scratch.url)
        schema = load_schema("Opportunities")
        project, amount = schema.id, schema.field("Amount").id
        # the comparison table: the record columns a dashboard filters on, plus a real amount column,
        # with the index record has on (project, created_at)
        database.execute_sql(
            "CREATE TABLE bench_plain_opportunity AS "
            "SELECT r.id, r.project_id, r.list_id, r.archived, r.created_at, v.number AS amount "
            "FROM record r LEFT JOIN field_value v ON v.record_id = r.id AND v.field_id = %d "
            "WHERE r.project_id = %d" % (amount, project))
        database.execute_sql("CREATE INDEX bench_plain_pca ON bench_plain_opportunity (project_id, created_at)")
        database.execute_sql("ANALYZE")
        eav_params, plain_params = (amount, project, False), (project, False)
        expected = run(plain_sql, plain_params)
        assert run(eav_sql, eav_params) == expected and run(first_sql, eav_params) == expected, "sums differ"
        base = measure({"eav": (eav_sql, eav_params), "field_first": (first_sql, eav_params),
                        "plain": (plain_sql, plain_params)})
        # what an index made for aggregates gives: the field's values in record order, number included
        database.execute_sql("CREATE INDEX bench_fv_field_record_number ON field_value (field_id, record_id, number)")
        database.execute_sql("ANALYZE")
        assert run(first_sql, eav_params) == expected
        indexed = measure({"eav": (eav_sql, eav_params), "field_first": (first_sql, eav_params),
                           "plain": (plain_sql, plain_params)})
    total = Decimal(sum(s for _, s in expected)) / 10**6
    p = base["plain"]
    common = dict(months=len(expected), total=str(total), plain_seconds=p, base=base, indexed=indexed,
                  peak_rss_mib=peak_rss_mib())
    return [
        ctx.row("grouped_sum", base["eav"], 1,
                f"{base['eav'] / p:.1f}× the plain column ({fmt_seconds(p)}); {len(expected)} months, "
                f"total {total:,.2f}", ratio=base["eav"] / p, **common),
        ctx.row("grouped_sum_field_first", base["field_first"], 1,
                f"{base['field_first'] / p:.1f}× plain; the same sum driven from field_value "
                f"({'planner' if pg else 'CROSS JOIN'} order)", ratio=base["field_first"] / p, **common),
        ctx.row("grouped_sum_indexed", indexed["field_first"], 1,
                f"{indexed['field_first'] / indexed['plain']:.1f}× plain ({fmt_seconds(indexed['plain'])}); field-first "
                f"with an index field_value(field_id, record_id, number); natural join then "
                f"{fmt_seconds(indexed['eav'])}", ratio=indexed["field_first"] / indexed["plain"], **common),
    ]


@scenario("update_client_email", "update_record of a client's Email with 30 referencing opportunities (10 won, "
          "each with a Delivery): Client email lookup and Delivery's lookup-of-lookup kept current")
def update_client_email(ctx: Context) -> list[Row]:
    from crm_tui.db.connection import run_write
    from crm_tui.domain.project_schema import load_schema
    from crm_tui.domain.records import NewRecord, create_records_bulk, update_record
    from crm_tui.domain.values import load_values

    with ctx.scratch() as scratch:
        actor = ctx.open(scratch.url)
        clients, opps, delivery = (load_schema(n) for n in ("Clients", "Opportunities", "Delivery"))
        cf = {f.name: f.id for f in clients.fields}
        of = {f.name: f.id for f in opps.fields}
        df = {f.name: f.id for f in delivery.fields}
        won = next(l.id for l in opps.lists if l.kind == "won")
        open_list = opps.lists[0].id

        def setup():
            busy, idle = create_records_bulk(actor, clients, [
                NewRecord("Bench client with 30 deals", values={cf["Email"]: "start@example.com"}),
                NewRecord("Bench client with no deals", values={cf["Email"]: "idle@example.com"})])
            deals = create_records_bulk(actor, opps, [
                NewRecord(f"Bench deal {i}", list_id=won if i < 10 else open_list,
                          values={of["Client"]: busy, of["Amount"]: Decimal(1000 + i), of["Cost"]: Decimal(300)})
                for i in range(30)])
            deliveries = create_records_bulk(actor, delivery, [
                NewRecord(f"Deliver bench deal {i}", values={df["Opportunity"]: rid})
                for i, rid in enumerate(deals[:10])])
            return busy, idle, deals, deliveries

        busy, idle, deals, deliveries = run_write(setup)
        runs = 31
        measured: dict = {busy: ([], []), idle: ([], [])}
        for i in range(runs + 1):  # interleaved, so drift hits both alike; the first pair warms up
            for client_id in (idle, busy):
                with ctx.queries.active() as qc:
                    seconds, _ = timed(update_record, actor, client_id,
                                       values={"Email": f"c{client_id}-{i}@example.org"})
                if i:
                    measured[client_id][0].append(seconds)
                    measured[client_id][1].append(qc.count)
        (busy_t, busy_q), (idle_t, idle_q) = measured[busy], measured[idle]
        last = f"c{busy}-{runs}@example.org"
        got = load_values(opps, deals, field_ids=[of["Client email"]])
        assert all(got[d][of["Client email"]] == last for d in deals), "Client email not propagated"
        got = load_values(delivery, deliveries, field_ids=[df["Client email"]])
        assert all(got[d][df["Client email"]] == last for d in deliveries), "Delivery Client email not propagated"
    b, i = median(busy_t), median(idle_t)
    return [ctx.row("update_client_email", b, round(median(busy_q)),
                    f"propagation ≈ {fmt_seconds(b - i)} over a client with no deals ({fmt_seconds(i)}, "
                    f"{round(median(idle_q))} queries); median of {runs}",
                    runs=busy_t, idle_runs=idle_t, idle_seconds=i, propagation_seconds=b - i,
                    idle_queries=median(idle_q), peak_rss_mib=peak_rss_mib())]


@scenario("recompute_formulas", "computed.recompute_formulas of Profit for every opportunity (what a "
          "changed formula definition or `crm-tui recompute` costs)")
def recompute_profit(ctx: Context) -> list[Row]:
    from crm_tui.db.connection import run_write
    from crm_tui.db.models import FieldValue
    from crm_tui.domain.computed import FieldGraph, recompute_formulas
    from crm_tui.domain.project_schema import load_schema
    from peewee import fn

    with ctx.scratch() as scratch:
        ctx.open(scratch.url)
        schema = load_schema("Opportunities")
        profit = schema.field("Profit")
        graph = FieldGraph()
        ids = opportunity_ids()

        def stored_total():
            return FieldValue.select(fn.SUM(FieldValue.number)).where(FieldValue.field == profit.id).scalar()

        before = stored_total()
        times, queries = [], []
        for _ in range(3 if ctx.size <= 10_000 else 1):
            with ctx.queries.active() as qc:
                seconds, _ = timed(run_write, recompute_formulas, [graph.fields[profit.id]], ids,
                                   graph.by_project[schema.id])
            times.append(seconds)
            queries.append(qc.count)
        assert stored_total() == before, "recomputing changed the stored Profit values"
    t = median(times)
    return [ctx.row("recompute_formulas", t, queries[-1],
                    f"{len(ids):,} records, {len(ids) / t:,.0f} records/s",
                    records=len(ids), runs=times, peak_rss_mib=peak_rss_mib())]


# ---------------------------------------------------------------------------------------------
# running


def run_child(name: str, size: int, seed: int, dataset: Dataset, server_url: str | None) -> list[Row]:
    ctx = Context(size, seed, dataset, server_url)
    result = SCENARIOS[name].fn(ctx)
    from crm_tui.db import close_database

    close_database()
    return result if isinstance(result, list) else [result]


def run_isolated(name: str, size: int, seed: int, dataset: Dataset, server_url: str | None) -> list[Row]:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as out:
        target = out.name
    try:
        spec = json.dumps({"name": name, "size": size, "seed": seed, "dataset": asdict(dataset),
                           "server_url": server_url, "out": target})
        proc = subprocess.run([sys.executable, __file__, "--child", spec])
        if proc.returncode != 0:
            raise RuntimeError(f"scenario {name} at {size} failed (exit {proc.returncode})")
        return [Row(**r) for r in json.loads(Path(target).read_text())]
    finally:
        Path(target).unlink(missing_ok=True)


def child_main(spec_text: str) -> int:
    spec = json.loads(spec_text)
    rows = run_child(spec["name"], spec["size"], spec["seed"], Dataset(**spec["dataset"]), spec["server_url"])
    Path(spec["out"]).write_text(json.dumps([asdict(r) for r in rows], default=str))
    return 0


def markdown_table(rows: list[Row]) -> str:
    lines = ["| scenario | size | time | queries | extra |", "| --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        queries = "—" if r.queries is None else f"{r.queries:,}"
        lines.append(f"| {r.scenario} | {fmt_size(r.size)} | {fmt_seconds(r.seconds)} | {queries} | {r.extra} |")
    return "\n".join(lines)


def environment() -> dict:
    import sqlite3

    import peewee

    import crm_tui

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version, "peewee": peewee.__version__,
            "crm_tui": getattr(crm_tui, "__version__", "?"), "fingerprint": generate.fingerprint(),
            "load_average": [round(x, 1) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None}


def sort_key(row: Row):
    """Registry order; a scenario's variant rows (``grouped_sum_indexed``) right after it; then size."""
    order = ["generate"] + list(SCENARIOS)
    owner = max((n for n in order if row.scenario.startswith(n)), key=len, default=None)
    return (order.index(owner) if owner else len(order), row.scenario != owner, row.scenario, row.size)


def merge_latest(rows: list[Row], env: dict) -> list[Row]:
    latest_path = RESULTS / "latest.json"
    merged: dict[tuple, dict] = {}
    if latest_path.exists():
        for r in json.loads(latest_path.read_text()).get("rows", []):
            merged[(r["scenario"], r["size"], r.get("data", {}).get("engine", "sqlite"))] = r
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    for r in rows:
        item = asdict(r)
        item["data"]["measured_at"] = stamp
        merged[(r.scenario, r.size, r.data.get("engine", "sqlite"))] = item
    ordered = sorted((Row(**r) for r in merged.values()), key=sort_key)
    latest_path.write_text(json.dumps({"environment": env, "rows": [asdict(r) for r in ordered]},
                                      indent=2, default=str))
    return ordered


def update_readme(rows: list[Row], env: dict) -> None:
    text = README.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        raise SystemExit(f"{README} has no {TABLE_START} … {TABLE_END} block to replace")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    engines = sorted({r.data.get("engine", "sqlite") for r in rows}, key=lambda e: (e != "sqlite", e))
    note = (f"\n_Python {env['python']}, SQLite {env['sqlite']}, peewee {env['peewee']}, "
            f"{env['cpus']} CPUs ({env['platform']}); load average at the end of the last run "
            f"{env.get('load_average')}; data fingerprint {env['fingerprint']}; "
            f"updated {dt.date.today().isoformat()}._\n\n")
    tables = []
    for engine in engines:
        title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(engine, engine)
        tables.append(f"**{title}**\n\n" + markdown_table([r for r in rows if r.data.get("engine", "sqlite") == engine]))
    README.write_text(head + TABLE_START + note + "\n\n".join(tables) + "\n" + TABLE_END + tail)


def select(only: str | None) -> list[Scenario]:
    if not only:
        return list(SCENARIOS.values())
    chosen = []
    for name in (n.strip() for n in only.split(",")):
        matches = [s for s in SCENARIOS.values() if s.name == name] or \
                  [s for s in SCENARIOS.values() if s.name.startswith(name)]
        if not matches:
            raise SystemExit(f"--only: no scenario {name!r}; scenarios: {', '.join(SCENARIOS)}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child_main(argv[1])
    parser = argparse.ArgumentParser(description="Run the crm-tui benchmarks and print a markdown table.")
    parser.add_argument("--sizes", default="1000,10000", help="data set sizes (opportunities); 100000 is opt-in")
    parser.add_argument("--only", metavar="NAME[,NAME]", help="scenarios to run (a name or a prefix)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", metavar="URL", help="postgresql://… server to run on (default: SQLite files)")
    parser.add_argument("--readme", action="store_true", help="rewrite the results table in benchmarks/README.md")
    parser.add_argument("--readme-only", action="store_true",
                        help="rewrite the README table from results/latest.json without running anything")
    parser.add_argument("--in-process", action="store_true", help="run scenarios in this process (debugging)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:<22} {s.title}")
        return 0
    if args.readme_only:
        latest = json.loads((RESULTS / "latest.json").read_text())
        update_readme(sorted((Row(**r) for r in latest["rows"]), key=sort_key), latest["environment"])
        return 0
    scenarios = select(args.only)
    sizes = generate.parse_sizes(args.sizes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for leftover in (RESULTS / "scratch").glob("*.db*"):  # from a run that was killed mid-scenario
        if time.time() - leftover.stat().st_mtime > 3600:
            leftover.unlink(missing_ok=True)
    rows: list[Row] = []
    started = time.perf_counter()
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    for size in sizes:
        dataset = generate.ensure_dataset(size, args.seed, db=args.db, log=log)
        if dataset.build_seconds is not None:
            rows.append(Row("generate", size, dataset.build_seconds, None,
                            ("" if dataset.built_now else f"(built {dataset.built_at}) ") +
                            f"build_demo: {dataset.counts['opportunities']:,} opportunities, "
                            f"{dataset.counts['clients']:,} clients, {dataset.counts['deliveries']:,} deliveries, "
                            f"{dataset.counts['invoices']:,} invoices",
                            {"counts": dataset.counts,
                             "engine": "postgresql" if dataset.is_postgres else "sqlite"}))
        for s in scenarios:
            if size < s.min_size:
                continue
            log(f"[{fmt_size(size)}] {s.name} …")
            t0 = time.perf_counter()
            runner = run_child if args.in_process else run_isolated
            new = runner(s.name, size, args.seed, dataset, args.db)
            for r in new:
                log(f"    {fmt_seconds(r.seconds)}  {r.extra}  ({time.perf_counter() - t0:.1f} s)")
            rows.extend(new)
    env = environment()
    env["total_seconds"] = round(time.perf_counter() - started, 1)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"run-{stamp}.json").write_text(json.dumps(
        {"environment": env, "sizes": sizes, "rows": [asdict(r) for r in rows]}, indent=2, default=str))
    print(markdown_table(sorted(rows, key=sort_key)))
    merged = merge_latest(rows, env)
    if args.readme:
        update_readme(merged, env)
        log(f"README table updated ({len(merged)} rows)")
    log(f"done in {env['total_seconds']} s; results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

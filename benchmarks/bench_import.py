"""Benchmark: CSV import of N rows (default 100,000) with every importable field type, against a plain
``sqlite3.executemany`` of the same rows. Prints a markdown table: rows/s, the ratio (goal ≥ 0.3), and
the peak memory of each run (each runs in its own process, so the peaks are not mixed up).

    python benchmarks/bench_import.py               # 100k rows
    python benchmarks/bench_import.py --rows 20000

Baselines:
- *wide table*: the CSV rows, read with the csv module, into one table with a TEXT column per CSV
  column (no parsing, no validation): the floor any importer is compared with;
- *same stored rows*: the rows our schema actually holds for the import (one ``record`` row, one
  ``field_value`` row per value, one ``event``) written with ``executemany`` on an empty copy of the
  schema, values pre-parsed: what the storage itself costs, without parsing, validation, references,
  lookups and formulas.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = ["title", "Note", "Notes", "Qty", "Share", "Amount", "Mail", "Tel", "Site", "Addr", "When", "Done",
           "Stage", "Labels", "Stars", "Client", "list", "tags"]
FIELDS = [
    ("Note", "text", {}),
    ("Notes", "long_text", {}),
    ("Qty", "number", {}),
    ("Share", "percent", {}),
    ("Amount", "currency", {"currency": "USD"}),
    ("Mail", "email", {}),
    ("Tel", "phone", {}),
    ("Site", "url", {}),
    ("Addr", "address", {}),
    ("When", "date", {}),
    ("Done", "checkbox", {}),
    ("Stage", "dropdown", {"options": ["Referral", "Website", "Cold call", "Trade show"]}),
    ("Labels", "multi_select", {"options": ["Red", "Green", "Blue"]}),
    ("Stars", "rating", {}),
    ("Client", "reference", {"target": "Clients"}),
    ("Client email", "lookup", {"via": "Client", "of": "Email"}),
    ("Profit", "formula", {"formula": "{Amount} * 0.2"}),
]
CLIENTS = 1000


def make_csv(path: Path, rows: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(rows):
            w.writerow([
                f"Deal {i:06d}", f"{rnd.randint(0, 99999):05d}", "line one\nline, two" if i % 10 == 0 else "note",
                str(rnd.randint(1, 500)), f"{rnd.randint(0, 100)}%", f"${rnd.randint(100, 99999):,}.{i % 100:02d}",
                f"user{i}@example.com", f"+1 555 {rnd.randint(100, 999)} {rnd.randint(1000, 9999)}",
                f"example{i % 50}.com/p", f"{i} Main St, Springfield, USA",
                f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", rnd.choice(["yes", "no", "x", ""]),
                rnd.choice(["referral", "Website", "cold call", "Trade show"]), rnd.choice(["Red; Blue", "green", ""]),
                "★" * rnd.randint(1, 5), f"Client {rnd.randint(0, CLIENTS - 1):04d}",
                rnd.choice(["Open", "Won", "Lost"]), rnd.choice(["", "Big", "Big; Q1"]),
            ])


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_import(csv_path: str, db_path: str) -> dict:
    from crm_tui.db import open_database
    from crm_tui.domain.actors import actor_for, ensure_user
    from crm_tui.domain.csv_import import import_csv
    from crm_tui.domain.projects import add_field, add_list, add_project
    from crm_tui.db.connection import run_write
    from crm_tui.domain.project_schema import load_schema
    from crm_tui.domain.records import NewRecord, create_records_bulk

    open_database(f"sqlite:///{db_path}")
    actor = actor_for(ensure_user("bench", is_admin=True))
    add_project(actor, "Clients")
    add_field(actor, "Clients", "Email", "email")
    schema = load_schema("Clients")
    email = schema.field("Email").id
    run_write(create_records_bulk, actor, schema, [NewRecord(f"Client {i:04d}", values={email: f"c{i}@example.com"})
                                                   for i in range(CLIENTS)])
    add_project(actor, "Deals")
    for name in ("Open", "Won", "Lost"):
        add_list(actor, "Deals", name)
    for name, type_name, options in FIELDS:
        add_field(actor, "Deals", name, type_name, **options)
    base = peak_mib()
    start, cpu = time.perf_counter(), time.process_time()
    report = import_csv(actor, "Deals", csv_path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert report.ok, report.issues[:3]
    return {"rows": report.created, "seconds": elapsed, "cpu": cpu, "peak_mib": peak_mib(), "before_mib": base}


def child_wide(csv_path: str, db_path: str) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=wal")
    con.execute("PRAGMA synchronous=normal")
    cols = ", ".join(f'c{i} TEXT' for i in range(len(COLUMNS)))
    con.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {cols})")
    with open(csv_path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        marks = ", ".join("?" for _ in COLUMNS)
        with con:
            con.executemany(f"INSERT INTO t ({', '.join(f'c{i}' for i in range(len(COLUMNS)))}) VALUES ({marks})",
                            reader)
    rows = con.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    con.close()
    return {"rows": rows, "seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "peak_mib": peak_mib()}


def child_stored(csv_path: str, db_path: str) -> dict:
    """executemany of the rows the schema holds (record, field_value per value, event), pre-parsed."""
    from crm_tui.db import open_database

    open_database(f"sqlite:///{db_path}")  # creates the real tables (and their indexes)
    from crm_tui.db.connection import close_database

    close_database()
    with open(csv_path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        data = list(reader)
    start, cpu = time.perf_counter(), time.process_time()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA synchronous=normal")
    con.execute("INSERT INTO project (name, position, hidden_defaults, settings, created_at) "
                "VALUES ('P', 1, '[]', '{}', '2026-01-01')")
    for i, (name, type_name, _) in enumerate(FIELDS[:15]):
        con.execute("INSERT INTO field (project_id, name, type, position, hidden, config) VALUES (1, ?, ?, ?, 0, '{}')",
                    (name, type_name, i))
    now = "2026-01-01 00:00:00"
    with con:
        con.executemany("INSERT INTO record (id, project_id, title, description, position, created_at, updated_at, "
                        "list_entered_at, version, archived) VALUES (?, 1, ?, '', ?, ?, ?, ?, 1, 0)",
                        ((i + 1, r[0], i, now, now, now) for i, r in enumerate(data)))

        def values():
            for i, r in enumerate(data):
                for f in range(15):
                    cell = r[f + 1]
                    if cell:
                        yield (i + 1, f + 1, 0, cell)

        con.executemany("INSERT INTO field_value (record_id, field_id, position, text) VALUES (?, ?, ?, ?)", values())
        con.executemany("INSERT INTO event (at, project_id, record, kind, field_name, new) "
                        "VALUES (?, 1, ?, 'created', 'title', ?)",
                        ((now, i + 1, json.dumps({"title": r[0]})) for i, r in enumerate(data)))
    con.close()
    return {"rows": len(data), "seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "peak_mib": peak_mib()}


def run_child(kind: str, csv_path: Path, db_path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(csv_path), str(db_path)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CSV", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, csv_path, db_path = args.child
        result = {"import": child_import, "wide": child_wide, "stored": child_stored}[kind](csv_path, db_path)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "deals.csv"
        make_csv(csv_path, args.rows)
        size = csv_path.stat().st_size
        results = {kind: run_child(kind, csv_path, tmp / f"{kind}.db") for kind in ("wide", "stored", "import")}
    imp = results["import"]
    rate = imp["rows"] / imp["seconds"]
    print(f"CSV import of {args.rows:,} rows × {len(COLUMNS)} columns ({size / 1e6:.1f} MB), every importable "
          f"field type plus a lookup and a formula; SQLite file, one transaction each\n")
    print("| run | wall s | CPU s | rows/s (wall) | rows/s (CPU) | crm-tui ÷ this (wall / CPU) | peak memory |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    names = {"wide": "sqlite3 executemany, raw CSV rows into a wide TEXT table",
             "stored": "sqlite3 executemany, the same stored rows (record + field_value + event), pre-parsed",
             "import": "crm-tui import (detect, parse, validate, resolve references, write, lookups, formulas)"}
    cpu_rate = imp["rows"] / imp["cpu"]
    for kind in ("wide", "stored", "import"):
        r = results[kind]
        r_rate, r_cpu = r["rows"] / r["seconds"], r["rows"] / r["cpu"]
        ratio = "—" if kind == "import" else f"{rate / r_rate:.3f} / {cpu_rate / r_cpu:.3f}"
        print(f"| {names[kind]} | {r['seconds']:.2f} | {r['cpu']:.2f} | {r_rate:,.0f} | {r_cpu:,.0f} | {ratio} "
              f"| {r['peak_mib']:.0f} MiB |")
    print(f"\nimport: peak {imp['peak_mib']:.0f} MiB, of which {imp['before_mib']:.0f} MiB before the import "
          f"started; goal: ratio vs the same stored rows ≥ 0.3 (the wide table is a floor, not a goal). CPU "
          f"time is shown because wall time on a shared machine includes time the process was waiting for a "
          f"core")


if __name__ == "__main__":
    main()

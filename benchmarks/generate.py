"""Benchmark data sets: the Sales CRM template with N opportunities, built once and cached.

    python benchmarks/generate.py --sizes 1000,10000            # SQLite files under benchmarks/results/data/
    python benchmarks/generate.py --sizes 1000 --db postgresql://postgres@127.0.0.1:5432/postgres

A data set is exactly what ``crm-tui demo --size N --seed S`` builds (``crm_tui.domain.demo.build_demo``:
N opportunities, about N/3 clients, deliveries and invoices for the won deals), acting as the admin
user ``bench``, with a fixed "today" so the same size and seed give the same rows on any day.

Cache: on SQLite one file per (size, seed, generator fingerprint) in ``benchmarks/results/data/``; on
PostgreSQL one database per data set on the server named by ``--db`` (that URL's own database is only
used to create and drop the others). The fingerprint hashes the modules that shape the data (demo,
template, models), so a change to them rebuilds instead of silently measuring stale data (the older
file of the same size and seed is deleted). A build goes to a temporary name first and is renamed when
complete: an interrupted build leaves no cache.

Data sets are read-only for the benchmarks: a scenario that writes works on :func:`scratch_copy`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DATA = RESULTS / "data"
BENCH_USER = "bench"
# Fixed "today" of every data set: dates in build_demo are relative to it (18 months back).
TODAY = dt.date(2026, 6, 30)
FINGERPRINT_MODULES = ("domain/demo.py", "domain/template.py", "db/models.py")


@dataclass(frozen=True)
class Dataset:
    """A built data set: ``url`` opens it; ``counts`` is what build_demo returned."""

    size: int
    seed: int
    url: str
    counts: dict
    build_seconds: float | None  # how long build_demo took (None: unknown)
    built_now: bool = False      # built by this call, not found in the cache
    built_at: str = ""

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.url)


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgresql://", "postgres://"))


def fingerprint() -> str:
    import crm_tui

    package = Path(crm_tui.__file__).resolve().parent
    digest = hashlib.sha256()
    for rel in FINGERPRINT_MODULES:
        digest.update(rel.encode())
        digest.update((package / rel).read_bytes())
    digest.update(TODAY.isoformat().encode())
    return digest.hexdigest()[:8]


def dataset_name(size: int, seed: int) -> str:
    return f"sales_crm_n{size}_s{seed}_{fingerprint()}"


# ---------------------------------------------------------------------------------------------
# building


def _build_into(url: str, size: int, seed: int) -> dict:
    """Open ``url`` (an empty database), run build_demo, close. Returns the counts."""
    from crm_tui.db import close_database, open_database
    from crm_tui.db.connection import database
    from crm_tui.domain.actors import actor_for, ensure_user
    from crm_tui.domain.demo import build_demo

    open_database(url)
    try:
        actor = actor_for(ensure_user(BENCH_USER, is_admin=True))
        counts = build_demo(actor, size=size, seed=seed, today=TODAY)
        if url.startswith("sqlite"):
            database.execute_sql("ANALYZE")
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            database.execute_sql("ANALYZE")
        return counts
    finally:
        close_database()


def _sqlite_files(path: Path) -> list[Path]:
    return [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]


def _remove_sqlite(path: Path) -> None:
    for p in _sqlite_files(path):
        p.unlink(missing_ok=True)


def _meta_path(db_path: Path) -> Path:
    return db_path.with_suffix(".json")


def ensure_dataset(size: int, seed: int = 1, *, db: str | None = None, rebuild: bool = False,
                   log=print) -> Dataset:
    """The data set for (size, seed), built if it is not cached yet (or ``rebuild``)."""
    if is_postgres_url(db):
        return _ensure_postgres(size, seed, db, rebuild=rebuild, log=log)
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{dataset_name(size, seed)}.db"
    meta = _meta_path(path)
    if path.exists() and meta.exists() and not rebuild:
        info = json.loads(meta.read_text())
        return Dataset(size, seed, f"sqlite:///{path}", info["counts"], info.get("build_seconds"),
                       built_at=info.get("built_at", ""))
    _remove_sqlite(path)
    for stale in DATA.glob(f"sales_crm_n{size}_s{seed}_*.db"):  # built by an older generator
        _remove_sqlite(stale)
        _meta_path(stale).unlink(missing_ok=True)
    tmp = DATA / f".building-{uuid.uuid4().hex[:8]}.db"
    log(f"generating {size:,} opportunities (seed {seed}) → {path.name} …")
    started = time.perf_counter()
    try:
        counts = _build_into(f"sqlite:///{tmp}", size, seed)
    except BaseException:
        _remove_sqlite(tmp)
        raise
    seconds = time.perf_counter() - started
    for src in _sqlite_files(tmp)[1:]:
        src.unlink(missing_ok=True)  # checkpointed and closed: the -wal/-shm files are empty
    os.replace(tmp, path)
    built_at = dt.datetime.now().isoformat(timespec="minutes")
    meta.write_text(json.dumps({"size": size, "seed": seed, "today": TODAY.isoformat(), "counts": counts,
                                "build_seconds": round(seconds, 3), "built_at": built_at}, indent=2))
    log(f"  built in {seconds:.1f} s: {counts}")
    return Dataset(size, seed, f"sqlite:///{path}", counts, seconds, True, built_at)


# ---------------------------------------------------------------------------------------------
# PostgreSQL: one database per data set on the server of --db


def _pg_url(server_url: str, dbname: str) -> str:
    parsed = urlparse(server_url)
    return urlunparse(parsed._replace(path=f"/{dbname}"))


def _pg_admin(server_url: str):
    import psycopg2

    conn = psycopg2.connect(server_url, connect_timeout=10)
    conn.autocommit = True
    return conn


def _pg_exists(cur, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return cur.fetchone() is not None


def _pg_info(url: str) -> dict | None:
    """The build facts stored in a finished data set (``schema_info`` key ``benchmark_dataset``)."""
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT value FROM schema_info WHERE key = 'benchmark_dataset'")
            row = cur.fetchone()
            return json.loads(row[0]) if row else None
    finally:
        conn.close()


def _ensure_postgres(size: int, seed: int, server_url: str, *, rebuild: bool, log) -> Dataset:
    name = dataset_name(size, seed)
    url = _pg_url(server_url, name)
    conn = _pg_admin(server_url)
    try:
        with conn.cursor() as cur:
            if _pg_exists(cur, name) and not rebuild:
                info = _pg_info(url)
                if info is not None:
                    return Dataset(size, seed, url, info["counts"], info.get("build_seconds"),
                                   built_at=info.get("built_at", ""))
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                        (f"sales_crm_n{size}_s{seed}_".replace("_", "\\_") + "%",))
            for (stale,) in cur.fetchall():  # this one, or built by an older generator
                cur.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
            tmp = f"{name}_building"
            cur.execute(f'DROP DATABASE IF EXISTS "{tmp}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{tmp}"')
        log(f"generating {size:,} opportunities (seed {seed}) → PostgreSQL database {name} …")
        started = time.perf_counter()
        try:
            counts = _build_into(_pg_url(server_url, tmp), size, seed)
            seconds = time.perf_counter() - started
            built_at = dt.datetime.now().isoformat(timespec="minutes")
            import psycopg2

            marker = psycopg2.connect(_pg_url(server_url, tmp))
            with marker, marker.cursor() as cur:
                cur.execute("INSERT INTO schema_info (key, value) VALUES ('benchmark_dataset', %s)",
                            (json.dumps({"counts": counts, "build_seconds": round(seconds, 3),
                                         "built_at": built_at, "today": TODAY.isoformat()}),))
            marker.close()
        except BaseException:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{tmp}" WITH (FORCE)')
            raise
        with conn.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{tmp}" RENAME TO "{name}"')
        log(f"  built in {seconds:.1f} s: {counts}")
        return Dataset(size, seed, url, counts, seconds, True, built_at)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# scratch copies for scenarios that write


class Scratch:
    """A throw-away copy of a data set; ``url`` opens it; ``drop()`` (or ``with``) deletes it."""

    def __init__(self, dataset: Dataset, server_url: str | None = None):
        self.dataset = dataset
        self.server_url = server_url
        tag = uuid.uuid4().hex[:8]
        if dataset.is_postgres:
            self.name = f"bench_scratch_{tag}"
            conn = _pg_admin(server_url)
            try:
                with conn.cursor() as cur:
                    source = urlparse(dataset.url).path.lstrip("/")
                    cur.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{source}"')
            finally:
                conn.close()
            self.url = _pg_url(server_url, self.name)
            self.path = None
        else:
            source = Path(dataset.url[len("sqlite:///"):])
            scratch_dir = RESULTS / "scratch"
            scratch_dir.mkdir(parents=True, exist_ok=True)
            self.path = scratch_dir / f"{source.stem}-{tag}.db"
            shutil.copyfile(source, self.path)
            self.url = f"sqlite:///{self.path}"

    def drop(self) -> None:
        from crm_tui.db import close_database

        close_database()
        if self.path is not None:
            _remove_sqlite(self.path)
            return
        conn = _pg_admin(self.server_url)
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            conn.close()

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc) -> None:
        self.drop()


def scratch_copy(dataset: Dataset, server_url: str | None = None) -> Scratch:
    return Scratch(dataset, server_url)


# ---------------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        mult = 1
        if part.endswith("k"):
            part, mult = part[:-1], 1000
        try:
            value = int(part) * mult
        except ValueError:
            raise SystemExit(f"--sizes: {part!r} is not a number (expected e.g. 1000,10000 or 1k,10k)")
        if value < 1:
            raise SystemExit(f"--sizes: {value} must be at least 1")
        sizes.append(value)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="opportunities per data set (default 1000,10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", metavar="URL", help="postgresql://… server to build on (default: SQLite files)")
    parser.add_argument("--rebuild", action="store_true", help="build again even when cached")
    args = parser.parse_args(argv)
    for size in parse_sizes(args.sizes):
        ds = ensure_dataset(size, args.seed, db=args.db, rebuild=args.rebuild)
        state = "built" if ds.built_now else "cached"
        print(f"{size:>7,}  {state:<6}  {ds.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

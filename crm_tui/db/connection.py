"""Open a database from a URL, and run writes safely when several users share it.

>>> db = open_database("sqlite:////tmp/crm.db")   # creates the schema on first use
>>> with write_transaction():
...     ...                                        # BEGIN IMMEDIATE on SQLite; retried when locked

SQLite runs in WAL mode with ``synchronous=NORMAL``, foreign keys on and a busy timeout, so several
processes on one server can share the file; PostgreSQL is used through psycopg2.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from pathlib import Path
from urllib.parse import unquote, urlparse, parse_qs

import peewee

from ..errors import ConfigError, CrmError

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "cache_size": -16000,
}
LOCK_RETRY_SECONDS = 30.0


def _sqlite_path(url: str) -> str:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them;
        # sqlite:///home/x also works when /home exists (people write it that way).
        if not path.startswith("/") and Path("/" + path).parent.exists() and not Path(path).parent.exists():
            path = "/" + path
        return path
    if url.startswith("sqlite://"):
        raise ConfigError(f"database URL {url!r}: write sqlite:///path/to/file.db")
    return url


def make_database(url: str) -> peewee.Database:
    """A peewee database for ``url`` (not connected yet)."""
    if url.startswith(("postgresql://", "postgres://")):
        parsed = urlparse(url)
        name = parsed.path.lstrip("/")
        if not name:
            raise ConfigError(f"database URL {url!r} names no database")
        params = {
            "host": parsed.hostname or None,
            "port": parsed.port or None,
            "user": unquote(parsed.username) if parsed.username else None,
            "password": unquote(parsed.password) if parsed.password else None,
        }
        for key, values in parse_qs(parsed.query).items():
            params[key] = values[-1]
        params = {k: v for k, v in params.items() if v is not None}
        return peewee.PostgresqlDatabase(unquote(name), autorollback=False, **params)
    if "://" in url and not url.startswith("sqlite:"):
        raise ConfigError(f"database URL {url!r}: expected sqlite:///path or postgresql://user@host/db")
    path = _sqlite_path(url)
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(path).expanduser())
    return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10,
                                 returning_clause=sqlite3.sqlite_version_info >= (3, 35, 0))


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def is_postgres() -> bool:
    return isinstance(database.obj, peewee.PostgresqlDatabase)


def open_database(url: str, *, create: bool = True) -> peewee.Database:
    """Point the models at ``url``, connect, and create or migrate the schema."""
    db = make_database(url)
    database.initialize(db)
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    delay = 0.02
    while True:
        try:
            db.connect(reuse_if_open=True)
            break
        except peewee.OperationalError as exc:
            # switching a brand-new file to WAL needs a moment alone with it: another process doing the
            # same at that instant gets "database is locked" without the busy handler; wait and retry
            if _is_lock_error(exc) and time.monotonic() < deadline:
                if not db.is_closed():
                    db.close()
                time.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 0.5)
                continue
            raise ConfigError(f"cannot open database {url!r}: {str(exc).strip()}") from None
    if create:
        from .schema import ensure_schema

        ensure_schema()
    return db


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock detected" in text \
        or "could not serialize" in text


@contextlib.contextmanager
def write_transaction():
    """One write transaction. Nested calls become savepoints.

    On SQLite the outer one is ``BEGIN IMMEDIATE``: the write lock is taken up front, so two writers
    wait for each other on the busy timeout instead of failing half-way. Use :func:`run_write` to also
    retry when the database stays locked longer than that.
    """
    db = database.obj
    if db is None:
        raise CrmError("no database is open")
    if db.transaction_depth() > 0:
        with db.atomic():
            yield
        return
    if isinstance(db, peewee.SqliteDatabase):
        with db.atomic("IMMEDIATE"):
            yield
    else:
        with db.atomic():
            yield


def run_write(fn, *args, **kwargs):
    """Call ``fn`` inside :func:`write_transaction`, retrying with back-off while the database is locked.

    "database is locked" never reaches a user unless the lock outlives ``LOCK_RETRY_SECONDS``.
    """
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    delay = 0.02
    while True:
        try:
            with write_transaction():
                return fn(*args, **kwargs)
        except (peewee.OperationalError, peewee.InternalError) as exc:
            nested = database.obj.transaction_depth() > 0
            if nested or not _is_lock_error(exc) or time.monotonic() > deadline:
                if _is_lock_error(exc):
                    raise CrmError("the database stayed busy (another user is writing); try again") from None
                raise
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 0.5)

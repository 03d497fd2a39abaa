"""Shared fixtures: a fresh database per test, on SQLite and (for model/CLI tests) PostgreSQL.

``db`` is parametrised over both engines. The PostgreSQL half uses the local server
(``CRM_TUI_TEST_PG``, default ``postgresql://postgres@127.0.0.1:5432/postgres``): one throwaway
database per test run, emptied between tests. When the server cannot be reached the PostgreSQL
tests are skipped — except with ``CI=true``, where they fail, so CI can never pass without them.
"""

from __future__ import annotations

import os
import uuid

import pytest

from crm_tui.db import connection
from crm_tui.db.models import ALL_MODELS

PG_ADMIN_URL = os.environ.get("CRM_TUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_state: dict = {}


def _pg_base(url: str) -> str:
    return url.rsplit("/", 1)[0]


def _pg_server_url() -> str:
    """Create (once per run) a throwaway database and return its URL."""
    if "url" in _pg_state:
        return _pg_state["url"]
    if "error" in _pg_state:
        raise _pg_state["error"]
    try:
        import psycopg2

        name = f"crm_tui_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        conn = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        _pg_state["name"] = name
        _pg_state["url"] = f"{_pg_base(PG_ADMIN_URL)}/{name}"
        return _pg_state["url"]
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        _pg_state["error"] = RuntimeError(f"PostgreSQL not available at {PG_ADMIN_URL}: {exc}")
        raise _pg_state["error"]


def pytest_sessionfinish(session, exitstatus):
    name = _pg_state.get("name")
    if not name:
        return
    try:
        connection.close_database()
        import psycopg2

        conn = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
    except Exception:
        pass


def postgres_url_or_skip() -> str:
    try:
        return _pg_server_url()
    except RuntimeError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the PostgreSQL tests cannot run: {exc}")
        pytest.skip(str(exc))


def _empty_postgres(url: str) -> None:
    """DELETE every table and restart its id sequence: ~10x faster than TRUNCATE on small tables."""
    from peewee import AutoField, sort_models

    connection.open_database(url)
    models = [m for m in sort_models(ALL_MODELS) if m._meta.table_name != "schema_info"]
    statements = [f'DELETE FROM "{m._meta.table_name}"' for m in reversed(models)]
    for m in models:
        if isinstance(m._meta.primary_key, AutoField):
            table = m._meta.table_name
            statements.append(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', "
                              f"'{m._meta.primary_key.column_name}'), 1, false)")
    with connection.database.atomic():
        connection.database.execute_sql("; ".join(statements))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, monkeypatch):
    """URL of an empty, schema-ready database on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        url = postgres_url_or_skip()
        _empty_postgres(url)
    monkeypatch.setenv("CRM_TUI_DB", url)
    yield url
    connection.close_database()


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    monkeypatch.setenv("CRM_TUI_DB", url)
    yield url
    connection.close_database()


@pytest.fixture
def db(db_url):
    """An open, empty database (both engines)."""
    connection.open_database(db_url)
    return db_url


@pytest.fixture
def admin(db):
    from crm_tui.domain.actors import actor_for, ensure_user

    return actor_for(ensure_user("admin", is_admin=True))


@pytest.fixture
def sales(admin):
    """The Sales CRM template installed; returns the admin actor."""
    from crm_tui.domain.template import install_sales_crm

    install_sales_crm(admin)
    return admin


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Never touch the developer's real config or data dir."""
    monkeypatch.setenv("CRM_TUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("CRM_TUI_USER", raising=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_db_url(request, tmp_path):
    """URL of a database with no schema at all yet, on each engine (nothing opened here).

    The PostgreSQL one is a database of its own, dropped afterwards: for tests of first use."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        connection.close_database()
        return
    postgres_url_or_skip()
    import psycopg2

    name = f"crm_tui_fresh_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_pg_base(PG_ADMIN_URL)}/{name}"
    finally:
        connection.close_database()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

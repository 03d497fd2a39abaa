"""Schema creation, the stored schema version, migrations that keep data, and database URLs.

A future release is simulated by raising ``SCHEMA_VERSION`` and adding a ``playhouse.migrate`` step to
``MIGRATIONS``; opening an older database must upgrade it in place without losing a value, and a
database newer than the code must be refused. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import peewee
import pytest
from playhouse.migrate import migrate

from crm_tui.db import connection, schema
from crm_tui.db.connection import database
from crm_tui.db.models import ALL_MODELS, SchemaInfo
from crm_tui.domain.record_views import show_record
from crm_tui.domain.records import create_record
from crm_tui.errors import ConfigError


RELEASED_VERSION = schema.SCHEMA_VERSION


def stored() -> dict:
    return {row.key: row.value for row in SchemaInfo.select()}


@pytest.fixture
def future(db, monkeypatch):
    """Lets a test pretend to be a later release; puts the shared PostgreSQL schema back afterwards
    (the PostgreSQL test database is emptied between tests, not recreated)."""

    def release(step) -> int:
        target = RELEASED_VERSION + 1
        monkeypatch.setattr(schema, "SCHEMA_VERSION", target)
        monkeypatch.setattr(schema, "MIGRATIONS", {**schema.MIGRATIONS, target: step})
        return target

    yield release
    if db.startswith("postgres"):
        connection.open_database(db, create=False)
        database.execute_sql("ALTER TABLE record DROP COLUMN IF EXISTS priority")
        SchemaInfo.update(value=str(RELEASED_VERSION)).where(SchemaInfo.key == "schema_version").execute()


@pytest.fixture
def deal(sales):
    create_record(sales, "Clients", "Zoë O'Brien", values={"Email": "zoe@obrien.ie"})
    return create_record(sales, "Opportunities", "Deal", list_name="Won", tags=["SEO"],
                         values={"Amount": "1234.56", "Cost": "234.50", "Client": "Zoë O'Brien"})


def test_a_new_database_gets_every_table_and_the_schema_version(db):
    tables = set(database.get_tables())
    assert {m._meta.table_name for m in ALL_MODELS} <= tables
    info = stored()
    assert info["schema_version"] == str(schema.SCHEMA_VERSION)
    assert info["created_at"]
    assert schema.stored_version() == schema.SCHEMA_VERSION


def test_reopening_keeps_data_and_version(db, deal, sales):
    before = show_record(sales, deal)
    created = stored()["created_at"]
    connection.close_database()
    connection.open_database(db)
    assert show_record(sales, deal) == before
    info = stored()
    assert (info["schema_version"], info["created_at"]) == (str(schema.SCHEMA_VERSION), created)


def test_a_migration_upgrades_an_existing_database_and_keeps_its_data(db, deal, sales, future, monkeypatch):
    before = show_record(sales, deal)
    connection.close_database()

    def add_priority(migrator):
        migrate(migrator.add_column("record", "priority", peewee.IntegerField(default=3)))

    target = future(add_priority)
    connection.open_database(db)
    assert "priority" in {c.name for c in database.get_columns("record")}
    assert database.execute_sql("SELECT priority FROM record WHERE id = %s" % int(deal)).fetchone()[0] == 3
    assert stored()["schema_version"] == str(target)
    assert show_record(sales, deal) == before
    # opening it again runs nothing more
    calls = []
    monkeypatch.setitem(schema.MIGRATIONS, target, lambda migrator: calls.append(1))
    connection.close_database()
    connection.open_database(db)
    assert calls == []


def test_a_failing_migration_changes_nothing(db, deal, sales, future):
    before = show_record(sales, deal)
    connection.close_database()

    def half_done(migrator):
        migrate(migrator.add_column("record", "priority", peewee.IntegerField(default=3)))
        raise RuntimeError("disk on fire")

    future(half_done)
    with pytest.raises(RuntimeError):
        connection.open_database(db)
    assert "priority" not in {c.name for c in database.get_columns("record")}
    assert stored()["schema_version"] == str(schema.SCHEMA_VERSION - 1)
    assert show_record(sales, deal) == before


def test_a_database_newer_than_the_code_is_refused(db, deal, sales, future):
    SchemaInfo.update(value=str(schema.SCHEMA_VERSION + 5)).where(SchemaInfo.key == "schema_version").execute()
    connection.close_database()
    with pytest.raises(ConfigError) as info:
        connection.open_database(db)
    assert str(schema.SCHEMA_VERSION + 5) in str(info.value) and "upgrade" in str(info.value)
    # nothing was touched: the records and the stored version are as they were
    assert stored()["schema_version"] == str(schema.SCHEMA_VERSION + 5)
    assert show_record(sales, deal)["fields"]["Profit"] == "1000.06"


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(sqlite_url):
    db = connection.open_database(sqlite_url)
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_sqlite_file_and_its_folder_are_created(tmp_path):
    path = tmp_path / "deep" / "er" / "crm.db"
    connection.open_database(f"sqlite:///{path}")
    try:
        assert path.exists() and schema.stored_version() == schema.SCHEMA_VERSION
    finally:
        connection.close_database()


@pytest.mark.parametrize("url", [
    "mysql://user@host/db",
    "sqlite://relative.db",
    "postgresql://postgres@127.0.0.1:5432/",
])
def test_bad_database_urls_are_refused(url):
    with pytest.raises(ConfigError) as info:
        connection.make_database(url)
    assert url in str(info.value)


def test_an_unreachable_server_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        connection.open_database("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "cannot open database" in str(info.value)

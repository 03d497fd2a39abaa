"""Create the schema on first use and upgrade older databases in place.

``SCHEMA_VERSION`` is stored in ``schema_info``. A new release that changes the schema appends a
function to ``MIGRATIONS`` (version it upgrades *to* → function using ``playhouse.migrate``); opening an
older database runs the missing ones in one transaction, so no data is lost and a failure changes nothing.
"""

from __future__ import annotations

import contextlib

from playhouse.migrate import PostgresqlMigrator, SqliteMigrator

from .connection import database, is_sqlite
from .models import ALL_MODELS, SchemaInfo, utcnow

SCHEMA_VERSION = 1

# version → callable(migrator). Example for a future release:
#   def _to_2(migrator):
#       migrate(migrator.add_column("record", "priority", IntegerField(default=0)))
#   MIGRATIONS = {2: _to_2}
MIGRATIONS: dict[int, object] = {}
SCHEMA_LOCK_KEY = 0x63726D5F747569  # "crm_tui": the PostgreSQL advisory lock held while changing the schema


def _migrator():
    return SqliteMigrator(database.obj) if is_sqlite() else PostgresqlMigrator(database.obj)


def stored_version() -> int | None:
    return _stored_info().get("schema_version")


def _stored_info() -> dict:
    try:
        rows = dict(SchemaInfo.select(SchemaInfo.key, SchemaInfo.value)
                    .where(SchemaInfo.key.in_(["schema_version", "tables"])).tuples())
    except Exception:  # no schema_info table yet: a new database
        if database.obj.in_transaction():
            database.rollback()
        if database.table_exists("schema_info"):
            raise
        return {}
    return {"schema_version": int(rows["schema_version"]) if "schema_version" in rows else None,
            "tables": rows.get("tables")}


def tables_signature() -> str:
    """The set of tables this code expects; a change adds the new (empty) tables on open."""
    return ",".join(sorted(m._meta.table_name for m in ALL_MODELS))


def ensure_schema() -> int:
    """Create missing tables or run pending migrations; return the schema version now in force.

    Costs one query when the database is up to date. Changes run in one transaction that one process
    at a time may enter, so several users starting a new release at once do not collide."""
    info = _stored_info()
    if info.get("schema_version") == SCHEMA_VERSION and info.get("tables") == tables_signature():
        return SCHEMA_VERSION
    _refuse_newer(info.get("schema_version"))
    with _foreign_keys_off(), _schema_transaction():
        # again, now that no one else is changing the schema: they may have done it while we waited
        info = _stored_info() if database.table_exists("schema_info") else {}
        version = info.get("schema_version")
        _refuse_newer(version)
        if version is None:
            database.create_tables(ALL_MODELS, safe=True)
            _upsert_version(SCHEMA_VERSION)
            SchemaInfo.insert(key="created_at", value=utcnow().isoformat()).on_conflict_ignore().execute()
        elif version < SCHEMA_VERSION:
            migrator = _migrator()
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](migrator)
            _check_foreign_keys()
            database.create_tables(ALL_MODELS, safe=True)
            _upsert_version(SCHEMA_VERSION)
        elif info.get("tables") != tables_signature():
            database.create_tables(ALL_MODELS, safe=True)
        _upsert("tables", tables_signature())
    return SCHEMA_VERSION


def _refuse_newer(version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        from ..errors import ConfigError

        raise ConfigError(
            f"this database has schema version {version}, newer than this crm-tui "
            f"({SCHEMA_VERSION}); upgrade crm-tui")


@contextlib.contextmanager
def _schema_transaction():
    """A transaction only one process at a time is in: SQLite's write lock taken up front, or a
    PostgreSQL advisory lock (two concurrent ``CREATE TABLE IF NOT EXISTS`` fail there otherwise)."""
    if is_sqlite():
        with database.atomic("IMMEDIATE"):
            yield
        return
    with database.atomic():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        yield


@contextlib.contextmanager
def _foreign_keys_off():
    """Run SQLite migrations with foreign keys off, as SQLite's own procedure for altering tables says.

    ``playhouse.migrate`` alters a column on SQLite by copying the table, dropping the original and
    renaming the copy; with foreign keys on, dropping ``record`` would cascade-delete every value, tag
    and checklist item that refers to it. The pragma cannot change inside a transaction, hence here.
    """
    if not is_sqlite():
        yield
        return
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")


def _check_foreign_keys() -> None:
    """Refuse (and so roll back) a SQLite migration that left a row pointing at nothing."""
    if is_sqlite():
        broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            from ..errors import CrmError

            raise CrmError(f"migration left {len(broken)} dangling references (first: {broken[0]}); "
                           "nothing was changed")


def _upsert_version(version: int) -> None:
    _upsert("schema_version", str(version))


def _upsert(key: str, value: str) -> None:
    updated = SchemaInfo.update(value=value).where(SchemaInfo.key == key).execute()
    if not updated:
        SchemaInfo.insert(key=key, value=value).execute()

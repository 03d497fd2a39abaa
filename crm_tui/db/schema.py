"""Create the schema on first use and upgrade older databases in place.

``SCHEMA_VERSION`` is stored in ``schema_info``. A new release that changes the schema appends a
function to ``MIGRATIONS`` (version it upgrades *to* → function using ``playhouse.migrate``); opening an
older database runs the missing ones in one transaction, so no data is lost and a failure changes nothing.
"""

from __future__ import annotations

from playhouse.migrate import PostgresqlMigrator, SqliteMigrator

from .connection import database, is_sqlite
from .models import ALL_MODELS, SchemaInfo, utcnow

SCHEMA_VERSION = 1

# version → callable(migrator). Example for a future release:
#   def _to_2(migrator):
#       migrate(migrator.add_column("record", "priority", IntegerField(default=0)))
#   MIGRATIONS = {2: _to_2}
MIGRATIONS: dict[int, object] = {}


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

    Costs one query when the database is up to date."""
    info = _stored_info()
    version = info.get("schema_version")
    if version == SCHEMA_VERSION:
        if info.get("tables") != tables_signature():
            with database.atomic():
                database.create_tables(ALL_MODELS, safe=True)
                _upsert("tables", tables_signature())
        return version
    with database.atomic():
        if version is None:
            database.create_tables(ALL_MODELS, safe=True)
            _upsert_version(SCHEMA_VERSION)
            SchemaInfo.insert(key="created_at", value=utcnow().isoformat()).on_conflict_ignore().execute()
            _upsert("tables", tables_signature())
            return SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            from ..errors import ConfigError

            raise ConfigError(
                f"this database has schema version {version}, newer than this crm-tui "
                f"({SCHEMA_VERSION}); upgrade crm-tui")
        migrator = _migrator()
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](migrator)
        database.create_tables(ALL_MODELS, safe=True)
        _upsert_version(SCHEMA_VERSION)
        _upsert("tables", tables_signature())
    return SCHEMA_VERSION


def _upsert_version(version: int) -> None:
    _upsert("schema_version", str(version))


def _upsert(key: str, value: str) -> None:
    updated = SchemaInfo.update(value=value).where(SchemaInfo.key == key).execute()
    if not updated:
        SchemaInfo.insert(key=key, value=value).execute()

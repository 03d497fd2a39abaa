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
    if not database.table_exists("schema_info"):
        return None
    row = SchemaInfo.get_or_none(SchemaInfo.key == "schema_version")
    return int(row.value) if row else None


def ensure_schema() -> int:
    """Create missing tables or run pending migrations; return the schema version now in force."""
    version = stored_version()
    if version == SCHEMA_VERSION:
        return version
    with database.atomic():
        if version is None:
            database.create_tables(ALL_MODELS, safe=True)
            SchemaInfo.insert(key="schema_version", value=str(SCHEMA_VERSION)).on_conflict_replace().execute() \
                if is_sqlite() else _upsert_version(SCHEMA_VERSION)
            SchemaInfo.insert(key="created_at", value=utcnow().isoformat()).on_conflict_ignore().execute()
            return SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            from ..errors import ConfigError

            raise ConfigError(
                f"this database has schema version {version}, newer than this crm-tui "
                f"({SCHEMA_VERSION}); upgrade crm-tui")
        migrator = _migrator()
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](migrator)
        _upsert_version(SCHEMA_VERSION)
    return SCHEMA_VERSION


def _upsert_version(version: int) -> None:
    updated = SchemaInfo.update(value=str(version)).where(SchemaInfo.key == "schema_version").execute()
    if not updated:
        SchemaInfo.insert(key="schema_version", value=str(version)).execute()

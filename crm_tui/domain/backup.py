"""Consistent backups of a SQLite workspace while others keep writing, and restores.

>>> backup_to("/backups/crm-2026-11-27.db")     # SQLite's online backup API
>>> restore_from("/backups/crm-2026-11-27.db")  # replaces the live content, in place

For PostgreSQL use its own tools, which are consistent too:
``pg_dump -Fc -d DBNAME -f crm.dump`` and ``pg_restore --clean -d DBNAME crm.dump``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..db.connection import database, is_sqlite
from ..errors import CrmError, NotFoundError, ValidationError

PG_HINT = ("this workspace is on PostgreSQL: back it up with `pg_dump -Fc -d DBNAME -f crm.dump` "
           "and restore with `pg_restore --clean -d DBNAME crm.dump`")


def backup_to(path: str | Path) -> Path:
    """Copy the live SQLite database to ``path`` page by page; consistent while others write."""
    if not is_sqlite():
        raise CrmError(PG_HINT)
    target = Path(path).expanduser()
    if target.exists():
        raise ValidationError("backup file", str(target), "exists already; choose a new name")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = database.obj.connection()
    dest = sqlite3.connect(str(target))
    try:
        source.backup(dest, pages=1024)
    finally:
        dest.close()
    return target


def check_backup(path: str | Path) -> int:
    """The schema version of a crm-tui backup file; refuses anything else."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise NotFoundError(f"no backup file {str(file)!r}")
    try:
        conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise ValidationError("backup file", str(file), "is not a crm-tui database") from None
    if row is None:
        raise ValidationError("backup file", str(file), "is not a crm-tui database")
    if ok != "ok":
        raise ValidationError("backup file", str(file), f"is damaged ({ok})")
    return int(row[0])


def restore_from(path: str | Path) -> None:
    """Replace the live SQLite database's content with the backup's, in one step."""
    if not is_sqlite():
        raise CrmError(PG_HINT)
    check_backup(path)
    source = sqlite3.connect(str(Path(path).expanduser()))
    try:
        source.backup(database.obj.connection())
    finally:
        source.close()

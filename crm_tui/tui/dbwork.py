"""Database access from thread workers: peewee connections are per thread, so each worker body
runs inside its own connection context.

>>> @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
... def load_rows(self, ids):
...     with db_session():
...         rows = browse.table_rows(self.app.actor, self.schema, self.columns, ids)
...     if not cancelled():
...         self.post_message(RowsLoaded(rows))
"""

from __future__ import annotations

from textual.worker import get_current_worker

from ..db import connection


def db_session():
    """A connection for the current thread for the length of a ``with`` block."""
    return connection.database.connection_context()


def cancelled() -> bool:
    """Has the running worker been superseded (an exclusive worker started after it)?"""
    try:
        return get_current_worker().is_cancelled
    except Exception:  # not in a worker
        return False

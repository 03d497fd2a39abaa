"""Database layer: peewee models, the connection (URL → database), schema and migrations, queries.

SQL lives here and in ``crm_tui.domain``'s query helpers; the TUI never builds queries.
"""

from .connection import database, open_database, write_transaction, close_database  # noqa: F401

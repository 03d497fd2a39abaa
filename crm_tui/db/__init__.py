"""Database layer: peewee models, the connection (URL → database), schema and migrations, queries.

SQL lives here and in ``crm_tui.domain``'s query helpers; the TUI never builds queries.
"""

from .connection import database, open_database, write_transaction, close_database  # noqa: F401

# ``models`` appends the tables of permission_models and dashboard_models, which import ``models``
# back; loading it here first makes ``import crm_tui.db.dashboard_models`` (or any order) work.
from . import models  # noqa: F401,E402

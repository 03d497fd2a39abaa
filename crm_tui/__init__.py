"""crm-tui: a sales CRM that lives in the terminal.

The package is layered: ``db`` (peewee models and queries) ← ``domain`` (field types, formulas,
records, template) ← ``cli`` and ``tui``. See docs/design.md.
"""

__version__ = "0.1.0"

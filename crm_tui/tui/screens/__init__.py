"""Screens, one per module: first run, table, board, record, and the small modal ones."""

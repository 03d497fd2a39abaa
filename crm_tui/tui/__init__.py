"""The terminal user interface: a Textual app over ``crm_tui.domain`` (it never builds a query).

>>> from crm_tui.tui.app import run_tui
>>> run_tui("sqlite:///crm.db", "alice", theme="dark")   # returns the exit code

Layout: ``app.py`` wires themes, keymap and screens; ``screens/`` holds one screen per module
(first run, table, board, record, pickers, help); ``widgets/`` the reusable ones — the Line-API
``RecordTable`` and ``BoardView`` render only what is on screen, so 100,000 records cost what 100 do.
Every binding has an id (``table.sort``, ``board.move_next``…) that the ``[keys]`` table of the config
file can remap; ``?`` lists them. Reads and writes run in thread workers, each in its own connection;
a ``CrmError`` is shown as a message, never a traceback. Nothing blinks or animates, and no screen
repaints while idle.
"""

"""Sub-commands contributed by feature modules (reports, automations, import, permissions…).

Each module here defines ``register(sub, common)``: ``sub`` is the argparse sub-parsers object of
``crm-tui`` and ``common(parser)`` adds the shared ``--db``/``--user``/``--json`` options. Modules must
import only the standard library at the top (the domain lazily, inside the command functions) so every
``crm-tui`` invocation stays fast; none may import Textual or plotext at the top.
"""

from __future__ import annotations

import importlib
import pkgutil


def register_all(sub, common) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub, common)

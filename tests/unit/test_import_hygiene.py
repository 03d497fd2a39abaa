"""The core never imports the TUI's heavy dependencies (harlequin's import hygiene).

Scripts call the CLI thousands of times: ``import textual.app`` alone costs ~150 ms, so the domain, the
database layer and the CLI must not pull in ``textual`` or ``plotext``. Each check runs in a fresh
interpreter, where ``sys.modules`` shows exactly what an import dragged in.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

HEAVY = ("textual", "plotext")
CORE = ["crm_tui", "crm_tui.db", "crm_tui.db.models", "crm_tui.db.queries", "crm_tui.db.schema",
        "crm_tui.domain.records", "crm_tui.domain.record_views", "crm_tui.domain.demo",
        "crm_tui.domain.template", "crm_tui.domain.projects", "crm_tui.domain.events",
        "crm_tui.config", "crm_tui.errors"]


def heavy_modules_after_importing(*modules: str) -> list[str]:
    """Names of heavy modules present after importing ``modules`` in a new interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_checker_notices_a_heavy_import():
    # the probe itself must be able to fail: importing textual directly is seen
    if importlib.util.find_spec("textual") is None:
        pytest.skip("textual is not installed")
    assert "textual" in heavy_modules_after_importing("textual")


def test_domain_and_db_do_not_import_textual_or_plotext():
    assert heavy_modules_after_importing(*CORE) == []


def test_every_domain_and_db_module_stays_light():
    import pkgutil

    import crm_tui.db
    import crm_tui.domain

    modules = [f"{pkg.__name__}.{info.name}" for pkg in (crm_tui.db, crm_tui.domain)
               for info in pkgutil.iter_modules(pkg.__path__)]
    assert heavy_modules_after_importing(*modules) == []


def test_cli_does_not_import_textual_or_plotext():
    if importlib.util.find_spec("crm_tui.cli") is None:
        pytest.skip("crm_tui.cli is not written yet")
    assert heavy_modules_after_importing("crm_tui.cli") == []

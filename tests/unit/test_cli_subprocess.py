"""The real ``crm-tui`` console script and ``python -m crm_tui`` in a subprocess (SQLite and PostgreSQL).

What in-process tests cannot see: the exit code the shell gets, that stderr is one line without a
traceback, that ``--json`` output parses, and that scripting commands never import Textual or plotext
(so they start fast and work without a terminal).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONSOLE_SCRIPT = Path(sys.executable).with_name("crm-tui")
TIMEOUT = 120


def run(*args: str, db: str | None = None, user: str | None = "admin", module: bool = False,
        env: dict | None = None, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "crm_tui"] if module or not CONSOLE_SCRIPT.exists() else [str(CONSOLE_SCRIPT)]
    cmd += list(args)
    if db is not None:
        cmd += ["--db", db]
    if user is not None:
        cmd += ["--user", user]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CRM_TUI_DEBUG", None)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=full_env, stdin=stdin)


def assert_one_line_error(p: subprocess.CompletedProcess, code: int, *names: str) -> None:
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    assert "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm-tui: "), p.stderr
    for name in names:
        assert name in p.stderr


def test_help_and_version():
    p = run("--help", user=None, module=True)
    assert p.returncode == 0 and p.stderr == ""
    for command in ("init", "demo", "projects", "project", "list", "field", "fields", "record", "records", "user"):
        assert command in p.stdout
    p = run("record", "--help", user=None, module=True)
    assert p.returncode == 0
    for action in ("add", "set", "move", "tag", "untag", "show", "history"):
        assert action in p.stdout
    p = run("--version", user=None)
    assert p.returncode == 0 and p.stdout.startswith("crm-tui ")


def test_console_script_json_and_exit_codes(db_url):
    p = run("init", "--template", "sales-crm", "--json", db=db_url)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["user"] == "admin"

    p = run("record", "add", "Opportunities", "Zoë's deal", "--set", "Amount=1234.56", "--set", "Cost=234.50",
            "--tag", "SEO", "--json", db=db_url)
    assert p.returncode == 0, p.stderr
    rid = json.loads(p.stdout)["id"]
    shown = json.loads(run("record", "show", str(rid), "--json", db=db_url).stdout)
    assert shown["fields"]["Profit"] == "1000.06" and shown["title"] == "Zoë's deal"

    # --db and --user before the sub-command, python -m
    p = subprocess.run([sys.executable, "-m", "crm_tui", "--db", db_url, "--user", "admin", "projects", "--json"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0 and [x["name"] for x in json.loads(p.stdout)][:2] == ["Clients", "Opportunities"]

    assert_one_line_error(run("record", "set", str(rid), "Amount=12abc", db=db_url), 2, "Amount", "12abc")
    assert_one_line_error(run("record", "set", str(rid), "Amount=1", "--expect-version", "0", db=db_url), 4)
    assert_one_line_error(run("records", "Opportunities", db=db_url, user="nobody"), 3, "nobody")
    assert_one_line_error(run("record", "frobnicate", db=db_url), 2, "frobnicate")
    after = json.loads(run("record", "show", str(rid), "--json", db=db_url).stdout)
    assert after["version"] == shown["version"] and after["fields"] == shown["fields"]


def test_bad_database_url_exit_code(tmp_path):
    assert_one_line_error(run("records", "Opportunities", db="foo://bar"), 6, "foo://bar")
    assert_one_line_error(run("records", "Opportunities", db="postgresql://postgres@127.0.0.1:1/nothing"), 6,
                          "127.0.0.1:1")
    assert_one_line_error(run("projects", db=None, env={"CRM_TUI_DB": "foo://env"}), 6, "foo://env")


SCRIPT = textwrap.dedent("""
    import contextlib, io, json, sys
    from crm_tui.cli import main

    url, demo_url = sys.argv[1], sys.argv[2]
    calls = [
        ["init", "--template", "sales-crm"],
        ["record", "add", "Clients", "Acme", "--set", "Email=a@acme.test", "--json"],
        ["record", "add", "Opportunities", "Deal", "--set", "Client=Acme", "--json"],
        ["record", "set", "2", "Amount=10", "--json"],
        ["record", "move", "2", "Won", "--json"],
        ["record", "tag", "2", "SEO", "--json"],
        ["record", "show", "2", "--json"],
        ["record", "history", "2", "--json"],
        ["records", "Opportunities", "--json"],
        ["records", "Opportunities"],
        ["projects", "--json"],
        ["fields", "Opportunities", "--json"],
        ["user", "list", "--json"],
    ]
    codes = []
    for argv in calls:
        with contextlib.redirect_stdout(io.StringIO()):
            codes.append(main(argv + ["--db", url, "--user", "admin"]))
    with contextlib.redirect_stdout(io.StringIO()):
        codes.append(main(["demo", "--no-tui", "--size", "5", "--seed", "1", "--db", demo_url, "--user", "admin"]))
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "plotext"))
    print(json.dumps({"codes": codes, "heavy": heavy}))
""")


def test_scripting_commands_do_not_import_textual_or_plotext(db_url, tmp_path):
    p = subprocess.run([sys.executable, "-c", SCRIPT, db_url, f"sqlite:///{tmp_path / 'demo.db'}"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.splitlines()[-1])
    assert out["codes"] == [0] * len(out["codes"])
    assert out["heavy"] == []


def test_records_json_imports_no_tui_module_by_importtime(sqlite_url):
    assert run("init", "--template", "sales-crm", db=sqlite_url).returncode == 0
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "crm_tui", "records", "Opportunities", "--json",
                        "--db", sqlite_url, "--user", "admin"], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0
    assert json.loads(p.stdout) == []
    imported = {line.rsplit("|", 1)[-1].strip() for line in p.stderr.splitlines() if line.startswith("import time")}
    assert "crm_tui.cli" in imported
    assert not {m for m in imported if m.split(".")[0] in ("textual", "plotext")}


def test_closed_pipe_is_quiet(sqlite_url):
    # 150 opportunities are ~150 kB of JSON: more than a pipe buffer, so the writer meets the closed pipe
    assert run("demo", "--no-tui", "--size", "150", "--seed", "2", db=sqlite_url).returncode == 0
    proc = subprocess.Popen([str(CONSOLE_SCRIPT), "records", "Opportunities", "--json", "--db", sqlite_url,
                             "--user", "admin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read().decode()
    proc.wait(timeout=TIMEOUT)
    proc.stderr.close()
    assert "Traceback" not in err and "Exception" not in err, err
    assert proc.returncode == 0


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="console script not installed next to the interpreter")
def test_console_script_is_installed():
    assert os.access(CONSOLE_SCRIPT, os.X_OK)

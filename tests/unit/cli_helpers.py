"""Helpers for the CLI tests (``test_cli_*.py``): run ``crm-tui`` in-process and read its output.

    def test_x(crm):                       # a database with the Sales CRM template, acting as admin
        r = crm("records", "Opportunities", "--json")
        assert r.code == 0 and r.json() == []

``cli`` is bound to an empty database (``db_url``: SQLite and PostgreSQL); ``crm`` is the same after
``crm-tui init --template sales-crm --user admin``. Each call passes ``--db`` and ``--user`` *after* the
sub-command (the position scripts most often use); tests of the other position pass ``place="before"``.
The fixtures are imported by the test modules (``from tests.unit.cli_helpers import cli, crm``); ``sqlite_cli`` is
for the few checks that do not touch an engine (usage errors, bad URLs, crash handling).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import pytest

import crm_tui.cli as cli_module
from crm_tui.cli import main

# Building the argparse tree costs ~35 ms (argparse looks up translations for every option); a test
# makes hundreds of calls, so the in-process calls share one parser. It is built by the real
# ``build_parser`` and holds no state between parses; the subprocess tests still build it every time.
_shared_parser = functools.lru_cache(maxsize=None)(cli_module.build_parser)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        assert self.code == 0, f"exit {self.code}: {self.err}"
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def assert_clean_error(self, code: int | None = None, *names: str) -> None:
        """Non-zero exit, nothing on stdout, one stderr line naming each of ``names``, no traceback."""
        assert self.code != 0, f"expected a failure, got exit 0 and {self.out!r}"
        if code is not None:
            assert self.code == code, f"exit {self.code}, expected {code}: {self.err}"
        assert self.out == ""
        assert len(self.err_lines) == 1, self.err
        assert self.err.startswith("crm-tui: ")
        assert "Traceback" not in self.err
        for name in names:
            assert name in self.err, f"{name!r} not in {self.err!r}"


class Cli:
    """Calls ``crm_tui.cli.main`` with ``--db`` (and ``--user``) and captures stdout/stderr."""

    def __init__(self, capsys, url: str, user: str | None = "admin"):
        self.capsys = capsys
        self.url = url
        self.user = user

    def __call__(self, *args: str, user: str | None = "", db: str | None = "", place: str = "after") -> Result:
        user = self.user if user == "" else user
        db = self.url if db == "" else db
        extra: list[str] = []
        if db is not None:
            extra += ["--db", db]
        if user is not None:
            extra += ["--user", user]
        argv = extra + list(args) if place == "before" else list(args) + extra
        self.capsys.readouterr()  # drop anything printed before
        code = main(argv)
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def ok(self, *args: str, **kw) -> Result:
        r = self(*args, **kw)
        assert r.code == 0, f"crm-tui {' '.join(args)} → exit {r.code}: {r.err}"
        assert r.err == ""
        return r

    def json(self, *args: str, **kw):
        return self.ok(*args, "--json", **kw).json()

    # -- shortcuts ------------------------------------------------------------------------------
    def add(self, project: str, title: str, *opts: str, **values: str) -> int:
        """``record add`` with ``--set name=value`` for each keyword (underscores become spaces)."""
        sets: list[str] = []
        for name, value in values.items():
            sets += ["--set", f"{name.replace('_', ' ')}={value}"]
        return self.json("record", "add", project, title, *opts, *sets)["id"]

    def show(self, rid: int, **kw) -> dict:
        return self.json("record", "show", str(rid), **kw)

    def history(self, rid: int, **kw) -> list[dict]:
        return self.json("record", "history", str(rid), **kw)

    def records(self, project: str, *opts: str, **kw) -> list[dict]:
        return self.json("records", project, *opts, **kw)

    def snapshot(self, *, history: bool = True) -> dict:
        """Everything a failed command must leave unchanged: projects, lists, fields, users, every
        record (archived included) and (one call per record) every record's history."""
        projects = self.json("projects")
        state: dict = {"projects": projects, "users": self.json("user", "list"), "records": {},
                       "fields": {}, "history": {}}
        for p in projects:
            state["fields"][p["name"]] = self.json("fields", p["name"])
            state["records"][p["name"]] = self.records(p["name"], "--archived")
            for rec in state["records"][p["name"]] if history else ():
                state["history"][rec["id"]] = self.history(rec["id"])
        return state


@pytest.fixture
def cli(capsys, db_url, monkeypatch) -> Cli:
    """``crm-tui`` on an empty database (both engines), acting as ``admin``."""
    monkeypatch.setattr(cli_module, "build_parser", _shared_parser)
    return Cli(capsys, db_url)


@pytest.fixture
def sqlite_cli(capsys, sqlite_url, monkeypatch) -> Cli:
    """``crm-tui`` on an empty SQLite database only: for what does not depend on the engine (usage errors,
    bad URLs, crash handling)."""
    monkeypatch.setattr(cli_module, "build_parser", _shared_parser)
    return Cli(capsys, sqlite_url)


@pytest.fixture
def crm(cli) -> Cli:
    """``crm-tui`` on a database made by ``init --template sales-crm --user admin``."""
    cli.ok("init", "--template", "sales-crm")
    return cli

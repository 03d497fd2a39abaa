"""Pilot fixtures: a SQLite file database (workers are threads; an in-memory one would be empty in
them), the demo data, and helpers that wait for workers and read the screen as text."""

from __future__ import annotations

import pytest

from crm_tui.db import open_database
from crm_tui.domain.actors import actor_for, ensure_user


@pytest.fixture(autouse=True)
def _no_automation_ticks(monkeypatch):
    """No background automation tick in the app unless a test asks for one (``automations=``)."""
    monkeypatch.setenv("CRM_TUI_AUTOMATIONS", "off")


@pytest.fixture
def admin_actor(sqlite_url):
    open_database(sqlite_url)
    return actor_for(ensure_user("admin", is_admin=True))


@pytest.fixture
def demo(sqlite_url, admin_actor):
    """The Sales CRM template with 60 deals (20 clients); returns the admin actor."""
    from crm_tui.domain.demo import build_demo

    build_demo(admin_actor, size=60, seed=1)
    return admin_actor


@pytest.fixture
def make_app(sqlite_url, admin_actor):
    from crm_tui.tui.app import CrmApp

    def make(**kwargs):
        kwargs.setdefault("poll_seconds", 3600)
        return CrmApp(sqlite_url, admin_actor, **kwargs)

    return make

"""Email from automations through a real SMTP server (aiosmtpd) on 127.0.0.1, started by the test.

While the server is down the email waits in the outbox and is retried with back-off; the run log shows
why; the worker's tick never fails because of it.
"""

from __future__ import annotations

import datetime as dt
import email
import socket

import pytest

from crm_tui.db.automation_models import Notification, Outbox
from crm_tui.db.models import utcnow
from crm_tui.domain.actors import add_user
from crm_tui.domain.automations import engine, notify, rules
from crm_tui.domain.records import create_record, move_record


class Collector:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_env(monkeypatch):
    port = free_port()
    monkeypatch.setenv("CRM_TUI_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_TUI_SMTP_PORT", str(port))
    monkeypatch.setenv("CRM_TUI_SMTP_FROM", "crm@example.com")
    return port


def start_server(port: int):
    from aiosmtpd.controller import Controller

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler


@pytest.fixture
def deal(sales, smtp_env):
    add_user("alice", email="alice@example.com", by=sales)
    add_user("carol", by=sales)  # no address: in-app only
    rules.add_rule(sales, "Opportunities", {
        "name": "stage", "enabled": True, "trigger": {"type": "moved_to_list"},
        "actions": [{"type": "notify", "to": ["assignee", "carol"], "subject": "{Title} is in {List}",
                     "message": "{Title} moved from {Old value} to {New value} ({Amount})"}]})
    rid = create_record(sales, "Opportunities", "Acme website", assignee="alice", values={"Amount": "12500"})
    move_record(sales, rid, "Negotiation")
    return rid


def test_email_is_sent_with_merge_tags(deal, smtp_env):
    controller, handler = start_server(smtp_env)
    try:
        result = engine.tick()
    finally:
        controller.stop()
    assert result.fired == 1 and result.emails["sent"] == 1
    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["alice@example.com"] and envelope.mail_from == "crm@example.com"
    msg = email.message_from_bytes(envelope.content)
    assert msg["Subject"] == "Acme website is in Negotiation"
    assert "Acme website moved from Unqualified to Negotiation ($12,500.00)" in msg.get_payload(decode=True).decode()
    assert Notification.select().count() == 2  # alice and carol in the app
    [run] = rules.list_runs("Opportunities")
    assert run["status"] == "ok" and run["emails"][0]["status"] == "sent"


def test_smtp_down_is_retried_with_back_off_and_shown_in_the_run_log(deal, smtp_env):
    t0 = utcnow()
    result = engine.tick(now=t0)  # nothing listens on the port yet
    assert result.fired == 1 and result.emails == {"sent": 0, "retrying": 1, "failed": 0}
    row = Outbox.get()
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert abs((row.next_try_at - t0) - notify.backoff(1)) < dt.timedelta(seconds=1)
    [run] = rules.list_runs("Opportunities")
    assert run["status"] == "email_retrying" and run["emails"][0]["error"]

    controller, handler = start_server(smtp_env)
    try:
        assert engine.tick(now=t0 + dt.timedelta(seconds=10)).emails["sent"] == 0  # not due yet
        assert engine.tick(now=t0 + dt.timedelta(seconds=31)).emails["sent"] == 1
        assert engine.tick(now=t0 + dt.timedelta(seconds=90)).emails["sent"] == 0  # sent once
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert Outbox.get().status == "sent"
    assert rules.list_runs("Opportunities")[0]["status"] == "ok"


def test_an_email_that_keeps_failing_is_given_up_after_max_attempts(deal, smtp_env, monkeypatch):
    monkeypatch.setattr(notify, "MAX_ATTEMPTS", 3)
    now = utcnow()
    for _ in range(5):
        engine.tick(now=now)
        now += dt.timedelta(hours=2)
    row = Outbox.get()
    assert row.status == "failed" and row.attempts == 3
    assert rules.list_runs("Opportunities")[0]["status"] == "email_failed"


def test_no_smtp_configured_means_in_app_only(sales, monkeypatch):
    monkeypatch.delenv("CRM_TUI_SMTP_HOST", raising=False)
    add_user("alice", email="alice@example.com", by=sales)
    rules.add_rule(sales, "Opportunities", {"name": "n", "enabled": True, "trigger": {"type": "record_created"},
                                            "actions": [{"type": "notify", "to": ["alice"], "message": "{Title}"}]})
    create_record(sales, "Opportunities", "A")
    assert engine.tick().fired == 1
    assert Outbox.select().count() == 0 and Notification.select().count() == 1


def test_smtp_settings_come_from_the_settings_file_too(tmp_path, monkeypatch):
    for var in ("CRM_TUI_SMTP_HOST", "CRM_TUI_SMTP_PORT", "CRM_TUI_SMTP_FROM"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.toml"
    path.write_text('[smtp]\nhost = "mail.example.com"\nport = 587\nfrom = "crm@example.com"\nstarttls = true\n')
    monkeypatch.setenv("CRM_TUI_CONFIG", str(path))
    s = notify.smtp_settings()
    assert (s.host, s.port, s.sender, s.starttls) == ("mail.example.com", 587, "crm@example.com", True)
    monkeypatch.setenv("CRM_TUI_SMTP_PORT", "2525")
    assert notify.smtp_settings().port == 2525

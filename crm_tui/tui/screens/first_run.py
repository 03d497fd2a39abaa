"""First run: a workspace with no projects is offered the Sales CRM template (with or without demo
data).

| key | action                                   | binding id          |
| --- | ---------------------------------------- | ------------------- |
| i   | install the Sales CRM template           | first_run.template  |
| d   | install the template with demo data      | first_run.demo      |
| q   | quit                                     | first_run.quit      |
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from ..dbwork import db_session
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import CrmScreen

WELCOME = ("[b]Welcome to crm-tui[/b]\n\nThis workspace has no projects yet. The Sales CRM template "
           "adds [b]Clients[/b], [b]Opportunities[/b] (a pipeline of nine stages), [b]Delivery[/b] and "
           "[b]Invoices[/b] with their fields, lookups and formulas; demo data adds 300 deals to try.")


class Installed(Message):
    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary


class FirstRunScreen(CrmScreen):
    help_title = "first run"
    BINDINGS = [
        Binding("i", "install(False)", "Template", id="first_run.template"),
        Binding("d", "install(True)", "Template + demo", id="first_run.demo"),
        Binding("q", "app.quit", "Quit", id="first_run.quit"),
    ]

    def compose(self):
        yield AppHeader("first run")
        with Center():
            with Vertical(id="first-run"):
                yield Static(WELCOME, id="welcome")
                yield Button("Install the Sales CRM template  (i)", id="template", variant="primary", compact=True)
                yield Button("Template + demo data  (d)", id="demo", compact=True)
                yield Static("", id="first-run-status")
        yield KeyHints()

    @on(Button.Pressed, "#template")
    def _template(self) -> None:
        self.action_install(False)

    @on(Button.Pressed, "#demo")
    def _demo(self) -> None:
        self.action_install(True)

    def action_install(self, demo: bool) -> None:
        self.query_one("#first-run-status", Static).update("installing…")
        self.install(demo)

    @work(thread=True, exclusive=True, group="install", exit_on_error=False)
    def install(self, demo: bool) -> None:
        from ...domain.demo import build_demo
        from ...domain.template import install_sales_crm

        actor = self.app.actor
        with db_session():
            if demo:
                counts = build_demo(actor, size=300, seed=1)
                summary = f"installed with {counts['opportunities']} deals and {counts['clients']} clients"
            else:
                added = install_sales_crm(actor)
                summary = f"installed the Sales CRM template ({len(added)} parts)"
        self.post_message(Installed(summary))

    @on(Installed)
    def _installed(self, message: Installed) -> None:
        self.app.notify(message.summary)
        self.app.open_first_project()

    def worker_failed(self, error) -> None:
        self.query_one("#first-run-status", Static).update("")
        super().worker_failed(error)

"""Automations of a project: the rules (enable/disable, last run, runs, errors), a TOML rule editor and
the run log.

| key            | action                                  | binding id              |
| -------------- | --------------------------------------- | ----------------------- |
| space / t      | enable or disable the rule              | automations.toggle      |
| enter / e      | edit the rule (TOML)                    | automations.edit        |
| n              | new rule                                | automations.new         |
| r              | the run log of the rule                 | automations.runs        |
| R              | the run log of every rule               | automations.all_runs    |
| escape         | back                                    | automations.back        |

Self-contained: ``app.push_screen(AutomationsScreen("Opportunities"))``; it needs ``app.actor`` and
``app.report(error)`` like every screen. The background tick that runs the rules is in
``crm_tui.tui.automation_ticks``.
"""

from __future__ import annotations

from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from ..dbwork import db_session
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import CrmScreen
from .list_screen import ItemsChanged, ItemsLoaded, ListScreen

NEW_RULE = '''name = "New rule"
enabled = false

[trigger]
type = "record_created"

[[conditions]]
field = "list"
op = "="
value = ""

[[actions]]
type = "notify"
to = ["assignee"]
message = "{Title}"
'''


# ------------------------------------------------------------------------------------------------
# messages


class RuleSaved(Message):
    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


# ------------------------------------------------------------------------------------------------
# the rules of a project


class AutomationsScreen(ListScreen):
    BINDINGS = [
        Binding("space,t", "toggle", "Enable/disable", id="automations.toggle"),
        Binding("enter,e", "edit", "Edit", id="automations.edit"),
        Binding("n", "new", "New", id="automations.new"),
        Binding("r", "runs", "Runs", id="automations.runs"),
        Binding("R", "all_runs", "All runs", id="automations.all_runs"),
        Binding("escape", "app.pop_screen", "Back", id="automations.back"),
    ]
    columns = ("name", "on", "trigger", "actions", "runs", "errors", "last run")
    table_id = "automations-table"
    status_id = "automations-status"

    def __init__(self, project: str) -> None:
        super().__init__()
        self.project = project
        self.title_text = f"{project} · automations"

    @work(thread=True, exclusive=True, group="automations-load", exit_on_error=False)
    def load(self) -> None:
        from ...domain.automations.rules import list_rules

        with db_session():
            rules = list_rules(self.project)
        self.post_message(ItemsLoaded(rules))

    def row(self, item: dict) -> tuple:
        from ...domain.automations.rules import describe_trigger

        return (item["name"], "✓" if item["enabled"] else "·", describe_trigger(item["trigger"]),
                ", ".join(a["type"] for a in item["actions"]), str(item["runs"]),
                str(item["errors"]) if item["errors"] else "", item["last_run"] or "")

    def status(self) -> str:
        return f"{sum(r['enabled'] for r in self.items)} of {len(self.items)} enabled"

    def action_open(self) -> None:  # enter on the table
        self.action_edit()

    def action_toggle(self) -> None:
        rule = self.current()
        if rule is not None:
            self.toggle(rule["name"], not rule["enabled"])

    @work(thread=True, exclusive=True, group="automations-write", exit_on_error=False)
    def toggle(self, name: str, enabled: bool) -> None:
        from ...domain.automations.rules import set_enabled

        with db_session():
            set_enabled(self.app.actor, self.project, name, enabled)
        self.post_message(ItemsChanged())

    def action_edit(self) -> None:
        rule = self.current()
        if rule is not None:
            self.app.push_screen(RuleEditorScreen(self.project, rule["name"]), lambda _: self.load())

    def action_new(self) -> None:
        self.app.push_screen(RuleEditorScreen(self.project, None), lambda _: self.load())

    def action_runs(self) -> None:
        rule = self.current()
        self.app.push_screen(RunLogScreen(self.project, rule["name"] if rule else None))

    def action_all_runs(self) -> None:
        self.app.push_screen(RunLogScreen(self.project, None))


# ------------------------------------------------------------------------------------------------
# rule editor


class RuleEditorScreen(CrmScreen):
    """The rule as TOML (docs/automations.md); ctrl+s validates and saves, errors name the key."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="rule_editor.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="rule_editor.cancel"),
    ]

    def __init__(self, project: str, name: str | None) -> None:
        super().__init__()
        self.project = project
        self.rule_name = name

    def compose(self):
        yield AppHeader(f"{self.project} · {'rule ' + self.rule_name if self.rule_name else 'new rule'}")
        with Vertical():
            editor = TextArea("", id="rule-text", soft_wrap=False, show_line_numbers=True)
            editor.cursor_blink = False
            yield editor
            yield Static("ctrl+s saves · the format: docs/automations.md", id="rule-status")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        if self.rule_name:
            self.load_text()
        else:
            self.query_one(TextArea).load_text(NEW_RULE)

    @work(thread=True, exclusive=True, group="rule-load", exit_on_error=False)
    def load_text(self) -> None:
        from ...domain.automations.rules import get_rule, rule_spec, to_toml

        with db_session():
            text = to_toml(rule_spec(get_rule(self.project, self.rule_name)))
        self.app.call_from_thread(self.query_one(TextArea).load_text, text)

    def action_save(self) -> None:
        self.save(self.query_one(TextArea).text)

    @work(thread=True, exclusive=True, group="rule-save", exit_on_error=False)
    def save(self, text: str) -> None:
        from ...domain.automations.rules import add_rule, parse_toml
        from ...errors import CrmError

        try:
            with db_session():
                name = parse_toml(text).get("name")
                replace = self.rule_name is not None and name == self.rule_name
                add_rule(self.app.actor, self.project, text, replace=replace)
        except CrmError as exc:
            self.post_message(RuleSaved(str(exc)))
            return
        self.post_message(RuleSaved(None))

    def on_rule_saved(self, message: RuleSaved) -> None:
        if message.error:
            self.query_one("#rule-status", Static).update(f"not saved: {message.error}")
        else:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


# ------------------------------------------------------------------------------------------------
# run log


class RunLogScreen(ListScreen):
    """Firings, errors, loop stops and email status, newest first."""

    BINDINGS = [
        Binding("r", "reload", "Reload", id="run_log.reload"),
        Binding("escape", "app.pop_screen", "Back", id="run_log.back"),
    ]
    columns = ("at", "rule", "record", "status", "message", "email")
    table_id = "runs-table"
    status_id = None
    keep_cursor = False  # newest first: a reload shows the top, where new runs come in

    def __init__(self, project: str, rule_name: str | None) -> None:
        super().__init__()
        self.project = project
        self.rule_name = rule_name
        self.title_text = f"{project} · runs" + (f" · {rule_name}" if rule_name else "")

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def load(self) -> None:
        from ...domain.automations.rules import list_runs

        with db_session():
            runs = list_runs(self.project, rule_name=self.rule_name, limit=500)
        self.post_message(ItemsLoaded(runs))

    def row(self, item: dict) -> tuple:
        email = "; ".join(f"{e['to']} {e['status']}" + (f" ({e['error']})" if e["error"] else "")
                          for e in item["emails"])
        return (item["at"], item["rule"], f"#{item['record_id']}" if item["record_id"] else "", item["status"],
                item["message"], email)

"""The Sales CRM template's automations, installed disabled (an admin enables them).

>>> install_presets(admin)        # idempotent: a rule that exists (by name) is left as it is

"New lead assignment" shares among no one until the admin picks the users: export it with
``crm-tui automation show Opportunities "New lead assignment" > rule.toml``, fill ``users``, and
``crm-tui automation add Opportunities --file rule.toml --replace``.
"""

from __future__ import annotations

from ...db.automation_models import AutomationRule, ensure_indexes
from ...db.connection import database
from ...db.models import Project
from ..actors import Actor

PRESETS: list[tuple[str, dict]] = [
    ("Opportunities", {
        "name": "New lead assignment",
        "trigger": {"type": "record_created"},
        "conditions": [{"field": "list", "op": "=", "value": "Unqualified"}],
        "actions": [{"type": "assign_round_robin", "users": []},
                    {"type": "notify", "to": ["assignee"], "message": "New lead for you: {Title}"}],
    }),
    ("Opportunities", {
        "name": "Follow-up reminder",
        "trigger": {"type": "moved_to_list", "to": "Proposal sent"},
        "actions": [{"type": "remind", "days": 3, "to": ["assignee"],
                     "message": "Follow up on the proposal for {Title}"}],
    }),
    ("Opportunities", {
        "name": "Stage change notification",
        "trigger": {"type": "moved_to_list"},
        "actions": [{"type": "notify", "to": ["assignee"],
                     "message": "{Title} moved from {Old value} to {New value}"}],
    }),
    ("Opportunities", {
        "name": "Deal aging alert",
        "trigger": {"type": "in_list_for", "days": 14},
        "actions": [{"type": "notify", "to": ["assignee"],
                     "message": "{Title} has been in {List} for over {Days} days"}],
    }),
    ("Clients", {
        "name": "Client update notification",
        "trigger": {"type": "field_changed", "field": ["Email", "Phone", "Address"]},
        "actions": [{"type": "notify", "to": ["assignees_of:Opportunities.Client"],
                     "message": "Client {Title} changed {Field}: {Old value} → {New value}"}],
    }),
]


def install_presets(actor: Actor) -> list[str]:
    """Add the missing preset rules (disabled); returns what was added. Call inside the template's
    transaction; a project that is missing is skipped."""
    from .rules import add_rule

    added: list[str] = []
    for project_name, preset in PRESETS:
        project = Project.get_or_none(Project.name == project_name)
        if project is None:
            continue
        if AutomationRule.select().where((AutomationRule.project == project.id)
                                         & (AutomationRule.name == preset["name"])).exists():
            continue
        add_rule(actor, project_name, dict(preset, enabled=False), preset=preset["name"])
        added.append(f"automation {project_name}/{preset['name']}")
    if added and not database.obj.in_transaction():
        ensure_indexes(database.obj)
    return added

"""The Sales CRM template: Clients, Opportunities, Delivery and Invoices, with their lists and fields.

>>> install_sales_crm(actor)      # idempotent: a second run adds only what is missing

The shape users of Blue's seed expect (see issue "Foundation" §4 and README).
"""

from __future__ import annotations

from ..db.connection import run_write
from ..db.models import Project
from .actors import Actor
from .project_schema import load_schema
from .projects import add_field, add_list, add_project, add_tag

CLIENTS = "Clients"
OPPORTUNITIES = "Opportunities"
DELIVERY = "Delivery"
INVOICES = "Invoices"

STAGES = [
    ("Unqualified", 10, "open"),
    ("Qualifying", 20, "open"),
    ("Writing proposal", 30, "open"),
    ("Proposal sent", 50, "open"),
    ("Negotiation", 70, "open"),
    ("Contract to sign", 90, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
    ("Not applicable", 0, "closed"),
]
SERVICE_TAGS = [("Branding", "magenta"), ("Website", "blue"), ("SEO", "green"), ("Facebook management", "cyan")]

# (project, hidden default fields, lists, fields); a field is (name, type, options dict)
TEMPLATE = [
    (CLIENTS, ["due_date", "assignee", "dependencies", "checklist"], [("Clients", 0, "open")], [
        ("Email", "email", {}),
        ("Phone", "phone", {}),
        ("Website", "url", {}),
        ("Address", "address", {}),
        ("Source", "dropdown", {"options": ["Referral", "Website", "Cold call", "Trade show", "Other"]}),
        ("Category", "dropdown", {"options": ["Agency", "SMB", "Enterprise", "Individual"]}),
    ]),
    (OPPORTUNITIES, [], STAGES, [
        ("Amount", "currency", {"currency": "USD"}),
        ("Cost", "currency", {"currency": "USD"}),
        ("Profit", "formula", {"formula": "{Amount} - {Cost}"}),
        ("Proposal URL", "url", {}),
        ("Files received", "file", {"multiple": True}),
        ("Contract", "file", {}),
        ("Confidence", "rating", {"max_rating": 5}),
        ("Expected close date", "date", {}),
        ("Client", "reference", {"target": CLIENTS}),
        ("Client name", "lookup", {"via": "Client", "of": "title"}),
        ("Client email", "lookup", {"via": "Client", "of": "Email"}),
        ("Deal source", "dropdown", {"options": ["Referral", "Website", "Cold call", "Trade show"]}),
        ("Lost reason", "dropdown", {"options": ["Price", "Timing", "Competitor", "No budget", "No response",
                                                  "Other"]}),
        ("Client size", "dropdown", {"options": ["Small", "Medium", "Enterprise"]}),
    ]),
    (DELIVERY, [], [("Planned", 0, "open"), ("In progress", 0, "open"), ("Done", 100, "closed")], [
        ("Opportunity", "reference", {"target": OPPORTUNITIES}),
        ("Deal value", "lookup", {"via": "Opportunity", "of": "Amount"}),
        ("Expected close", "lookup", {"via": "Opportunity", "of": "Expected close date"}),
        ("Client email", "lookup", {"via": "Opportunity", "of": "Client email"}),
    ]),
    (INVOICES, [], [("Draft", 0, "open"), ("Sent", 0, "open"), ("Paid", 100, "won")], [
        ("Opportunity", "reference", {"target": OPPORTUNITIES}),
        ("Invoice amount", "currency", {"currency": "USD"}),
        ("Paid date", "date", {}),
        ("Client name", "lookup", {"via": "Opportunity", "of": "Client name"}),
    ]),
]


def install_sales_crm(actor: Actor) -> list[str]:
    """Create whatever of the template is missing; returns what was added (empty on a re-run).

    One transaction: an interrupted install leaves nothing half-made."""
    return run_write(_install, actor)


def _install(actor: Actor) -> list[str]:
    added: list[str] = []
    for name, hidden, lists, fields in TEMPLATE:
        if not Project.select().where(Project.name == name).exists():
            settings = {"show_referenced_by": True} if name == CLIENTS else {}
            if name == OPPORTUNITIES:
                settings = {"default_view": "board", "currency_field": "Amount"}
            add_project(actor, name, hidden_defaults=hidden, settings=settings)
            added.append(f"project {name}")
        schema = load_schema(name)
        for list_name, probability, kind in lists:
            if not any(l.name == list_name for l in schema.lists):
                add_list(actor, name, list_name, probability=probability, kind=kind)
                added.append(f"list {name}/{list_name}")
        if name == OPPORTUNITIES:
            for tag, color in SERVICE_TAGS:
                if schema.tag(tag) is None:
                    add_tag(actor, name, tag, color)
                    added.append(f"tag {tag}")
        for field_name, type_name, options in fields:
            if schema.field_or_none(field_name) is None:
                add_field(actor, name, field_name, type_name, **options)
                added.append(f"field {name}/{field_name}")
    from .dashboards import install_sales_dashboard  # the "Sales" dashboard (idempotent)

    added += install_sales_dashboard(actor)
    from .automations.presets import install_presets  # the template's automations, disabled (idempotent)

    added += install_presets(actor)
    return added

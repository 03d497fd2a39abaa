"""Automations: rules (trigger → conditions → actions) that a worker fires exactly once.

>>> from crm_tui.domain.automations import rules, engine
>>> rules.add_rule(actor, "Opportunities", open("share-leads.toml").read())
>>> engine.tick()                        # read new events, check time triggers, act, send email

Modules: ``rules`` (model ↔ TOML, validation), ``triggers`` (which events/records fire a rule),
``conditions``, ``actions``, ``engine`` (the tick), ``notify`` (notifications, reminders, email),
``presets`` (the Sales CRM template's rules). docs/automations.md documents the TOML format.
"""

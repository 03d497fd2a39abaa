"""Automations through the domain: every trigger, condition and action, on SQLite and PostgreSQL.

The clock is injected (``tick(now=...)``) so time triggers run without waiting days.
"""

from __future__ import annotations

import datetime as dt

import pytest

from crm_tui.db.automation_models import AutomationRule, Notification, Reminder, RuleRun
from crm_tui.db.models import Record, User, utcnow
from crm_tui.domain.actors import add_user
from crm_tui.domain.automations import engine, rules
from crm_tui.domain.automations.notify import (complete_reminder, mark_read, notifications_for, reminders_for,
                                               snooze_reminder, unread_count)
from crm_tui.domain.record_views import show_record
from crm_tui.domain.records import create_record, move_record, tag_record, update_record
from crm_tui.errors import PermissionDenied, ValidationError


@pytest.fixture
def crm(sales):
    """The Sales CRM template with users alice and bob; returns the admin actor."""
    add_user("alice", email="alice@example.com", by=sales)
    add_user("bob", email="bob@example.com", by=sales)
    return sales


def rule(actor, project, trigger, actions, conditions=(), name="Rule", enabled=True):
    return rules.add_rule(actor, project, {"name": name, "enabled": enabled, "trigger": trigger,
                                           "conditions": list(conditions), "actions": list(actions)})


NOTE = {"type": "notify", "to": ["alice"], "message": "{Title}"}


def noted(user="alice") -> list[str]:
    uid = User.get(User.name == user).id
    return sorted(n["message"] for n in notifications_for(uid, unread_only=False))


def assignee(rid):
    return show_record_as_admin(rid)["assignee"]


def show_record_as_admin(rid):
    from crm_tui.domain.actors import SYSTEM

    return show_record(SYSTEM, rid)


def later(days: float) -> dt.datetime:
    return utcnow() + dt.timedelta(days=days)


# ------------------------------------------------------------------------------------------------
# TOML and validation


def test_the_issue_toml_shape_is_accepted_and_round_trips(crm):
    text = '''
name = "Share new leads"
enabled = true
[trigger]
type = "record_created"          # or moved_to_list (from, to), tag_added (tag), in_list_for (list, days)
[[conditions]]
field = "list"
op = "="
value = "Unqualified"
[[actions]]
type = "assign_round_robin"
users = ["alice", "bob"]
'''
    stored = rules.add_rule(crm, "Opportunities", text)
    spec = rules.rule_spec(stored)
    assert spec["trigger"] == {"type": "record_created"}
    assert spec["actions"] == [{"type": "assign_round_robin", "users": ["alice", "bob"]}]
    again = rules.validate(rules.parse_toml(rules.to_toml(spec)), __import__(
        "crm_tui.domain.project_schema", fromlist=["load_schema"]).load_schema("Opportunities"))
    assert again == spec


@pytest.mark.parametrize("text, key, value", [
    ('name="x"\n[trigger]\ntype="created"\n[[actions]]\ntype="add_tag"\ntag="A"', "trigger.type", "created"),
    ('name="x"\n[trigger]\ntype="moved_to_list"\nto="Nowhere"\n[[actions]]\ntype="add_tag"\ntag="A"',
     "trigger.to", "Nowhere"),
    ('name="x"\n[trigger]\ntype="record_created"\nlisst="Won"\n[[actions]]\ntype="add_tag"\ntag="A"',
     "trigger.lisst", "Won"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[conditions]]\nfield="Amount"\nop="equals"\nvalue=1\n'
     '[[actions]]\ntype="add_tag"\ntag="A"', "conditions[0].op", "equals"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[conditions]]\nfield="Amount"\nop=">"\nvalue="lots"\n'
     '[[actions]]\ntype="add_tag"\ntag="A"', "conditions[0].value", "lots"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[conditions]]\nfield="Colour"\nop="="\nvalue="red"\n'
     '[[actions]]\ntype="add_tag"\ntag="A"', "conditions[0].field", "Colour"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[actions]]\ntype="assign"\nuser="zed"', "actions[0].user", "zed"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[actions]]\ntype="notify"\nmessage="Hi {Nope}"',
     "actions[0].message", "Hi {Nope}"),
    ('name="x"\n[trigger]\ntype="in_list_for"\ndays=-1\n[[actions]]\ntype="add_tag"\ntag="A"', "trigger.days", "-1"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[actions]]\ntype="set_field"\nfield="Amount"\nvalue="abc"',
     "actions[0].value", "abc"),
    ('name="x"\n[trigger]\ntype="record_created"\n[[actions]]\ntype="explode"', "actions[0].type", "explode"),
    ('name="x"\n[trigger]\ntype="field_changed"\nfield="Amount"\nto="many"\n[[actions]]\ntype="add_tag"\ntag="A"',
     "trigger.to", "many"),
    ('name="x"\n[trigger]\ntype="record_created"', "actions", "[]"),
    ('name = \n', "rule file", "TOML"),
])
def test_errors_name_the_key_and_the_value(crm, text, key, value):
    with pytest.raises(ValidationError) as info:
        rules.add_rule(crm, "Opportunities", text)
    assert info.value.field == key
    assert value in str(info.value)
    assert AutomationRule.select().where(AutomationRule.name == "x").count() == 0


def test_only_a_user_allowed_to_edit_automations_may_add_one(crm):
    from crm_tui.domain.actors import resolve_actor

    with pytest.raises(PermissionDenied):
        rule(resolve_actor("alice"), "Opportunities", {"type": "record_created"}, [NOTE])


def test_a_second_rule_with_the_same_name_needs_replace(crm):
    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE])
    with pytest.raises(ValidationError, match="--replace"):
        rule(crm, "Opportunities", {"type": "record_created"}, [NOTE])
    rules.add_rule(crm, "Opportunities", {"name": "Rule", "trigger": {"type": "tag_added"}, "actions": [NOTE]},
                   replace=True)
    assert rules.get_rule("Opportunities", "rule").trigger == "tag_added"


# ------------------------------------------------------------------------------------------------
# event triggers


def test_record_created_with_a_list(crm):
    rule(crm, "Opportunities", {"type": "record_created", "list": "Qualifying"}, [NOTE])
    create_record(crm, "Opportunities", "In unqualified")
    create_record(crm, "Opportunities", "In qualifying", list_name="Qualifying")
    result = engine.tick()
    assert result.fired == 1 and noted() == ["In qualifying"]


def test_a_new_rule_does_not_replay_history(crm):
    create_record(crm, "Opportunities", "Old")
    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE])
    create_record(crm, "Opportunities", "New")
    engine.tick()
    assert noted() == ["New"]


def test_disabled_rules_do_not_fire_and_enabling_starts_from_now(crm):
    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE], enabled=False)
    create_record(crm, "Opportunities", "While off")
    engine.tick()
    rules.set_enabled(crm, "Opportunities", "Rule", True)
    create_record(crm, "Opportunities", "While on")
    engine.tick()
    assert noted() == ["While on"]


def test_moved_to_list_from_and_to(crm):
    rule(crm, "Opportunities", {"type": "moved_to_list", "from": "Qualifying", "to": "Won"},
         [dict(NOTE, message="{Title}: {Old value} → {New value}")])
    a = create_record(crm, "Opportunities", "A", list_name="Qualifying")
    b = create_record(crm, "Opportunities", "B")
    move_record(crm, a, "Won")
    move_record(crm, b, "Won")  # from Unqualified: no
    engine.tick()
    assert noted() == ["A: Qualifying → Won"]


def test_field_changed_to_a_value_and_one_of_several_fields(crm):
    rule(crm, "Opportunities", {"type": "field_changed", "field": "Deal source", "to": "referral"}, [NOTE],
         name="to value")
    rule(crm, "Clients", {"type": "field_changed", "field": ["Email", "Phone"]},
         [dict(NOTE, message="client {Title} {Field}")], name="any of")
    a = create_record(crm, "Opportunities", "A")
    b = create_record(crm, "Opportunities", "B")
    c = create_record(crm, "Clients", "Acme")
    update_record(crm, a, values={"Deal source": "Referral"})
    update_record(crm, b, values={"Deal source": "Website"})
    update_record(crm, c, values={"Email": "x@acme.com", "Phone": "+1 555 0100"})  # one write: fires once
    update_record(crm, c, values={"Website": "https://acme.com"})
    engine.tick()
    assert noted() == ["A", "client Acme Email"]


def test_tag_added_and_assignee_changed(crm):
    rule(crm, "Opportunities", {"type": "tag_added", "tag": "SEO"}, [dict(NOTE, message="tag {Title}")], name="t")
    rule(crm, "Opportunities", {"type": "assignee_changed", "to": "bob"}, [dict(NOTE, message="bob {Title}")],
         name="a")
    a = create_record(crm, "Opportunities", "A")
    tag_record(crm, a, ["Website"])
    tag_record(crm, a, ["SEO"])
    update_record(crm, a, assignee="alice")
    update_record(crm, a, assignee="bob")
    engine.tick()
    assert noted() == ["bob A", "tag A"]


def test_record_updated_fires_once_per_write(crm):
    rule(crm, "Opportunities", {"type": "record_updated"}, [NOTE])
    a = create_record(crm, "Opportunities", "A")
    engine.tick()
    update_record(crm, a, values={"Amount": "10", "Cost": "5"}, due_date="2026-12-01")
    engine.tick()
    assert noted() == ["A"]
    move_record(crm, a, "Won")
    engine.tick()
    assert noted() == ["A", "A"]


# ------------------------------------------------------------------------------------------------
# time triggers


def test_in_list_for_fires_once_per_stay(crm):
    rule(crm, "Opportunities", {"type": "in_list_for", "list": "Qualifying", "days": 14},
         [dict(NOTE, message="{Title} {Days}d in {List}")])
    a = create_record(crm, "Opportunities", "A", list_name="Qualifying")
    create_record(crm, "Opportunities", "Elsewhere", list_name="Negotiation")
    assert engine.tick(now=later(13)).fired == 0
    assert engine.tick(now=later(15)).fired == 1
    assert engine.tick(now=later(30)).fired == 0  # same stay
    move_record(crm, a, "Negotiation")
    move_record(crm, a, "Qualifying")  # a new stay
    assert engine.tick(now=later(15)).fired == 1
    assert noted() == ["A 14d in Qualifying", "A 14d in Qualifying"]


def test_in_list_for_without_a_list_uses_open_lists_and_their_aging_days(crm):
    rule(crm, "Opportunities", {"type": "in_list_for"}, [NOTE])
    create_record(crm, "Opportunities", "Open", list_name="Negotiation")
    create_record(crm, "Opportunities", "Closed", list_name="Won")
    engine.tick(now=later(15))
    assert noted() == ["Open"]


def test_no_activity_for(crm):
    rule(crm, "Opportunities", {"type": "no_activity_for", "days": 7}, [NOTE])
    a = create_record(crm, "Opportunities", "Idle")
    b = create_record(crm, "Opportunities", "Busy")
    assert engine.tick(now=later(6)).fired == 0  # nothing yet
    update_record(crm, b, values={"Amount": "1"})
    assert engine.tick(now=later(7.5)).fired == 2
    assert engine.tick(now=later(7.6)).fired == 0  # once per idle period
    assert noted() == ["Busy", "Idle"]
    update_record(crm, a, values={"Amount": "2"})  # a new idle period for a
    assert engine.tick(now=later(9)).fired == 1
    assert engine.tick(now=later(10)).fired == 0
    assert noted() == ["Busy", "Idle", "Idle"]


def test_date_field_days_away_and_passed(crm):
    today = utcnow().date()
    rule(crm, "Opportunities", {"type": "date_field", "field": "Expected close date", "days": 3, "when": "before"},
         [dict(NOTE, message="soon {Title}")], name="soon")
    rule(crm, "Opportunities", {"type": "date_field", "field": "Expected close date", "when": "after", "days": 1},
         [dict(NOTE, message="late {Title}")], name="late")
    create_record(crm, "Opportunities", "In 2 days", values={"Expected close date": str(today + dt.timedelta(2))})
    create_record(crm, "Opportunities", "In 10 days", values={"Expected close date": str(today + dt.timedelta(10))})
    create_record(crm, "Opportunities", "2 days ago", values={"Expected close date": str(today - dt.timedelta(2))})
    create_record(crm, "Opportunities", "Long ago", values={"Expected close date": str(today - dt.timedelta(60))})
    engine.tick(now=utcnow())
    engine.tick(now=utcnow())
    assert noted() == ["late 2 days ago", "soon In 2 days"]
    engine.tick(now=utcnow() + dt.timedelta(days=8))
    assert noted() == ["late 2 days ago", "late In 2 days", "soon In 10 days", "soon In 2 days"]


# ------------------------------------------------------------------------------------------------
# conditions


@pytest.mark.parametrize("cond, expected", [
    ({"field": "Amount", "op": ">", "value": 1000}, {"Big"}),
    ({"field": "Amount", "op": "<", "value": "1,000"}, {"Small"}),
    ({"field": "Amount", "op": "=", "value": 5000}, {"Big"}),
    ({"field": "Amount", "op": "is_empty"}, {"Empty"}),
    ({"field": "Amount", "op": "is_empty", "value": False}, {"Big", "Small"}),
    ({"field": "list", "op": "in", "value": ["Qualifying", "won"]}, {"Big", "Small"}),
    ({"field": "list", "op": "!=", "value": "Unqualified"}, {"Big", "Small"}),
    ({"field": "tag", "op": "=", "value": "seo"}, {"Big"}),
    ({"field": "tag", "op": "!=", "value": "SEO"}, {"Small", "Empty"}),
    ({"field": "tag", "op": "is_empty"}, {"Empty"}),
    ({"field": "assignee", "op": "=", "value": "alice"}, {"Small"}),
    ({"field": "assignee", "op": "is_empty"}, {"Big", "Empty"}),
    ({"field": "title", "op": "contains", "value": "ig"}, {"Big"}),
    ({"field": "Deal source", "op": "in", "value": ["Referral", "Trade show"]}, {"Big"}),
    ({"field": "Client name", "op": "contains", "value": "acm"}, {"Big"}),  # a lookup
    ({"field": "Client email", "op": "=", "value": "ops@acme.com"}, {"Big"}),  # a lookup of an email
    ({"field": "Profit", "op": ">", "value": 0}, {"Big"}),  # a formula
    ({"field": "Expected close date", "op": "<", "value": "2026-06-01"}, {"Small"}),
    ({"field": "due_date", "op": ">", "value": "2026-01-01"}, {"Big"}),
])
def test_conditions(crm, cond, expected):
    acme = create_record(crm, "Clients", "Acme Corp", values={"Email": "ops@acme.com"})
    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE], conditions=[cond])
    create_record(crm, "Opportunities", "Big", list_name="Qualifying", tags=["SEO"], due_date="2026-03-01",
                  values={"Amount": "5000", "Cost": "1000", "Client": acme, "Deal source": "Referral",
                          "Expected close date": "2026-09-01"})
    create_record(crm, "Opportunities", "Small", list_name="Won", tags=["Website"], assignee="alice",
                  values={"Amount": "300", "Cost": "400", "Expected close date": "2026-02-01"})
    create_record(crm, "Opportunities", "Empty")
    engine.tick()
    assert set(noted()) == expected


def test_all_conditions_must_hold(crm):
    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE],
         conditions=[{"field": "Amount", "op": ">", "value": 100}, {"field": "tag", "op": "=", "value": "SEO"}])
    create_record(crm, "Opportunities", "Both", tags=["SEO"], values={"Amount": "500"})
    create_record(crm, "Opportunities", "One", values={"Amount": "500"})
    engine.tick()
    assert noted() == ["Both"]


def test_conditions_are_checked_on_the_record_as_it_is_now(crm):
    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE],
         conditions=[{"field": "list", "op": "=", "value": "Unqualified"}])
    a = create_record(crm, "Opportunities", "Moved before the tick")
    move_record(crm, a, "Qualifying")
    engine.tick()
    assert noted() == []
    assert RuleRun.select().count() == 0  # not fired, not logged


# ------------------------------------------------------------------------------------------------
# actions


def test_assign_and_assign_round_robin_keeps_its_turn_across_ticks(crm):
    rule(crm, "Opportunities", {"type": "record_created"}, [{"type": "assign_round_robin", "users": ["alice", "bob"]}])
    ids = [create_record(crm, "Opportunities", "A"), create_record(crm, "Opportunities", "B")]
    engine.tick()
    ids.append(create_record(crm, "Opportunities", "C"))
    engine.tick()
    assert [assignee(i) for i in ids] == ["alice", "bob", "alice"]
    rule(crm, "Clients", {"type": "record_created"}, [{"type": "assign", "user": "bob"}], name="plain")
    # Clients hide the assignee in the UI, but the record still has one
    c = create_record(crm, "Clients", "Acme")
    engine.tick()
    assert Record.get_by_id(c).assignee.name == "bob"


def test_assignment_writes_events_as_the_automation_user(crm):
    from crm_tui.domain.events import history

    rule(crm, "Opportunities", {"type": "record_created"}, [{"type": "assign", "user": "bob"}])
    a = create_record(crm, "Opportunities", "A")
    engine.tick()
    last = history(a, crm)[-1]
    assert (last["kind"], last["user"], last["new"]) == ("assigned", "automation", "bob")


def test_assign_by_field(crm):
    rule(crm, "Opportunities", {"type": "record_created"},
         [{"type": "assign_by_field", "field": "Deal source", "map": {"Referral": "alice", "Website": "bob"}}])
    rule(crm, "Clients", {"type": "record_created"},
         [{"type": "assign_by_field", "field": "Address", "match": "contains", "map": {"France": "alice"},
           "default": "bob"}], name="by country")
    a = create_record(crm, "Opportunities", "A", values={"Deal source": "Referral"})
    b = create_record(crm, "Opportunities", "B", values={"Deal source": "Website"})
    c = create_record(crm, "Opportunities", "C")
    d = create_record(crm, "Clients", "Paris", values={"Address": "1 rue de Rivoli\n75001 Paris\nFrance"})
    e = create_record(crm, "Clients", "Berlin", values={"Address": "Unter den Linden 1\nBerlin\nGermany"})
    engine.tick()
    assert [assignee(i) for i in (a, b, c)] == ["alice", "bob", None]
    assert [Record.get_by_id(i).assignee.name for i in (d, e)] == ["alice", "bob"]
    assert "no user mapped" in rules.list_runs("Opportunities")[0]["message"]


def test_notify_recipients_and_merge_tags(crm):
    rule(crm, "Opportunities", {"type": "moved_to_list"},
         [{"type": "notify", "to": ["assignee", "admins", "bob"],
           "message": "{Title} ({Amount}) moved {Old value} → {New value}, {Assignee}, {Project}, {Tags}"}])
    a = create_record(crm, "Opportunities", "Acme site", assignee="alice", tags=["SEO"], values={"Amount": "1200"})
    move_record(crm, a, "Won")
    engine.tick()
    text = "Acme site ($1,200.00) moved Unqualified → Won, alice, Opportunities, SEO"
    assert noted("alice") == [text] and noted("bob") == [text] and noted("admin") == [text]
    uid = User.get(User.name == "alice").id
    item = notifications_for(uid)[0]
    assert set(item) == {"id", "at", "record_id", "message", "read"} and item["record_id"] == a
    assert unread_count(uid) == 1
    mark_read(uid)
    assert unread_count(uid) == 0 and notifications_for(uid) == [] and len(notifications_for(uid, unread_only=False)) == 1


def test_notify_assignees_of_referencing_open_records(crm):
    rule(crm, "Clients", {"type": "field_changed", "field": ["Email", "Phone", "Address"]},
         [{"type": "notify", "to": ["assignees_of:Opportunities.Client"], "message": "{Title} {Field}: {New value}"}])
    acme = create_record(crm, "Clients", "Acme")
    create_record(crm, "Opportunities", "Open deal", assignee="alice", values={"Client": acme})
    create_record(crm, "Opportunities", "Won deal", list_name="Won", assignee="bob", values={"Client": acme})
    update_record(crm, acme, values={"Phone": "+1 555 0100"})
    engine.tick()
    assert noted("alice") == ["Acme Phone: +1 555 0100"] and noted("bob") == []


def test_remind_then_the_due_reminder_becomes_a_notification(crm):
    rule(crm, "Opportunities", {"type": "moved_to_list", "to": "Proposal sent"},
         [{"type": "remind", "days": 3, "message": "Follow up {Title}"}])
    a = create_record(crm, "Opportunities", "A", assignee="alice")
    move_record(crm, a, "Proposal sent")
    engine.tick()
    uid = User.get(User.name == "alice").id
    [rem] = reminders_for(uid)
    assert rem["message"] == "Follow up A" and rem["status"] == "upcoming" and rem["record_id"] == a
    assert noted() == []
    assert reminders_for(uid, now=later(3.1))[0]["status"] in ("today", "overdue")
    engine.tick(now=later(3.1))
    engine.tick(now=later(3.2))
    assert noted() == ["Reminder: Follow up A"]
    snooze_reminder(uid, rem["id"], 2, now=later(3.2))
    engine.tick(now=later(5.3))
    assert noted() == ["Reminder: Follow up A", "Reminder: Follow up A"]
    complete_reminder(uid, rem["id"])
    assert reminders_for(uid) == []


def test_tag_move_set_field_and_due_date_actions(crm):
    rule(crm, "Opportunities", {"type": "record_created"},
         [{"type": "add_tag", "tag": "Hot"}, {"type": "remove_tag", "tag": "SEO"},
          {"type": "move_to_list", "list": "Qualifying"}, {"type": "set_field", "field": "Deal source", "value": "Referral"},
          {"type": "set_field", "field": "Amount", "value": 2500}, {"type": "set_due_date", "days": 7}])
    a = create_record(crm, "Opportunities", "A", tags=["SEO"])
    now = utcnow()
    engine.tick(now=now)
    rec = show_record_as_admin(a)
    assert rec["tags"] == ["Hot"] and rec["list"] == "Qualifying"
    assert rec["fields"]["Deal source"] == "Referral" and rec["fields"]["Amount"] == "2500.00"
    assert rec["due_date"] == (now.date() + dt.timedelta(days=7)).isoformat()
    [run] = rules.list_runs("Opportunities")
    assert run["status"] == "ok" and "tagged Hot" in run["message"] and "moved to Qualifying" in run["message"]


def test_a_failing_action_is_logged_once_and_rolls_its_run_back(crm):
    rule(crm, "Opportunities", {"type": "record_created"},
         [{"type": "add_tag", "tag": "Tried"}, {"type": "assign", "user": "bob"}])
    User.update(active=False).where(User.name == "bob").execute()  # bob left after the rule was written
    a = create_record(crm, "Opportunities", "A")
    result = engine.tick()
    assert result.errors == 1 and result.fired == 0
    assert show_record_as_admin(a)["tags"] == []  # the whole run rolled back
    [run] = rules.list_runs("Opportunities")
    assert run["status"] == "error" and "bob" in run["message"]
    assert engine.tick().errors == 0  # not retried
    assert next(r for r in rules.list_rules("Opportunities") if r["name"] == "Rule")["errors"] == 1


# ------------------------------------------------------------------------------------------------
# chains, loops, exactly once


def test_rules_chain_through_the_events_actions_write(crm):
    rule(crm, "Opportunities", {"type": "record_created"}, [{"type": "add_tag", "tag": "New"}], name="tag it")
    rule(crm, "Opportunities", {"type": "tag_added", "tag": "New"}, [NOTE], name="then notify")
    create_record(crm, "Opportunities", "A")
    result = engine.tick()
    assert result.fired == 2 and noted() == ["A"]
    depths = {r["rule"]: r["depth"] for r in rules.list_runs("Opportunities")}
    assert depths == {"tag it": 0, "then notify": 1}


def test_a_two_rule_loop_is_stopped_by_the_guard(crm, caplog):
    rule(crm, "Opportunities", {"type": "tag_added", "tag": "Ping"},
         [{"type": "remove_tag", "tag": "Ping"}, {"type": "add_tag", "tag": "Pong"}], name="ping")
    rule(crm, "Opportunities", {"type": "tag_added", "tag": "Pong"},
         [{"type": "remove_tag", "tag": "Pong"}, {"type": "add_tag", "tag": "Ping"}], name="pong")
    a = create_record(crm, "Opportunities", "A")
    tag_record(crm, a, ["Ping"])
    with caplog.at_level("WARNING", logger="crm_tui.automations"):
        result = engine.tick()
    assert result.loops_stopped == 1
    assert result.fired == engine.MAX_DEPTH
    runs = rules.list_runs("Opportunities")
    assert runs[0]["status"] == "loop_stopped" and "loop guard" in runs[0]["message"]
    assert "loop guard" in caplog.text
    assert engine.tick().fired == 0  # the tick ended normally and nothing is pending


def test_exactly_once_across_ticks_and_a_crash_mid_tick(crm):
    class Crash(BaseException):
        """Not an Exception: like the process dying, nothing catches it."""

    rule(crm, "Opportunities", {"type": "record_created"},
         [{"type": "assign_round_robin", "users": ["alice", "bob"]}, NOTE])
    a = create_record(crm, "Opportunities", "A")

    def crash(rule_id, record_id):
        raise Crash()

    engine.after_actions_hook = crash
    try:
        with pytest.raises(Crash):
            engine.tick()
    finally:
        engine.after_actions_hook = None
    assert assignee(a) is None and noted() == [] and RuleRun.select().count() == 0
    assert AutomationRule.get().counter == 0
    assert engine.tick().fired == 1
    assert engine.tick().fired == 0
    # even with the cursor lost (another worker, a restore), the ledger refuses a second firing
    from crm_tui.db.automation_models import AutomationCursor

    AutomationCursor.delete().execute()
    AutomationRule.update(since_event=0).execute()
    assert engine.tick().fired == 0
    assert assignee(a) == "alice" and noted() == ["A"] and Notification.select().count() == 1


def test_archived_records_do_not_fire(crm):
    from crm_tui.domain.records import archive_record

    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE])
    a = create_record(crm, "Opportunities", "Gone")
    archive_record(crm, a)
    engine.tick()
    assert noted() == [] and Reminder.select().count() == 0


def test_time_scans_are_incremental_yet_see_imported_records_with_old_dates(crm):
    from crm_tui.db.connection import run_write
    from crm_tui.domain.project_schema import load_schema
    from crm_tui.domain.records import NewRecord, create_records_bulk

    rule(crm, "Opportunities", {"type": "in_list_for", "list": "Qualifying", "days": 14}, [NOTE])
    create_record(crm, "Opportunities", "Live", list_name="Qualifying")
    assert engine.tick(now=later(15)).fired == 1
    schema = load_schema("Opportunities")
    qualifying = schema.list("Qualifying").id
    old = utcnow() - dt.timedelta(days=40)
    run_write(create_records_bulk, crm, schema, [NewRecord("Imported", list_id=qualifying, created_at=old,
                                                           list_entered_at=old)])
    assert engine.tick(now=later(15.1)).fired == 1
    assert noted() == ["Imported", "Live"]


def test_an_event_committed_late_below_the_cursor_still_fires(crm):
    """PostgreSQL hands out ids before commit: an older id can appear after a newer one was read."""
    from crm_tui.db.models import Event

    rule(crm, "Opportunities", {"type": "record_created"}, [NOTE])
    create_record(crm, "Opportunities", "B")
    c = create_record(crm, "Opportunities", "C")
    create_record(crm, "Opportunities", "D")
    late = Event.select().where((Event.record == c) & (Event.kind == "created")).dicts().get()
    Event.delete().where(Event.id == late["id"]).execute()  # not visible yet
    assert engine.tick().fired == 2
    Event.insert(late).execute()  # … now it is, below the cursor
    assert engine.tick().fired == 1
    assert noted() == ["B", "C", "D"]


def test_a_time_scan_over_its_limit_finishes_on_later_ticks(crm, monkeypatch):
    from crm_tui.domain.automations import triggers

    monkeypatch.setattr(triggers, "SCAN_LIMIT", 2)
    soon = str(utcnow().date() + dt.timedelta(days=3))
    rule(crm, "Opportunities", {"type": "date_field", "field": "Expected close date", "days": 3},
         [dict(NOTE, message="soon {Title}")], name="soon")
    rule(crm, "Opportunities", {"type": "in_list_for", "list": "Qualifying", "days": 1},
         [dict(NOTE, message="aged {Title}")], name="aged")
    for i in range(5):
        create_record(crm, "Opportunities", f"R{i}", list_name="Qualifying", values={"Expected close date": soon})
    fired = [engine.tick(now=later(2)).fired for _ in range(4)]
    assert fired == [4, 4, 2, 0]
    assert len(noted()) == 10 and len(set(noted())) == 10


def test_notify_a_role_of_the_project(crm):
    from crm_tui.domain.permissions import add_role, set_user_role

    add_role(crm, "Opportunities", "Sales lead")
    set_user_role(crm, "bob", "Opportunities", "Sales lead")
    rule(crm, "Opportunities", {"type": "record_created"},
         [{"type": "notify", "to": ["role:Sales lead"], "message": "lead {Title}"}])
    with pytest.raises(ValidationError, match="no role"):
        rule(crm, "Opportunities", {"type": "record_created"},
             [{"type": "notify", "to": ["role:Nobody"], "message": "x"}], name="bad")
    create_record(crm, "Opportunities", "A")
    engine.tick()
    assert noted("bob") == ["lead A"] and noted("alice") == []

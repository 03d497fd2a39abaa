"""Rules: TOML ↔ the stored rule, validation with errors naming the key and the value, and storage.

>>> rule = add_rule(actor, "Opportunities", '''
... name = "Share new leads"
... [trigger]
... type = "record_created"
... [[actions]]
... type = "assign_round_robin"
... users = ["alice", "bob"]
... ''')
>>> set_enabled(actor, "Opportunities", "Share new leads", True)

A rule is stored as JSON (``automation_rule.spec``) with lists, fields, tags and users by *name*, as the
TOML has them, so an export reads like the file that was added. docs/automations.md is the reference.
"""

from __future__ import annotations

import json
import re
import tomllib

from peewee import fn

from ...db.automation_models import AutomationRule, RuleRun
from ...db.connection import run_write
from ...db.models import Event, User, utcnow
from ...errors import NotFoundError, ValidationError
from ..actors import Actor
from ..project_schema import ProjectSchema, load_schema

OPS = ("=", "!=", "<", ">", "contains", "is_empty", "in")
ORDERED_TYPES = ("number", "percent", "currency", "rating", "date", "formula", "lookup")
BUILTIN_CONDITION_FIELDS = {"list": "list", "tag": "tag", "tags": "tag", "assignee": "assignee",
                            "title": "title", "due_date": "due_date", "due date": "due_date",
                            "description": "description"}
MERGE_BUILTINS = ("title", "id", "list", "assignee", "project", "due date", "tags", "description",
                  "old value", "new value", "field", "rule", "days")
RECIPIENT_HELP = ("a user name, \"assignee\", \"admins\", \"role:NAME\" or "
                  "\"assignees_of:PROJECT.REFERENCE_FIELD\"")

# trigger type → {key: (required, kind)}; kinds: list, lists, field, fields, tag, user, days, value, when
TRIGGERS: dict[str, dict[str, tuple[bool, str]]] = {
    "record_created": {"list": (False, "list")},
    "moved_to_list": {"from": (False, "list"), "to": (False, "list")},
    "field_changed": {"field": (True, "fields"), "to": (False, "value")},
    "tag_added": {"tag": (False, "tag")},
    "assignee_changed": {"to": (False, "user")},
    "record_updated": {},
    "in_list_for": {"list": (False, "lists"), "days": (False, "days")},
    "no_activity_for": {"days": (True, "days"), "list": (False, "lists")},
    "date_field": {"field": (True, "date_field"), "days": (False, "days"), "when": (False, "when"),
                   "catch_up_days": (False, "days")},
}
EVENT_TRIGGERS = ("record_created", "moved_to_list", "field_changed", "tag_added", "assignee_changed",
                  "record_updated")
TIME_TRIGGERS = ("in_list_for", "no_activity_for", "date_field")

ACTIONS: dict[str, dict[str, tuple[bool, str]]] = {
    "assign": {"user": (True, "user")},
    "assign_round_robin": {"users": (True, "users")},
    "assign_by_field": {"field": (True, "field"), "map": (True, "user_map"), "default": (False, "user"),
                        "match": (False, "match")},
    "notify": {"to": (False, "recipients"), "message": (True, "message"), "subject": (False, "message"),
               "email": (False, "bool")},
    "remind": {"days": (True, "days"), "message": (False, "message"), "to": (False, "recipients")},
    "add_tag": {"tag": (True, "tag_name")},
    "remove_tag": {"tag": (True, "tag_name")},
    "move_to_list": {"list": (True, "list")},
    "set_field": {"field": (True, "settable_field"), "value": (True, "value")},
    "set_due_date": {"days": (True, "days")},
}

MERGE_TAG_RE = re.compile(r"\{([^{}]+)\}")


# ------------------------------------------------------------------------------------------------
# TOML


def parse_toml(text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("rule file", "TOML", f"cannot be read: {exc}") from None


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(spec: dict) -> str:
    """The rule as a TOML file (what ``automation add --file`` reads back)."""
    lines = [f"name = {_toml_value(spec['name'])}", f"enabled = {_toml_value(bool(spec.get('enabled')))}", "",
             "[trigger]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in spec["trigger"].items()]
    for cond in spec.get("conditions", []):
        lines += ["", "[[conditions]]"] + [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in cond.items()]
    for action in spec.get("actions", []):
        lines += ["", "[[actions]]"] + [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in action.items()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# validation


def _accepted(options) -> str:
    return ", ".join(options)


def _list_names(schema: ProjectSchema) -> str:
    return ", ".join(l.name for l in schema.lists) or "none"


def _check_list(key: str, value, schema: ProjectSchema) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(key, value, f"name a list of {schema.name}: {_list_names(schema)}")
    for lst in schema.lists:
        if lst.name.casefold() == value.strip().casefold():
            return lst.name
    raise ValidationError(key, value, f"{schema.name} has no such list; lists: {_list_names(schema)}")


def _check_user(key: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(key, value, "name a user (see `crm-tui user list`)")
    user = User.get_or_none((User.name == value.strip()) & (User.active == True))  # noqa: E712
    if user is None:
        raise ValidationError(key, value, "no such active user (see `crm-tui user list`)")
    return user.name


def _check_days(key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 3650:
        raise ValidationError(key, value, "expected a whole number of days from 0 to 3650")
    return value


def _field_names(schema: ProjectSchema) -> str:
    return ", ".join(f.name for f in schema.fields) or "none"


def _check_field(key: str, value, schema: ProjectSchema, *, builtins: bool = False):
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(key, value, "name a field")
    if builtins and value.strip().casefold() in BUILTIN_CONDITION_FIELDS:
        return value.strip()
    fdef = schema.field_or_none(value)
    if fdef is None:
        extra = "list, tag, assignee, title, due_date, " if builtins else ""
        raise ValidationError(key, value, f"{schema.name} has no such field; accepted: {extra}"
                              f"{_field_names(schema)}")
    return fdef.name


def _check_message(key: str, value, schema: ProjectSchema) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(key, value, "write the text to send; {Field} merge tags are replaced")
    for tag in MERGE_TAG_RE.findall(value):
        name = tag.strip()
        if name.casefold() not in MERGE_BUILTINS and schema.field_or_none(name) is None:
            raise ValidationError(key, value, f"unknown merge tag {{{name}}}; use a field of {schema.name} "
                                  f"({_field_names(schema)}) or one of "
                                  + ", ".join("{" + b.title() + "}" for b in MERGE_BUILTINS))
    return value


def _check_recipient(key: str, value, schema: ProjectSchema) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(key, value, f"expected {RECIPIENT_HELP}")
    text = value.strip()
    low = text.casefold()
    if low in ("assignee", "admins"):
        return low
    if low.startswith("role:"):
        from ...db.permission_models import Role

        role = text[5:].strip()
        from ..permissions import BUILTIN_ROLES

        if role not in BUILTIN_ROLES and not Role.select().where(
                (Role.project == schema.id) & (Role.name == role)).exists():
            raise ValidationError(key, value, f"{schema.name} has no role {role!r}")
        return f"role:{role}"
    if low.startswith("assignees_of:"):
        target = text.split(":", 1)[1]
        if "." not in target:
            raise ValidationError(key, value, "expected assignees_of:PROJECT.REFERENCE_FIELD, e.g. "
                                  "assignees_of:Opportunities.Client")
        project_name, field_name = target.rsplit(".", 1)
        try:
            other = load_schema(project_name.strip())
        except NotFoundError as exc:
            raise ValidationError(key, value, str(exc)) from None
        fdef = other.field_or_none(field_name.strip())
        if fdef is None or fdef.type != "reference" or fdef.config.get("target") != schema.id:
            raise ValidationError(key, value, f"{other.name} has no reference field {field_name.strip()!r} "
                                  f"pointing at {schema.name}")
        return f"assignees_of:{other.name}.{fdef.name}"
    return _check_user(key, text)


def _check_value(key: str, kind: str, value, schema: ProjectSchema):
    if kind == "list":
        return _check_list(key, value, schema)
    if kind == "lists":
        if isinstance(value, list):
            if not value:
                raise ValidationError(key, "[]", "name at least one list, or leave the key out")
            return [_check_list(f"{key}[{i}]", v, schema) for i, v in enumerate(value)]
        return _check_list(key, value, schema)
    if kind in ("field", "date_field", "settable_field"):
        name = _check_field(key, value, schema, builtins=(kind == "settable_field"))
        fdef = schema.field_or_none(name)
        if kind == "date_field" and (fdef is None or not _is_date_field(fdef)):
            dates = ", ".join(f.name for f in schema.fields if _is_date_field(f)) or "none"
            raise ValidationError(key, value, f"expected a date field of {schema.name}: {dates}")
        if kind == "settable_field":
            low = name.casefold()
            if fdef is None and low not in ("title", "description", "due_date", "due date"):
                raise ValidationError(key, value, "set_field sets a custom field, title, description or "
                                      "due_date (use move_to_list, add_tag, assign for the others)")
            if fdef is not None and fdef.computed:
                raise ValidationError(key, value, f"is a {fdef.type} field: its value is computed")
        return name
    if kind == "fields":
        if isinstance(value, list):
            if not value:
                raise ValidationError(key, "[]", "name at least one field")
            return [_check_field(f"{key}[{i}]", v, schema, builtins=True) for i, v in enumerate(value)]
        return _check_field(key, value, schema, builtins=True)
    if kind == "tag":
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(key, value, "name a tag")
        return value.strip()
    if kind == "tag_name":
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
            raise ValidationError(key, value, "name a tag (1–200 characters)")
        return value.strip()
    if kind == "user":
        return _check_user(key, value)
    if kind == "users":
        if not isinstance(value, list):
            raise ValidationError(key, value, "expected a list of user names, e.g. [\"alice\", \"bob\"]")
        return [_check_user(f"{key}[{i}]", v) for i, v in enumerate(value)]
    if kind == "user_map":
        if not isinstance(value, dict) or not value:
            raise ValidationError(key, value if isinstance(value, str) else repr(value),
                                  "expected a table of value = user, e.g. { Referral = \"alice\" }")
        return {str(k): _check_user(f"{key}.{k}", v) for k, v in value.items()}
    if kind == "days":
        return _check_days(key, value)
    if kind == "when":
        if value not in ("before", "after"):
            raise ValidationError(key, value, "expected \"before\" (the date is N days away) or \"after\" "
                                  "(the date passed N days ago)")
        return value
    if kind == "match":
        if value not in ("equals", "contains"):
            raise ValidationError(key, value, "expected \"equals\" or \"contains\"")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValidationError(key, value, "expected true or false")
        return value
    if kind == "message":
        return _check_message(key, value, schema)
    if kind == "recipients":
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValidationError(key, "[]", f"name at least one recipient: {RECIPIENT_HELP}")
        return [_check_recipient(f"{key}[{i}]" if isinstance(value, list) else key, v, schema)
                for i, v in enumerate(items)]
    if kind == "value":
        if isinstance(value, (dict,)) or value is None:
            raise ValidationError(key, repr(value), "expected a text, number, boolean or date value")
        return value
    raise AssertionError(kind)


def _is_date_field(fdef) -> bool:
    if fdef.type == "date":
        return True
    if fdef.type == "formula":
        return fdef.config.get("result_kind") == "date"
    if fdef.type == "lookup":
        return fdef.config.get("display_type") == "date"
    return False


def _check_table(key: str, table, spec: dict[str, tuple[bool, str]], schema: ProjectSchema,
                 kind_name: str) -> dict:
    out: dict = {"type": table["type"]}
    for name, value in table.items():
        if name == "type":
            continue
        if name not in spec:
            accepted = _accepted(["type"] + list(spec))
            raise ValidationError(f"{key}.{name}", value if isinstance(value, str) else repr(value),
                                  f"unknown key for {kind_name} {table['type']!r}; accepted: {accepted}")
        out[name] = _check_value(f"{key}.{name}", spec[name][1], value, schema)
    for name, (required, _) in spec.items():
        if required and name not in table:
            raise ValidationError(f"{key}.{name}", "", f"{kind_name} {table['type']!r} needs {name!r}")
    return out


def _check_condition(key: str, cond, schema: ProjectSchema) -> dict:
    if not isinstance(cond, dict):
        raise ValidationError(key, repr(cond), "expected a [[conditions]] table with field, op, value")
    unknown = set(cond) - {"field", "op", "value"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"{key}.{name}", repr(cond[name]), "unknown key; accepted: field, op, value")
    field = _check_field(f"{key}.field", cond.get("field"), schema, builtins=True)
    op = cond.get("op")
    if op not in OPS:
        raise ValidationError(f"{key}.op", op if isinstance(op, str) else repr(op),
                              f"expected one of {', '.join(OPS)}")
    out = {"field": field, "op": op}
    if op == "is_empty":
        value = cond.get("value", True)
        if not isinstance(value, bool):
            raise ValidationError(f"{key}.value", repr(value), "is_empty takes true (empty) or false (not empty)")
        out["value"] = value
        return out
    if "value" not in cond:
        raise ValidationError(f"{key}.value", "", f"op {op!r} needs a value")
    value = cond["value"]
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ValidationError(f"{key}.value", repr(value), "op 'in' needs a list, e.g. [\"Won\", \"Lost\"]")
    elif isinstance(value, (list, dict)):
        raise ValidationError(f"{key}.value", repr(value), f"op {op!r} needs one value (use 'in' for a list)")
    if op in ("<", ">"):
        fdef = schema.field_or_none(field)
        builtin = BUILTIN_CONDITION_FIELDS.get(field.casefold())
        if not (builtin == "due_date" or (fdef is not None and fdef.type in ORDERED_TYPES)):
            raise ValidationError(f"{key}.op", op, f"{field!r} has no order; < and > compare numbers and dates")
    from .conditions import compile_condition

    try:
        compile_condition(out | {"value": value}, schema)
    except ValueError as exc:
        raise ValidationError(f"{key}.value", value if isinstance(value, str) else repr(value), str(exc)) from None
    out["value"] = value
    return out


def validate(raw: dict, schema: ProjectSchema) -> dict:
    """The rule as stored (normalised names) or a ``ValidationError`` naming the key and the value."""
    if not isinstance(raw, dict):
        raise ValidationError("rule", repr(raw), "expected a table")
    allowed = {"name", "enabled", "trigger", "conditions", "actions"}
    for key in raw:
        if key not in allowed:
            raise ValidationError(key, repr(raw[key]), f"unknown key; accepted: {', '.join(sorted(allowed))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        raise ValidationError("name", name if isinstance(name, str) else repr(name), "a rule needs a name "
                              "(1–200 characters)")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValidationError("enabled", repr(enabled), "expected true or false")
    trigger = raw.get("trigger")
    if not isinstance(trigger, dict) or "type" not in trigger:
        raise ValidationError("trigger.type", "", f"a rule needs a [trigger] with a type: {', '.join(TRIGGERS)}")
    if trigger["type"] not in TRIGGERS:
        raise ValidationError("trigger.type", str(trigger["type"]), f"expected one of {', '.join(TRIGGERS)}")
    spec = {"name": name.strip(), "enabled": enabled,
            "trigger": _check_table("trigger", trigger, TRIGGERS[trigger["type"]], schema, "trigger")}
    trig = spec["trigger"]
    if trig["type"] == "field_changed" and "to" in trig:
        from .conditions import compile_condition

        for name in trig["field"] if isinstance(trig["field"], list) else [trig["field"]]:
            if name.casefold() in ("tag", "tags", "list", "assignee"):
                continue
            try:
                compile_condition({"field": name, "op": "=", "value": trig["to"]}, schema)
            except ValueError as exc:
                shown = trig["to"] if isinstance(trig["to"], str) else repr(trig["to"])
                raise ValidationError("trigger.to", shown, f"{name}: {exc}") from None
    conditions = raw.get("conditions", [])
    if not isinstance(conditions, list):
        raise ValidationError("conditions", repr(conditions), "write each condition as a [[conditions]] table")
    spec["conditions"] = [_check_condition(f"conditions[{i}]", c, schema) for i, c in enumerate(conditions)]
    actions = raw.get("actions", [])
    if not isinstance(actions, list) or not actions:
        raise ValidationError("actions", repr(actions), f"a rule needs at least one [[actions]] table; "
                              f"types: {', '.join(ACTIONS)}")
    out_actions = []
    for i, action in enumerate(actions):
        key = f"actions[{i}]"
        if not isinstance(action, dict) or action.get("type") not in ACTIONS:
            got = action.get("type") if isinstance(action, dict) else action
            raise ValidationError(f"{key}.type", got if isinstance(got, str) else repr(got),
                                  f"expected one of {', '.join(ACTIONS)}")
        checked = _check_table(key, action, ACTIONS[action["type"]], schema, "action")
        if checked["type"] == "assign_round_robin" and not checked["users"] and enabled:
            raise ValidationError(f"{key}.users", "[]", "name at least one user to share the records among")
        if checked["type"] == "set_field":
            _check_set_value(f"{key}.value", checked["field"], checked["value"], schema)
        out_actions.append(checked)
    spec["actions"] = out_actions
    return spec


def _check_set_value(key: str, field: str, value, schema: ProjectSchema) -> None:
    fdef = schema.field_or_none(field)
    if fdef is None:
        if field.casefold() in ("due_date", "due date"):
            from ..records import parse_due_date

            try:
                parse_due_date(str(value))
            except ValidationError as exc:
                raise ValidationError(key, str(value), exc.reason) from None
        return
    if fdef.type in ("reference", "file"):
        return  # resolved when the action runs (the referenced record may come later)
    from ..values import prepare_values

    try:
        prepare_values(schema, {fdef.name: value}, from_text=True)
    except ValidationError as exc:
        raise ValidationError(key, value if isinstance(value, str) else repr(value), exc.reason) from None


# ------------------------------------------------------------------------------------------------
# storage


def _project(ref) -> ProjectSchema:
    return ref if isinstance(ref, ProjectSchema) else load_schema(ref)


def _max_event_id() -> int:
    return Event.select(fn.MAX(Event.id)).scalar() or 0


def add_rule(actor: Actor, project, source, *, replace: bool = False, preset: str | None = None) -> AutomationRule:
    """Store a rule given as TOML text or a dict; ``replace`` overwrites a rule of the same name."""
    schema = _project(project)
    actor.require("edit_automations", schema.id, schema.name)
    raw = parse_toml(source) if isinstance(source, str) else dict(source)
    spec = validate(raw, schema)

    def write():
        existing = AutomationRule.get_or_none((AutomationRule.project == schema.id)
                                              & (AutomationRule.name == spec["name"]))
        now = utcnow()
        body = json.dumps({k: spec[k] for k in ("trigger", "conditions", "actions")}, ensure_ascii=False)
        if existing is not None:
            if not replace:
                raise ValidationError("name", spec["name"], f"{schema.name} already has a rule with this name "
                                      "(use --replace to overwrite it)")
            since = existing.since_event if (existing.enabled and spec["enabled"]) else _max_event_id()
            AutomationRule.update(enabled=spec["enabled"], trigger=spec["trigger"]["type"], spec=body,
                                  updated_at=now, since_event=since).where(
                AutomationRule.id == existing.id).execute()
            return AutomationRule.get_by_id(existing.id)
        return AutomationRule.create(project=schema.id, name=spec["name"], enabled=spec["enabled"],
                                     trigger=spec["trigger"]["type"], spec=body, since_event=_max_event_id(),
                                     preset=preset, created_at=now, updated_at=now)

    return run_write(write)


def get_rule(project, name: str) -> AutomationRule:
    schema = _project(project)
    rule = AutomationRule.get_or_none((AutomationRule.project == schema.id) & (AutomationRule.name == name))
    if rule is None:
        for candidate in AutomationRule.select().where(AutomationRule.project == schema.id):
            if candidate.name.casefold() == name.strip().casefold():
                return candidate
        names = ", ".join(r.name for r in AutomationRule.select(AutomationRule.name)
                          .where(AutomationRule.project == schema.id).order_by(AutomationRule.name))
        raise NotFoundError(f"{schema.name} has no automation {name!r}; automations: {names or 'none'}")
    return rule


def rule_spec(rule: AutomationRule) -> dict:
    """The full rule (name, enabled, trigger, conditions, actions) as validated."""
    body = json.loads(rule.spec or "{}")
    return {"name": rule.name, "enabled": bool(rule.enabled), "trigger": body.get("trigger", {}),
            "conditions": body.get("conditions", []), "actions": body.get("actions", [])}


def set_enabled(actor: Actor, project, name: str, enabled: bool) -> AutomationRule:
    """Enable or disable a rule. Enabling re-validates it (users, lists and fields may have changed) and
    starts it from now: events written while it was off are not replayed."""
    schema = _project(project)
    actor.require("edit_automations", schema.id, schema.name)
    rule = get_rule(schema, name)
    if enabled:
        spec = rule_spec(rule)
        spec["enabled"] = True
        validate(spec, schema)

    def write():
        changes = {"enabled": enabled, "updated_at": utcnow()}
        if enabled and not rule.enabled:
            changes["since_event"] = _max_event_id()
        AutomationRule.update(**changes).where(AutomationRule.id == rule.id).execute()
        return AutomationRule.get_by_id(rule.id)

    return run_write(write)


def delete_rule(actor: Actor, project, name: str) -> None:
    schema = _project(project)
    actor.require("edit_automations", schema.id, schema.name)
    rule = get_rule(schema, name)
    run_write(lambda: AutomationRule.delete().where(AutomationRule.id == rule.id).execute())


def describe_trigger(trigger: dict) -> str:
    parts = [trigger.get("type", "?")]
    for key, value in trigger.items():
        if key != "type":
            parts.append(f"{key}={', '.join(value) if isinstance(value, list) else value}")
    return " ".join(parts)


def list_rules(project) -> list[dict]:
    """The project's rules with their run statistics — two queries."""
    schema = _project(project)
    rules = list(AutomationRule.select().where(AutomationRule.project == schema.id)
                 .order_by(AutomationRule.name))
    stats: dict[int, dict] = {}
    if rules:
        query = (RuleRun.select(RuleRun.rule, RuleRun.status, fn.COUNT(RuleRun.id), fn.MAX(RuleRun.at))
                 .where(RuleRun.rule.in_([r.id for r in rules])).group_by(RuleRun.rule, RuleRun.status).tuples())
        for rule_id, status, count, last in query:
            entry = stats.setdefault(rule_id, {"runs": 0, "errors": 0, "last_run": None})
            entry["runs"] += count
            if status != "ok":
                entry["errors"] += count
            if last is not None and (entry["last_run"] is None or last > entry["last_run"]):
                entry["last_run"] = last
    out = []
    for rule in rules:
        spec = rule_spec(rule)
        entry = stats.get(rule.id, {"runs": 0, "errors": 0, "last_run": None})
        out.append({"id": rule.id, "project": schema.name, "name": rule.name, "enabled": bool(rule.enabled),
                    "trigger": spec["trigger"], "conditions": spec["conditions"], "actions": spec["actions"],
                    "preset": rule.preset, "runs": entry["runs"], "errors": entry["errors"],
                    "last_run": _iso(entry["last_run"])})
    return out


def _iso(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(" ", "T") + ("Z" if not value.endswith("Z") else "")
    return value.isoformat(timespec="seconds") + "Z"


def list_runs(project, *, rule_name: str | None = None, limit: int = 100) -> list[dict]:
    """The run log, newest first: each firing, error and loop stop, with its email status."""
    from ...db.automation_models import Outbox

    schema = _project(project)
    query = (RuleRun.select(RuleRun, AutomationRule.name.alias("rule_name"))
             .join(AutomationRule, on=(RuleRun.rule == AutomationRule.id))
             .where(AutomationRule.project == schema.id))
    if rule_name:
        query = query.where(RuleRun.rule == get_rule(schema, rule_name).id)
    rows = list(query.order_by(RuleRun.id.desc()).limit(limit).dicts())
    emails: dict[int, list[dict]] = {}
    if rows:
        for o in Outbox.select().where(Outbox.run.in_([r["id"] for r in rows])).order_by(Outbox.id):
            emails.setdefault(o.run_id, []).append({"to": o.to_addr, "status": o.status, "attempts": o.attempts,
                                                    "next_try_at": _iso(o.next_try_at) if o.status == "pending"
                                                    else None, "error": o.last_error or None})
    out = []
    for r in rows:
        item = {"id": r["id"], "rule": r["rule_name"], "at": _iso(r["at"]), "record_id": r["record"],
                "event_id": r["event"], "status": r["status"], "message": r["message"], "depth": r["depth"],
                "emails": emails.get(r["id"], [])}
        if any(e["status"] in ("pending", "failed") and e["error"] for e in item["emails"]):
            item["status"] = item["status"] if item["status"] != "ok" else "email_retrying" \
                if any(e["status"] == "pending" for e in item["emails"]) else "email_failed"
        out.append(item)
    return out

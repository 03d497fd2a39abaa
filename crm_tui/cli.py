"""The ``crm-tui`` command: argument parsing → domain calls → a table or JSON on stdout.

    crm-tui records Opportunities --list Won --json | jq '.[].fields.Amount'

Every sub-command is the twin of something the TUI does. Errors go to stderr as one line naming the
field and the value, with a stable exit code (see ``crm_tui.errors``); nothing is written on error, and
no traceback reaches the user (``CRM_TUI_DEBUG=1`` shows one). This module must never import Textual
or plotext, so scripts start fast: the TUI is imported only when it is opened.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata

from . import __version__, config
from .errors import CrmError, ValidationError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# ------------------------------------------------------------------------------------------------
# output helpers


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 0 if unicodedata.combining(c) else 1
               for c in text)


def _clip(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out, used = "", 0
    for c in text:
        w = _width(c)
        if used + w > limit - 1:
            break
        out += c
        used += w
    return out + "…"


def print_table(headers: list[str], rows: list[list], *, max_col: int = 40) -> None:
    cells = [[_clip(" ".join(str(v if v is not None else "").split()), max_col) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths)).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print(line(r))


def _one_line(text) -> str:
    """An error message on one line (driver messages may span several)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _plain(value) -> str:
    """A JSON field value as one line of text."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "error" in value:
            return value["error"]
        return str(value.get("title") or value.get("name") or value.get("id"))
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ------------------------------------------------------------------------------------------------
# session: database + acting user


class Session:
    """The open database and the acting user for one command."""

    def __init__(self, args, *, create_user: bool = False):
        from .db import open_database

        self.url = config.database_url(getattr(args, "db", None))
        open_database(self.url)
        self.user_name = config.acting_user_name(getattr(args, "user", None))
        from .domain.actors import has_users, resolve_actor

        if create_user and not has_users():
            from .domain.actors import add_user

            add_user(self.user_name, is_admin=True)
        self.actor = resolve_actor(self.user_name)


def _parse_assignments(pairs: list[str], what: str = "FIELD=VALUE") -> dict:
    out: dict[str, str] = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise ValidationError("argument", pair, f"expected {what}")
        name, value = pair.split("=", 1)
        if not name.strip():
            raise ValidationError("argument", pair, f"expected {what} with a field name")
        out[name.strip()] = value
    return out


PSEUDO = {"assignee": "assignee", "due date": "due_date", "due_date": "due_date", "due": "due_date",
          "description": "description", "title": "title"}


def _split_pseudo(values: dict) -> tuple[dict, dict]:
    fields, builtins = {}, {}
    for name, value in values.items():
        key = PSEUDO.get(name.strip().casefold())
        if key:
            builtins[key] = value
        else:
            fields[name] = value
    return fields, builtins


def _record_id(text: str) -> int:
    t = str(text).strip().lstrip("#")
    if not t.isdigit():
        raise ValidationError("record id", str(text), "expected a record id like 12")
    return int(t)


# ------------------------------------------------------------------------------------------------
# commands


def cmd_tui(args) -> int:
    session = Session(args)
    from .tui.app import run_tui  # imported only here: the CLI stays free of Textual

    return run_tui(session.url, session.actor.name, theme=getattr(args, "theme", None),
                   low_bandwidth=getattr(args, "low_bandwidth", None)) or 0


def cmd_init(args) -> int:
    from .domain.template import install_sales_crm

    if args.template and args.template != "sales-crm":  # refused before anything is written
        raise ValidationError("--template", args.template, "the available template is sales-crm")
    session = Session(args, create_user=True)
    added: list[str] = []
    if args.template:
        added = install_sales_crm(session.actor)
    if args.json:
        print_json({"database": session.url, "user": session.actor.name, "added": added})
    else:
        print(f"database: {session.url}")
        print(f"user: {session.actor.name}" + (" (admin)" if session.actor.is_admin else ""))
        if args.template:
            print(f"template sales-crm: {len(added)} items added" if added else
                  "template sales-crm: already installed, nothing added")
    return 0


def cmd_demo(args) -> int:
    from pathlib import Path

    from .db import close_database, open_database
    from .domain.actors import actor_for, ensure_user
    from .domain.demo import build_demo

    explicit = getattr(args, "db", None) or os.environ.get("CRM_TUI_DB")
    url = explicit or f"sqlite:///{config.user_data_dir() / 'demo.db'}"
    if not explicit:  # the default demo database is rebuilt every time: same seed, same data
        path = config.user_data_dir() / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    open_database(url)
    user_name = config.acting_user_name(getattr(args, "user", None))
    actor = actor_for(ensure_user(user_name, is_admin=True))
    if not actor.is_admin:
        from .db.models import User

        User.update(is_admin=True).where(User.id == actor.id).execute()
        actor = actor_for(User.get_by_id(actor.id))

    def progress(done, total):
        pass

    counts = build_demo(actor, size=args.size, seed=args.seed, progress=progress)
    if args.no_tui:
        if args.json:
            print_json({"database": url, "user": actor.name, **counts})
        else:
            print(f"demo database: {url}")
            print(", ".join(f"{v} {k}" for k, v in counts.items()))
            print(f"open it with: crm-tui --db {url}")
        return 0
    close_database()
    from .tui.app import run_tui

    return run_tui(url, actor.name, theme=getattr(args, "theme", None),
                   low_bandwidth=getattr(args, "low_bandwidth", None)) or 0


def cmd_projects(args) -> int:
    from .domain.project_schema import load_schema
    from .domain.projects import projects_summary

    Session(args)
    items = projects_summary()
    for item in items:
        schema = load_schema(item["id"])
        item["lists"] = [{"name": l.name, "probability": l.probability, "kind": l.kind} for l in schema.lists]
    if args.json:
        print_json(items)
    else:
        print_table(["id", "project", "records", "lists"],
                    [[p["id"], p["name"], p["records"], ", ".join(l["name"] for l in p["lists"])] for p in items],
                    max_col=60)
    return 0


def cmd_project_add(args) -> int:
    from .domain.projects import add_project

    session = Session(args)
    project = add_project(session.actor, args.name)
    if args.json:
        print_json({"id": project.id, "name": project.name})
    else:
        print(f"project {project.name} added (#{project.id})")
    return 0


def cmd_list_add(args) -> int:
    from .domain.projects import add_list

    session = Session(args)
    lst = add_list(session.actor, args.project, args.name, probability=args.probability, kind=args.kind,
                   aging_days=args.aging_days)
    if args.json:
        print_json({"id": lst.id, "name": lst.name, "probability": lst.probability, "kind": lst.kind})
    else:
        print(f"list {lst.name} added to {args.project} ({lst.probability}%, {lst.kind})")
    return 0


def cmd_lists(args) -> int:
    from .domain.project_schema import load_schema

    Session(args)
    schema = load_schema(args.project)
    items = [{"id": l.id, "name": l.name, "position": l.position, "probability": l.probability,
              "kind": l.kind, "aging_days": l.aging_days} for l in schema.lists]
    if args.json:
        print_json(items)
    else:
        print_table(["id", "list", "probability", "kind", "aging days"],
                    [[i["id"], i["name"], f"{i['probability']}%", i["kind"], i["aging_days"]] for i in items])
    return 0


def cmd_field_add(args) -> int:
    from .domain.projects import add_field

    session = Session(args)
    fdef = add_field(session.actor, args.project, args.name, args.type, options=args.option or (),
                     multiple=args.multiple, currency=args.currency, max_rating=args.max, target=args.target,
                     via=args.via, of=args.of, formula=args.formula)
    if args.json:
        print_json(_field_json(fdef))
    else:
        print(f"field {fdef.name} ({fdef.type}) added to {args.project}")
    return 0


def _field_json(fdef) -> dict:
    from .db.models import Field, Project

    cfg = fdef.config
    item = {"id": fdef.id, "name": fdef.name, "type": fdef.type, "position": fdef.position, "hidden": fdef.hidden}
    for key in ("options", "currency", "max", "multiple", "formula"):
        if key in cfg:
            item[key] = cfg[key]
    if "target" in cfg:
        project = Project.get_or_none(Project.id == cfg["target"])
        item["target"] = project.name if project else None
    if fdef.type == "lookup":
        via = Field.get_or_none(Field.id == cfg["via"])
        of = cfg["of"] if cfg["of"] == "title" else getattr(Field.get_or_none(Field.id == cfg["of"]), "name", None)
        item["via"] = via.name if via else None
        item["of"] = of
    if fdef.type == "formula":
        item["result"] = cfg.get("result_kind")
    return item


def cmd_fields(args) -> int:
    from .domain.project_schema import load_schema
    from .domain.record_views import visible_fields

    session = Session(args)
    schema = load_schema(args.project)
    items = [_field_json(f) for f in visible_fields(session.actor, schema)]
    if args.json:
        print_json(items)
    else:
        def detail(i):
            if i["type"] in ("dropdown", "multi_select"):
                return ", ".join(i.get("options", []))
            if i["type"] == "currency":
                return i.get("currency", "")
            if i["type"] == "rating":
                return f"max {i.get('max', 5)}"
            if i["type"] == "reference":
                return f"→ {i.get('target')}" + (" (multiple)" if i.get("multiple") else "")
            if i["type"] == "lookup":
                return f"{i.get('via')} → {i.get('of')}"
            if i["type"] == "formula":
                return i.get("formula", "")
            return ""

        print_table(["id", "field", "type", "details"], [[i["id"], i["name"], i["type"], detail(i)] for i in items],
                    max_col=60)
    return 0


def cmd_record_add(args) -> int:
    from .domain.record_views import show_record
    from .domain.records import create_record

    session = Session(args)
    values, builtins = _split_pseudo(_parse_assignments(args.set))
    if "title" in builtins:  # it would be silently dropped: the title is the TITLE argument
        raise ValidationError("title", builtins["title"], "give the title as the TITLE argument, not --set")
    rid = create_record(session.actor, args.project, args.title, list_name=args.list, tags=args.tag or (),
                        values=values, assignee=builtins.get("assignee", args.assignee),
                        due_date=builtins.get("due_date", args.due),
                        description=builtins.get("description", args.description) or "",
                        date_order=args.date_order)
    if args.json:
        print_json(show_record(session.actor, rid))
    else:
        print(rid)
    return 0


def cmd_record_set(args) -> int:
    from .domain.record_views import show_record
    from .domain.records import _UNSET, update_record

    session = Session(args)
    values, builtins = _split_pseudo(_parse_assignments(args.assignments))
    title = args.title if args.title is not None else builtins.get("title")
    version = update_record(session.actor, _record_id(args.id), title=title, values=values,
                            description=builtins.get("description"),
                            due_date=builtins.get("due_date", _UNSET), assignee=builtins.get("assignee", _UNSET),
                            expect_version=args.expect_version, date_order=args.date_order)
    if args.json:
        print_json(show_record(session.actor, _record_id(args.id)))
    else:
        print(f"record #{_record_id(args.id)} is at version {version}")
    return 0


def cmd_record_move(args) -> int:
    from .domain.records import move_record

    session = Session(args)
    version = move_record(session.actor, _record_id(args.id), args.list, expect_version=args.expect_version)
    if args.json:
        print_json({"id": _record_id(args.id), "list": args.list, "version": version})
    else:
        print(f"record #{_record_id(args.id)} moved to {args.list}")
    return 0


def cmd_record_tag(args) -> int:
    from .domain.records import tag_record, untag_record

    session = Session(args)
    fn = tag_record if args.command_name == "tag" else untag_record
    changed = fn(session.actor, _record_id(args.id), args.tags)
    if args.json:
        print_json({"id": _record_id(args.id), ("added" if args.command_name == "tag" else "removed"): changed})
    else:
        verb = "tagged" if args.command_name == "tag" else "untagged"
        print(f"record #{_record_id(args.id)} {verb}: {', '.join(changed) if changed else 'no change'}")
    return 0


def cmd_record_delete(args) -> int:
    from .domain.records import archive_record, restore_record

    session = Session(args)
    rid = _record_id(args.id)
    if args.command_name == "delete":
        archive_record(session.actor, rid, expect_version=args.expect_version)
        print(f"record #{rid} deleted (archived; `crm-tui record restore {rid}` brings it back)")
    else:
        restore_record(session.actor, rid)
        print(f"record #{rid} restored")
    return 0


def cmd_record_show(args) -> int:
    from .domain.record_views import show_record

    session = Session(args)
    item = show_record(session.actor, _record_id(args.id), with_display=not args.json)
    if args.json:
        print_json(item)
        return 0
    print(f"#{item['id']}  {item['title']}")
    print(f"project: {item['project']}   list: {item['list'] or '-'}   version: {item['version']}"
          + ("   (deleted)" if item["archived"] else ""))
    if item["tags"]:
        print(f"tags: {', '.join(item['tags'])}")
    if item.get("assignee"):
        print(f"assignee: {item['assignee']}")
    if item.get("due_date"):
        print(f"due: {item['due_date']}")
    width = max([len(k) for k in item["fields"]] + [4])
    for name, value in item["fields"].items():
        text = item["display"].get(name, _plain(value))
        lines = text.splitlines() or [""]
        print(f"  {name:<{width}}  {lines[0]}")
        for extra in lines[1:]:
            print(f"  {'':<{width}}  {extra}")
    if item.get("description"):
        print("description:")
        for line in item["description"].splitlines():
            print(f"  {line}")
    if item["referenced_by"]:
        print("referenced by:")
        for ref in item["referenced_by"]:
            print(f"  #{ref['id']}  {ref['title']}  ({ref['project']} · {ref['field']})")
    return 0


def cmd_record_history(args) -> int:
    from .domain.events import history
    from .domain.records import record_schema

    session = Session(args)
    rid = _record_id(args.id)
    record_schema(rid)  # NotFoundError for an unknown id
    items = [{k: e[k] for k in ("at", "user", "kind", "field", "old", "new")} for e in history(rid, session.actor)]
    if args.json:
        print_json(items)
    else:
        print_table(["at", "user", "kind", "field", "old", "new"],
                    [[e["at"], e["user"] or "", e["kind"], e["field"] or "", _plain(e["old"]),
                      _plain(e["new"]) if not isinstance(e["new"], dict) or "title" not in e["new"]
                      else e["new"]["title"]] for e in items])
    return 0


def cmd_records(args) -> int:
    from .domain.record_views import list_records

    session = Session(args)
    extra = [c.strip() for c in (args.columns or "").split(",") if c.strip()]
    if extra:
        from .domain.project_schema import load_schema
        from .domain.record_views import visible_fields

        schema = load_schema(args.project)
        seen = schema.restricted_to(visible_fields(session.actor, schema))
        extra = [c if c in ("assignee", "due_date", "description") else seen.field(c).name for c in extra]
    items = list_records(session.actor, args.project, list_name=args.list, tag=args.tag, search=args.search,
                         include_archived=args.archived, limit=args.limit)
    if args.json:
        print_json(items)
        return 0
    headers = ["id", "title", "list", "tags"] + extra
    rows = [[i["id"], i["title"], i["list"] or "", ", ".join(i["tags"])] +
            [_plain(i["fields"].get(c, i.get(c))) for c in extra] for i in items]
    print_table(headers, rows)
    return 0


def cmd_user_add(args) -> int:
    from .domain.actors import add_user

    session = Session(args)
    role = (args.role or "").strip()
    if role and role.casefold() != "admin":
        from .domain.permissions import check_role_exists

        check_role_exists(role)
    user = add_user(args.name, email=args.email or "", display_name=args.display_name or "",
                    is_admin=role.casefold() == "admin", by=session.actor)
    if role and role.casefold() != "admin":
        from .domain.permissions import set_role_everywhere

        set_role_everywhere(session.actor, user.name, role)
    if args.json:
        print_json({"id": user.id, "name": user.name, "email": user.email, "admin": user.is_admin})
    else:
        print(f"user {user.name} added" + (" (admin)" if user.is_admin else ""))
    return 0


def cmd_user_set_role(args) -> int:
    from .domain.permissions import set_user_role

    session = Session(args)
    set_user_role(session.actor, args.name, args.project, args.role)
    print(f"{args.name} is {args.role} in {args.project}")
    return 0


def cmd_user_list(args) -> int:
    from .db.models import User

    Session(args)
    items = [{"id": u.id, "name": u.name, "display_name": u.display_name, "email": u.email, "active": u.active,
              "admin": u.is_admin} for u in User.select().order_by(User.name)]
    if args.json:
        print_json(items)
    else:
        print_table(["id", "user", "name", "email", "admin"],
                    [[u["id"], u["name"], u["display_name"], u["email"], "yes" if u["admin"] else ""] for u in items])
    return 0


def cmd_recompute(args) -> int:
    from .db.connection import run_write
    from .domain.computed import recompute_all

    session = Session(args)
    if not session.actor.is_admin:
        from .errors import PermissionDenied

        raise PermissionDenied("only an admin can recompute formulas and lookups")
    run_write(recompute_all)
    print("formulas and lookups recomputed")
    return 0


# ------------------------------------------------------------------------------------------------
# parser


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit code 2 (no traceback)."""

    def error(self, message):
        # One line (no multi-line usage block) so scripts can log it; ``--help`` shows the usage.
        raise SystemExit(f"crm-tui: error: {_one_line(message)} (see `{self.prog} --help`)")


def _common(p: argparse.ArgumentParser, json_flag: bool = True) -> None:
    # Global options also work after the sub-command (SUPPRESS keeps the earlier value).
    p.add_argument("--db", default=argparse.SUPPRESS, metavar="URL",
                   help="database URL: sqlite:///path or postgresql://user@host/db (env CRM_TUI_DB)")
    p.add_argument("--user", default=argparse.SUPPRESS, metavar="NAME", help="act as this user (env CRM_TUI_USER)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON")


class _Skipped:
    """Stands in for the parser of a sub-command that is not the one being run: every call is a no-op.

    Building all ~60 sub-parsers costs ~25 ms (argparse looks up translations and the terminal size
    for each); a command only needs its own, so the others are registered against this."""

    def __getattr__(self, name):
        return self._ignore

    def _ignore(self, *args, **kwargs):
        return self


class _OnlyCommand:
    """The sub-parsers object, passing through only ``add_parser(only)`` (see ``_Skipped``)."""

    def __init__(self, sub, only: str) -> None:
        self._sub, self._only = sub, only

    def add_parser(self, name, **kwargs):
        return self._sub.add_parser(name, **kwargs) if name == self._only else _Skipped()


GLOBAL_VALUE_OPTIONS = ("--db", "--user", "--theme")
GLOBAL_FLAGS = ("--low-bandwidth",)
BUILD_ALL = object()


def command_word(argv: list[str]) -> object:
    """The sub-command named in ``argv`` (``None``: none, the app), or ``BUILD_ALL`` when the whole
    parser is needed: help, version, or an option before the command that only it can judge."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if word in GLOBAL_FLAGS:
            i += 1
            continue
        if word.startswith("-"):
            if word.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS and "=" in word:
                i += 1
                continue
            return BUILD_ALL
        return word
    return None


def build_parser(only: object = BUILD_ALL) -> argparse.ArgumentParser:
    """The ``crm-tui`` parser. ``only``: a sub-command name, to build just that one's arguments
    (``None``: none, for the app); the default builds everything (help lists every command)."""
    parser = Parser(prog="crm-tui", description="A sales CRM in the terminal. Without a command, opens the app.")
    parser.add_argument("--version", action="version", version=f"crm-tui {__version__}")
    parser.add_argument("--db", metavar="URL", help="database URL (env CRM_TUI_DB); default: a file in your data dir")
    parser.add_argument("--user", metavar="NAME", help="act as this user (env CRM_TUI_USER; default: OS login)")
    parser.add_argument("--theme", metavar="NAME", help="TUI theme (dark, light, high-contrast, ansi16, …)")
    parser.add_argument("--low-bandwidth", action="store_true", default=None,
                        help="TUI for a slow link: fewer frames, slower polls, no mouse-motion reports "
                             "(env CRM_TUI_LOW_BANDWIDTH=1; default: the choice saved from the palette)")
    parser.set_defaults(func=cmd_tui)
    if only is None:
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    if only is not BUILD_ALL:
        sub = _OnlyCommand(sub, only)

    p = sub.add_parser("init", help="create the database (and the Sales CRM template)")
    _common(p)
    p.add_argument("--template", metavar="NAME", help="sales-crm")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="a database with the template and realistic data, then open the app")
    _common(p)
    p.add_argument("--no-tui", action="store_true", help="build the data and exit")
    p.add_argument("--size", type=int, default=300, help="number of opportunities (default 300)")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    p.add_argument("--theme", metavar="NAME", default=argparse.SUPPRESS)
    p.add_argument("--low-bandwidth", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("projects", help="list projects")
    _common(p)
    p.set_defaults(func=cmd_projects)

    p = sub.add_parser("project", help="manage projects")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = psub.add_parser("add", help="add a project")
    _common(q)
    q.add_argument("name")
    q.set_defaults(func=cmd_project_add)

    p = sub.add_parser("list", help="manage a project's lists (stages)")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = psub.add_parser("add", help="add a list")
    _common(q)
    q.add_argument("project")
    q.add_argument("name")
    q.add_argument("--probability", default=0, metavar="P", help="win probability 0–100")
    q.add_argument("--kind", default="open", choices=["open", "won", "lost", "closed"])
    q.add_argument("--aging-days", type=int, default=14, metavar="N", help="days before a card is marked aging")
    q.set_defaults(func=cmd_list_add)

    p = sub.add_parser("lists", help="a project's lists")
    _common(p)
    p.add_argument("project")
    p.set_defaults(func=cmd_lists)

    p = sub.add_parser("field", help="manage custom fields")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = psub.add_parser("add", help="add a custom field")
    _common(q)
    q.add_argument("project")
    q.add_argument("name")
    q.add_argument("type", help="text long_text number percent currency email phone url address date checkbox "
                                "dropdown multi_select rating file formula reference lookup")
    q.add_argument("--option", action="append", metavar="X", help="a dropdown / multi-select option (repeat)")
    q.add_argument("--multiple", action="store_true", help="reference or file: several values")
    q.add_argument("--currency", metavar="CODE", help="currency: ISO code (default USD)")
    q.add_argument("--max", metavar="N", help="rating: number of stars (default 5)")
    q.add_argument("--target", metavar="PROJECT", help="reference: the referenced project")
    q.add_argument("--via", metavar="REFERENCE_FIELD", help="lookup: the reference field to go through")
    q.add_argument("--of", metavar="FIELD", help="lookup: the field of the referenced record (or title)")
    q.add_argument("--formula", metavar="EXPR", help="formula: e.g. \"{Amount} - {Cost}\"")
    q.set_defaults(func=cmd_field_add)

    p = sub.add_parser("fields", help="a project's custom fields")
    _common(p)
    p.add_argument("project")
    p.set_defaults(func=cmd_fields)

    p = sub.add_parser("record", help="create, change and show records")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = psub.add_parser("add", help="add a record")
    _common(q)
    q.add_argument("project")
    q.add_argument("title")
    q.add_argument("--list", metavar="L")
    q.add_argument("--tag", action="append", metavar="T")
    q.add_argument("--set", action="append", metavar="FIELD=VALUE")
    q.add_argument("--assignee", metavar="USER")
    q.add_argument("--due", metavar="DATE")
    q.add_argument("--description", metavar="TEXT")
    q.add_argument("--date-order", default="YMD", choices=["DMY", "MDY", "YMD"])
    q.set_defaults(func=cmd_record_add)

    q = psub.add_parser("set", help="change a record: FIELD=VALUE (also assignee=, due=, description=)")
    _common(q)
    q.add_argument("id")
    q.add_argument("assignments", nargs="*", metavar="FIELD=VALUE")
    q.add_argument("--title", metavar="T")
    q.add_argument("--expect-version", type=int, metavar="N", help="refuse if the record is no longer at version N")
    q.add_argument("--date-order", default="YMD", choices=["DMY", "MDY", "YMD"])
    q.set_defaults(func=cmd_record_set)

    q = psub.add_parser("move", help="move a record to another list")
    _common(q)
    q.add_argument("id")
    q.add_argument("list")
    q.add_argument("--expect-version", type=int, metavar="N")
    q.set_defaults(func=cmd_record_move)

    for name in ("tag", "untag"):
        q = psub.add_parser(name, help=f"{name} a record")
        _common(q)
        q.add_argument("id")
        q.add_argument("tags", nargs="+", metavar="TAG")
        q.set_defaults(func=cmd_record_tag, command_name=name)

    for name in ("delete", "restore"):
        q = psub.add_parser(name, help="archive a record" if name == "delete" else "bring an archived record back")
        _common(q, json_flag=False)
        q.add_argument("id")
        if name == "delete":
            q.add_argument("--expect-version", type=int, metavar="N")
        q.set_defaults(func=cmd_record_delete, command_name=name)

    q = psub.add_parser("show", help="show a record with lookups, formulas and referenced-by")
    _common(q)
    q.add_argument("id")
    q.set_defaults(func=cmd_record_show)

    q = psub.add_parser("history", help="a record's activity log")
    _common(q)
    q.add_argument("id")
    q.set_defaults(func=cmd_record_history)

    p = sub.add_parser("records", help="list a project's records")
    _common(p)
    p.add_argument("project")
    p.add_argument("--list", metavar="L")
    p.add_argument("--tag", action="append", metavar="T")
    p.add_argument("--search", metavar="TEXT", help="text in the title or any text field")
    p.add_argument("--archived", action="store_true", help="include deleted (archived) records")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--columns", metavar="F1,F2", help="extra columns in the table output")
    p.set_defaults(func=cmd_records)

    p = sub.add_parser("user", help="manage users")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = psub.add_parser("add", help="add a user (admins only)")
    _common(q)
    q.add_argument("name")
    q.add_argument("--email", metavar="E")
    q.add_argument("--display-name", metavar="NAME")
    q.add_argument("--role", metavar="R", help="admin, or a role name")
    q.set_defaults(func=cmd_user_add)
    q = psub.add_parser("list", help="list users")
    _common(q)
    q.set_defaults(func=cmd_user_list)
    q = psub.add_parser("set-role", help="give a user a role in a project (admins only)")
    _common(q, json_flag=False)
    q.add_argument("name")
    q.add_argument("project")
    q.add_argument("role")
    q.set_defaults(func=cmd_user_set_role)

    p = sub.add_parser("recompute", help="rebuild every lookup and formula (repair)")
    _common(p, json_flag=False)
    p.set_defaults(func=cmd_recompute)

    from .cli_ext import register_all

    register_all(sub, _common)
    if only is not BUILD_ALL and only not in sub._sub.choices:
        return build_parser()  # an unknown command: the full parser names the ones there are
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crm-tui`` console script; returns the exit code."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(command_word(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        return exc.code or 0
    try:
        return args.func(args) or 0
    except CrmError as exc:
        print(f"crm-tui: {_one_line(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("crm-tui: interrupted; the change in progress was not written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback for users
        if os.environ.get("CRM_TUI_DEBUG"):
            raise
        kind = type(exc).__name__
        print(f"crm-tui: unexpected error ({kind}): {_one_line(exc)}. Set CRM_TUI_DEBUG=1 for details.",
              file=sys.stderr)
        return 1
    finally:
        try:
            from .db import close_database

            close_database()
        except Exception:
            pass


if __name__ == "__main__":
    sys.exit(main())

"""CLI of automations: rules, their run log, notifications, reminders and the standalone worker.

    crm-tui automation add Opportunities --file share-leads.toml
    crm-tui automation enable Opportunities "Share new leads"
    crm-tui worker --interval 30          # or --once --now 2026-07-01T09:00 in scripts and tests

Only the standard library is imported here; the domain is imported inside each command.
"""

from __future__ import annotations

import argparse
import sys


def _session(args):
    from ..cli import Session

    return Session(args)


def _iso_now(text: str | None):
    if not text:
        return None
    import datetime as dt

    from ..errors import ValidationError

    raw = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError("--now", text, "expected an ISO time like 2026-07-01T09:00 (UTC) or "
                              "2026-07-01T09:00+02:00") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


# ------------------------------------------------------------------------------------------------
# automation …


def cmd_list(args) -> int:
    from ..cli import print_json, print_table
    from ..domain.automations.rules import describe_trigger, list_rules

    _session(args)
    items = list_rules(args.project)
    if args.json:
        print_json(items)
    else:
        print_table(["name", "enabled", "trigger", "actions", "runs", "errors", "last run"],
                    [[i["name"], "yes" if i["enabled"] else "no", describe_trigger(i["trigger"]),
                      ", ".join(a["type"] for a in i["actions"]), i["runs"], i["errors"], i["last_run"] or ""]
                     for i in items], max_col=50)
    return 0


def cmd_add(args) -> int:
    from ..cli import print_json
    from ..domain.automations.rules import add_rule, list_rules
    from ..errors import ValidationError

    session = _session(args)
    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except OSError as exc:
        raise ValidationError("--file", args.file, f"cannot be read ({exc.strerror})") from None
    rule = add_rule(session.actor, args.project, text, replace=args.replace)
    if args.json:
        print_json(next(i for i in list_rules(args.project) if i["id"] == rule.id))
    else:
        print(f"automation {rule.name!r} {'replaced' if args.replace else 'added'} in {args.project}"
              + (" (enabled)" if rule.enabled else " (disabled: `crm-tui automation enable` turns it on)"))
    return 0


def cmd_enable(args) -> int:
    from ..domain.automations.rules import set_enabled

    session = _session(args)
    enabled = args.command_name == "enable"
    rule = set_enabled(session.actor, args.project, args.name, enabled)
    print(f"automation {rule.name!r} {'enabled' if enabled else 'disabled'}")
    return 0


def cmd_show(args) -> int:
    from ..cli import print_json
    from ..domain.automations.rules import get_rule, rule_spec, to_toml

    _session(args)
    spec = rule_spec(get_rule(args.project, args.name))
    if args.json:
        print_json(spec)
    else:
        sys.stdout.write(to_toml(spec))
    return 0


def cmd_delete(args) -> int:
    from ..domain.automations.rules import delete_rule

    session = _session(args)
    delete_rule(session.actor, args.project, args.name)
    print(f"automation {args.name!r} deleted")
    return 0


def cmd_runs(args) -> int:
    from ..cli import print_json, print_table
    from ..domain.automations.rules import list_runs

    _session(args)
    items = list_runs(args.project, rule_name=args.rule, limit=args.limit)
    if args.json:
        print_json(items)
    else:
        def email(item):
            parts = [f"{e['to']}: {e['status']}" + (f" ({e['error']})" if e["error"] else "") for e in item["emails"]]
            return "; ".join(parts)

        print_table(["id", "at", "rule", "record", "status", "message", "email"],
                    [[i["id"], i["at"], i["rule"], i["record_id"] or "", i["status"], i["message"], email(i)]
                     for i in items], max_col=60)
    return 0


# ------------------------------------------------------------------------------------------------
# notifications, reminders


def cmd_notifications(args) -> int:
    from ..cli import print_json, print_table
    from ..domain.automations.notify import mark_read, notifications_for

    session = _session(args)
    if args.read_all or args.read:
        count = mark_read(session.actor.id, None if args.read_all else args.read)
        if not args.json:
            print(f"{count} notification(s) marked read")
            return 0
    items = notifications_for(session.actor.id, unread_only=not args.all, limit=args.limit)
    if args.json:
        print_json(items)
    else:
        print_table(["id", "at", "record", "message", "read"],
                    [[i["id"], i["at"], i["record_id"] or "", i["message"], "yes" if i["read"] else ""]
                     for i in items], max_col=70)
    return 0


def cmd_reminders(args) -> int:
    from ..cli import print_json, print_table
    from ..domain.automations.notify import complete_reminder, reminders_for, snooze_reminder

    session = _session(args)
    now = _iso_now(args.now)
    if args.done:
        for rid in args.done:
            complete_reminder(session.actor.id, rid)
    if args.snooze:
        for rid in args.snooze:
            snooze_reminder(session.actor.id, rid, args.days, now=now)
    items = reminders_for(session.actor.id, now=now, include_done=args.all)
    if args.json:
        print_json(items)
    else:
        print_table(["id", "due", "status", "record", "message"],
                    [[i["id"], i["due_at"], i["status"], i["record_id"] or "", i["message"]] for i in items],
                    max_col=70)
    return 0


# ------------------------------------------------------------------------------------------------
# worker


def cmd_worker(args) -> int:
    import datetime as dt
    import logging
    import signal
    import time

    from .. import config
    from ..cli import print_json
    from ..db import close_database, open_database
    from ..domain.automations.engine import tick

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("crm_tui.automations.worker")
    url = config.database_url(getattr(args, "db", None))
    open_database(url)
    fixed_now = _iso_now(args.now)
    started = time.monotonic()
    if args.once:
        result = tick(fixed_now)
        if args.json:
            print_json(result.as_dict())
        else:
            print(result.summary())
        return 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    interval = max(float(args.interval), 0.1)
    log.info("worker started on %s, every %ss", url.split("@")[-1], interval)
    try:
        while not stopping:
            now = fixed_now + dt.timedelta(seconds=time.monotonic() - started) if fixed_now else None
            try:
                result = tick(now)
                if result.events or result.fired or result.errors or result.loops_stopped or result.reminders \
                        or any(result.emails.values()):
                    log.info("%s", result.summary())
            except Exception as exc:  # noqa: BLE001 - the worker outlives a lost connection
                log.error("tick failed: %s: %s; retrying in %ss", type(exc).__name__, exc, interval)
                try:
                    close_database()
                    open_database(url, create=False)
                except Exception as again:  # noqa: BLE001
                    log.error("reconnect failed: %s", again)
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
    except KeyboardInterrupt:
        pass
    log.info("worker stopped")
    return 0


# ------------------------------------------------------------------------------------------------
# parser


def register(sub, common) -> None:
    p = sub.add_parser("automation", help="automation rules: list, add, enable, disable, runs")
    asub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))

    q = asub.add_parser("list", help="a project's automations with their last run and error count")
    common(q)
    q.add_argument("project")
    q.set_defaults(func=cmd_list)

    q = asub.add_parser("add", help="add a rule from a TOML file (docs/automations.md)")
    common(q)
    q.add_argument("project")
    q.add_argument("--file", required=True, metavar="RULE.toml", help="the rule; - reads stdin")
    q.add_argument("--replace", action="store_true", help="overwrite the rule of the same name")
    q.set_defaults(func=cmd_add)

    for name in ("enable", "disable"):
        q = asub.add_parser(name, help=f"{name} a rule")
        common(q, json_flag=False)
        q.add_argument("project")
        q.add_argument("name")
        q.set_defaults(func=cmd_enable, command_name=name)

    q = asub.add_parser("show", help="print a rule as TOML (edit it, then add --replace)")
    common(q)
    q.add_argument("project")
    q.add_argument("name")
    q.set_defaults(func=cmd_show)

    q = asub.add_parser("delete", help="delete a rule and its run log")
    common(q, json_flag=False)
    q.add_argument("project")
    q.add_argument("name")
    q.set_defaults(func=cmd_delete)

    q = asub.add_parser("runs", help="the run log: firings, errors, loop stops, email status")
    common(q)
    q.add_argument("project")
    q.add_argument("--rule", metavar="NAME")
    q.add_argument("--limit", type=int, default=100, metavar="N")
    q.set_defaults(func=cmd_runs)

    p = sub.add_parser("notifications", help="your notifications (unread unless --all)")
    common(p)
    p.add_argument("--all", action="store_true", help="read ones too")
    p.add_argument("--read", type=int, action="append", metavar="ID", help="mark one read (repeat)")
    p.add_argument("--read-all", action="store_true", help="mark all read")
    p.add_argument("--limit", type=int, default=200, metavar="N")
    p.set_defaults(func=cmd_notifications)

    p = sub.add_parser("reminders", help="your open reminders: overdue, today, upcoming")
    common(p)
    p.add_argument("--all", action="store_true", help="done ones too")
    p.add_argument("--done", type=int, action="append", metavar="ID", help="mark one done (repeat)")
    p.add_argument("--snooze", type=int, action="append", metavar="ID", help="move one later (repeat)")
    p.add_argument("--days", type=int, default=1, metavar="N", help="snooze by N days (default 1)")
    p.add_argument("--now", metavar="ISO-TIME", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_reminders)

    p = sub.add_parser("worker", help="run automations: every --interval seconds, or --once")
    common(p)
    p.add_argument("--interval", type=float, default=30, metavar="S", help="seconds between ticks (default 30)")
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.add_argument("--now", metavar="ISO-TIME", help="the clock for time triggers (UTC unless an offset is given)")
    p.set_defaults(func=cmd_worker)

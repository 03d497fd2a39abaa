"""``crm-tui report`` and ``crm-tui dashboard list|show|share``: figures for scripts and cron mail.

    crm-tui report Opportunities --measure sum:Amount --by month:won --from 2026-01-01 --json
    crm-tui dashboard show Sales | mail -s "Sales this morning" team@example.com

Only the standard library is imported at the top; the domain (and plotext, for bar charts in
``dashboard show``) is imported inside the command functions.
"""

from __future__ import annotations

import argparse


def _spec_from_args(args):
    from ..domain.metrics import MetricSpec, parse_date, parse_group, parse_measure, split_projects

    measure, field = parse_measure(args.measure)
    grouping = parse_group(args.by)
    return MetricSpec(
        projects=split_projects(args.projects),
        measure=measure,
        field=field,
        lists=args.list or [],
        kinds=args.kind or [],
        tags=args.tag or [],
        assignee=args.assignee,
        date_from=parse_date(args.date_from, "--from") if args.date_from else None,
        date_to=parse_date(args.date_to, "--to") if args.date_to else None,
        timeframe=args.timeframe,
        **grouping,
    )


def cmd_report(args) -> int:
    from ..cli import Session, print_json, print_table
    from ..domain.metrics import compute_metric, format_number

    session = Session(args)
    spec = _spec_from_args(args)
    result = compute_metric(session.actor, spec)
    if args.json:
        print_json(result.to_json())
        return 0
    if result.no_access:
        print("no access: this report reads a field you may not see")
        return 0
    if spec.group == "none":
        print(format_number(result.total))
        return 0
    rows = [["(none)" if k is None else k, format_number(v)] for k, v in result.rows]
    print_table([spec.group if spec.group != "field" else spec.group_field, "value"],
                rows + [["total", format_number(result.total)]], max_col=60)
    if result.overlapping:
        print("(slices overlap: a record with several tags or options counts in each; "
              "the total counts every record once)")
    return 0


def cmd_dashboard_list(args) -> int:
    from ..cli import Session, print_json, print_table
    from ..domain.dashboards import list_dashboards

    session = Session(args)
    items = list_dashboards(session.actor)
    if args.json:
        print_json(items)
    else:
        print_table(["dashboard", "owner", "access", "widgets"],
                    [[d["name"], d["owner"] or "(workspace)", d["access"], d["widgets"]] for d in items])
    return 0


def _json_widget(widget: dict) -> dict:
    keep = ("title", "kind", "value", "rows", "total", "change", "change_unit", "previous", "compared_with",
            "overlapping", "no_access", "error", "format")
    return {k: widget[k] for k in keep if k in widget}


def cmd_dashboard_show(args) -> int:
    import datetime as dt
    import shutil

    from ..cli import Session, print_json
    from ..domain.dashboards import compute_dashboard

    session = Session(args)
    board = compute_dashboard(session.actor, args.name)
    if args.json:
        print_json({"name": board["name"], "widgets": [_json_widget(w) for w in board["widgets"]]})
        return 0
    from ..charts import render  # plotext is imported by charts only when a bar is drawn

    width = min(100, max(40, args.width or shutil.get_terminal_size((80, 24)).columns - 2))
    heading = f"{board['name']} · {dt.date.today().isoformat()}"
    print(heading)
    print("=" * len(heading))
    stats = [w for w in board["widgets"] if w["kind"] == "stat"]
    for widget in stats:
        print(render(widget))
    for widget in board["widgets"]:
        if widget["kind"] == "stat":
            continue
        print()
        print(render(widget, width=width))
    return 0


def cmd_dashboard_share(args) -> int:
    from ..cli import Session
    from ..domain.dashboards import share_dashboard, unshare_dashboard

    session = Session(args)
    if args.remove:
        unshare_dashboard(session.actor, args.name, args.user_name)
        print(f"dashboard {args.name} is no longer shared with {args.user_name}")
    else:
        access = "edit" if args.edit else "view"
        share_dashboard(session.actor, args.name, args.user_name, access)
        print(f"dashboard {args.name} shared with {args.user_name} ({access})")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("report", help="one figure, or figures by list, tag, assignee, option or period",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Examples:\n"
                                   "  crm-tui report Opportunities --measure sum:Amount --by month:won\n"
                                   "  crm-tui report Opportunities --measure weighted:Amount --kind open\n"
                                   "  crm-tui report A,B --measure count --by tag --tag Website --json")
    common(p)
    p.add_argument("projects", metavar="PROJECT[,PROJECT...]")
    p.add_argument("--measure", required=True, metavar="M",
                   help="count | sum:FIELD | avg:FIELD | min:FIELD | max:FIELD | weighted:FIELD "
                        "(weighted: value × the list's probability)")
    p.add_argument("--by", metavar="G", help="list | tag | assignee | FIELD (a dropdown) | day:F | week:F | "
                                             "month:F | quarter:F, F a date field, created or won")
    p.add_argument("--list", action="append", metavar="NAME", help="only records in this list (repeat)")
    p.add_argument("--kind", action="append", choices=["open", "won", "lost", "closed"],
                   help="only records in lists of this kind (repeat)")
    p.add_argument("--tag", action="append", metavar="NAME", help="only records with this tag (repeat: all of them)")
    p.add_argument("--assignee", metavar="USER", help="only records assigned to this user")
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help="from this day (on the --by date, else the created date)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="up to and including this day")
    p.add_argument("--timeframe", choices=["this_month", "last_3_months", "last_6_months", "last_12_months",
                                           "this_year"], help="a period relative to today")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("dashboard", help="dashboards: list, show (as text for cron mail, or JSON), share")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = psub.add_parser("list", help="the dashboards you can see")
    common(q)
    q.set_defaults(func=cmd_dashboard_list)
    q = psub.add_parser("show", help="every widget of a dashboard, as text or JSON")
    common(q)
    q.add_argument("name")
    q.add_argument("--width", type=int, metavar="N", help="width of the charts (default: the terminal's)")
    q.set_defaults(func=cmd_dashboard_show)
    q = psub.add_parser("share", help="share a dashboard you own with a user (view, or --edit)")
    common(q, json_flag=False)
    q.add_argument("name")
    q.add_argument("user_name", metavar="USER")
    q.add_argument("--edit", action="store_true", help="the user may change the dashboard")
    q.add_argument("--remove", action="store_true", help="stop sharing with the user")
    q.set_defaults(func=cmd_dashboard_share)

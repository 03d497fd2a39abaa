"""``crm-tui import``, ``crm-tui export`` and ``crm-tui form …``: data in and out of a workspace.

    crm-tui import Accounts accounts.csv --map "account=title" --create-options
    crm-tui export Pipeline --list Won --output won.csv --bom
    crm-tui form add Leads "Contact us" --field Email --require Email --list New --tag Website
    crm-tui form serve --port 8080

Only the standard library is imported here; the domain is imported inside the command functions so
every ``crm-tui`` invocation stays fast.
"""

from __future__ import annotations

import argparse
import sys

EXIT_BAD_ROWS = 2  # the same code as a ValidationError: nothing was written


def register(sub, common) -> None:
    p = sub.add_parser("import", help="import records from a CSV file (all or nothing by default)")
    common(p)
    p.add_argument("project")
    p.add_argument("file", help="a CSV file (any common encoding and delimiter), or - for standard input")
    p.add_argument("--map", action="append", default=[], metavar='"CSV column=Field"',
                   help="map a column to a field or to title, list, tags, assignee (repeat); "
                        "\"COLUMN=\" ignores it. Columns named like a field map by themselves")
    p.add_argument("--key", metavar="FIELD", help="update the record with the same FIELD (or title, id) "
                                                  "instead of adding a duplicate")
    p.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    p.add_argument("--skip-bad", action="store_true", help="import the good rows; write the bad ones to --rejects")
    p.add_argument("--rejects", metavar="FILE", help="where --skip-bad writes rejected rows with a reason column "
                                                     "(default: FILE's name + .rejects.csv here)")
    p.add_argument("--create-options", action="store_true", help="add unknown dropdown/multi-select options")
    p.add_argument("--date-order", default="YMD", choices=["DMY", "MDY", "YMD"],
                   help="how to read 05/03/2026 (ISO dates always work)")
    p.add_argument("--files-from", metavar="DIR",
                   help="the folder file (attachment) columns may read from; relative paths are read from "
                        "it too. Default: the CSV's folder. A path leading outside it (.., a symlink, an "
                        "absolute path) is a bad cell, so a CSV cannot pull in your other files")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export a project's records as CSV (default) or JSON")
    common(p, json_flag=False)
    p.add_argument("project")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--list", metavar="L", help="only records in this list")
    p.add_argument("--tag", action="append", metavar="T", help="only records with this tag (repeat: all of them)")
    p.add_argument("--bom", action="store_true", help="start the CSV with a UTF-8 BOM (older Excel needs it)")
    p.add_argument("--delimiter", default=",", metavar="C", help="CSV delimiter (default ,; use ';' for Excel "
                                                                  "in comma-decimal locales)")
    p.add_argument("--archived", action="store_true", help="include deleted (archived) records")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("form", help="lead-capture web forms")
    fsub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    q = fsub.add_parser("add", help="add a form to a project")
    common(q)
    q.add_argument("project")
    q.add_argument("name", help="the form's name (its address is derived from it)")
    q.add_argument("--field", action="append", default=[], metavar="FIELD",
                   help="a field the form asks for, in order (repeat); title is always asked")
    q.add_argument("--require", action="append", default=[], metavar="FIELD", help="a required field (repeat)")
    q.add_argument("--title-label", metavar="TEXT", help='label of the title input (default "Name")')
    q.add_argument("--list", metavar="L", help="list new records go to (default: the first)")
    q.add_argument("--tag", action="append", default=[], metavar="T", help="tag every new record (repeat)")
    q.add_argument("--assignee", metavar="USER", help="assign every new record to this user")
    q.add_argument("--thanks", metavar="TEXT", help="message shown after a submission")
    q.add_argument("--slug", metavar="SLUG", help="the form's address: /f/SLUG")
    q.set_defaults(func=cmd_form_add)
    q = fsub.add_parser("list", help="list forms")
    common(q)
    q.add_argument("project", nargs="?")
    q.set_defaults(func=cmd_form_list)
    q = fsub.add_parser("remove", help="remove a form")
    common(q, json_flag=False)
    q.add_argument("form", help="the form's slug or id")
    q.set_defaults(func=cmd_form_remove)
    q = fsub.add_parser("serve", help="serve the forms as web pages")
    common(q, json_flag=False)
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed at start)")
    q.add_argument("--rate", type=int, default=10, metavar="N", help="submissions per address per minute")
    q.set_defaults(func=cmd_form_serve)


# ------------------------------------------------------------------------------------------------
# import


def cmd_import(args) -> int:
    from ..cli import Session, print_json
    from ..domain.csv_import import import_csv

    session = Session(args)
    if args.rejects and not args.skip_bad:
        from ..errors import ValidationError

        raise ValidationError("--rejects", args.rejects, "only with --skip-bad")

    def progress(phase, done, total):
        if not args.json and sys.stderr.isatty():
            sys.stderr.write(f"\r{phase}: {done:,}" + (f" / {total:,}" if total else "") + " rows ")
            sys.stderr.flush()

    report = import_csv(session.actor, args.project, args.file, mapping=args.map, key=args.key,
                        dry_run=args.dry_run, skip_bad=args.skip_bad, rejects=args.rejects,
                        create_options=args.create_options, date_order=args.date_order, progress=progress,
                        files_from=args.files_from)
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 40 + "\r")
    refused = bool(report.issues) and not args.skip_bad
    if args.json:
        print_json(report.to_json())
        return EXIT_BAD_ROWS if refused else 0
    out = sys.stderr if refused else sys.stdout
    what = "would import" if args.dry_run else "imported"
    if refused:
        print(f"crm-tui: nothing imported: {len(report.bad_lines):,} of {report.rows:,} rows have problems "
              f"(fix them, or import the rest with --skip-bad)", file=out)
    else:
        line = (f"{what} {report.rows - report.rejected:,} of {report.rows:,} rows into {report.project}: "
                f"{report.created:,} created, {report.updated:,} updated")
        if report.unchanged:
            line += f", {report.unchanged:,} unchanged"
        print(line)
        if report.rejected:
            print(f"{report.rejected:,} rows rejected" + (f", written with a reason column to {report.rejects_file}"
                                                          if report.rejects_file else ""))
    if report.created_options:
        for name, opts in report.created_options.items():
            print(f"new options for {name}: {', '.join(opts)}", file=out)
    if report.ignored_columns:
        print(f"ignored columns: {', '.join(report.ignored_columns)}", file=out)
    if report.issues:
        groups = report.summary()
        print("problems by kind:", file=out)
        for g in groups:
            print(f"  {g['rows']:>6,} × {g['column'] or '(row)'}: {g['value']!r} {g['reason']} "
                  f"(first on line {g['first_line']})", file=out)
        if report.rejects_file:
            print(f"every rejected row, with its reason: {report.rejects_file}", file=out)
        else:
            print("every bad cell:", file=out)
            for i in report.issues:
                print(f"  line {i.line}: {i.column or '(row)'}: {i.value!r} {i.reason}", file=out)
    return EXIT_BAD_ROWS if refused else 0


# ------------------------------------------------------------------------------------------------
# export


def cmd_export(args) -> int:
    from ..cli import Session
    from ..domain.csv_export import export_records

    session = Session(args)
    if len(args.delimiter) != 1:
        from ..errors import ValidationError

        raise ValidationError("--delimiter", args.delimiter, "expected one character, e.g. , or ;")
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            count = export_records(session.actor, args.project, fh, fmt=args.format, list_name=args.list,
                                   tags=args.tag, bom=args.bom, delimiter=args.delimiter,
                                   include_archived=args.archived)
        print(f"exported {count:,} records to {args.output}", file=sys.stderr)
    else:
        stdout = sys.stdout
        if hasattr(stdout, "reconfigure"):
            stdout.reconfigure(newline="")
        export_records(session.actor, args.project, stdout, fmt=args.format, list_name=args.list, tags=args.tag,
                       bom=args.bom, delimiter=args.delimiter, include_archived=args.archived)
    return 0


# ------------------------------------------------------------------------------------------------
# forms


def cmd_form_add(args) -> int:
    from ..cli import Session, print_json
    from ..domain.forms import add_form

    session = Session(args)
    form = add_form(session.actor, args.project, args.name, fields=args.field, required=args.require,
                    list_name=args.list, tags=args.tag, assignee=args.assignee, thanks=args.thanks,
                    slug=args.slug, title_label=args.title_label)
    if args.json:
        print_json(form)
    else:
        print(f"form {form['name']!r} added to {form['project']}: /f/{form['slug']}")
    return 0


def cmd_form_list(args) -> int:
    from ..cli import Session, print_json, print_table
    from ..domain.forms import list_forms

    Session(args)
    forms = list_forms(args.project)
    if args.json:
        print_json(forms)
    else:
        print_table(["id", "slug", "form", "project", "fields", "list", "tags"],
                    [[f["id"], f["slug"], f["name"], f["project"],
                      ", ".join(x["name"] + ("*" if x["required"] else "") for x in f["fields"]),
                      f["list"] or "", ", ".join(f["tags"])] for f in forms])
    return 0


def cmd_form_remove(args) -> int:
    from ..cli import Session
    from ..domain.forms import remove_form

    session = Session(args)
    name = remove_form(session.actor, args.form)
    print(f"form {name!r} removed")
    return 0


def cmd_form_serve(args) -> int:
    from ..cli import Session
    from ..forms_server import serve

    session = Session(args)
    serve(session.url, session.actor.name, host=args.host, port=args.port, rate_per_minute=args.rate)
    return 0


__all__ = ["register", "argparse"]

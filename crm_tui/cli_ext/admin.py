"""``crm-tui role …``, ``backup`` and ``restore``: workspace administration commands."""

from __future__ import annotations

import sys


def cmd_role_add(args) -> int:
    from ..cli import Session, print_json
    from ..domain.permissions import add_role

    session = Session(args)
    role = add_role(session.actor, args.project, args.name, hide=args.hide or (), read_only=args.read_only or (),
                    can=args.can or (), cannot=args.cannot or ())
    if args.json:
        print_json({"id": role.id, "name": role.name})
    else:
        print(f"role {role.name} added to {args.project}")
    return 0


def cmd_role_list(args) -> int:
    from ..cli import Session, print_json, print_table
    from ..domain.permissions import list_roles

    Session(args)
    roles = list_roles(args.project)
    if args.json:
        print_json(roles)
    else:
        print_table(["role", "may", "hidden", "read-only", "users"],
                    [[r["name"], ", ".join(r["capabilities"]) or "read", ", ".join(r["hidden"]),
                      ", ".join(r["read_only"]), ", ".join(r["users"])] for r in roles], max_col=50)
    return 0


def cmd_backup(args) -> int:
    from ..cli import Session
    from ..domain.backup import backup_to

    session = Session(args)
    if not session.actor.is_admin:
        from ..errors import PermissionDenied

        raise PermissionDenied("only an admin can back up the workspace")
    target = backup_to(args.file)
    print(f"backup written to {target}")
    return 0


def cmd_restore(args) -> int:
    from ..cli import Session
    from ..domain.backup import check_backup, restore_from
    from ..errors import CrmError, PermissionDenied

    session = Session(args)
    if not session.actor.is_admin:
        raise PermissionDenied("only an admin can restore the workspace")
    check_backup(args.file)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CrmError("restore replaces everything in the database; add --yes to confirm")
        answer = input(f"Replace everything in {session.url} with {args.file}? Type yes: ")
        if answer.strip().lower() != "yes":
            print("restore cancelled; nothing changed")
            return 1
    restore_from(args.file)
    print(f"restored from {args.file}")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("role", help="roles of a project (field permissions, allowed actions)")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = psub.add_parser("add", help="add a custom role")
    common(q)
    q.add_argument("project")
    q.add_argument("name")
    q.add_argument("--hide", action="append", metavar="FIELD", help="a field this role cannot see")
    q.add_argument("--read-only", action="append", metavar="FIELD", help="a field this role sees but cannot edit")
    q.add_argument("--can", action="append", metavar="ACTION",
                   help="create edit delete move import export edit_automations edit_dashboards")
    q.add_argument("--cannot", action="append", metavar="ACTION")
    q.set_defaults(func=cmd_role_add)
    q = psub.add_parser("list", help="roles of a project")
    common(q)
    q.add_argument("project")
    q.set_defaults(func=cmd_role_list)

    p = sub.add_parser("backup", help="copy the SQLite database consistently while others work")
    common(p, json_flag=False)
    p.add_argument("file")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="replace the database with a backup (asks first)")
    common(p, json_flag=False)
    p.add_argument("file")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_restore)

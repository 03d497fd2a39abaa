"""Roles and field-level permissions, enforced in the domain layer for every path.

>>> add_role(admin, "Opportunities", "Junior", hide=["Cost", "Profit"], cannot=["delete"])
>>> set_user_role(admin, "jo", "Opportunities", "Junior")
>>> actor = resolve_actor("jo")          # actor.hidden_fields holds Cost and Profit's ids
>>> actor.can("delete", project_id)      # False

Built-in roles exist in every project: Admin (everything), Member (create, edit, delete, move, import,
export, edit dashboards), View-only (read). A user with no role in a project is a Member there;
a workspace admin (``user.is_admin``) is Admin everywhere. Only admins manage users and roles.
"""

from __future__ import annotations

import json

from ..db.connection import run_write
from ..db.models import Field, Project, User
from ..db.permission_models import Membership, Role
from ..errors import NotFoundError, PermissionDenied, ValidationError
from .project_schema import find_project, load_schema

ACTIONS = ("create", "edit", "delete", "move", "import", "export", "edit_automations", "edit_dashboards")
BUILTIN_ROLES = {
    "Admin": set(ACTIONS),
    "Member": {"create", "edit", "delete", "move", "import", "export", "edit_dashboards"},
    "View-only": set(),
}
DEFAULT_ROLE = "Member"


def _require_admin(actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can manage users and roles")


def _check_actions(kind: str, names) -> list[str]:
    out = []
    for name in names or ():
        key = str(name).strip().lower().replace("-", "_")
        if key not in ACTIONS:
            raise ValidationError(kind, str(name), f"expected one of {', '.join(ACTIONS)}")
        out.append(key)
    return out


def role_capabilities(project_id: int, role_name: str) -> set[str]:
    if role_name in BUILTIN_ROLES:
        return set(BUILTIN_ROLES[role_name])
    role = Role.get_or_none((Role.project == project_id) & (Role.name == role_name))
    return set(json.loads(role.capabilities)) if role else set()


def add_role(actor, project, name: str, *, hide=(), read_only=(), can=(), cannot=()) -> Role:
    """A custom role: starts from Member's actions, plus ``can``, minus ``cannot``; fields in ``hide``
    are invisible, fields in ``read_only`` visible but not editable."""
    _require_admin(actor)
    schema = load_schema(project)
    name = (name or "").strip()
    if not name:
        raise ValidationError("role name", name, "a name is needed")
    if name in BUILTIN_ROLES:
        raise ValidationError("role name", name, "is a built-in role")
    capabilities = (BUILTIN_ROLES["Member"] | set(_check_actions("--can", can))) - set(_check_actions("--cannot", cannot))
    access: dict[str, str] = {}
    for fname in read_only or ():
        access[str(schema.field(fname).id)] = "view"
    for fname in hide or ():
        access[str(schema.field(fname).id)] = "hidden"

    def write():
        if Role.select().where((Role.project == schema.id) & (Role.name == name)).exists():
            raise ValidationError("role name", name, f"project {schema.name!r} already has this role")
        return Role.create(project=schema.id, name=name, capabilities=json.dumps(sorted(capabilities)),
                           field_access=json.dumps(access))

    return run_write(write)


def list_roles(project) -> list[dict]:
    schema = load_schema(project)
    names = {f.id: f.name for f in schema.fields}
    out = [{"name": n, "builtin": True, "capabilities": sorted(c), "hidden": [], "read_only": []}
           for n, c in BUILTIN_ROLES.items()]
    for role in Role.select().where(Role.project == schema.id).order_by(Role.name):
        access = json.loads(role.field_access)
        out.append({"name": role.name, "builtin": False, "capabilities": json.loads(role.capabilities),
                    "hidden": [names.get(int(k), k) for k, v in access.items() if v == "hidden"],
                    "read_only": [names.get(int(k), k) for k, v in access.items() if v == "view"]})
    members = (Membership.select(Membership, User.name.alias("user_name"), Role.name.alias("role_name"))
               .join(User, on=(Membership.user == User.id)).switch(Membership)
               .join(Role, on=(Membership.role == Role.id)).where(Membership.project == schema.id).dicts())
    by_role: dict[str, list[str]] = {}
    for m in members:
        by_role.setdefault(m["role_name"], []).append(m["user_name"])
    for item in out:
        item["users"] = sorted(by_role.get(item["name"], []))
    return out


def _role_row(project_id: int, name: str) -> Role:
    role = Role.get_or_none((Role.project == project_id) & (Role.name == name))
    if role is None and name in BUILTIN_ROLES:
        role = Role.create(project=project_id, name=name, builtin=True,
                           capabilities=json.dumps(sorted(BUILTIN_ROLES[name])), field_access="{}")
    if role is None:
        raise NotFoundError(f"no role {name!r} in this project; roles: "
                            + ", ".join(list(BUILTIN_ROLES) + [r.name for r in Role.select().where(
                                (Role.project == project_id) & (Role.builtin == False))]))  # noqa: E712
    return role


def set_user_role(actor, user_name: str, project, role_name: str) -> None:
    _require_admin(actor)
    user = User.get_or_none(User.name == user_name)
    if user is None:
        raise NotFoundError(f"no user {user_name!r}")
    p = find_project(project)

    def write():
        role = _role_row(p.id, role_name)
        Membership.delete().where((Membership.user == user.id) & (Membership.project == p.id)).execute()
        Membership.create(user=user.id, project=p.id, role=role.id)

    run_write(write)


def check_role_exists(role_name: str) -> None:
    if role_name in BUILTIN_ROLES or Role.select().where(Role.name == role_name).exists():
        return
    raise NotFoundError(f"no role {role_name!r}; built-in roles: {', '.join(BUILTIN_ROLES)}, or add one with "
                        "`crm-tui role add PROJECT NAME`")


def set_role_everywhere(actor, user_name: str, role_name: str) -> None:
    """``user add --role R``: give the user role R in every project that has it."""
    for p in Project.select():
        if role_name in BUILTIN_ROLES or Role.select().where((Role.project == p.id) & (Role.name == role_name)).exists():
            set_user_role(actor, user_name, p.id, role_name)


def grants_for(user: User) -> tuple[frozenset[int], frozenset[int], dict[int, frozenset[str]]]:
    """(hidden field ids, read-only field ids, {project id: actions}) for a user — two queries."""
    if user.is_admin:
        return frozenset(), frozenset(), {}
    rows = (Membership.select(Membership.project, Role.name, Role.capabilities, Role.field_access)
            .join(Role, on=(Membership.role == Role.id)).where(Membership.user == user.id).tuples())
    hidden: set[int] = set()
    read_only: set[int] = set()
    caps: dict[int, frozenset[str]] = {}
    for project_id, role_name, capabilities, field_access in rows:
        caps[project_id] = frozenset(json.loads(capabilities))
        for fid, access in json.loads(field_access or "{}").items():
            (hidden if access == "hidden" else read_only).add(int(fid))
        if role_name == "View-only":
            read_only.update(f for (f,) in Field.select(Field.id).where(Field.project == project_id).tuples())
    return frozenset(hidden), frozenset(read_only), caps

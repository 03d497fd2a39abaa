"""The users of the workspace with their role in each project — what an admin manages (admins only).

>>> for user in list_users(admin):
...     print(user["name"], user["admin"], user["roles"])   # {"Opportunities": "Junior"}

Adding users is ``actors.add_user``; roles are ``permissions.add_role`` / ``set_user_role``.
"""

from __future__ import annotations

from ..db.models import Project, User
from ..db.permission_models import Membership, Role
from .permissions import _require_admin


def list_users(actor) -> list[dict]:
    """Every user (active or not) by name: id, name, display name, email, active, admin, and
    ``roles`` {project name: role name} for projects where a role was given (elsewhere: Member)."""
    _require_admin(actor)
    roles: dict[int, dict[str, str]] = {}
    rows = (Membership.select(Membership.user, Project.name, Role.name)
            .join(Project, on=(Membership.project == Project.id)).switch(Membership)
            .join(Role, on=(Membership.role == Role.id)).order_by(Project.position, Project.id).tuples())
    for user_id, project_name, role_name in rows:
        roles.setdefault(user_id, {})[project_name] = role_name
    return [{"id": u.id, "name": u.name, "display_name": u.display_name, "email": u.email, "active": u.active,
             "admin": u.is_admin, "roles": roles.get(u.id, {})}
            for u in User.select().order_by(User.name)]

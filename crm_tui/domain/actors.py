"""Who is acting: users, the first admin, and the ``Actor`` every write is attributed to.

>>> actor = resolve_actor("alice")        # NotFoundError when alice is not a user
>>> actor.name, actor.is_admin

Permissions (roles, hidden fields) hang off the actor so every domain path can enforce them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..db.connection import run_write
from ..db.models import User
from ..errors import NotFoundError, PermissionDenied, ValidationError

USER_NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")


@dataclass(frozen=True)
class Actor:
    """The acting user. ``hidden_fields`` holds field ids this user may not see (roles)."""

    id: int | None
    name: str
    is_admin: bool = False
    hidden_fields: frozenset[int] = field(default_factory=frozenset)
    read_only_fields: frozenset[int] = field(default_factory=frozenset)
    # {project id: allowed actions}; a project not named here uses the Member role
    capabilities: dict = field(default_factory=dict, hash=False, compare=False)

    def can_see(self, field_id: int | None) -> bool:
        return field_id is None or field_id not in self.hidden_fields

    def can_edit(self, field_id: int | None) -> bool:
        return self.can_see(field_id) and (field_id is None or field_id not in self.read_only_fields)

    def can(self, action: str, project_id: int) -> bool:
        """May this user ``action`` (create, edit, delete, move, import, export, edit_automations,
        edit_dashboards) in the project?"""
        if self.is_admin:
            return True
        from .permissions import BUILTIN_ROLES, DEFAULT_ROLE

        allowed = self.capabilities.get(project_id)
        if allowed is None:
            allowed = BUILTIN_ROLES[DEFAULT_ROLE]
        return action in allowed

    def require(self, action: str, project_id: int, project_name: str = "") -> None:
        if not self.can(action, project_id):
            where = f" in {project_name}" if project_name else ""
            raise PermissionDenied(f"your role does not allow you to {action.replace('_', ' ')}{where}")


SYSTEM = Actor(id=None, name="system", is_admin=True)


def resolve_actor(name: str) -> Actor:
    """The active user called ``name``; an unknown or inactive user is refused."""
    user = User.get_or_none(User.name == name)
    if user is None or not user.active:
        known = [u.name for u in User.select(User.name).where(User.active == True).limit(20)]  # noqa: E712
        hint = f"; users: {', '.join(known)}" if known else "; run `crm-tui init` first"
        raise NotFoundError(f"unknown user {name!r}{hint} (pick one with --user or CRM_TUI_USER)")
    return actor_for(user)


def actor_for(user: User) -> Actor:
    from .permissions import grants_for

    hidden, read_only, capabilities = grants_for(user)
    return Actor(id=user.id, name=user.name, is_admin=user.is_admin, hidden_fields=hidden,
                 read_only_fields=read_only, capabilities=capabilities)


def has_users() -> bool:
    return User.select().exists()


def add_user(name: str, *, email: str = "", display_name: str = "", is_admin: bool = False,
             by: Actor | None = None) -> User:
    """Create a user. Only an admin may (except the very first user, who becomes admin)."""
    name = (name or "").strip()
    if not USER_NAME_RE.match(name):
        raise ValidationError("user name", name, "use 1–100 letters, digits, . _ @ or -")
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise ValidationError("email", email, "expected an email address like name@example.com")

    def write():
        first = not has_users()
        if not first and (by is None or not by.is_admin):
            raise PermissionDenied("only an admin can add users")
        if User.select().where(User.name == name).exists():
            raise ValidationError("user name", name, "a user with this name exists")
        return User.create(name=name, email=email, display_name=display_name or name,
                           is_admin=is_admin or first)

    return run_write(write)


def ensure_user(name: str, *, is_admin: bool = False) -> User:
    """The user called ``name``, created if missing (used by ``init`` and the demo)."""
    user = User.get_or_none(User.name == name)
    if user is None:
        user = User.create(name=name, display_name=name, is_admin=is_admin)
    return user

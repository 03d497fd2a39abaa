"""Users and roles (admins only): list the users, add one, add a custom role to a project (hidden and
read-only fields, allowed actions), give a user a role in a project.

| key         | action                                                        | binding id        |
| ----------- | ------------------------------------------------------------- | ----------------- |
| a           | add a user (Users tab) / a role to the project (Roles tab)    | users.add         |
| g / enter   | give a role: the user a role in a project / the role to a user | users.assign     |
| p           | roles of another project                                      | users.project     |
| 1, 2, ctrl+t | Users, Roles; next tab                                       | users.tab_1/2, users.next_tab |
| escape      | back                                                          | users.back        |

Everything is a domain call (``actors.add_user``, ``permissions.add_role`` / ``set_user_role``,
``user_admin.list_users``), which is where "only an admin" is decided: anyone else sees the domain's
refusal on this screen. A role change applies to that user's next session (their actor is built at
start-up).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from ...errors import PermissionDenied
from ..cells import fit
from ..dbwork import cancelled, db_session
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import SCREENS_CSS, CrmScreen
from .form import Entry, FormDialog
from .picker import ChoiceScreen

TABS = ("users", "roles")


class UsersLoaded(Message):
    def __init__(self, users: list[dict], projects: list[dict], roles: dict, fields: dict, said: str) -> None:
        super().__init__()
        self.users, self.projects, self.roles, self.fields, self.said = users, projects, roles, fields, said


def fetch_users(actor) -> tuple:
    """(users, projects, {project id: roles}, {project id: field names}) — in a worker, inside a
    connection context. Refused (``PermissionDenied``) for anyone but an admin."""
    from ...domain.permissions import list_roles
    from ...domain.project_schema import load_schema
    from ...domain.projects import projects_summary
    from ...domain.user_admin import list_users

    users = list_users(actor)
    projects = projects_summary()
    roles, fields = {}, {}
    for project in projects:
        roles[project["id"]] = list_roles(project["id"])
        fields[project["id"]] = [f.name for f in load_schema(project["id"]).fields]
    return users, projects, roles, fields


class UsersScreen(CrmScreen):
    help_title = "users and roles"
    CSS_PATH = [SCREENS_CSS, "settings.tcss"]
    BINDINGS = [
        Binding("a", "add", "Add", id="users.add"),
        Binding("g", "assign", "Give role", id="users.assign"),
        Binding("p", "pick_project", "Project", id="users.project"),
        Binding("ctrl+t", "next_tab", "Tabs", show=False, id="users.next_tab"),
        Binding("1", "tab(0)", "Users", show=False, id="users.tab_1"),
        Binding("2", "tab(1)", "Roles", show=False, id="users.tab_2"),
        Binding("escape", "back", "Back", id="users.back"),
    ]

    def __init__(self, project_id: int | None = None) -> None:
        super().__init__()
        self.project_id = project_id
        self.users: list[dict] = []
        self.projects: list[dict] = []
        self.roles: dict[int, list[dict]] = {}
        self.fields: dict[int, list[str]] = {}
        self.denied = ""

    def compose(self):
        yield AppHeader("users and roles", "loading…")
        yield Static("", id="users-denied", markup=False)
        with TabbedContent(id="users-tabs"):
            with TabPane("Users", id="tab-users"):
                yield OptionList(id="users-list", classes="settings-list")
            with TabPane("Roles", id="tab-roles"):
                yield Static("", id="users-project", markup=False)
                yield OptionList(id="roles-list", classes="settings-list")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#users-denied").display = False
        self.query_one("#users-list", OptionList).focus()
        self.load()

    # -- loading ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="users-load", exit_on_error=False)
    def load(self, said: str = "") -> None:
        with db_session():
            loaded = fetch_users(self.app.actor)
        if not cancelled():
            self.post_message(UsersLoaded(*loaded, said))

    @on(UsersLoaded)
    def _loaded(self, message: UsersLoaded) -> None:
        self.users, self.projects, self.roles, self.fields = (message.users, message.projects, message.roles,
                                                              message.fields)
        if self.project_id not in self.roles:
            self.project_id = self.projects[0]["id"] if self.projects else None
        users = self.query_one("#users-list", OptionList)
        keep = users.highlighted
        users.clear_options()
        width = max(40, self.size.width - 4)
        for user in self.users:
            flags = " · ".join(x for x in ("admin" if user["admin"] else "",
                                           "inactive" if not user["active"] else "") if x)
            roles = ", ".join(f"{project}: {role}" for project, role in user["roles"].items())
            line = Text(fit(user["name"], 14) + " " + fit(user["display_name"] or "", 18) + " "
                        + fit(user["email"] or "", max(10, width - 48)) + " " + fit(flags, 12))
            line.append("\n  " + fit(roles or ("Admin everywhere" if user["admin"] else "Member everywhere"),
                                      width - 2), style="dim")
            users.add_option(Option(line))
        if self.users:
            users.highlighted = min(keep or 0, len(self.users) - 1)
        self._fill_roles()
        self.query_one(AppHeader).set_text("users and roles", message.said or f"{len(self.users)} users")
        self.refresh_bindings()

    def _project_name(self, project_id=None) -> str:
        project_id = project_id or self.project_id
        return next((p["name"] for p in self.projects if p["id"] == project_id), "")

    def _fill_roles(self, keep: str | None = None) -> None:
        options = self.query_one("#roles-list", OptionList)
        options.clear_options()
        roles = self.roles.get(self.project_id, [])
        self.query_one("#users-project", Static).update(
            f"Roles of {self._project_name()} (p: another project)"
            if self.project_id else "no projects yet")
        for role in roles:
            head = f"{role['name']}{'' if role['builtin'] else '  (custom)'}"
            if role["users"]:
                head += "  · " + ", ".join(role["users"])
            details = "may " + (", ".join(a.replace("_", " ") for a in role["capabilities"]) or "only read")
            if role["hidden"]:
                details += " · hides " + ", ".join(role["hidden"])
            if role["read_only"]:
                details += " · read-only " + ", ".join(role["read_only"])
            options.add_option(Option(Text(head, style="bold") + Text("\n  " + details, style="dim")))
        if roles:
            names = [r["name"] for r in roles]
            options.highlighted = names.index(keep) if keep in names else 0

    def worker_failed(self, error) -> None:
        if isinstance(error, PermissionDenied):
            # the domain's own words: "only an admin can manage users and roles"
            self.denied = str(error)
            denied = self.query_one("#users-denied", Static)
            denied.update(f"{error}.\nAsk an admin of this workspace; escape goes back.")
            denied.display = True
            self.query_one("#users-tabs").display = False
            self.query_one(AppHeader).set_text("users and roles", "admins only")
            self.refresh_bindings()
        super().worker_failed(error)

    # -- actions ------------------------------------------------------------------------------

    @property
    def tab(self) -> str:
        return (self.query_one(TabbedContent).active or "tab-users").removeprefix("tab-")

    def check_action(self, action: str, parameters) -> bool | None:
        if self.denied and action in ("add", "assign", "pick_project", "tab", "next_tab"):
            return False
        if action == "pick_project":
            return self.tab == "roles"
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.query_one("#users-list" if self.tab == "users" else "#roles-list", OptionList).focus()
        self.refresh_bindings()

    def action_tab(self, index: int) -> None:
        self.query_one(TabbedContent).active = f"tab-{TABS[index]}"

    def action_next_tab(self) -> None:
        self.action_tab((TABS.index(self.tab) + 1) % len(TABS))

    def _highlighted(self, selector: str, items: list):
        index = self.query_one(selector, OptionList).highlighted
        return items[index] if index is not None and 0 <= index < len(items) else None

    def action_add(self) -> None:
        if self.tab == "users":
            self._add_user()
        elif self.project_id is not None:
            self._add_role()

    def _add_user(self) -> None:
        from ...domain.actors import add_user

        actor = self.app.actor
        entries = [Entry("name", "User name", placeholder="login name: letters, digits, . _ @ -"),
                   Entry("display_name", "Display name", placeholder="e.g. Jo Bloggs"),
                   Entry("email", "Email", placeholder="name@example.com"),
                   Entry("admin", "Admin", "check", False)]

        def submit(v: dict):
            add_user(v["name"], email=v["email"].strip(), display_name=v["display_name"].strip(),
                     is_admin=bool(v["admin"]), by=actor)
            return v

        def done(result) -> None:
            if result:
                self.load(f"user {result['name'].strip()} added")

        self.app.push_screen(FormDialog("Add a user", entries, submit,
                                        hint="a user with no role in a project is a Member there; "
                                             "g gives a role"), done)

    def _add_role(self) -> None:
        from ...domain.permissions import ACTIONS, BUILTIN_ROLES, add_role

        actor, project_id = self.app.actor, self.project_id
        fields = self.fields.get(project_id, [])
        member = BUILTIN_ROLES["Member"]
        entries = [Entry("name", "Role name", placeholder="e.g. Junior"),
                   Entry("hide", "Hidden fields", "multi", [], fields),
                   Entry("read_only", "Read-only fields", "multi", [], fields),
                   Entry("actions", "May", "multi", [a for a in ACTIONS if a in member], list(ACTIONS))]

        def submit(v: dict):
            allowed = set(v["actions"])
            add_role(actor, project_id, v["name"], hide=v["hide"], read_only=v["read_only"],
                     can=sorted(allowed - member), cannot=sorted(member - allowed))
            return v

        def done(result) -> None:
            if result:
                self.load(f"role {result['name'].strip()} added to {self._project_name(project_id)}")

        self.app.push_screen(FormDialog(f"Add a role to {self._project_name()}", entries, submit,
                                        hint="space ticks a field or action; formulas and lookups fed by a "
                                             "hidden field are hidden too"), done)

    def action_assign(self) -> None:
        if self.tab == "users":
            user = self._highlighted("#users-list", self.users)
            if user is None:
                return
            if user["admin"]:
                self.notify(f"{user['name']} is an admin: Admin in every project", severity="warning")
                return
            self._pick_project(lambda pid: self._pick_role(user["name"], pid))
        else:
            role = self._highlighted("#roles-list", self.roles.get(self.project_id, []))
            if role is None:
                return
            options = [(u["name"], u["name"] + (f" ({u['display_name']})" if u["display_name"] != u["name"] else ""))
                       for u in self.users if not u["admin"]]
            if not options:
                self.notify("every user is an admin; a add a user first", severity="warning")
                return
            project_id = self.project_id

            def chosen(name) -> None:
                if name:
                    self.set_role(name, project_id, role["name"])

            self.app.push_screen(ChoiceScreen(f"Give {role['name']} to", options), chosen)

    def _pick_project(self, then) -> None:
        if len(self.projects) == 1:
            then(self.projects[0]["id"])
            return

        def chosen(project_id) -> None:
            if project_id is not None:
                then(project_id)

        self.app.push_screen(ChoiceScreen("In project", [(p["id"], p["name"]) for p in self.projects],
                                          current=self.project_id), chosen)

    def _pick_role(self, user_name: str, project_id: int) -> None:
        user = next((u for u in self.users if u["name"] == user_name), None)
        current = (user or {}).get("roles", {}).get(self._project_name(project_id), "Member")
        options = [(r["name"], r["name"] + ("" if r["builtin"] else "  (custom)"))
                   for r in self.roles.get(project_id, [])]

        def chosen(role_name) -> None:
            if role_name:
                self.set_role(user_name, project_id, role_name)

        self.app.push_screen(ChoiceScreen(f"{user_name} in {self._project_name(project_id)}", options,
                                          current=current), chosen)

    @work(thread=True, group="users-write", exit_on_error=False)
    def set_role(self, user_name: str, project_id: int, role_name: str) -> None:
        from ...domain.permissions import set_user_role

        with db_session():
            set_user_role(self.app.actor, user_name, project_id, role_name)
            loaded = fetch_users(self.app.actor)
        self.post_message(UsersLoaded(*loaded, f"{user_name} is {role_name} in {self._project_name(project_id)}"))

    def action_pick_project(self) -> None:
        def chosen(project_id: int) -> None:
            self.project_id = project_id
            self._fill_roles()

        self._pick_project(chosen)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_assign()

    def action_back(self) -> None:
        self.dismiss(None)

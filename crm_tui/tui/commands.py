"""The command palette (ctrl+p): open any project in its default view or as a table/board, every
dashboard, import a CSV into a project, export one to CSV, a project's automations, the notifications
inbox and the reminders, new record, project settings, users and roles, switch theme, date order,
low-bandwidth mode, keys, quit.

Projects, dashboard names and the unread count come from the app's cached values (read by workers at
start-up and refreshed by them), so typing in the palette never touches the database.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class CrmCommands(Provider):
    """Every project, dashboard and app action, fuzzy-matched."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        out: list[tuple[str, str, object]] = []
        projects = getattr(app, "projects", [])
        for project in projects:
            view = project.get("view", "table")
            out.append((f"Open {project['name']}", f"{project['records']:,} records · {view}",
                        partial(app.open_project, project["id"], view)))
            if project.get("lists", 1) > 1:
                other = "table" if view == "board" else "board"
                out.append((f"Open {project['name']} as {other}", f"{project['name']} in the {other} view",
                            partial(app.open_project, project["id"], other)))
        for name in getattr(app, "dashboards", []):
            out.append((f"Dashboard: {name}", "stat cards, pies and bars, computed on opening (r again)",
                        partial(app.open_dashboard, name)))
        out.append(("New record", "a new record in the current project", app.action_new_record))
        unread = getattr(app, "unread", 0)
        out.append(("Notifications", f"{unread} unread · open the record, mark read (i)",
                    app.action_inbox))
        out.append(("Reminders", "due today and overdue · done, snooze", app.action_reminders))
        for project in projects:
            name = project["name"]
            out.append((f"Import CSV into {name}", "map columns, preview bad cells, then import",
                        partial(app.import_csv, project["id"])))
            out.append((f"Export {name} to CSV", f"every field you may see, to ~/{name}.csv or a path you give",
                        partial(app.export_csv, project["id"])))
            out.append((f"Automations of {name}", "rules: enable/disable, edit, runs and errors",
                        partial(app.open_automations, name)))
        out.append(("Project settings", "lists, tags, fields, hidden default fields, projects (,)",
                    app.action_project_settings))
        out.append(("Users and roles", "add users and roles, give a user a role in a project (admins)",
                    app.action_users_and_roles))
        out.append(("Switch theme", "pick a theme; the choice is saved", app.action_switch_theme))
        order = getattr(app, "date_order", "YMD")
        out.append(("Date order", f"how 03/04/2026 is read (DMY, MDY, YMD) · now {order} · the choice is saved",
                    partial(_date_order, app)))
        low = "on" if getattr(app, "low_bandwidth", False) else "off"
        out.append(("Low-bandwidth mode", f"now {low} · for slow links: fewer frames and polls · "
                    "the choice is saved", app.action_toggle_low_bandwidth))
        out.append(("Keys", "the keys of the current screen (?)", app.action_help))
        out.append(("Quit", "leave crm-tui (ctrl+q)", app.action_quit))
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


def _date_order(app) -> None:
    from .screens.settings import choose_date_order  # imported on use: the palette opens fast

    choose_date_order(app)

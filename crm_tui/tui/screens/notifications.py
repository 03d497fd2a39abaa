"""The notifications inbox and the reminders list of the acting user.

Notifications:

| key            | action                                  | binding id                |
| -------------- | --------------------------------------- | ------------------------- |
| enter          | open the record (marks it read)         | notifications.open        |
| m              | mark read                               | notifications.read        |
| M              | mark all read                           | notifications.read_all    |
| a              | show read ones too / unread only        | notifications.all         |
| escape         | back                                    | notifications.back        |

Reminders:

| key            | action                                  | binding id                |
| -------------- | --------------------------------------- | ------------------------- |
| enter          | open the record                         | reminders.open            |
| d              | done                                    | reminders.done            |
| s              | snooze one day                          | reminders.snooze          |
| escape         | back                                    | reminders.back            |

Self-contained: both dismiss with the record id to open (or ``None``), so the app decides how to show
it: ``app.push_screen(NotificationsScreen(), open_record)``. ``unread_count(app.actor.id)`` (in
``crm_tui.domain.automations.notify``) is the number for the header.
"""

from __future__ import annotations

from textual import work
from textual.binding import Binding

from ..dbwork import db_session
from .list_screen import ItemsChanged, ItemsLoaded, ListScreen


class NotificationsScreen(ListScreen):
    BINDINGS = [
        Binding("enter", "open", "Open record", id="notifications.open"),
        Binding("m", "read", "Mark read", id="notifications.read"),
        Binding("M", "read_all", "Mark all read", id="notifications.read_all"),
        Binding("a", "toggle_all", "All / unread", id="notifications.all"),
        Binding("escape", "back", "Back", id="notifications.back"),
    ]
    columns = ("at", "message", "record", "")
    title_text = "notifications"

    def __init__(self) -> None:
        super().__init__()
        self.show_all = False

    @work(thread=True, exclusive=True, group="notifications-load", exit_on_error=False)
    def load(self) -> None:
        from ...domain.automations.notify import notifications_for

        with db_session():
            items = notifications_for(self.app.actor.id, unread_only=not self.show_all)
        self.post_message(ItemsLoaded(items))

    def row(self, item: dict) -> tuple:
        return (item["at"], item["message"], f"#{item['record_id']}" if item["record_id"] else "",
                "" if item["read"] else "●")

    def loaded(self) -> None:
        refresh = getattr(self.app, "refresh_unread", None)
        if refresh is not None:
            refresh()

    def status(self) -> str:
        unread = sum(not i["read"] for i in self.items)
        return f"{unread} unread" + (" · showing all" if self.show_all else "")

    @work(thread=True, exclusive=True, group="notifications-write", exit_on_error=False)
    def mark(self, ids: list[int] | None) -> None:
        from ...domain.automations.notify import mark_read

        with db_session():
            mark_read(self.app.actor.id, ids)
        self.post_message(ItemsChanged())

    def action_read(self) -> None:
        item = self.current()
        if item is not None:
            self.mark([item["id"]])

    def action_read_all(self) -> None:
        self.mark(None)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.load()

    def action_open(self) -> None:
        item = self.current()
        if item is None:
            return
        if not item["read"]:
            user_id, ids = self.app.actor.id, [item["id"]]

            app = self.app

            def mark_read_body() -> None:
                from ...domain.automations.notify import mark_read

                with db_session():
                    mark_read(user_id, ids)
                refresh = getattr(app, "refresh_unread", None)
                if refresh is not None:  # the header's count, once the write is in
                    app.call_from_thread(refresh)

            # on the app: this screen is gone before the write ends
            self.app.run_worker(mark_read_body, thread=True, group="notifications-write", exit_on_error=False)
        self.dismiss(item["record_id"])

    def action_back(self) -> None:
        self.dismiss(None)


class RemindersScreen(ListScreen):
    BINDINGS = [
        Binding("enter", "open", "Open record", id="reminders.open"),
        Binding("d", "done", "Done", id="reminders.done"),
        Binding("s", "snooze", "Snooze 1 day", id="reminders.snooze"),
        Binding("escape", "back", "Back", id="reminders.back"),
    ]
    columns = ("due", "status", "message", "record")
    title_text = "reminders"

    @work(thread=True, exclusive=True, group="reminders-load", exit_on_error=False)
    def load(self) -> None:
        from ...domain.automations.notify import reminders_for

        with db_session():
            items = reminders_for(self.app.actor.id)
        self.post_message(ItemsLoaded(items))

    def row(self, item: dict) -> tuple:
        return (item["due_at"], item["status"], item["message"], f"#{item['record_id']}" if item["record_id"] else "")

    def status(self) -> str:
        overdue = sum(i["status"] == "overdue" for i in self.items)
        today = sum(i["status"] == "today" for i in self.items)
        return f"{overdue} overdue · {today} due today · {len(self.items)} open"

    @work(thread=True, exclusive=True, group="reminders-write", exit_on_error=False)
    def change(self, reminder_id: int, snooze: bool) -> None:
        from ...domain.automations.notify import complete_reminder, snooze_reminder

        with db_session():
            if snooze:
                snooze_reminder(self.app.actor.id, reminder_id, 1)
            else:
                complete_reminder(self.app.actor.id, reminder_id)
        self.post_message(ItemsChanged())

    def action_done(self) -> None:
        item = self.current()
        if item is not None:
            self.change(item["id"], False)

    def action_snooze(self) -> None:
        item = self.current()
        if item is not None:
            self.change(item["id"], True)

    def action_open(self) -> None:
        item = self.current()
        if item is not None:
            self.dismiss(item["record_id"])

    def action_back(self) -> None:
        self.dismiss(None)

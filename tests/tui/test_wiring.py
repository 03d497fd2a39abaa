"""The app's wiring of the self-contained screens: dashboards, import, export, notifications and
reminders from the palette; the unread count in the header; ``i`` for the inbox; the automation tick."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from crm_tui.db import connection
from crm_tui.db.models import utcnow
from crm_tui.domain.automations.notify import add_reminders, notify_users, reminders_for, unread_count
from crm_tui.domain.record_views import list_records
from crm_tui.tui.widgets.header import AppHeader

from tests.tui.tuihelpers import screen_text, settle

SIZES = [(80, 24), (120, 40)]


async def palette(pilot, query: str) -> str:
    """Open the palette, type ``query`` and return the screen text (the palette still open)."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*query)
    await settle(pilot)
    return screen_text(pilot.app)


async def run_command(pilot, query: str) -> None:
    await palette(pilot, query)
    await pilot.press("enter")
    await settle(pilot)


def header_text(app) -> str:
    return screen_text(app).splitlines()[0]


def notify_admin(actor, message: str, record_id: int | None = None) -> None:
    with connection.database.atomic():
        notify_users([actor.id], message, record_id=record_id, email=False)


def first_client(actor) -> dict:
    return list_records(actor, "Clients", limit=1)[0]


# ------------------------------------------------------------------------------------------------
# dashboards


@pytest.mark.parametrize("size", SIZES)
async def test_palette_lists_every_dashboard_and_opens_it(demo, make_app, size):
    from crm_tui.domain.dashboards import create_dashboard
    from crm_tui.tui.screens.dashboard import DashboardScreen, DashboardTile

    create_dashboard(demo, "My pipeline")
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert set(app.dashboards) == {"Sales", "My pipeline"}
        text = await palette(pilot, "Dash")
        assert "Dashboard: Sales" in text and "Dashboard: My pipeline" in text
        await pilot.press("escape")
        await settle(pilot)
        await run_command(pilot, "Dash Sa")
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and screen.dashboard_name == "Sales"
        tiles = list(screen.query(DashboardTile))
        assert len(tiles) == 11 and all(tile.figures is not None for tile in tiles)
        assert "computing" not in screen_text(app)
        # from the palette again, on the dashboard: the same screen switches and recomputes
        await run_command(pilot, "Dash My")
        assert app.screen is screen and screen.dashboard_name == "My pipeline"
        assert "no widgets yet" in screen_text(app)


async def test_a_new_dashboard_reaches_the_palette(demo, make_app):
    from crm_tui.tui.screens.dashboard import DashboardScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Dash Sa")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"Forecast", "enter")
        await settle(pilot)
        assert "Forecast" in app.dashboards


# ------------------------------------------------------------------------------------------------
# import and export


async def test_palette_imports_a_csv_into_clients(demo, make_app, tmp_path):
    from textual.widgets import Input

    from crm_tui.tui.screens.import_wizard import ImportWizard
    from crm_tui.tui.screens.table import TableScreen

    path = tmp_path / "new-clients.csv"
    path.write_text("title,Email\nPalette Import One,one@example.com\nPalette Import Two,two@example.com\n",
                    encoding="utf-8")
    before = len(list_records(demo, "Clients"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        clients = next(p for p in app.projects if p["name"] == "Clients")
        app.open_project(clients["id"], "table")
        await settle(pilot)
        assert isinstance(app.screen, TableScreen) and app.screen.total == before
        text = await palette(pilot, "Import CSV into Cl")
        assert "Import CSV into Clients" in text
        await pilot.press("enter")
        await settle(pilot)
        wizard = app.screen
        assert isinstance(wizard, ImportWizard) and wizard.project == "Clients"
        wizard.query_one("#path", Input).value = str(path)
        for step in ("mapping", "preview", "run"):
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert wizard.step == step
        assert "2 created" in screen_text(app)
        await pilot.press("escape")  # closes the wizard: the project list and the table re-read
        await settle(pilot)
        assert isinstance(app.screen, TableScreen) and app.screen.total == before + 2
        assert app.project(clients["id"])["records"] == before + 2
    titles = {r["title"] for r in list_records(demo, "Clients")}
    assert {"Palette Import One", "Palette Import Two"} <= titles


@pytest.mark.parametrize("size", SIZES)
async def test_palette_exports_a_project_to_csv(demo, make_app, tmp_path, size):
    from textual.widgets import Input

    from crm_tui.tui.screens.export import ExportDialog

    target = tmp_path / "clients-out.csv"
    app = make_app()
    said = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        notify = app.notify
        app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]
        await run_command(pilot, "Export Clients to CSV")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        box = dialog.query_one("#export-path", Input)
        assert box.value == "~/Clients.csv"  # the default
        box.value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
    with open(target, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["id", "title"]
    assert len(rows) - 1 == len(list_records(demo, "Clients"))
    assert any(str(target) in message and "exported" in message for message in said)


async def test_export_asks_before_replacing_a_file_and_refuses_a_missing_folder(demo, make_app, tmp_path):
    from textual.widgets import Input, Static

    from crm_tui.tui.screens.export import ExportDialog

    target = tmp_path / "exists.csv"
    target.write_text("old\n")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Export Clients to CSV")
        dialog = app.screen
        box = dialog.query_one("#export-path", Input)
        box.value = str(tmp_path / "no-such-folder" / "x.csv")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is dialog and "no folder" in str(dialog.query_one("#export-error", Static).content)
        box.value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is dialog and "enter again to replace" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
    assert target.read_text(encoding="utf-8").startswith("id,title")


# ------------------------------------------------------------------------------------------------
# notifications and reminders


@pytest.mark.parametrize("size", SIZES)
async def test_inbox_shows_a_notification_with_the_header_count_and_marks_it_read(demo, make_app, size):
    from crm_tui.tui.screens.notifications import NotificationsScreen

    client = first_client(demo)
    notify_admin(demo, f"{client['title']} changed Email", client["id"])
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.unread == 1 and "✉ 1" in header_text(app)
        text = await palette(pilot, "Notifications")
        assert "1 unread" in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, NotificationsScreen)
        assert f"{client['title']} changed Email" in screen_text(app)
        assert "✉ 1" in header_text(app)
        # a second one arrives while the inbox is open; the poll (here: a call) counts it
        notify_admin(demo, "Another one", client["id"])
        app.refresh_unread()
        await settle(pilot)
        assert "✉ 2" in header_text(app)
        await pilot.press("m")
        await settle(pilot)
        assert app.unread == 1 and "✉ 1" in header_text(app)
        await pilot.press("M")
        await settle(pilot)
        assert app.unread == 0 and "✉" not in header_text(app)
        await pilot.press("i")  # i again closes the inbox
        await settle(pilot)
        assert not isinstance(app.screen, NotificationsScreen)
        assert "✉" not in header_text(app)
    assert unread_count(demo.id) == 0


async def test_enter_in_the_inbox_opens_the_record_and_marks_it_read(demo, make_app):
    from crm_tui.tui.screens.record import RecordScreen

    client = first_client(demo)
    notify_admin(demo, "Look at this client", client["id"])
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == client["id"]
        assert app.unread == 0 and "✉" not in header_text(app)
    assert unread_count(demo.id) == 0


async def test_reminders_list_a_due_reminder_and_done_removes_it(demo, make_app):
    from textual.widgets import DataTable

    from crm_tui.tui.screens.notifications import RemindersScreen
    from crm_tui.tui.screens.record import RecordScreen

    client = first_client(demo)
    with connection.database.atomic():
        add_reminders([demo.id], "Call the client back", utcnow() - dt.timedelta(days=1), record_id=client["id"])
        add_reminders([demo.id], "Send the proposal", utcnow(), record_id=client["id"])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Reminders")
        assert isinstance(app.screen, RemindersScreen)
        text = screen_text(app)
        assert "Call the client back" in text and "overdue" in text and "1 overdue" in text
        assert app.screen.query_one(DataTable).row_count == 2
        await pilot.press("d")  # the overdue one comes first
        await settle(pilot)
        assert "Call the client back" not in screen_text(app)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen) and app.screen.record_id == client["id"]
    assert [r["message"] for r in reminders_for(demo.id)] == ["Send the proposal"]


async def test_help_lists_the_inbox_key(demo, make_app):
    from textual.widgets import OptionList

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        listed = app.screen.query_one("#help-list", OptionList)
        lines = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
        assert any("app.inbox" in line and line.split()[0] == "i" for line in lines)


async def test_the_unread_poll_repaints_the_header_only_when_the_count_changes(demo, make_app):
    app = make_app(poll_seconds=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(AppHeader)
        refreshes = []
        original = header.refresh
        header.refresh = lambda *a, **kw: (refreshes.append(1), original(*a, **kw))[1]
        await pilot.pause(0.4)
        await settle(pilot)
        assert refreshes == []  # several polls, nothing changed
        notify_admin(demo, "Hello")
        await pilot.pause(0.3)
        await settle(pilot)
        assert app.unread == 1 and len(refreshes) == 1 and "✉ 1" in header_text(app)


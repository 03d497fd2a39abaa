"""Project settings screen: lists, tags, fields of every kind, hidden default fields, projects — driven
by keys as a user would, checked through the domain and on screen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual import events

from crm_tui.domain.project_schema import load_schema
from crm_tui.tui.screens.form import FormDialog
from crm_tui.tui.screens.settings import SettingsScreen

from tests.tui.tuihelpers import screen_text, settle

SIZES = [(80, 24), (120, 40)]


async def open_settings(pilot, project: str = "Opportunities") -> SettingsScreen:
    await settle(pilot)
    pilot.app.open_project(load_schema(project).id, "table")  # the palette's own test is in test_shell
    await settle(pilot)
    await pilot.press("comma")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen) and screen.schema.name == project
    return screen


async def highlight(pilot, screen: SettingsScreen, tab: str, key) -> None:
    """Move the cursor of ``tab`` to the row of ``key`` with the arrow keys."""
    keys = getattr(screen, f"_{tab}_keys")
    await pilot.press("home", *["down"] * keys.index(key))
    assert screen.current(tab) == key


async def paste(pilot, text: str) -> None:
    """Paste ``text`` into the focused field (a bracketed paste: one event, not one per key)."""
    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


async def fill(pilot, *values: str) -> None:
    """Fill the fields of the open dialog one after the other (each starts selected, so it is replaced)."""
    for i, value in enumerate(values):
        if i:
            await pilot.press("tab")
        if value:
            await paste(pilot, value)


def assert_no_overlap(app) -> None:
    """Every visible widget of the screen lies inside the terminal."""
    width, height = app.size
    for widget in app.screen.query("*"):
        if widget.display and widget.region.area:
            r = widget.region
            assert r.x >= 0 and r.y >= 0 and r.right <= width and r.bottom <= height, widget


@pytest.mark.parametrize("size", SIZES)
async def test_add_a_list_reorder_it_and_change_a_probability(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_settings(pilot)
        before = [l.name for l in load_schema("Opportunities").lists]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        assert_no_overlap(app)
        await fill(pilot, "Discovery", "60")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        lists = load_schema("Opportunities").lists
        assert [l.name for l in lists] == before + ["Discovery"]
        assert lists[-1].probability == 60 and lists[-1].kind == "open"
        assert screen.current("lists") == "Discovery"
        assert "Discovery" in screen_text(app) and "list Discovery added" in screen_text(app)

        await pilot.press("K", "K")
        await settle(pilot)
        names = [l.name for l in load_schema("Opportunities").lists]
        assert names == before[:-2] + ["Discovery"] + before[-2:]
        assert screen.current("lists") == "Discovery"

        second = before[1]
        await highlight(pilot, screen, "lists", second)
        await pilot.press("e")
        await settle(pilot)
        await fill(pilot, "", "35")
        await pilot.press("ctrl+s")
        await settle(pilot)
        changed = load_schema("Opportunities").list(second)
        assert changed.probability == 35
        assert "35%" in screen_text(app)


async def test_a_refused_list_keeps_the_dialog_open_with_the_reason(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_settings(pilot)
        await pilot.press("a")
        await settle(pilot)
        await fill(pilot, "Won", "101")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        assert "probability: '101' is not valid" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_add_a_dropdown_and_formula_fields(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("3", "a")
        await settle(pilot)
        await paste(pilot, "dropd")
        await pilot.press("enter")
        await settle(pilot)
        await fill(pilot, "Priority", "Low, Medium, High")
        await pilot.press("enter")
        await settle(pilot)
        fdef = load_schema("Opportunities").field("Priority")
        assert fdef.type == "dropdown" and fdef.config["options"] == ["Low", "Medium", "High"]
        assert "Low, Medium, High" in screen_text(app)

        # a formula over an unknown field: the dialog says which, and stays open
        await pilot.press("a")
        await settle(pilot)
        await paste(pilot, "formu")
        await pilot.press("enter")
        await settle(pilot)
        await fill(pilot, "Margin", "{Profit} / {Amont}")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        assert_no_overlap(app)
        text = screen_text(app)
        assert "is not valid: unknown field" in text and "{Amont} at position" in text
        assert load_schema("Opportunities").field_or_none("Margin") is None
        # fix it in place
        await pilot.press("end", "left", "backspace", "backspace", *"unt")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        margin = load_schema("Opportunities").field("Margin")
        assert margin.config["formula"] == "{Profit} / {Amount}"
        assert "= {Profit} / {Amount}" in screen_text(app)


async def test_add_currency_rating_reference_and_lookup_fields(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_settings(pilot, "Delivery")
        await pilot.press("3")
        for type_name, values in (("currency", ("Budget", "EUR")), ("rating", ("Fit", "7"))):
            await pilot.press("a")
            await settle(pilot)
            await paste(pilot, type_name)
            await pilot.press("enter")
            await settle(pilot)
            await fill(pilot, *values)
            await pilot.press("ctrl+s")
            await settle(pilot)
        # a reference to Clients (enter opens the project picker), then a lookup through it
        await pilot.press("a")
        await settle(pilot)
        await paste(pilot, "refer")
        await pilot.press("enter")
        await settle(pilot)
        await paste(pilot, "Customer")
        await pilot.press("tab", "enter")
        await settle(pilot)
        await paste(pilot, "Clients")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await paste(pilot, "looku")
        await pilot.press("enter")
        await settle(pilot)
        await paste(pilot, "Customer phone")
        await pilot.press("tab", "enter")
        await settle(pilot)
        await paste(pilot, "Customer")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("tab")
        await paste(pilot, "Phone")
        await pilot.press("ctrl+s")
        await settle(pilot)
        schema = load_schema("Delivery")
        assert schema.field("Budget").config["currency"] == "EUR"
        assert schema.field("Fit").config["max"] == 7
        assert schema.field("Customer").config["target"] == load_schema("Clients").id
        lookup = schema.field("Customer phone")
        assert lookup.type == "lookup" and lookup.config["via"] == schema.field("Customer").id
        assert "Customer → Phone" in screen_text(app)


async def test_renaming_a_field_keeps_its_formula_working(demo, make_app):
    from crm_tui.domain.browse import ordered_ids
    from crm_tui.domain.record_views import show_record
    from crm_tui.domain.records import update_record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("3")
        await highlight(pilot, screen, "fields", "Cost")
        await pilot.press("r")
        await settle(pilot)
        await paste(pilot, "Direct cost")
        await pilot.press("enter")
        await settle(pilot)
        schema = load_schema("Opportunities")
        assert schema.field_or_none("Cost") is None
        assert schema.field("Profit").config["formula"] == "{Amount} - {Direct cost}"
        assert "= {Amount} - {Direct cost}" in screen_text(app)
        await pilot.press("J")  # and reorder it: after Profit now
        await settle(pilot)
        assert [f.name for f in load_schema("Opportunities").fields][:3] == ["Amount", "Profit", "Direct cost"]
        assert screen.current("fields") == "Direct cost"
        record_id = ordered_ids(demo, schema)[0]
        version = show_record(demo, record_id)["version"]
        update_record(demo, record_id, values={"Amount": "1000", "Direct cost": "250"}, expect_version=version)
        assert Decimal(str(show_record(demo, record_id)["fields"]["Profit"])) == Decimal("750")


@pytest.mark.parametrize("size", SIZES)
async def test_hide_a_field_and_it_leaves_the_table(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("3")
        await highlight(pilot, screen, "fields", "Proposal URL")
        await pilot.press("h")
        await settle(pilot)
        assert load_schema("Opportunities").field("Proposal URL").hidden
        assert "hidden · " in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        table = app.screen
        assert type(table).__name__ == "TableScreen"
        labels = [c.label for c in table.columns]
        assert "Proposal URL" not in labels and "Amount" in labels
        # and back: h again shows it
        await pilot.press("comma")
        await settle(pilot)
        await pilot.press("3")
        await highlight(pilot, app.screen, "fields", "Proposal URL")
        await pilot.press("h", "escape")
        await settle(pilot)
        assert "Proposal URL" in [c.label for c in app.screen.columns]


async def test_delete_a_field_after_confirmation(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("3")
        await highlight(pilot, screen, "fields", "Lost reason")
        await pilot.press("d")
        await settle(pilot)
        assert "Delete the field “Lost reason”" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert load_schema("Opportunities").field_or_none("Lost reason") is not None
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert load_schema("Opportunities").field_or_none("Lost reason") is None
        assert "Lost reason" not in "\n".join(screen_text(app).splitlines()[1:])
        # a field a formula needs is refused, with the reason
        await highlight(pilot, screen, "fields", "Cost")
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert load_schema("Opportunities").field_or_none("Cost") is not None
        assert any("still used by Profit" in str(n.message) for n in app._notifications)


async def test_toggle_a_hidden_default_field(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        assert "due_date" not in load_schema("Opportunities").hidden_defaults
        await pilot.press("4")
        await highlight(pilot, screen, "defaults", "due_date")
        await pilot.press("space")
        await settle(pilot)
        assert "due_date" in load_schema("Opportunities").hidden_defaults
        assert "☐ Due date" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "due_date" not in [c.key for c in app.screen.columns]
        await pilot.press("comma")
        await settle(pilot)
        await pilot.press("4", "home", "enter")  # enter toggles too
        await settle(pilot)
        assert "due_date" not in load_schema("Opportunities").hidden_defaults


async def test_tags_add_rename_delete_and_projects_add(demo, make_app):
    from crm_tui.domain.tag_admin import tag_usage

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot, "Clients")
        await pilot.press("2", "a")
        await settle(pilot)
        await paste(pilot, "VIP")
        await pilot.press("enter")
        await settle(pilot)
        assert tag_usage("Clients") == {"VIP": 0}
        await pilot.press("r")
        await settle(pilot)
        await paste(pilot, "Key account")
        await pilot.press("enter")
        await settle(pilot)
        assert tag_usage("Clients") == {"Key account": 0}
        assert "Key account" in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert tag_usage("Clients") == {}

        await pilot.press("5", "a")
        await settle(pilot)
        await paste(pilot, "Partners")
        await pilot.press("enter")
        await settle(pilot)
        assert load_schema("Partners").lists == []
        assert "Partners" in screen_text(app)
        assert any(p["name"] == "Partners" for p in app.projects)  # the palette knows it
        await highlight(pilot, screen, "projects", load_schema("Partners").id)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.schema.name == "Partners"
        assert "Partners · settings" in screen_text(app)


async def test_a_member_is_told_only_an_admin_may(demo, sqlite_url):
    from crm_tui.domain.actors import actor_for, add_user
    from crm_tui.tui.app import CrmApp

    member = actor_for(add_user("sam", by=demo))
    app = CrmApp(sqlite_url, member, poll_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_settings(pilot, "Clients")
        await pilot.press("a")
        await settle(pilot)
        await fill(pilot, "Prospects")
        await pilot.press("enter")
        await settle(pilot)
        assert "only an admin can change lists" in screen_text(app)
        assert [l.name for l in load_schema("Clients").lists] == ["Clients"]



async def test_settings_from_the_board_and_back_to_the_board(demo, make_app):
    from crm_tui.tui.screens.board import BoardScreen
    from crm_tui.tui.screens.help import binding_rows

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_project(load_schema("Opportunities").id, "board")
        await settle(pilot)
        assert isinstance(app.screen, BoardScreen)
        assert "app.settings" in [row[2] for row in binding_rows(app.screen)]  # listed by ?
        await pilot.press("comma")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("a")
        await settle(pilot)
        await fill(pilot, "Discovery", "5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        board = app.screen
        assert isinstance(board, BoardScreen)
        assert "Discovery" in [l.name for l in board.schema.lists]

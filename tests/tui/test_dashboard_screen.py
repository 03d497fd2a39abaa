"""The dashboard screen: figures arrive from a worker, keys move, resize, add, edit and remove widgets,
and the layout shown is the one stored."""

from __future__ import annotations

from crm_tui.domain.dashboards import SALES, get_dashboard, widgets_of
from crm_tui.tui.screens.dashboard import DashboardScreen, DashboardTile, WidgetFormScreen

from tests.tui.tuihelpers import screen_text, settle


async def open_dashboard(app, pilot, name=SALES):
    await settle(pilot)
    app.push_screen(DashboardScreen(name))
    await settle(pilot)
    return app.screen


def stored(actor, title):
    return next(w for w in widgets_of(get_dashboard(actor, SALES)) if w.title == title)


async def test_sales_dashboard_shows_every_widget(demo, make_app):
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_dashboard(app, pilot)
        assert isinstance(screen, DashboardScreen)
        tiles = list(screen.query(DashboardTile))
        assert len(tiles) == 11
        assert all(t.figures is not None for t in tiles)
        text = screen_text(app)
        for title in ("Open pipeline value", "Weighted forecast", "Won this month", "Win rate"):
            assert title in text
        assert "computing" not in text


async def test_keys_move_and_resize_the_focused_widget(demo, make_app):
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_dashboard(app, pilot)
        assert screen.focused_tile.widget_def.title == "Open pipeline value"
        await pilot.press("right")
        assert screen.focused_tile.widget_def.title == "Weighted forecast"
        await pilot.press("ctrl+left", "ctrl+left")
        await settle(pilot)
        assert (stored(demo, "Weighted forecast").x, stored(demo, "Weighted forecast").y) == (0, 0)
        assert screen.focused_tile.widget_def.title == "Weighted forecast"
        await pilot.press("shift+down")
        await settle(pilot)
        assert stored(demo, "Weighted forecast").h == 2
        tile = screen.query_one(f"#tile-{stored(demo, 'Weighted forecast').id}", DashboardTile)
        assert tile.styles.row_span == 2
        cells = [(w.x + i, w.y + j) for w in widgets_of(get_dashboard(demo, SALES))
                 for i in range(w.w) for j in range(w.h)]
        assert len(cells) == len(set(cells))


async def test_add_edit_and_remove_a_widget(demo, make_app):
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_dashboard(app, pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, WidgetFormScreen)
        await pilot.press(*"Lost deals")
        form = app.screen
        form.query_one("#wf-kinds").value = "lost"
        form.query_one("#wf-measure").value = "count"
        form.query_one("#wf-format").value = "count"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        added = stored(demo, "Lost deals")
        assert added.spec["metric"]["kinds"] == ["lost"]
        tile = screen.query_one(f"#tile-{added.id}", DashboardTile)
        assert isinstance(tile.figures["value"], int) and tile.figures["value"] > 0
        assert screen.focused_tile is tile

        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#wf-measure").value = "sum:Bogus"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen  # a name that fits no field: the tile says so, the others still show
        assert "no field 'Bogus'" in screen.query_one(f"#tile-{added.id}", DashboardTile).figures["error"]
        assert "no field" in screen_text(app) and "Filler" not in screen_text(app)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one("#wf-measure").value = "median:Amount"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WidgetFormScreen)  # a malformed spec stays in the form
        assert "--measure" in str(app.screen.query_one("#wf-error").render())
        app.screen.query_one("#wf-measure").value = "sum:Amount"
        app.screen.query_one("#wf-format").value = "money"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert stored(demo, "Lost deals").spec["metric"]["field"] == "Amount"
        assert "." in screen.query_one(f"#tile-{added.id}", DashboardTile).figures["value"]

        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert all(w.title != "Lost deals" for w in widgets_of(get_dashboard(demo, SALES)))
        assert len(list(screen.query(DashboardTile))) == 11


async def test_refresh_and_no_access(demo, make_app):
    from dataclasses import replace

    from crm_tui.domain.project_schema import load_schema

    app = make_app()
    amount = load_schema("Opportunities").field("Amount").id
    app.actor = replace(app.actor, hidden_fields=frozenset({amount}))
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_dashboard(app, pilot)
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(app)
        assert "no access" in text
        tile = next(t for t in screen.query(DashboardTile) if t.widget_def.title == "Active opportunities")
        assert isinstance(tile.figures["value"], int)


async def test_the_palette_provider_opens_a_dashboard(demo, make_app):
    from textual.app import App

    from crm_tui.tui.screens.dashboard import DashboardCommands

    class PaletteApp(App):
        COMMANDS = {DashboardCommands}

        def __init__(self):
            super().__init__()
            self.actor = demo

        def report(self, error):
            raise error

    app = PaletteApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"dashboard sa")
        await settle(pilot)
        assert "Open dashboard Sales" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.screen.dashboard_name == SALES
        assert len(list(app.screen.query(DashboardTile))) == 11

"""Table view: navigation, sort, filter, alignment, archive, and a window over many records."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from crm_tui.domain import browse
from crm_tui.domain.project_schema import load_schema
from crm_tui.tui.screens.table import TableScreen

from tests.tui.tuihelpers import screen_text, settle


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_navigation_moves_the_cursor_and_scrolls(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TableScreen) and screen.schema.name == "Clients"
        table = screen.table
        assert len(table.ids) == 20
        await pilot.press("down", "j", "j")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert table.cursor_row == 2
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == 19
        last_title = table.rows[table.ids[-1]].cells[0]
        assert last_title in screen_text(app)
        await pilot.press("g")
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("l", "l")
        assert table.current_column.label == "Phone"


async def test_sort_by_the_focused_column_and_reverse(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen, table = app.screen, app.screen.table
        await pilot.press("l")  # Email
        await pilot.press("s")
        await settle(pilot)
        assert screen.sort_key == table.current_column.key and not screen.descending
        emails = [table.rows[rid].cells[table.cursor_col] for rid in table.ids if rid in table.rows]
        assert emails == sorted(emails)
        assert "Email ▲" in screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        assert screen.descending
        emails = [table.rows[rid].cells[table.cursor_col] for rid in table.ids if rid in table.rows]
        assert emails == sorted(emails, reverse=True)
        assert "Email ▼" in screen_text(app)


async def test_filter_as_you_type_then_clear(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        word = table.rows[table.ids[3]].cells[0].split()[0]
        await pilot.press("slash", *word)
        await pilot.pause(0.3)
        await settle(pilot)
        assert 0 < len(table.ids) < 20
        schema = load_schema("Clients")
        expected = browse.ordered_ids(demo, schema, filters=browse.Filters(search=word))
        assert table.ids == expected
        assert f"/{word}" in screen_text(app).splitlines()[0]
        await pilot.press("enter")
        assert table.has_focus
        await pilot.press("x")
        await settle(pilot)
        assert len(table.ids) == 20


async def test_wide_characters_stay_aligned(demo, make_app):
    from crm_tui.tui.cells import fit

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        width = table.scrollable_content_region.width
        titles = [table.rows[rid].cells[0] for rid in table.ids if rid in table.rows]
        assert any(cell_len(t) != len(t) for t in titles), "the demo has CJK names"
        for y in range(1, table.size.height):
            line = table.render_line(y)
            assert line.cell_length == width
            row = int(table.scroll_y) + y - 1
            if row >= len(table.ids):
                continue
            cells = table.rows[table.ids[row]].cells
            for index, x, w in table._layout():  # every column starts at its own cell on every row
                assert line.crop(x, x + w).text == fit(cells[index], w, table.columns[index].align)


async def test_archive_asks_first_and_restores(demo, make_app):
    from crm_tui.db.models import Record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        target = table.current_id
        await pilot.press("d")
        await settle(pilot)
        assert "Archive" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert not Record.get_by_id(target).archived
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert Record.get_by_id(target).archived
        assert target not in table.ids and len(table.ids) == 19
        await pilot.press("u")
        await settle(pilot)
        assert not Record.get_by_id(target).archived
        assert table.current_id == target


@pytest.mark.slow
async def test_ten_thousand_rows_read_only_the_window(admin_actor, make_app):
    from crm_tui.domain.project_schema import load_schema
    from crm_tui.domain.records import NewRecord, create_records_bulk
    from crm_tui.domain.template import install_sales_crm
    from crm_tui.db.connection import run_write

    install_sales_crm(admin_actor)
    clients = load_schema("Clients")
    email = clients.field("Email").id
    run_write(create_records_bulk, admin_actor, clients,
              [NewRecord(f"Client {i:05d}", values={email: f"c{i}@example.com"}) for i in range(10_000)])
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.table
        assert len(table.ids) == 10_000
        assert len(table.rows) <= 200  # only a window was read
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == 9_999
        assert "Client 09999" in screen_text(app)
        assert len(table.rows) <= 400

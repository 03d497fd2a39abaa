"""Pipeline board: navigation, moves with their events, reorder, collapse, filters, quick create,
conflicts, remote changes, and a 10,000-deal column."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_tui.db.models import Event, Record
from crm_tui.domain.board import load_board
from crm_tui.domain.project_schema import load_schema

from tests.tui.tuihelpers import open_project, screen_text, settle


async def open_board(pilot):
    await settle(pilot)
    await open_project(pilot, "Opportunities")
    assert type(pilot.app.screen).__name__ == "BoardScreen"
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_columns_show_exact_totals_and_the_focus_moves(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        expected = load_board(demo, load_schema("Opportunities"))
        first = expected.columns[0]
        text = screen_text(app)
        assert first.list.name in text and f"{first.count:,}" in text
        assert screen.board.money(first.total) in text  # $… exact, from SQL
        assert first.weighted == (first.total * first.list.probability / 100)
        assert board.col == 0 and board.current_id == first.ids[0]
        await pilot.press("j")
        assert board.current_id == first.ids[1]
        await pilot.press("l")
        assert board.col == 1 and board.current_id == expected.columns[1].ids[0]
        await pilot.press("h", "k")
        assert board.current_id == first.ids[0]
        await pilot.press("G")
        assert board.current_id == first.ids[-1]


async def test_shift_right_moves_the_card_and_writes_a_moved_event(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        card = board.current_card
        source, target = board.columns[0], board.columns[1]
        counts = (source.count, target.count)
        total = target.total
        await pilot.press("shift+right")
        await settle(pilot)
        record = Record.get_by_id(card.id)
        assert record.list_id == target.list.id
        event = Event.select().where((Event.record == card.id) & (Event.kind == "moved")).order_by(Event.id.desc()).first()
        assert (event.old, event.new) == (f'"{source.list.name}"', f'"{target.list.name}"')
        assert (source.count, target.count) == (counts[0] - 1, counts[1] + 1)
        assert target.total == total + card.amount_value
        assert board.current_id == card.id and board.col == 1  # the focus follows the card
        assert board.current_card.days_in_stage == 0
        # the local totals equal a fresh read from SQL
        fresh = {c.list.id: (c.count, c.total, c.weighted) for c in load_board(demo, load_schema("Opportunities")).columns}
        assert fresh[target.list.id] == (target.count, target.total, target.weighted)
        await pilot.press("H")  # and back
        await settle(pilot)
        assert Record.get_by_id(card.id).list_id == source.list.id


async def test_stage_picker_and_reorder(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        first, second = board.columns[0].ids[:2]
        await pilot.press("ctrl+down")
        await settle(pilot)
        assert board.columns[0].ids[:2] == [second, first]
        assert board.current_id == first
        column_ids = load_board(demo, load_schema("Opportunities")).columns[0].ids
        assert column_ids[:2] == [second, first]
        await pilot.press("ctrl+up")
        await settle(pilot)
        assert board.columns[0].ids[:2] == [first, second]
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*"Nego", "enter")
        await settle(pilot)
        assert Record.get_by_id(first).list.name == "Negotiation"


async def test_collapse_closed_lists(demo, make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        assert board.collapse_closed
        widths = {board.columns[ci].list.name: w for ci, _, w in board._layout()}
        board.action_focus_column(10)
        await pilot.press(*["l"] * 8)
        widths = {board.columns[ci].list.name: w for ci, _, w in board._layout()}
        assert widths.get("Won", 99) <= 6 and "Won" in screen_text(app)
        assert board.current_column.list.kind == "open"  # focus skips collapsed lists
        await pilot.press("c")
        await settle(pilot)
        assert not board.collapse_closed
        await pilot.press(*["l"] * 8)
        assert board.current_column.list.name == "Not applicable"
        widths = {board.columns[ci].list.name: w for ci, _, w in board._layout()}
        assert widths["Not applicable"] >= 24


async def test_filters_by_text_tag_and_assignee(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        total = sum(c.count for c in board.columns)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press(*"SEO", "enter")
        await settle(pilot)
        tagged = sum(c.count for c in board.columns)
        assert 0 < tagged < total
        assert all("SEO" in board.cards[i].tags for c in board.columns for i in c.ids if i in board.cards)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"bob", "enter")
        await settle(pilot)
        assert sum(c.count for c in board.columns) <= tagged
        assert all(board.cards[i].assignee == "bob" for c in board.columns for i in c.ids if i in board.cards)
        await pilot.press("x")
        await settle(pilot)
        assert sum(c.count for c in board.columns) == total
        await pilot.press("slash", *"deal 1")
        await pilot.pause(0.3)
        await settle(pilot)
        assert all("deal 1" in board.cards[i].title for c in board.columns for i in c.ids if i in board.cards)
        await pilot.press("escape")
        await settle(pilot)
        assert sum(c.count for c in board.columns) == total


async def test_quick_create_in_the_focused_column(demo, make_app):
    from crm_tui.domain.record_views import show_record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        await pilot.press("l")
        target = board.current_column
        before = target.count
        client = Record.select().where(Record.project == load_schema("Clients").id).order_by(Record.id).first()
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#quick-title").value = "Rebrand 2026"
        await pilot.press("tab", *"12,500", "tab", *client.title[:4])
        await settle(pilot)
        await pilot.press("enter")  # picks the highlighted client
        await settle(pilot)
        await pilot.press("enter")  # creates the card
        await settle(pilot)
        created = Record.get(Record.title == "Rebrand 2026")
        item = show_record(demo, created.id)
        assert item["list"] == target.list.name
        assert item["fields"]["Amount"] == "12500.00"
        assert item["fields"]["Client"]["title"].startswith(client.title[:4])
        assert board.current_id == created.id and board.current_column.count == before + 1


async def test_a_conflicting_move_is_reported_not_lost(demo, make_app):
    from crm_tui.domain.records import update_record

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        card = screen.board.current_card
        update_record(demo, card.id, title="Renamed elsewhere", expect_version=card.version)
        await pilot.press("shift+right")
        await settle(pilot)
        assert any("changed by someone else" in n.message for n in app._notifications)
        assert Record.get_by_id(card.id).list_id == screen.board.columns[0].list.id  # not moved
        assert not Event.select().where((Event.record == card.id) & (Event.kind == "moved")
                                        & (Event.user == demo.id) & (Event.id > screen.last_event - 1000)
                                        & (Event.new == f'"{screen.board.columns[1].list.name}"')).exists()
        assert screen.board.cards[card.id].title == "Renamed elsewhere"  # reloaded


async def test_a_remote_change_appears_without_a_key(demo, make_app):
    from crm_tui.domain.records import move_record

    app = make_app(poll_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        card_id = board.columns[0].ids[0]
        count = board.columns[0].count
        move_record(demo, card_id, board.columns[2].list.name)  # another user, another connection
        for _ in range(20):
            await pilot.pause(0.1)
            await settle(pilot)
            if board.columns[0].count == count - 1:
                break
        assert board.columns[0].count == count - 1
        assert card_id in board.columns[2].ids


@pytest.mark.slow
async def test_ten_thousand_deals_in_one_column(admin_actor, make_app):
    from crm_tui.db.connection import run_write
    from crm_tui.domain.records import NewRecord, create_records_bulk
    from crm_tui.domain.template import install_sales_crm

    install_sales_crm(admin_actor)
    opps = load_schema("Opportunities")
    amount = opps.field("Amount").id
    run_write(create_records_bulk, admin_actor, opps,
              [NewRecord(f"Deal {i:05d}", list_id=opps.lists[1].id, values={amount: Decimal(i) + Decimal("0.25")})
               for i in range(10_000)], moved_events=False)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot)
        board = screen.board
        column = board.columns[1]
        assert column.count == 10_000
        assert column.total == sum(Decimal(i) + Decimal("0.25") for i in range(10_000))
        assert len(board.cards) <= 200  # only what is (nearly) on screen was read
        await pilot.press("l", "G")
        await settle(pilot)
        assert board.current_card.title == "Deal 09999"
        assert "Deal 09999" in screen_text(app)
        await pilot.press("shift+left")
        await settle(pilot)
        assert board.columns[0].count == 1 and column.count == 9_999

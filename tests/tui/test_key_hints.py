"""The key hints line at the bottom of every screen: the focused screen's keys, the palette key on the
right, clipped to the terminal, following focus changes, clickable."""

from __future__ import annotations

import pytest

from crm_tui.tui.screens.help import HelpScreen
from crm_tui.tui.widgets.key_hints import KeyHints

from tests.tui.tuihelpers import screen_text, settle


def hints_row(app) -> str:
    return screen_text(app).splitlines()[-1]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_hints_show_the_screens_keys_and_the_palette_on_the_right(demo, make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        row = hints_row(app)
        assert len(row) == size[0]
        assert row.rstrip().endswith("^p Palette")
        assert "? Keys" in row
        # the first record: the record screen's own keys replace the table's
        await pilot.press("enter")
        await settle(pilot)
        record_row = hints_row(app)
        assert record_row != row
        assert "Save" in record_row
        assert record_row.rstrip().endswith("^p Palette")


async def test_hints_are_clipped_whole_at_80_columns(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        hints = app.screen.query_one(KeyHints)
        keys_part = hints.text.split("^p Palette")[0].rstrip()
        for hint, _ in zip(hints._hints, range(3)):
            assert f"{hint[1]} {hint[2]}" in keys_part  # the first hints are whole, not cut mid-word


async def test_clicking_a_hint_presses_its_key(demo, make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        hints = app.screen.query_one(KeyHints)
        start = next(start for start, _end, key in hints._spans if key == "question_mark")
        await pilot.click(KeyHints, offset=(start + 1, 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)

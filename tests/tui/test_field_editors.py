"""editor_for: one NumberInput for number, percent and currency (same characters let through, a hint
by type); date hints follow the date order; a reference to several records is a list editor."""

from __future__ import annotations

import pytest
from textual.app import App

from crm_tui.domain.project_schema import FieldDef
from crm_tui.tui.widgets.field_editors import (NUMBER_CHARS, NumberInput, ReferenceInput, ReferenceListInput,
                                               editor_for)


def fdef(type_name: str, **config) -> FieldDef:
    return FieldDef(id=1, project_id=1, name="F", type=type_name, position=0, hidden=False, config=config)


@pytest.fixture
async def in_app():
    """Textual's inputs are built inside a running app."""
    async with App().run_test():
        yield


@pytest.mark.parametrize("type_name,config,hint", [
    ("number", {}, "a number"),
    ("percent", {}, "e.g. 12.5%"),
    ("currency", {"currency": "EUR"}, "amount in EUR"),
    ("currency", {}, "amount in USD"),
])
async def test_number_percent_and_currency_share_one_input(in_app, type_name, config, hint):
    editor, initial, kind = editor_for(fdef(type_name, **config), "12.50")
    assert isinstance(editor, NumberInput) and editor.type_name == type_name
    assert (initial, kind, editor.value) == ("12.50", "input", "12.50")
    assert editor.restrict == NUMBER_CHARS and editor.placeholder == hint
    assert editor.cursor_blink is False


async def test_date_hint_follows_the_order(in_app):
    assert editor_for(fdef("date"), None, date_order="DMY")[0].placeholder == "31/12/2026, today, +3d"
    assert editor_for(fdef("date"), None, date_order="MDY")[0].placeholder == "12/31/2026, today, +3d"
    assert editor_for(fdef("date"), None)[0].placeholder == "2026-12-31, today, +3d"
    assert editor_for(fdef("date"), None)[0].has_class("date-input")


async def test_references_one_or_several(in_app):
    one, initial, kind = editor_for(fdef("reference", target=2), {"id": 7, "title": "Acme"})
    assert type(one) is ReferenceInput and initial == 7 and kind == "reference"
    several, initial, _ = editor_for(fdef("reference", target=2, multiple=True),
                                     [{"id": 7, "title": "Acme"}, {"id": 9, "title": "Zeta"}])
    assert isinstance(several, ReferenceListInput) and initial == [7, 9]
    assert editor_for(fdef("reference", target=2, multiple=True), None)[1] == []
    assert editor_for(fdef("reference", target=2), None)[1] == ""

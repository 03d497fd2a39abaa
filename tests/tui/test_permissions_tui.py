"""A Junior in the app: no Cost or Profit in table columns, board cards, the record editor or history."""

from __future__ import annotations

import pytest

from crm_tui.tui.app import CrmApp
from tests.tui.tuihelpers import open_project, screen_text, settle


@pytest.fixture
def junior(demo, sqlite_url):
    from crm_tui.domain.actors import add_user, resolve_actor
    from crm_tui.domain.permissions import add_role, set_user_role
    from crm_tui.domain.record_views import list_records
    from crm_tui.domain.records import update_record

    add_role(demo, "Opportunities", "Junior", hide=["Cost", "Profit"])
    add_user("jo", by=demo)
    set_user_role(demo, "jo", "Opportunities", "Junior")
    deal = list_records(demo, "Opportunities", limit=1)[0]
    update_record(demo, deal["id"], values={"Cost": "7777.77"})  # an old value in the history too
    return resolve_actor("jo"), deal


def _no_trace(text: str) -> None:
    for secret in ("Cost", "Profit", "7777.77", "7,777.77"):
        assert secret not in text, f"{secret!r} on screen:\n{text}"


@pytest.mark.parametrize("size", [(80, 24), (160, 40)])
async def test_junior_never_sees_cost_or_profit(junior, sqlite_url, size):
    actor, deal = junior
    app = CrmApp(sqlite_url, actor, poll_seconds=3600)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await open_project(pilot, "Opportunities", "table")
        for _ in range(12):  # every column of the table, scrolled into view
            _no_trace(screen_text(app))
            await pilot.press("right")
            await settle(pilot)
        await open_project(pilot, "Opportunities", "board")
        _no_trace(screen_text(app))
        app.open_record(deal["id"])
        await settle(pilot)
        assert deal["title"][:10] in screen_text(app)
        _no_trace(screen_text(app))
        for _ in range(2):  # referenced-by and history tabs
            await pilot.press("ctrl+t")
            await settle(pilot)
            _no_trace(screen_text(app))


async def test_the_admin_does_see_them(junior, sqlite_url, demo):
    """The control for the test above: the same screens show Cost to an admin."""
    _, deal = junior
    app = CrmApp(sqlite_url, demo, poll_seconds=3600)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        app.open_record(deal["id"])
        await settle(pilot)
        assert "Cost" in screen_text(app)
        assert "7777.77" in screen_text(app) or "7,777.77" in screen_text(app)

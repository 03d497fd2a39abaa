"""Users and roles screen: add a user, add a Junior role that hides Cost and Profit, give it to the
user — then the domain hides Cost from them. Non-admins are told why they cannot."""

from __future__ import annotations

import pytest
from textual import events

from crm_tui.domain.permissions import list_roles
from crm_tui.domain.project_schema import load_schema
from crm_tui.tui.screens.form import FormDialog
from crm_tui.tui.screens.users import UsersScreen

from tests.tui.tuihelpers import screen_text, settle


async def paste(pilot, text: str) -> None:
    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


async def open_users(pilot) -> UsersScreen:
    """Through the command palette, as a user would."""
    await settle(pilot)
    await pilot.press("ctrl+p")
    await settle(pilot)
    await paste(pilot, "Users and")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, UsersScreen)
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_add_a_user_and_a_junior_role_that_hides_cost_and_profit(demo, make_app, size):
    from crm_tui.domain.actors import resolve_actor
    from crm_tui.domain.browse import table_columns
    from crm_tui.domain.record_views import visible_fields

    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_users(pilot)
        assert "admin" in screen_text(app)
        # a user
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        await paste(pilot, "jo")
        await pilot.press("tab")
        await paste(pilot, "Jo Bloggs")
        await pilot.press("tab")
        await paste(pilot, "jo@example.com")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "jo@example.com" in screen_text(app) and "user jo added" in screen_text(app)

        # a role in Opportunities: p picks the project, a opens the role form
        await pilot.press("2", "p")
        await settle(pilot)
        await paste(pilot, "Opportunities")
        await pilot.press("enter")
        await settle(pilot)
        assert "Roles of Opportunities" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        await paste(pilot, "Junior")
        await pilot.press("tab")  # hidden fields: Amount, Cost, Profit, …
        fields = [f.name for f in load_schema("Opportunities").fields]
        await pilot.press(*["down"] * fields.index("Cost"), "space", "down", "space")
        await pilot.press("tab", "tab")  # past read-only fields, to the actions
        await pilot.press("down", "down", "space")  # Member may delete; a Junior may not
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        junior = next(r for r in list_roles("Opportunities") if r["name"] == "Junior")
        assert sorted(junior["hidden"]) == ["Cost", "Profit"]
        assert "delete" not in junior["capabilities"] and "create" in junior["capabilities"]
        assert "hides Cost, Profit" in screen_text(app)

        # give it to jo: g on the role, then the user
        roles = [r["name"] for r in screen.roles[screen.project_id]]
        await pilot.press("home", *["down"] * roles.index("Junior"), "g")
        await settle(pilot)
        await paste(pilot, "jo")
        await pilot.press("enter")
        await settle(pilot)
        assert "jo is Junior in Opportunities" in screen_text(app)
        junior = next(r for r in list_roles("Opportunities") if r["name"] == "Junior")
        assert junior["users"] == ["jo"]

    jo = resolve_actor("jo")
    schema = load_schema("Opportunities")
    seen = [f.name for f in visible_fields(jo, schema)]
    assert "Cost" not in seen and "Profit" not in seen and "Amount" in seen
    assert "Cost" not in [c.label for c in table_columns(jo, schema)]
    assert not jo.can("delete", schema.id)


async def test_give_a_user_a_built_in_role_from_the_users_tab(demo, make_app):
    from crm_tui.domain.actors import add_user, resolve_actor

    add_user("kim", by=demo)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_users(pilot)
        names = [u["name"] for u in screen.users]
        await pilot.press("home", *["down"] * names.index("kim"), "enter")  # enter gives a role too
        await settle(pilot)
        await paste(pilot, "Clients")
        await pilot.press("enter")
        await settle(pilot)
        await paste(pilot, "View")
        await pilot.press("enter")
        await settle(pilot)
        assert "Clients: View-only" in screen_text(app)
        kim = resolve_actor("kim")
        assert not kim.can("create", load_schema("Clients").id)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, UsersScreen)


async def test_a_refused_user_stays_in_the_dialog(demo, make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_users(pilot)
        await pilot.press("a")
        await settle(pilot)
        await paste(pilot, "admin")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        assert "a user with this name exists" in screen_text(app)


async def test_only_admins_manage_users(demo, sqlite_url):
    from crm_tui.domain.actors import actor_for, add_user
    from crm_tui.tui.app import CrmApp

    member = actor_for(add_user("sam", by=demo))
    app = CrmApp(sqlite_url, member, poll_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_users(pilot)
        text = screen_text(app)
        assert "only an admin can manage users and roles" in text
        assert "Traceback" not in text
        await pilot.press("a")
        await settle(pilot)
        assert app.screen is screen  # nothing to add from here

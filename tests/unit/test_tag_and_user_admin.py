"""Tag rename/delete and the admin's user list (the domain behind the settings and users screens)."""

from __future__ import annotations

import pytest

from crm_tui.domain.actors import actor_for, add_user
from crm_tui.domain.permissions import add_role, set_user_role
from crm_tui.domain.project_schema import load_schema
from crm_tui.domain.records import create_record
from crm_tui.domain.tag_admin import delete_tag, rename_tag, tag_usage
from crm_tui.domain.user_admin import list_users
from crm_tui.errors import NotFoundError, PermissionDenied, ValidationError


def test_rename_and_delete_a_tag(sales):
    schema = load_schema("Clients")
    create_record(sales, schema, "Acme", tags=["vip", "north"])
    create_record(sales, schema, "Globex", tags=["vip"])
    assert tag_usage("Clients") == {"north": 1, "vip": 2}
    rename_tag(sales, "Clients", "VIP", "Key account")
    assert tag_usage("Clients") == {"Key account": 2, "north": 1}
    with pytest.raises(ValidationError, match="already has this tag"):
        rename_tag(sales, "Clients", "north", "key ACCOUNT")
    with pytest.raises(NotFoundError, match="no tag 'south'; tags: Key account, north"):
        delete_tag(sales, "Clients", "south")
    assert delete_tag(sales, "Clients", "Key account") == 2
    assert tag_usage("Clients") == {"north": 1}


def test_only_admins_change_tags_and_list_users(sales):
    member = actor_for(add_user("sam", email="sam@example.com", by=sales))
    with pytest.raises(PermissionDenied, match="only an admin can change tags"):
        rename_tag(member, "Clients", "x", "y")
    with pytest.raises(PermissionDenied, match="only an admin can manage users and roles"):
        list_users(member)


def test_list_users_with_their_roles(sales):
    add_user("jo", email="jo@example.com", display_name="Jo", by=sales)
    add_role(sales, "Opportunities", "Junior", hide=["Cost", "Profit"])
    set_user_role(sales, "jo", "Opportunities", "Junior")
    users = {u["name"]: u for u in list_users(sales)}
    assert users["jo"]["roles"] == {"Opportunities": "Junior"}
    assert users["jo"]["email"] == "jo@example.com" and not users["jo"]["admin"]
    assert users["admin"]["admin"] and users["admin"]["roles"] == {}

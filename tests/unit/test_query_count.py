"""Reads (and lookup propagation) cost a bounded number of SQL queries, whatever the number of records.

Every statement peewee sends goes through ``Database.execute_sql``; the tests count those calls while
listing 100 and 10,000 opportunities with three lookup columns and a formula.
"""

from __future__ import annotations

import contextlib

from crm_tui.db import connection
from crm_tui.domain.actors import actor_for, ensure_user
from crm_tui.domain.demo import build_demo
from crm_tui.domain.projects import add_field
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import create_record, update_record

MAX_LIST_QUERIES = 15


@contextlib.contextmanager
def counting_queries():
    """Yield a list that collects the SQL of every statement sent while the block runs."""
    db = connection.database.obj
    sent: list[str] = []
    original = db.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        sent.append(sql)
        return original(sql, params, *args, **kwargs)

    db.execute_sql = execute_sql
    try:
        yield sent
    finally:
        del db.execute_sql  # back to the class's method


def _demo_with_three_lookups(actor, size: int) -> None:
    build_demo(actor, size=size, seed=1)
    # the template has Client name and Client email; a third lookup column, and Profit is the formula
    add_field(actor, "Opportunities", "Client category", "lookup", via="Client", of="Category")


def _list_queries(actor, rows: int, limit: int | None = None) -> list[str]:
    """The statements sent to list the opportunities (``limit`` of them); checks the page is full."""
    with counting_queries() as sent:
        listed = list_records(actor, "Opportunities", limit=limit)
    assert len(listed) == rows
    fields = listed[-1]["fields"]
    assert fields["Client name"] and fields["Client email"] and fields["Client category"]
    assert fields["Profit"] is not None
    return sent


def test_counter_sees_every_query(db):
    from crm_tui.db.models import User

    with counting_queries() as sent:
        pass
    assert sent == []
    with counting_queries() as sent:
        User.select().count()
        list(User.select())
    assert len(sent) == 2


def test_listing_100_or_1000_records_costs_the_same_queries(admin):
    _demo_with_three_lookups(admin, 1000)
    page = _list_queries(admin, 100, limit=100)
    everything = _list_queries(admin, 1000)
    assert len(page) == len(everything) <= MAX_LIST_QUERIES, "\n".join(everything)


def test_listing_10000_opportunities_costs_a_bounded_number_of_queries(sqlite_url):
    connection.open_database(sqlite_url)
    actor = actor_for(ensure_user("admin", is_admin=True))
    _demo_with_three_lookups(actor, 10_000)
    page = _list_queries(actor, 100, limit=100)
    everything = _list_queries(actor, 10_000)
    assert len(page) == len(everything) <= MAX_LIST_QUERIES, "\n".join(everything)


def test_show_record_cost_does_not_grow_with_referrers(sales):
    def cost_of_showing(n_referrers: int) -> int:
        client = create_record(sales, "Clients", f"Client of {n_referrers}", values={"Email": "a@x.com"})
        for n in range(n_referrers):
            create_record(sales, "Opportunities", f"Deal {n_referrers}/{n}",
                          values={"Client": client, "Amount": str(n)})
        with counting_queries() as sent:
            item = show_record(sales, client)
        assert len(item["referenced_by"]) == n_referrers
        return len(sent)

    assert cost_of_showing(1) == cost_of_showing(40) <= MAX_LIST_QUERIES


def test_propagating_a_client_change_does_not_cost_a_query_per_opportunity(sales):
    def cost_of_email_change(n_opps: int) -> int:
        client = create_record(sales, "Clients", f"Client of {n_opps}", values={"Email": "a@x.com"})
        for n in range(n_opps):
            opp = create_record(sales, "Opportunities", f"Deal {n_opps}/{n}", values={"Client": client})
            create_record(sales, "Delivery", f"Delivery {n_opps}/{n}", values={"Opportunity": opp})
        with counting_queries() as sent:
            update_record(sales, client, values={"Email": "b@x.com"})
        return len(sent)

    one, many = cost_of_email_change(1), cost_of_email_change(30)
    assert one == many

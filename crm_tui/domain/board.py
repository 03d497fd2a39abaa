"""The pipeline board's data: per-list counts and exact money totals in SQL, card ids in board order,
and the few facts each visible card shows.

>>> schema = load_schema("Opportunities")
>>> board = load_board(actor, schema)                    # 2 queries, whatever the number of deals
>>> board.columns[0].count, board.columns[0].total, board.columns[0].weighted
(42, Decimal('512300.5'), Decimal('51230.05'))
>>> cards = load_cards(actor, schema, board.fields, board.columns[0].ids[:8])   # 3 queries

Totals are ``SUM(field_value.number)`` grouped by list: integer millionths, so exact on SQLite and
PostgreSQL. The weighted total is that sum × the list's probability / 100, done on the exact integer
in Python (a per-row ``number × probability`` in SQL could overflow BIGINT near the 9.2 × 10^12 limit).
``last_change`` is the cheap "did anything change?" check a live board polls.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field as dc_field
from decimal import ROUND_HALF_EVEN, Decimal

from peewee import JOIN, fn

from ..db import queries
from ..db.connection import database
from ..db.models import Event, FieldValue, Record, utcnow
from .actors import Actor
from .browse import Filters, filtered_query
from .decimals import SCALE, normalize
from .project_schema import FieldDef, ListDef, ProjectSchema
from .record_views import visible_fields
from .values import display_value, load_values

CLOSED_KINDS = ("won", "lost", "closed")


@dataclass(frozen=True)
class BoardFields:
    """Which custom fields a card shows: the money, the client, the confidence."""

    amount: FieldDef | None = None
    client: FieldDef | None = None
    confidence: FieldDef | None = None


@dataclass
class BoardColumn:
    list: ListDef
    count: int = 0
    total: Decimal | None = None
    weighted: Decimal | None = None
    ids: list[int] = dc_field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.list.kind in CLOSED_KINDS


@dataclass
class Board:
    fields: BoardFields
    columns: list[BoardColumn]
    last_event_id: int


@dataclass
class Card:
    id: int
    version: int
    list_id: int | None
    title: str
    amount: str = ""
    amount_value: Decimal | None = None
    client: str = ""
    tags: list[str] = dc_field(default_factory=list)
    stars: int | None = None
    stars_max: int = 5
    assignee: str = ""
    initials: str = ""
    days_in_stage: int = 0
    aging: bool = False


def default_view(schema: ProjectSchema) -> str:
    """``board`` for a project whose records move through several open lists, else ``table``;
    the project's ``default_view`` setting wins."""
    chosen = schema.settings.get("default_view")
    if chosen in ("board", "table"):
        return chosen
    return "board" if sum(1 for lst in schema.lists if lst.kind == "open") >= 2 else "table"


def project_views() -> list[dict]:
    """Every project with its number of lists and default view (``board`` / ``table``), in project
    order — two small queries and no record count, for choosing the first screen quickly."""
    import json

    from ..db.models import Project, StageList

    lists: dict[int, list[str]] = {}
    for project_id, kind in StageList.select(StageList.project, StageList.kind).tuples():
        lists.setdefault(project_id, []).append(kind)
    out = []
    for project_id, name, settings in (Project.select(Project.id, Project.name, Project.settings)
                                       .order_by(Project.position, Project.id).tuples()):
        kinds = lists.get(project_id, [])
        chosen = json.loads(settings or "{}").get("default_view")
        view = chosen if chosen in ("board", "table") else (
            "board" if sum(1 for k in kinds if k == "open") >= 2 else "table")
        out.append({"id": project_id, "name": name, "lists": len(kinds), "view": view})
    return out


def board_fields(actor: Actor, schema: ProjectSchema) -> BoardFields:
    """The project's money field (setting ``currency_field``, else its first currency field, else a
    lookup or formula shown as money — they are stored, so they sum the same), its first reference
    (else lookup) as the client, its first rating as the confidence."""
    fields = visible_fields(actor, schema)
    wanted = (schema.settings.get("currency_field") or "").casefold()
    money = [f for f in fields if f.type == "currency"
             or (f.computed and f.config.get("display_type") == "currency" and not f.config.get("multiple"))]
    amount = next((f for f in money if f.name.casefold() == wanted), None) \
        or next((f for f in money if f.type == "currency"), None) or next(iter(money), None)
    client = next((f for f in fields if f.type == "reference"), None) \
        or next((f for f in fields if f.type == "lookup"), None)
    confidence = next((f for f in fields if f.type == "rating"), None)
    return BoardFields(amount, client, confidence)


def column_totals(actor: Actor, schema: ProjectSchema, amount: FieldDef | None,
                  filters: Filters = Filters()) -> dict[int | None, tuple[int, int | None]]:
    """``{list id: (count, sum of the amount in millionths or None)}`` — one GROUP BY query."""
    query = filtered_query(actor, schema, filters)
    if amount is None:
        rows = query.select(Record.list, fn.COUNT(Record.id)).group_by(Record.list)
        return {list_id: (count, None) for list_id, count in rows.tuples()}
    value = FieldValue.alias("amount_value")
    rows = (query.select(Record.list, fn.COUNT(Record.id), fn.SUM(value.number))
            .join_from(Record, value, JOIN.LEFT_OUTER, on=(
                (value.record == Record.id) & (value.field == amount.id) & (value.position == 0)))
            .group_by(Record.list))
    return {list_id: (count, int(total) if total is not None else None)
            for list_id, count, total in rows.tuples()}


def weighted(total_scaled: int | None, probability: int) -> Decimal | None:
    """Exact ``total × probability / 100`` from a scaled sum."""
    if total_scaled is None:
        return None
    return normalize(Decimal(total_scaled) * probability / (100 * SCALE))


def column_ids(actor: Actor, schema: ProjectSchema, filters: Filters = Filters()) -> dict[int, list[int]]:
    """Card ids per list, in board order (position, then id). One query over an index."""
    query = (filtered_query(actor, schema, filters).select(Record.id, Record.list)
             .order_by(Record.list, Record.position, Record.id))
    out: dict[int, list[int]] = {}
    for rid, list_id in database.execute(query).fetchall():
        out.setdefault(list_id, []).append(rid)
    return out


def load_board(actor: Actor, schema: ProjectSchema, filters: Filters = Filters()) -> Board:
    """Every column with its count, exact totals and card ids."""
    fields = board_fields(actor, schema)
    last = last_change(schema.id)
    totals = column_totals(actor, schema, fields.amount, filters)
    ids = column_ids(actor, schema, filters)
    columns = []
    for lst in schema.lists:
        count, total = totals.get(lst.id, (0, None))
        if fields.amount is not None and total is None:
            total = 0
        columns.append(BoardColumn(lst, count, normalize(Decimal(total) / SCALE) if total is not None else None,
                                   weighted(total, lst.probability), ids.get(lst.id, [])))
    return Board(fields, columns, last)


def initials(name: str | None) -> str:
    """``alice`` → ``AL``, ``Ana María`` → ``AM``, ``j.smith`` → ``JS``."""
    if not name:
        return ""
    parts = [p for p in re.split(r"[\s._@-]+", name.strip()) if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[1][0]).upper()


def load_cards(actor: Actor, schema: ProjectSchema, fields: BoardFields, ids: list[int], *,
               now: dt.datetime | None = None) -> dict[int, Card]:
    """The cards ``ids``: records, their three shown values and their tags — 3 queries."""
    if not ids:
        return {}
    ids = list(ids)
    now = now or utcnow()
    rows = list(queries.record_rows(Record.select().where(Record.id.in_(ids))))
    shown = [f for f in (fields.amount, fields.client, fields.confidence) if f is not None]
    values = load_values(schema, ids, field_ids=[f.id for f in shown]) if shown else {}
    tags: dict[int, list[str]] = {}
    for rid, name in queries.tags_of(ids):
        tags.setdefault(rid, []).append(name)
    lists = {lst.id: lst for lst in schema.lists}
    out: dict[int, Card] = {}
    for row in rows:
        rid = row["id"]
        vals = values.get(rid, {})
        lst = lists.get(row["list"])
        entered = row["list_entered_at"]
        days = max(0, (now - entered).days) if isinstance(entered, dt.datetime) else 0
        card = Card(rid, row["version"], row["list"], row["title"], tags=tags.get(rid, []),
                    assignee=row["assignee_name"] or "", initials=initials(row["assignee_name"]),
                    days_in_stage=days,
                    aging=bool(lst and lst.kind == "open" and days > (lst.aging_days or 14)))
        if fields.amount is not None and vals.get(fields.amount.id) is not None:
            card.amount_value = vals[fields.amount.id]
            card.amount = display_value(fields.amount, card.amount_value)
        if fields.client is not None and vals.get(fields.client.id) is not None:
            card.client = display_value(fields.client, vals[fields.client.id])
        if fields.confidence is not None:
            card.stars_max = int(fields.confidence.config.get("max") or 5)
            stars = vals.get(fields.confidence.id)
            card.stars = int(stars) if stars is not None else None
        out[rid] = card
    return out


def last_change(project_id: int) -> int:
    """The project's newest event id (index ``(project, id)``): poll it, re-read only when it moves."""
    return Event.select(fn.MAX(Event.id)).where(Event.project == project_id).scalar() or 0


def changes_since(project_id: int, event_id: int) -> tuple[int, int]:
    """``(number of the project's events after event_id, newest id)``: after writing N events itself,
    a view that sees exactly N knows nobody else changed anything."""
    count, newest = (Event.select(fn.COUNT(Event.id), fn.MAX(Event.id))
                     .where((Event.project == project_id) & (Event.id > event_id)).tuples().first())
    return count or 0, newest or event_id


def format_money(fields: BoardFields, value: Decimal | None) -> str:
    """A total in the board's currency (``$1,234.50``); empty when there is no money field."""
    if value is None or fields.amount is None:
        return ""
    from .field_types import currency_places

    places = currency_places(fields.amount.config.get("currency"))
    return display_value(fields.amount, value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))

"""Realistic demo data on the Sales CRM template: ``crm-tui demo [--size N] [--seed S]``.

>>> build_demo(actor, size=300, seed=1)   # 300 opportunities, ~100 clients, deliveries and invoices

Clients with mixed-script names (张伟, Zoë, O'Brien), opportunities created over the last 18 months in
every stage, with service tags, exact amounts, costs, confidence and expected close dates. The same
seed gives the same data (dates are relative to today). Written with bulk inserts: 100,000 works.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from ..db.connection import run_write
from ..db.models import Record, User
from .actors import Actor, ensure_user
from .project_schema import load_schema
from .records import NewRecord, create_records_bulk
from .template import CLIENTS, DELIVERY, INVOICES, OPPORTUNITIES, install_sales_crm

FIRST = ["Zoë", "张伟", "Siobhán", "José", "Aiko", "Øyvind", "Amélie", "Nguyễn", "Olga", "Mateo", "Priya",
         "Lars", "Fatima", "Chen", "Björn", "Ana", "Kwame", "Ingrid", "Raj", "Lucía", "Yuki", "Omar", "Sofía",
         "Tomasz", "Hana", "Émile", "Darius", "Maya", "Ivan", "Leila"]
LAST = ["O'Brien", "Müller", "García", "佐藤", "Kowalski", "Nakamura", "Dubois", "Papadopoulos", "Smith",
        "Jensen", "Rossi", "Novák", "Ramírez", "Okafor", "Johansson", "Haddad", "Kim", "Silva", "Петров",
        "Fischer", "Moreau", "Ng", "Van der Berg", "Łukasiewicz", "Svensson", "Ó Súilleabháin"]
COMPANY_WORDS = ["Studio", "Bakery", "Consulting", "Logistics", "Dental", "Architects", "Coffee", "Labs",
                 "Fitness", "Legal", "Motors", "Travel", "Garden", "Media", "Clinic", "Foods", "Design",
                 "Robotics", "Hotel", "Books", "Records", "Brewery", "Yoga", "Solar"]
SUFFIX = ["", " Ltd", " GmbH", " & Sons", " Inc", " SARL", " AB", " 株式会社", " Co", " LLC"]
CITIES = [("12 Rue de la Paix", "75002 Paris", "France"), ("1 Market St", "San Francisco, CA 94105", "USA"),
          ("Unter den Linden 5", "10117 Berlin", "Germany"), ("2-1 Marunouchi", "Tokyo 100-0005", "Japan"),
          ("88 Nanjing Rd", "Shanghai 200001", "China"), ("Calle Mayor 10", "28013 Madrid", "Spain"),
          ("5 King St", "Dublin D02", "Ireland"), ("Drottninggatan 3", "111 51 Stockholm", "Sweden"),
          ("221B Baker St", "London NW1 6XE", "United Kingdom"), ("Av. Paulista 1000", "São Paulo", "Brazil")]
SOURCES = ["Referral", "Website", "Cold call", "Trade show", "Other"]
CATEGORIES = ["Agency", "SMB", "Enterprise", "Individual"]
SERVICES = ["Branding", "Website", "SEO", "Facebook management"]
DEMO_USERS = ["alice", "bob", "carol", "dave"]
# share of deals per stage, in template order
STAGE_WEIGHTS = [14, 11, 8, 9, 7, 5, 22, 17, 7]
LOST_REASONS = ["Price", "Timing", "Competitor", "No budget", "No response", "Other"]


def _ascii(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in plain if c.isalnum()) or "contact"


def build_demo(actor: Actor, *, size: int = 300, seed: int = 1, today: dt.date | None = None,
               progress=None) -> dict:
    """Install the template and add demo data; returns counts. Refuses a database that has records."""
    from ..errors import CrmError

    if size < 1:
        raise CrmError("--size must be at least 1")
    install_sales_crm(actor)
    if Record.select().exists():
        raise CrmError("this database already has records; run `crm-tui demo` on a new database "
                       "(e.g. --db sqlite:///demo.db)")
    rng = random.Random(seed)
    today = today or dt.date.today()
    start = dt.datetime.combine(today, dt.time(9, 0)) - dt.timedelta(days=548)
    users = [ensure_user(name) for name in DEMO_USERS]
    user_ids = [u.id for u in users] + ([actor.id] if actor.id else [])

    def write():
        clients = load_schema(CLIENTS)
        f = {x.name: x.id for x in clients.fields}
        n_clients = max(1, size // 3)
        client_items = []
        for i in range(n_clients):
            person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            kind = rng.random()
            if kind < 0.25:
                title = person
                category = "Individual"
            else:
                title = f"{rng.choice(LAST)} {rng.choice(COMPANY_WORDS)}{rng.choice(SUFFIX)}"
                category = rng.choice(CATEGORIES[:3])
            if size > 50:
                title = f"{title} #{i + 1}" if i >= 40 else title
            street, city, country = rng.choice(CITIES)
            domain = _ascii(title.split(" #")[0])[:20] + rng.choice([".com", ".io", ".co.uk", ".de", ".fr"])
            created = start + dt.timedelta(days=rng.randint(0, 540), minutes=rng.randint(0, 600))
            values = {
                f["Email"]: f"{_ascii(person.split()[0])}@{domain}",
                f["Phone"]: f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)} "
                            f"{rng.randint(100, 999)}",
                f["Website"]: f"https://www.{domain}",
                f["Address"]: f"{street}\n{city}\n{country}",
                f["Source"]: rng.choice(SOURCES),
                f["Category"]: category,
            }
            client_items.append(NewRecord(title, values=values, created_at=created))
        client_ids = create_records_bulk(actor, clients, client_items, moved_events=False)

        opps = load_schema(OPPORTUNITIES)
        of = {x.name: x.id for x in opps.fields}
        stage_ids = [l.id for l in opps.lists]
        won_list = next(l for l in opps.lists if l.kind == "won")
        lost_list = next(l for l in opps.lists if l.kind == "lost")
        opp_items = []
        won: list[int] = []
        for i in range(size):
            stage_index = rng.choices(range(len(stage_ids)), weights=STAGE_WEIGHTS)[0]
            list_id = stage_ids[stage_index]
            closed = stage_index >= 6
            age = rng.randint(60, 548) if closed else rng.randint(0, 200)
            created = dt.datetime.combine(today, dt.time(9, 0)) - dt.timedelta(days=age, minutes=rng.randint(0, 480))
            entered = created + dt.timedelta(days=rng.randint(0, min(age, 90)), hours=rng.randint(0, 8))
            amount = Decimal(rng.randrange(500, 60000, 50)) + (Decimal(rng.choice([0, 0, 0, 50, 99])) / 100)
            cost = (amount * Decimal(rng.randint(25, 75)) / 100).quantize(Decimal("0.01"))
            services = rng.sample(SERVICES, k=rng.choice([1, 1, 1, 2, 2, 3]))
            client = client_ids[rng.randrange(len(client_ids))]
            values = {
                of["Amount"]: amount,
                of["Cost"]: cost,
                of["Confidence"]: rng.randint(1, 5),
                of["Expected close date"]: (entered + dt.timedelta(days=rng.randint(7, 120))).date(),
                of["Client"]: client,
                of["Deal source"]: rng.choice(SOURCES[:4]),
                of["Client size"]: rng.choice(["Small", "Medium", "Enterprise"]),
            }
            if rng.random() < 0.4:
                values[of["Proposal URL"]] = f"https://docs.example.com/proposals/{i + 1}"
            if list_id == lost_list.id:
                values[of["Lost reason"]] = rng.choice(LOST_REASONS)
            title = f"{' + '.join(services)} — deal {i + 1}"
            item = NewRecord(title, list_id=list_id, tags=services, values=values,
                             assignee_id=rng.choice(user_ids), created_at=created, list_entered_at=entered)
            opp_items.append(item)
        opp_ids = create_records_bulk(actor, opps, opp_items)
        won = [rid for rid, item in zip(opp_ids, opp_items) if item.list_id == won_list.id]
        won_items = {rid: item for rid, item in zip(opp_ids, opp_items) if item.list_id == won_list.id}

        delivery = load_schema(DELIVERY)
        df = {x.name: x.id for x in delivery.fields}
        d_lists = [l.id for l in delivery.lists]
        d_items = [NewRecord(f"Deliver deal {rid}", list_id=rng.choice(d_lists), values={df["Opportunity"]: rid},
                             created_at=won_items[rid].list_entered_at) for rid in won]
        create_records_bulk(actor, delivery, d_items)

        invoices = load_schema(INVOICES)
        inf = {x.name: x.id for x in invoices.fields}
        paid_list = next(l for l in invoices.lists if l.kind == "won")
        i_items = []
        for n, rid in enumerate(won, start=1):
            item = won_items[rid]
            paid = item.list_entered_at + dt.timedelta(days=rng.randint(5, 45))
            is_paid = paid.date() <= today
            values = {inf["Opportunity"]: rid, inf["Invoice amount"]: item.values[of["Amount"]]}
            if is_paid:
                values[inf["Paid date"]] = paid.date()
            i_items.append(NewRecord(f"INV-{n:05d}", list_id=paid_list.id if is_paid else invoices.lists[1].id,
                                     values=values, created_at=item.list_entered_at,
                                     list_entered_at=paid if is_paid else item.list_entered_at))
        create_records_bulk(actor, invoices, i_items)
        return {"clients": len(client_ids), "opportunities": len(opp_ids), "deliveries": len(d_items),
                "invoices": len(i_items), "users": len(User.select())}

    return run_write(write)

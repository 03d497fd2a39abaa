"""The import's fast cell parsers and storers give exactly what the field types give — values, error
messages and stored rows — for the shapes they take shortcuts on and for everything else."""

from __future__ import annotations

import random

import pytest

from crm_tui.domain.field_types import get_field_type
from crm_tui.domain.import_cells import cell_parser, memoized, storer
from crm_tui.domain.project_schema import FieldDef
from crm_tui.domain.values import ROW_COLUMNS, storage_rows

FIELDS = [
    FieldDef(1, 1, "Qty", "number", 0, False, {}),
    FieldDef(2, 1, "Share", "percent", 0, False, {}),
    FieldDef(3, 1, "Amount", "currency", 0, False, {"currency": "USD"}),
    FieldDef(4, 1, "Euros", "currency", 0, False, {"currency": "EUR"}),
    FieldDef(5, 1, "Yen", "currency", 0, False, {"currency": "JPY"}),
    FieldDef(6, 1, "When", "date", 0, False, {}),
    FieldDef(7, 1, "Note", "text", 0, False, {}),
    FieldDef(8, 1, "Notes", "long_text", 0, False, {}),
    FieldDef(9, 1, "Done", "checkbox", 0, False, {}),
    FieldDef(10, 1, "Stars", "rating", 0, False, {}),
    FieldDef(11, 1, "Stage", "dropdown", 0, False, {"options": ["Referral", "Website"]}),
    FieldDef(12, 1, "Labels", "multi_select", 0, False, {"options": ["Red", "Blue", "Green, dark"]}),
    FieldDef(13, 1, "Site", "url", 0, False, {}),
    FieldDef(14, 1, "Tel", "phone", 0, False, {}),
    FieldDef(15, 1, "Mail", "email", 0, False, {}),
]

TRICKY = [
    "", " ", "\u00a0", "0", "-0", "-0.0", "007", "1.5", "1.50", "100.0", "1,234", "1,234.5", "12,345,678.123456",
    "1,23", "1.234", "1.234.567", "1234,567", "0,5", ".5", "+5", "(5)", "$5", "-$5", "$-5", "$ 5", "€5", "5 €",
    "¥500", "£5", "5%", "5 %", "12.5%", "%", "1.1234567", "9999999999999", "9223372036854", "9223372036855",
    "12.345", "١٢", "1e3", "NaN", "inf", "--5", "5-", "2026-03-05", "2026-02-30", "0999-01-01", "2026-3-5",
    "05/03/2026", "13/01/2026", "2026-03-05T10:00", "today", "+3d", "yes", "No", "x", "★★★", "4/5", "6",
    "referral", " WEBSITE ", "red; blue", "Green, dark", "green, dark; red", "purple", "example.com/p",
    "ftp://x", "+1 555 123 4567", "12", "a@B.io", "mailto:a@b.io", "line\r\nbreak", "nul\x00", "x" * 10_001,
]


def outcome(parse, raw):
    try:
        value = parse(raw)
    except ValueError as exc:
        return "error", str(exc)
    return "ok", value, repr(value)


def random_cells(n: int) -> list[str]:
    rnd = random.Random(7)
    alphabet = "0123456789,.-$€¥%  ()+"
    out = []
    for _ in range(n):
        if rnd.random() < 0.5:
            out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10))))
        else:
            whole = rnd.choice([0, 5, 999, 1000, 123456, 10**12, 10**13])
            text = f"{whole:,}" if rnd.random() < 0.5 else str(whole)
            out.append(rnd.choice(["", "-", "$", "-$", "€"]) + text + rnd.choice(["", ".5", ".05", ".1234567"])
                       + rnd.choice(["", "%", " "]))
    return out


@pytest.mark.parametrize("order", ["YMD", "DMY", "MDY"])
@pytest.mark.parametrize("fdef", FIELDS, ids=lambda f: f.type + "-" + f.name)
def test_cell_parser_is_the_field_types_parse(fdef, order):
    ftype = get_field_type(fdef.type)
    fast = cell_parser(fdef, date_order=order)
    cells = TRICKY + (random_cells(3000) if fdef.type in ("number", "percent", "currency") else [])
    for raw in cells * 2:  # twice: the second time comes from the memo
        expected = outcome(lambda r: ftype.parse(r, fdef.config, date_order=order), raw)
        assert outcome(fast, raw) == expected, raw


@pytest.mark.parametrize("sqlite", [True, False])
@pytest.mark.parametrize("fdef", FIELDS, ids=lambda f: f.type + "-" + f.name)
def test_storer_gives_the_stored_rows(fdef, sqlite):
    store = storer(fdef, sqlite=sqlite)
    parse = cell_parser(fdef)
    for raw in TRICKY:
        try:
            value = parse(raw)
        except ValueError:
            continue
        if value is None:
            continue
        expected = tuple(tuple(r.get(c) for c in ROW_COLUMNS[1:]) for r in storage_rows(0, fdef, value))
        if sqlite:
            expected = tuple(r[:4] + (r[4].isoformat() if r[4] is not None else None,) + r[5:] for r in expected)
        assert store(value) == expected, raw


def test_memo_gives_up_on_distinct_cells_and_keeps_errors_exact():
    calls = []

    def parse(raw):
        calls.append(raw)
        if raw == "bad":
            raise ValueError("expected something else")
        return raw.upper()

    memo = memoized(parse)
    assert [memo("a"), memo("a")] == ["A", "A"] and calls == ["a"]
    for _ in range(2):
        with pytest.raises(ValueError, match="expected something else"):
            memo("bad")
    assert calls == ["a", "bad"]
    for i in range(3000):  # mostly distinct: memoising stops, results stay right
        assert memo(str(i)) == str(i)
    assert memo("a") == "A"

"""Reading values in bulk: the per-field converters give exactly what the per-value rules give.

``load_values``, ``records_as_dicts`` and the CLI decide once per field which decoding and which JSON /
display conversion applies (``row_decoder``, ``json_converter``, ``display_converter``, and the field
types' ``item_reader`` / ``json_converter`` / ``formatter``). These tests pin the outputs — exact decimal
strings, dates, booleans, multi-valued lookups, formula errors — on SQLite (ISO text dates) and
PostgreSQL (date objects), and check the shortcuts for decimals against the plain rules they replace.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from crm_tui.domain import field_types
from crm_tui.domain.decimals import from_scaled, normalize
from crm_tui.domain.field_types import FIELD_TYPES, get_field_type
from crm_tui.domain.project_schema import FieldDef, load_schema
from crm_tui.domain.projects import add_field, add_project
from crm_tui.domain.record_views import list_records, show_record
from crm_tui.domain.records import create_record
from crm_tui.domain.values import (
    ErrorValue, decode_field, display_converter, display_value, json_converter, json_value, load_values,
)

# ---------------------------------------------------------------------------------------------
# decimals: the shortcuts against the plain rules


def _reference_text(value: Decimal, places=None, *, grouping=False) -> str:
    """``_decimal_to_text`` as first written: normalize, then pad to ``places``."""
    value = normalize(value) if value != 0 else Decimal(0)
    if places is not None and max(0, -value.normalize().as_tuple().exponent) < places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value:,f}" if grouping else f"{value:f}"


EDGE_DECIMALS = ["0", "-0", "0.000", "-0.0000000", "1E+3", "1.20E+3", "1E-7", "-1E-7", "5E-7", "-5E-7", "1.5E-6",
                 "2.5E-6", "0.0000005", "0.0000015", "9223372036854.775807", "-9223372036854.775808", "1E+12",
                 "9.99999999E+12", "100", "100.00", "0.125", "0.005", "-0.5", "1234.5", "1234.50", "1234.567",
                 "-1024920536.387119618", "12.3456785"]


def _random_decimals(n: int):
    rng = random.Random(7)
    for _ in range(n):
        kind = rng.random()
        if kind < 0.4:
            yield Decimal(rng.randrange(-10**19, 10**19)).scaleb(-rng.randint(0, 9))
        elif kind < 0.7:
            yield Decimal(rng.randrange(-10**6, 10**6)).scaleb(rng.randint(-12, 8))
        else:
            cents = Decimal(rng.randrange(-10**8, 10**8)) / 100
            yield cents if rng.random() < 0.5 else cents.quantize(Decimal("0.0001"))


@pytest.mark.parametrize("places", [None, 0, 1, 2, 3, 4, 6])
@pytest.mark.parametrize("grouping", [False, True])
def test_decimal_text_is_the_plain_rule(places, grouping):
    values = [Decimal(s) for s in EDGE_DECIMALS] + list(_random_decimals(3000))
    for value in values:
        assert field_types._decimal_to_text(value, places, grouping=grouping) == \
            _reference_text(value, places, grouping=grouping), (value, places)


def test_stored_millionths_read_as_from_scaled_does():
    rng = random.Random(3)
    samples = [0, 1, -1, 10**6, -10**6, 500_000, -500_000, 1_234_500_000, 2**63 - 1, -2**63, 2**63, -2**63 - 1,
               10**30, True, "1500000"]
    samples += [rng.randrange(-2**63, 2**63) for _ in range(2000)]
    samples += [rng.randrange(-10**9, 10**9) * 10**6 for _ in range(500)]
    read = get_field_type("number").item_reader({})
    whole = get_field_type("rating").item_reader({})
    for stored in samples:
        assert repr(read(stored)) == repr(from_scaled(stored)), stored
        assert whole(stored) == int(from_scaled(stored)), stored


# ---------------------------------------------------------------------------------------------
# field types: a converter built once is the per-value method


CONFIGS = [{}, None, {"currency": "JPY"}, {"currency": "kwd"}, {"max": 3}, {"multiple": True},
           {"result_kind": "boolean"}, {"display_type": "currency", "display_config": {"currency": "EUR"}},
           {"display_type": "rating", "display_config": {"max": 3}}, {"display_type": "checkbox"},
           {"column": "number", "display_type": "number", "multiple": True}]
VALUES = [None, Decimal("1234.5"), Decimal("-0.5"), Decimal("1E+3"), 3, True, False, dt.date(2024, 2, 29),
          dt.datetime(2024, 1, 2, 3, 4), "text", ["a", "b"], [Decimal("1.5"), None], (1, 2), []]


def _outcome(fn, *args):
    try:
        result = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the same failure is part of the contract
        return "raises", type(exc).__name__
    return type(result).__name__, repr(result)


@pytest.mark.parametrize("type_name", sorted(FIELD_TYPES))
def test_type_converters_match_the_per_value_methods(type_name):
    kind = get_field_type(type_name)
    for config in CONFIGS:
        to_json, to_text = kind.json_converter(config), kind.formatter(config)
        item_json, item_text = kind.item_json(config), kind.item_text(config)
        for value in VALUES:
            assert _outcome(to_json, value) == _outcome(kind.to_json, value, config), (config, value)
            assert _outcome(to_text, value) == _outcome(kind.format, value, config), (config, value)
            if value is not None and not isinstance(value, (list, tuple)):
                assert _outcome(item_json, value) == _outcome(kind.to_json, value, config), (config, value)
                assert _outcome(item_text, value) == _outcome(kind.format, value, config), (config, value)
        for stored in ([1_500_000], ["2024-02-29"], [dt.date(2020, 1, 1)], ["x", None, "y"], [7]):
            expected = _outcome(kind.from_storage, stored, config)
            if expected[0] != "raises" and not kind.multi_valued(config or {}):
                assert _outcome(kind.item_reader(config), stored[0]) == expected, (config, stored)


# ---------------------------------------------------------------------------------------------
# values: one field's converters are json_value / display_value / decode_field


def _row(pos=0, text=None, number=None, date=None, ref=None, file=None, error=None, title=None, name=None,
         size=None):
    return (pos, text, number, date, ref, file, error, title, name, size)


FIELDS = [FieldDef(1, 1, "Price", "currency", 1, False, {"currency": "EUR"}),
          FieldDef(2, 1, "When", "date", 2, False, {}),
          FieldDef(3, 1, "Labels", "multi_select", 3, False, {"options": ["Red", "Blue"]}),
          FieldDef(4, 1, "Client", "reference", 4, False, {"target": 1, "multiple": False}),
          FieldDef(5, 1, "Profit", "formula", 5, False, {"result_kind": "number", "display_type": "currency",
                                                         "display_config": {"currency": "USD"}}),
          FieldDef(6, 1, "Old", "lookup", 6, False, {"column": "number", "display_type": "formula",
                                                     "multiple": True}),
          FieldDef(7, 1, "Dates", "lookup", 7, False, {"column": "date", "display_type": "date",
                                                       "display_config": {}, "multiple": True}),
          FieldDef(8, 1, "Bogus", "lookup", 8, False, {"column": "text", "display_type": "bogus"})]


@pytest.mark.parametrize("fdef", FIELDS, ids=[f.name for f in FIELDS])
def test_field_converters_are_reusable(fdef):
    to_json, to_text = json_converter(fdef), display_converter(fdef)
    for value in VALUES + [ErrorValue("#DIV/0!"), {"id": 1, "title": "Acme"}, [{"id": 1, "title": "A"}]]:
        assert _outcome(to_json, value) == _outcome(json_value, fdef, value), value
        assert _outcome(to_text, value) == _outcome(display_value, fdef, value), value


def test_decode_field_shapes():
    price, when, labels, client, profit, old, dates, bogus = FIELDS
    assert repr(decode_field(price, [_row(number=1_234_500_000)])) == "Decimal('1234.5')"
    assert repr(decode_field(price, [_row(number=7_000_000)])) == "Decimal('7')"
    assert decode_field(when, [_row(date="2024-02-29")]) == dt.date(2024, 2, 29)  # SQLite: ISO text
    assert decode_field(when, [_row(date=dt.datetime(2024, 2, 29, 10))]) == dt.date(2024, 2, 29)
    assert decode_field(labels, [_row(text="Red"), _row(1, text="Blue")]) == ["Red", "Blue"]
    assert decode_field(labels, []) is None
    assert decode_field(client, [_row(ref=5, title="Acme")]) == {"id": 5, "title": "Acme"}
    assert decode_field(profit, [_row(error="#DIV/0!")]) == "#DIV/0!"
    assert isinstance(decode_field(profit, [_row(error="#DIV/0!")]), ErrorValue)
    # a lookup displayed as a formula (older configs) reads its column as text, as it always did
    assert decode_field(old, [_row(number=1_500_000), _row(1, number=2_000_000)]) == ["1500000", "2000000"]
    assert decode_field(dates, [_row(date="2020-01-01"), _row(1, date=None), _row(2, date="2021-01-01")]) == \
        [dt.date(2020, 1, 1), dt.date(2021, 1, 1)]
    assert decode_field(dates, [_row()]) == []
    assert decode_field(bogus, [_row(error="#REF!")]) == "#REF!"
    with pytest.raises(ValueError, match="unknown field type 'bogus'"):
        decode_field(bogus, [_row(text="x")])


# ---------------------------------------------------------------------------------------------
# through the database, both engines


@pytest.fixture
def things(admin):
    """Targets with numbers, money in three currencies, dates, checkboxes, options, stars and formulas
    (one dividing by zero); Things looking them up through a single and a multiple reference."""
    add_project(admin, "Targets")
    for name, type_name, options in [
        ("Code", "text", {}), ("Qty", "number", {}), ("Price", "currency", {"currency": "EUR"}),
        ("Yen", "currency", {"currency": "JPY"}), ("Dinar", "currency", {"currency": "KWD"}),
        ("When", "date", {}), ("Done", "checkbox", {}),
        ("Labels", "multi_select", {"options": ["Red", "Green", "Blue"]}), ("Stars", "rating", {"max_rating": 3}),
        ("Double", "formula", {"formula": "{Qty} * 2"}), ("Inverse", "formula", {"formula": "1 / {Qty}"}),
        ("Later", "formula", {"formula": "{When} + 7"}), ("Big", "formula", {"formula": "{Qty} > 3"}),
        ("Label", "formula", {"formula": '{Code} & "!"'}),
    ]:
        add_field(admin, "Targets", name, type_name, **options)
    t0 = create_record(admin, "Targets", "T0", values={
        "Code": "08123", "Qty": "1,234.5", "Price": "€1.234,5", "Yen": "1200", "Dinar": "1.125",
        "When": "2024-02-29", "Done": "yes", "Labels": "red; blue", "Stars": "3"})
    t1 = create_record(admin, "Targets", "T1", values={"Qty": "0", "Price": "-0.5", "Yen": "0",
                                                       "When": "1999-12-31", "Done": "no"})
    add_project(admin, "Things")
    add_field(admin, "Things", "Target", "reference", target="Targets")
    add_field(admin, "Things", "Targets", "reference", target="Targets", multiple=True)
    for name in ("Price", "When", "Done", "Stars", "Double", "Inverse", "Labels"):
        add_field(admin, "Things", f"T {name}", "lookup", via="Target", of=name)
        add_field(admin, "Things", f"Ts {name}", "lookup", via="Targets", of=name)
    add_field(admin, "Things", "Sum price", "formula", formula="SUM({Ts Price})")
    thing = create_record(admin, "Things", "Thing", values={"Target": t0, "Targets": [t0, t1]})
    return {"t0": t0, "t1": t1, "thing": thing}


def test_canonical_values_keep_their_kinds(admin, things):
    schema = load_schema("Targets")
    values = load_values(schema, [things["t0"], things["t1"]])
    name = {f.id: f.name for f in schema.fields}
    t0 = {name[fid]: v for fid, v in values[things["t0"]].items()}
    t1 = {name[fid]: v for fid, v in values[things["t1"]].items()}
    assert {k: repr(v) for k, v in t0.items()} == {
        "Code": "'08123'", "Qty": "Decimal('1234.5')", "Price": "Decimal('1234.5')", "Yen": "Decimal('1200')",
        "Dinar": "Decimal('1.125')", "When": "datetime.date(2024, 2, 29)", "Done": "True",
        "Labels": "['Red', 'Blue']", "Stars": "3", "Double": "Decimal('2469')", "Inverse": "Decimal('0.00081')",
        "Later": "datetime.date(2024, 3, 7)", "Big": "True", "Label": "'08123!'"}
    assert repr(t1["Qty"]) == "Decimal('0')" and repr(t1["Price"]) == "Decimal('-0.5')"
    assert t1["Done"] is False and t1["Big"] is False
    assert isinstance(t1["Inverse"], ErrorValue) and t1["Inverse"] == "#DIV/0!"


def test_list_and_show_give_exact_json_and_text(admin, things):
    targets = list_records(admin, "Targets")
    assert targets[1]["fields"] == {
        "Code": None, "Qty": "0", "Price": "-0.50", "Yen": "0", "Dinar": None, "When": "1999-12-31",
        "Done": False, "Labels": [], "Stars": None, "Double": "0", "Inverse": {"error": "#DIV/0!"},
        "Later": "2000-01-07", "Big": False, "Label": "!"}
    assert targets[0]["fields"]["Dinar"] == "1.125" and targets[0]["fields"]["Yen"] == "1200"
    fields = list_records(admin, "Things")[0]["fields"]
    t0, t1 = {"id": things["t0"], "title": "T0"}, {"id": things["t1"], "title": "T1"}
    assert fields == {
        "Target": t0, "Targets": [t0, t1],
        "T Price": "1234.50", "Ts Price": ["1234.50", "-0.50"],
        "T When": "2024-02-29", "Ts When": ["2024-02-29", "1999-12-31"],
        "T Done": True, "Ts Done": [True, False],
        "T Stars": 3, "Ts Stars": [3],
        "T Double": "2469", "Ts Double": ["2469", "0"],
        "T Inverse": "0.00081", "Ts Inverse": {"error": "#DIV/0!"},
        "T Labels": ["Red", "Blue"], "Ts Labels": ["Red", "Blue"],
        "Sum price": "1234.00"}
    shown = show_record(admin, things["thing"], with_display=True)
    assert shown["fields"] == fields
    assert shown["display"] == {
        "Target": "T0", "Targets": "T0, T1",
        "T Price": "€1,234.50", "Ts Price": "€1,234.50, -€0.50",
        "T When": "2024-02-29", "Ts When": "2024-02-29, 1999-12-31",
        "T Done": "✓", "Ts Done": "✓, ",
        "T Stars": "★★★", "Ts Stars": "★★★",
        "T Double": "2,469", "Ts Double": "2,469, 0",
        "T Inverse": "0.00081", "Ts Inverse": "#DIV/0!",
        "T Labels": "Red, Blue", "Ts Labels": "Red, Blue",
        "Sum price": "€1,234.00"}

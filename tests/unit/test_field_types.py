"""Field types: parsing of user/CSV text, coercion, storage round-trips, JSON and display."""

import doctest
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crm_tui.domain import field_types
from crm_tui.domain.decimals import to_scaled
from crm_tui.domain.field_types import (
    CURRENCY_PLACES,
    FIELD_TYPES,
    address_country,
    currency_places,
    get_field_type,
)

TODAY = date(2026, 1, 31)
OPTIONS = {"options": ["Referral", "Website", "Cold call", "Trade show, Berlin"]}


def parse(type_name, raw, config=None, **kw):
    return get_field_type(type_name).parse(raw, config or {}, **kw)


def refused(type_name, raw, config=None, **kw) -> str:
    with pytest.raises(ValueError) as info:
        parse(type_name, raw, config, **kw)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# Registry


def test_registry_has_exactly_the_design_keys():
    assert set(FIELD_TYPES) == set(
        "text long_text number percent currency email phone url address date checkbox dropdown "
        "multi_select rating file formula reference lookup".split()
    )
    for name, kind in FIELD_TYPES.items():
        assert kind.name == name
        assert kind.column in ("text", "number", "date", "ref", "file")


def test_columns():
    columns = {name: kind.column for name, kind in FIELD_TYPES.items()}
    assert columns["reference"] == "ref" and columns["file"] == "file" and columns["date"] == "date"
    for name in ("number", "percent", "currency", "rating", "checkbox"):
        assert columns[name] == "number"
    for name in ("text", "long_text", "email", "phone", "url", "address", "dropdown", "multi_select"):
        assert columns[name] == "text"


def test_get_field_type_unknown_lists_valid_names():
    with pytest.raises(ValueError) as info:
        get_field_type("money")
    assert "money" in str(info.value) and "currency" in str(info.value) and "text" in str(info.value)


def test_computed_flags_and_multi_valued():
    assert {n for n, k in FIELD_TYPES.items() if k.computed} == {"formula", "lookup"}
    assert FIELD_TYPES["multi_select"].multi_valued({})
    assert not FIELD_TYPES["reference"].multi_valued({})
    assert FIELD_TYPES["reference"].multi_valued({"multiple": True})
    assert FIELD_TYPES["file"].multi_valued({"multiple": True})
    assert FIELD_TYPES["lookup"].multi_valued({"multiple": True})
    assert not FIELD_TYPES["text"].multi_valued({"multiple": True})


def test_module_doctests():
    result = doctest.testmod(field_types)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", [n for n in FIELD_TYPES if not FIELD_TYPES[n].computed])
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_text_is_none(name, blank):
    assert parse(name, blank, OPTIONS) is None
    assert get_field_type(name).coerce(None, OPTIONS) is None


@pytest.mark.parametrize("name", list(FIELD_TYPES))
def test_none_storage_json_format(name):
    kind = get_field_type(name)
    assert kind.to_storage(None, {}) == []
    assert kind.from_storage([], {}) is None
    assert kind.to_json(None, {}) is None
    assert kind.format(None, {}) == ""


# ---------------------------------------------------------------------------------------------
# Text


def test_text_keeps_leading_zero_and_strips():
    assert parse("text", "  08123 ") == "08123"
    assert parse("text", "line one\nline two") == "line one\nline two"
    assert parse("text", "a\r\nb") == "a\nb"


def test_text_limits():
    assert parse("text", "x" * 10_000) == "x" * 10_000
    assert "10,000" in refused("text", "x" * 10_001)
    assert parse("long_text", "y" * 100_000 + "\n\nend") .endswith("\n\nend")
    assert "1,000,000" in refused("long_text", "y" * 1_000_001)
    assert "NUL" in refused("text", "a\x00b")


def test_text_coerce():
    text = get_field_type("text")
    assert text.coerce(8123, {}) == "8123"
    assert text.coerce(Decimal("1.50"), {}) == "1.50"
    assert text.coerce(date(2026, 3, 5), {}) == "2026-03-05"
    with pytest.raises(ValueError):
        text.coerce(True, {})
    with pytest.raises(ValueError):
        text.coerce(["a"], {})


def test_address_and_country():
    value = parse("address", "  1 Main St\nSpringfield, IL 62701\nUSA  ")
    assert value == "1 Main St\nSpringfield, IL 62701\nUSA"
    assert address_country(value) == "USA"
    assert address_country("10 rue de Rivoli, 75001 Paris, France") == "France"
    assert address_country("Bahnhofstr. 1\n8001 Zürich\nSwitzerland\n\n") == "Switzerland"
    assert address_country("10 Downing Street") is None
    assert address_country("Springfield, IL 62701") is None
    assert address_country(None) is None and address_country("") is None
    assert "2,000" in refused("address", "a" * 2001)


# ---------------------------------------------------------------------------------------------
# Email, phone, url


@pytest.mark.parametrize("raw, expected", [
    ("ana@example.com", "ana@example.com"),
    ("  Ana.Lopez+crm@Example.CO.uk ", "Ana.Lopez+crm@example.co.uk"),
    ("mailto:bob@example.org", "bob@example.org"),
    ("x@sub.xn--p1ai", "x@sub.xn--p1ai"),
])
def test_email_good(raw, expected):
    assert parse("email", raw) == expected


@pytest.mark.parametrize("raw", [
    "ana", "ana@", "@example.com", "ana@example", "ana @example.com", "ana@exa mple.com",
    "a..b@example.com", ".a@example.com", "ana@-example.com", "ana@example.c", "a@b@example.com",
])
def test_email_bad(raw):
    assert refused("email", raw) == "expected an email address like name@example.com"


@pytest.mark.parametrize("raw", [
    "+1 555 123 4567", "(555) 123-4567", "555.123.4567", "+44 20 7946 0958 ext 12",
    "030/1234567", "+1-555-123-4567 x12", "12345", "+49 (0) 30 1234567 ext. 3",
])
def test_phone_good_keeps_formatting(raw):
    assert parse("phone", f"  {raw} ") == raw


@pytest.mark.parametrize("raw", [
    "1234", "123456789012345678901", "call me", "555-CALL-NOW", "555 123 4567 ext",
    "++1 555 1234", "555+1234567", "555_123_4567",
])
def test_phone_bad(raw):
    assert "phone number" in refused("phone", raw)


@pytest.mark.parametrize("raw, expected", [
    ("https://example.com", "https://example.com"),
    ("http://example.com/a?b=c#d", "http://example.com/a?b=c#d"),
    ("HTTPS://Example.com/Path", "https://Example.com/Path"),
    ("example.com/path", "https://example.com/path"),
    ("www.example.co.uk", "https://www.example.co.uk"),
    ("http://localhost:8000/x", "http://localhost:8000/x"),
    ("localhost:8000", "https://localhost:8000"),
    ("https://10.0.0.1/admin", "https://10.0.0.1/admin"),
    ("https://[::1]:8080/", "https://[::1]:8080/"),
    ("https://münchen.de", "https://münchen.de"),
])
def test_url_good(raw, expected):
    assert parse("url", raw) == expected


@pytest.mark.parametrize("raw", [
    "http//bad", "not a url", "https://", "ftp://example.com", "example", "mailto:a@example.com",
    "https://exa mple.com", "a@example.com", "https://example..com", "https://example.com:99999",
    "javascript:alert(1)", "https://-bad-.com",
])
def test_url_bad(raw):
    assert refused("url", raw) == "expected a web address like https://example.com"


# ---------------------------------------------------------------------------------------------
# Number, percent, currency


@pytest.mark.parametrize("raw, expected", [
    ("1234.5", "1234.5"), ("-3", "-3"), ("+7", "7"), ("1,234.5", "1234.5"), ("1,234", "1234"),
    ("1,234,567", "1234567"), ("12,5", "12.5"), ("1 234,5", "1234.5"), ("1\u00a0234,5", "1234.5"),
    ("1\u202f234.25", "1234.25"), ("1.234,56", "1234.56"), ("1.234.567", "1234567"),
    ("1.234", "1.234"), ("(42)", "-42"), ("(1,234.50)", "-1234.5"), ("$12", "12"), ("12 EUR", "12"),
    (".5", "0.5"), ("0.000001", "0.000001"), ("1.500000", "1.5"), ("-0", "0"), ("−5", "-5"),
    ("1'234.5", "1234.5"), ("9223372036854", "9223372036854"),
])
def test_number_good(raw, expected):
    value = parse("number", raw)
    assert isinstance(value, Decimal) and str(value) == expected


@pytest.mark.parametrize("raw", [
    "12abc", "abc", "1e5", "NaN", "Infinity", "inf", "1,2,3", "1.2.3", "12 5", "1,2345,678",
    "--5", "-(5)", "5-", "1,234.5.6", "12%", "$", "1,,234",
])
def test_number_bad(raw):
    assert refused("number", raw) == "expected a number like 1234.56"


def test_number_limits():
    assert refused("number", "1.1234567") == "at most 6 decimal places"
    assert "too large" in refused("number", "9300000000000")
    assert "too large" in refused("number", "-9300000000000")


def test_number_coerce():
    number = get_field_type("number")
    assert number.coerce(Decimal("1.50"), {}) == Decimal("1.5")
    assert number.coerce(7, {}) == Decimal(7)
    assert number.coerce(0.1, {}) == Decimal("0.1")
    assert number.coerce("1,234.5", {}) == Decimal("1234.5")
    for bad in (True, Decimal("NaN"), float("inf"), Decimal("1e13"), Decimal("0.0000001"), [1], object()):
        with pytest.raises(ValueError):
            number.coerce(bad, {})


def test_percent():
    assert parse("percent", "12.5%") == Decimal("12.5")
    assert parse("percent", "12.5 %") == Decimal("12.5")
    assert parse("percent", "-3") == Decimal(-3)
    assert parse("percent", "12,5%") == Decimal("12.5")
    assert refused("percent", "12.5%%") == "expected a percentage like 12.5%"
    assert refused("percent", "$12") == "expected a percentage like 12.5%"
    kind = get_field_type("percent")
    assert kind.format(Decimal("12.5"), {}) == "12.5%"
    assert kind.to_json(Decimal("12.50"), {}) == "12.5"


USD = {"currency": "USD"}


@pytest.mark.parametrize("raw, config, expected", [
    ("$1,234.50", USD, "1234.5"),
    ("1 234,50 €", {"currency": "EUR"}, "1234.5"),
    ("(1,234.50)", USD, "-1234.5"),
    ("-$5", USD, "-5"),
    ("$-5", USD, "-5"),
    ("USD 12", USD, "12"),
    ("12 usd", USD, "12"),
    ("1234.5", {}, "1234.5"),  # default USD
    ("1234.500", USD, "1234.5"),  # trailing zeros are not extra places
    ("€1.234,56", {"currency": "EUR"}, "1234.56"),
    ("£3", {"currency": "GBP"}, "3"),
    ("¥1,234", {"currency": "JPY"}, "1234"),
    ("¥12.34", {"currency": "CNY"}, "12.34"),
    ("₹1,23,456.50", {"currency": "INR"}, "123456.5"),
    ("1 234,50 CHF", {"currency": "CHF"}, "1234.5"),
    ("$12", {"currency": "CAD"}, "12"),
    ("1.234", {"currency": "KWD"}, "1.234"),
    ("5 XYZ", {"currency": "XYZ"}, "5"),  # unknown code but it is the field's own
])
def test_currency_good(raw, config, expected):
    value = parse("currency", raw, config)
    assert isinstance(value, Decimal) and str(value) == expected


def test_currency_bad():
    assert refused("currency", "1234.567", USD) == "at most 2 decimal places for USD"
    assert refused("currency", "12.5", {"currency": "JPY"}) == "no decimal places allowed for JPY"
    assert refused("currency", "1.2345", {"currency": "BHD"}) == "at most 3 decimal places for BHD"
    assert refused("currency", "€5", USD) == "expected an amount in USD, not €"
    assert refused("currency", "5 EUR", USD) == "expected an amount in USD, not EUR"
    assert refused("currency", "$5", {"currency": "EUR"}) == "expected an amount in EUR, not $"
    assert refused("currency", "12abc", USD) == "expected an amount like $1,234.50"
    assert refused("currency", "12%", USD) == "expected an amount like $1,234.50"


def test_currency_coerce():
    money = get_field_type("currency")
    assert money.coerce(Decimal("10.10"), USD) == Decimal("10.1")
    assert money.coerce(5, {"currency": "JPY"}) == Decimal(5)
    with pytest.raises(ValueError, match="at most 2 decimal places for USD"):
        money.coerce(Decimal("0.001"), USD)
    with pytest.raises(ValueError, match="no decimal places allowed for JPY"):
        money.coerce(Decimal("0.5"), {"currency": "JPY"})


def test_currency_places():
    assert CURRENCY_PLACES["JPY"] == 0 and CURRENCY_PLACES["KRW"] == 0
    assert CURRENCY_PLACES["BHD"] == 3 and CURRENCY_PLACES["KWD"] == 3
    assert CURRENCY_PLACES["USD"] == 2 and CURRENCY_PLACES["EUR"] == 2
    assert currency_places("ZZZ") == 2 and currency_places("jpy") == 0


@pytest.mark.parametrize("value, config, as_json, shown", [
    (Decimal("1234.5"), USD, "1234.50", "$1,234.50"),
    (Decimal("1234.5"), {"currency": "EUR"}, "1234.50", "€1,234.50"),
    (Decimal("1234.5"), {"currency": "GBP"}, "1234.50", "£1,234.50"),
    (Decimal("1234.5"), {"currency": "INR"}, "1234.50", "₹1,234.50"),
    (Decimal("1234.5"), {"currency": "CHF"}, "1234.50", "1,234.50 CHF"),
    (Decimal("1234"), {"currency": "JPY"}, "1234", "¥1,234"),
    (Decimal("1234"), {"currency": "CNY"}, "1234.00", "¥1,234.00"),
    (Decimal("1.5"), {"currency": "KWD"}, "1.500", "1.500 KWD"),
    (Decimal("-1234.5"), USD, "-1234.50", "-$1,234.50"),
    (Decimal("-3"), {"currency": "SEK"}, "-3.00", "-3.00 SEK"),
    (Decimal("0"), USD, "0.00", "$0.00"),
    (Decimal("1000000"), {}, "1000000.00", "$1,000,000.00"),
    (Decimal("1.005"), USD, "1.005", "$1.005"),  # never rounds away a stored digit
])
def test_currency_json_and_format(value, config, as_json, shown):
    money = get_field_type("currency")
    assert money.to_json(value, config) == as_json
    assert money.format(value, config) == shown


def test_number_json_and_format():
    number = get_field_type("number")
    assert number.to_json(Decimal("1234.50"), {}) == "1234.5"
    assert number.to_json(Decimal("1E+3"), {}) == "1000"
    assert number.format(Decimal("1234567.25"), {}) == "1,234,567.25"
    assert number.format(Decimal("-0.5"), {}) == "-0.5"


# ---------------------------------------------------------------------------------------------
# Date


@pytest.mark.parametrize("raw, expected", [
    ("2026-03-05", date(2026, 3, 5)),
    ("2026/3/5", date(2026, 3, 5)),
    ("2026-03-05T14:30:00", date(2026, 3, 5)),
    ("2026-03-05 09:00", date(2026, 3, 5)),
    ("today", TODAY), ("Today", TODAY),
    ("tomorrow", date(2026, 2, 1)), ("yesterday", date(2026, 1, 30)),
    ("+3d", date(2026, 2, 3)), ("-2w", date(2026, 1, 17)), ("+0d", TODAY),
    ("+1m", date(2026, 2, 28)),  # 31 Jan + 1 month → clamp to 28 Feb
    ("-1m", date(2025, 12, 31)), ("+13m", date(2027, 2, 28)),
    ("+1y", date(2027, 1, 31)), ("+3 days", date(2026, 2, 3)), ("+2 weeks", date(2026, 2, 14)),
    ("5 March 2026", date(2026, 3, 5)), ("Mar 5, 2026", date(2026, 3, 5)),
])
def test_date_good(raw, expected):
    assert parse("date", raw, today=TODAY) == expected


def test_date_leap_year_clamp():
    assert parse("date", "+1y", today=date(2024, 2, 29)) == date(2025, 2, 28)


def test_date_today_defaults_to_real_today():
    assert parse("date", "today") == date.today()


def test_date_orders():
    assert parse("date", "05/03/2026", date_order="DMY") == date(2026, 3, 5)
    assert parse("date", "05/03/2026", date_order="MDY") == date(2026, 5, 3)
    assert parse("date", "05.03.26", date_order="DMY") == date(2026, 3, 5)
    assert parse("date", "3-5-2026", date_order="MDY") == date(2026, 3, 5)
    assert parse("date", "26/03/05", date_order="YMD") == date(2026, 3, 5)
    assert parse("date", "05/03/99", date_order="DMY") == date(1999, 3, 5)
    # ISO always wins, whatever the order
    assert parse("date", "2026-03-05", date_order="DMY") == date(2026, 3, 5)
    assert parse("date", "2026-03-05", date_order="MDY") == date(2026, 3, 5)
    # with no day/month order, an unambiguous d/m/y is still understood
    assert parse("date", "25/03/2026") == date(2026, 3, 25)
    assert parse("date", "03/25/2026") == date(2026, 3, 25)
    assert "ambiguous" in refused("date", "05/03/2026")


def test_date_bad():
    assert refused("date", "2026-02-30") == "no such date: 2026-02-30"
    assert refused("date", "31/04/2026", date_order="DMY") == "no such date: 31/04/2026"
    assert refused("date", "02/30/2026", date_order="MDY") == "no such date: 02/30/2026"
    assert refused("date", "30 Feb 2026") == "no such date: 30 Feb 2026"
    for raw in ("soon", "2026-03", "2026/03/05/01", "5 Smarch 2026", "+3q", "2026-03-05x", "123/03/2026"):
        assert "expected a date like 2026-12-31" in refused("date", raw, today=TODAY)
    assert "31/12/2026" in refused("date", "soon", date_order="DMY")
    assert "12/31/2026" in refused("date", "soon", date_order="MDY")
    assert "no such date" in refused("date", "+99999y", today=TODAY)
    with pytest.raises(ValueError, match="date order"):
        parse("date", "05/03/2026", date_order="DDMM")


def test_date_coerce():
    kind = get_field_type("date")
    assert kind.coerce(date(2026, 3, 5), {}) == date(2026, 3, 5)
    assert kind.coerce(datetime(2026, 3, 5, 12, 0), {}) == date(2026, 3, 5)
    assert kind.coerce("2026-03-05", {}) == date(2026, 3, 5)
    with pytest.raises(ValueError):
        kind.coerce(20260305, {})


# ---------------------------------------------------------------------------------------------
# Checkbox, dropdown, multi-select, rating


@pytest.mark.parametrize("raw", ["yes", "YES", "y", "true", "True", "1", "x", "X", "on", "✓"])
def test_checkbox_true(raw):
    assert parse("checkbox", raw) is True


@pytest.mark.parametrize("raw", ["no", "No", "n", "false", "FALSE", "0", "off", "Off"])
def test_checkbox_false(raw):
    assert parse("checkbox", raw) is False


def test_checkbox_bad_and_coerce():
    assert "expected yes or no" in refused("checkbox", "maybe")
    assert "expected yes or no" in refused("checkbox", "2")
    kind = get_field_type("checkbox")
    assert kind.coerce(False, {}) is False
    assert kind.coerce(True, {}) is True
    assert kind.coerce(0, {}) is False and kind.coerce(1, {}) is True
    with pytest.raises(ValueError):
        kind.coerce(2, {})
    assert kind.format(True, {}) == "✓" and kind.format(False, {}) == ""
    assert kind.to_json(False, {}) is False


def test_dropdown():
    assert parse("dropdown", "referral", OPTIONS) == "Referral"
    assert parse("dropdown", "  COLD CALL ", OPTIONS) == "Cold call"
    assert parse("dropdown", "trade show, berlin", OPTIONS) == "Trade show, Berlin"
    assert refused("dropdown", "Fax", OPTIONS) == (
        "not an option; expected one of: Referral, Website, Cold call, Trade show, Berlin")
    assert "no options" in refused("dropdown", "Fax", {})
    assert parse("dropdown", "b", {"options": [{"label": "A"}, {"label": "B"}]}) == "B"
    with pytest.raises(ValueError):
        get_field_type("dropdown").coerce(3, OPTIONS)


def test_multi_select():
    assert parse("multi_select", "website; referral", OPTIONS) == ["Website", "Referral"]
    assert parse("multi_select", "website, referral, Website", OPTIONS) == ["Website", "Referral"]
    assert parse("multi_select", "Trade show, Berlin; cold call", OPTIONS) == ["Trade show, Berlin", "Cold call"]
    assert parse("multi_select", " ; ,", OPTIONS) is None
    assert refused("multi_select", "website; fax", OPTIONS).startswith("not an option; expected one of: Referral")
    kind = get_field_type("multi_select")
    assert kind.coerce(["referral", "Referral", "website"], OPTIONS) == ["Referral", "Website"]
    assert kind.coerce([], OPTIONS) is None
    assert kind.format(["Website", "Referral"], OPTIONS) == "Website, Referral"
    assert kind.to_json(["Website"], OPTIONS) == ["Website"]
    with pytest.raises(ValueError):
        kind.coerce(["nope"], OPTIONS)
    with pytest.raises(ValueError):
        kind.coerce(5, OPTIONS)


@pytest.mark.parametrize("raw, expected", [
    ("4", 4), ("4/5", 4), ("★★★★", 4), ("★★★★☆", 4), ("★", 1), ("5", 5), ("0", None),
    ("☆☆☆☆☆", None), (" 3 ", 3), ("3.0", 3), ("***", 3),
])
def test_rating_good(raw, expected):
    assert parse("rating", raw) == expected


@pytest.mark.parametrize("raw", ["6", "-1", "4/10", "3.5", "great", "★★★★★★"])
def test_rating_bad(raw):
    assert refused("rating", raw) == "expected 1 to 5"


def test_rating_max_and_coerce():
    assert parse("rating", "8/10", {"max": 10}) == 8
    assert refused("rating", "11", {"max": 10}) == "expected 1 to 10"
    kind = get_field_type("rating")
    assert kind.coerce(3, {}) == 3 and kind.coerce(Decimal("2"), {}) == 2 and kind.coerce(0, {}) is None
    for bad in (6, True, Decimal("2.5"), float("nan"), "x"):
        with pytest.raises(ValueError):
            kind.coerce(bad, {})
    assert kind.format(4, {}) == "★★★★☆"
    assert kind.format(2, {"max": 3}) == "★★☆"
    assert kind.to_json(4, {}) == 4


# ---------------------------------------------------------------------------------------------
# Reference, file


def test_reference_parse():
    assert parse("reference", "12") == 12
    assert parse("reference", "#12") == 12
    assert parse("reference", " Acme, Inc. ") == "Acme, Inc."
    many = {"multiple": True}
    assert parse("reference", "#12; Acme, Inc.; 7; 12", many) == [12, "Acme, Inc.", 7]
    assert parse("reference", "Acme; Beta", {}) == "Acme; Beta"  # single: taken whole


def test_reference_coerce():
    kind = get_field_type("reference")
    many = {"multiple": True}
    assert kind.coerce(5, {}) == 5
    assert kind.coerce({"id": 5, "title": "Acme"}, {}) == 5
    assert kind.coerce([5], {}) == 5
    assert kind.coerce([5, "#6", {"id": 7}, "Acme, Inc."], many) == [5, 6, 7, "Acme, Inc."]
    assert kind.coerce("1;2", many) == [1, 2]
    assert kind.coerce([], many) is None
    for bad, config in ((True, {}), (0, {}), (-3, {}), ([1, 2], {}), (3.5, {}), ({"x": 1}, {})):
        with pytest.raises(ValueError):
            kind.coerce(bad, config)


def test_reference_storage_needs_ids():
    kind = get_field_type("reference")
    with pytest.raises(ValueError, match="resolved"):
        kind.to_storage("Acme", {})
    assert kind.format([3, "Acme"], {"multiple": True}) == "#3, Acme"
    assert kind.to_json([3, 4], {"multiple": True}) == [3, 4]


def test_file():
    kind = get_field_type("file")
    assert parse("file", " /tmp/quote 1.pdf ") == "/tmp/quote 1.pdf"
    assert parse("file", "a.pdf; b.pdf", {"multiple": True}) == ["a.pdf", "b.pdf"]
    assert kind.coerce(3, {}) == 3
    assert kind.coerce(Path("/tmp/x.pdf"), {}) == "/tmp/x.pdf"
    assert kind.coerce([3, "12"], {"multiple": True}) == [3, "12"]  # a path, even if digits
    assert kind.format("/tmp/quote.pdf", {}) == "quote.pdf"
    assert kind.format([3, 4], {"multiple": True}) == "#3, #4"
    with pytest.raises(ValueError, match="resolved"):
        kind.to_storage("/tmp/x.pdf", {})


# ---------------------------------------------------------------------------------------------
# Computed types


@pytest.mark.parametrize("name", ["formula", "lookup"])
def test_computed_cannot_be_set(name):
    kind = get_field_type(name)
    with pytest.raises(ValueError, match="is computed and cannot be set"):
        kind.parse("1", {})
    with pytest.raises(ValueError, match="is computed and cannot be set"):
        kind.coerce(1, {})


def test_formula_columns_and_storage():
    formula = get_field_type("formula")
    assert formula.column_for({"result_kind": "number"}) == "number"
    assert formula.column_for({"result_kind": "text"}) == "text"
    assert formula.column_for({"result_kind": "date"}) == "date"
    assert formula.column_for({"result_kind": "boolean"}) == "number"
    assert formula.column_for({}) == "number"
    with pytest.raises(ValueError):
        formula.column_for({"result_kind": "colour"})
    boolean = {"result_kind": "boolean"}
    assert formula.to_storage(True, boolean) == [to_scaled(Decimal(1))]
    assert formula.from_storage(formula.to_storage(True, boolean), boolean) is True
    assert formula.from_storage(formula.to_storage(False, boolean), boolean) is False
    text = {"result_kind": "text"}
    assert formula.from_storage(formula.to_storage("hi", text), text) == "hi"
    when = {"result_kind": "date"}
    assert formula.from_storage(formula.to_storage(date(2026, 3, 5), when), when) == date(2026, 3, 5)
    num = {"result_kind": "number"}
    assert formula.from_storage(formula.to_storage(Decimal("2.50"), num), num) == Decimal("2.5")


def test_formula_display_delegation():
    formula = get_field_type("formula")
    config = {"result_kind": "number", "display_type": "currency", "display_config": {"currency": "EUR"}}
    assert formula.to_json(Decimal("12.5"), config) == "12.50"
    assert formula.format(Decimal("12.5"), config) == "€12.50"
    plain = {"result_kind": "number"}
    assert formula.to_json(Decimal("12.50"), plain) == "12.5"
    assert formula.format(Decimal("1234.5"), plain) == "1,234.5"
    assert formula.to_json(date(2026, 3, 5), {"result_kind": "date"}) == "2026-03-05"
    assert formula.format(True, {"result_kind": "boolean"}) == "✓"


def test_lookup_columns_storage_and_display():
    lookup = get_field_type("lookup")
    assert lookup.column_for({}) == "text"
    config = {"column": "number", "multiple": True, "display_type": "currency",
              "display_config": {"currency": "USD"}}
    assert lookup.column_for(config) == "number"
    values = [Decimal("1.5"), Decimal("-2")]
    stored = lookup.to_storage(values, config)
    assert stored == [1_500_000, -2_000_000]
    assert lookup.from_storage(stored, config) == values
    assert lookup.to_json(values, config) == ["1.50", "-2.00"]
    assert lookup.format(values, config) == "$1.50, -$2.00"
    # a lookup of a multi-select: the display type is itself multi-valued
    tags = {"column": "text", "multiple": True, "display_type": "multi_select",
            "display_config": OPTIONS}
    assert lookup.format(["Website", "Referral"], tags) == "Website, Referral"
    # a lookup of ratings and checkboxes comes back as int / bool
    stars = {"column": "number", "display_type": "rating", "display_config": {"max": 5}}
    assert lookup.from_storage(lookup.to_storage(4, stars), stars) == 4
    assert lookup.format(4, stars) == "★★★★☆"
    ticks = {"column": "number", "display_type": "checkbox"}
    assert lookup.from_storage(lookup.to_storage(True, ticks), ticks) is True
    # a lookup of a reference stores ids
    refs = {"column": "ref", "multiple": True, "display_type": "reference"}
    assert lookup.from_storage(lookup.to_storage([3, 4], refs), refs) == [3, 4]
    # no display hints: generic
    assert lookup.format([date(2026, 3, 5), "x"], {"multiple": True}) == "2026-03-05, x"
    assert lookup.to_json([Decimal("1.50")], {"column": "number", "multiple": True}) == ["1.5"]


# ---------------------------------------------------------------------------------------------
# Storage round trips and JSON round trips, for every settable type

ROUND_TRIPS = [
    ("text", {}, "08123"),
    ("long_text", {}, "para one\n\npara two"),
    ("number", {}, Decimal("-1234.567891")),
    ("number", {}, Decimal("9223372036854")),
    ("percent", {}, Decimal("12.5")),
    ("currency", USD, Decimal("1234.5")),
    ("currency", {"currency": "JPY"}, Decimal("1234")),
    ("email", {}, "ana@example.com"),
    ("phone", {}, "+1 555 123 4567 ext 12"),
    ("url", {}, "https://example.com/x"),
    ("address", {}, "1 Main St\nSpringfield\nUSA"),
    ("date", {}, date(2026, 3, 5)),
    ("checkbox", {}, True),
    ("checkbox", {}, False),
    ("dropdown", OPTIONS, "Website"),
    ("multi_select", OPTIONS, ["Website", "Trade show, Berlin"]),
    ("rating", {}, 4),
    ("rating", {"max": 10}, 10),
    ("reference", {}, 12),
    ("reference", {"multiple": True}, [12, 3]),
    ("file", {}, 7),
    ("file", {"multiple": True}, [7, 8]),
]


@pytest.mark.parametrize("name, config, value", ROUND_TRIPS)
def test_storage_round_trip(name, config, value):
    kind = get_field_type(name)
    stored = kind.to_storage(value, config)
    assert isinstance(stored, list) and stored
    expected_count = len(value) if isinstance(value, list) else 1
    assert len(stored) == expected_count
    back = kind.from_storage(stored, config)
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("name, config, value", ROUND_TRIPS)
def test_json_round_trip(name, config, value):
    kind = get_field_type(name)
    assert kind.coerce(kind.to_json(value, config), config) == value


def test_storage_values_per_column():
    assert get_field_type("number").to_storage(Decimal("1234.56"), {}) == [1234560000]
    assert get_field_type("checkbox").to_storage(True, {}) == [1_000_000]
    assert get_field_type("checkbox").to_storage(False, {}) == [0]
    assert get_field_type("rating").to_storage(3, {}) == [3_000_000]
    assert get_field_type("date").to_storage(date(2026, 3, 5), {}) == [date(2026, 3, 5)]
    assert get_field_type("multi_select").to_storage(["A", "B"], {}) == ["A", "B"]
    assert get_field_type("date").from_storage(["2026-03-05"], {}) == date(2026, 3, 5)
    with pytest.raises(ValueError):
        get_field_type("number").to_storage("12", {})


def test_parse_output_round_trips_through_format_for_text_like_and_numbers():
    for name, config, raw in [
        ("number", {}, "1,234.5"), ("percent", {}, "12.5%"), ("currency", USD, "$1,234.50"),
        ("currency", {"currency": "CHF"}, "1,234.50 CHF"), ("date", {}, "2026-03-05"),
        ("rating", {}, "★★★★☆"), ("multi_select", OPTIONS, "Website, Referral"),
    ]:
        kind = get_field_type(name)
        value = kind.parse(raw, config)
        assert kind.format(value, config) == raw
        assert kind.parse(kind.format(value, config), config) == value

"""Field types: parse, validate, store and display the value of a custom field.

Each type turns text typed by a user (or read from a CSV) into a canonical Python value, converts
that value to the rows of ``field_value`` (one storage value per row, in the type's column) and back,
and renders it for JSON and for the screen.

>>> from decimal import Decimal
>>> money = get_field_type("currency")
>>> value = money.parse("$1,234.5", {"currency": "USD"})
>>> value
Decimal('1234.5')
>>> money.to_storage(value, {"currency": "USD"})
[1234500000]
>>> money.to_json(value, {"currency": "USD"}), money.format(value, {"currency": "USD"})
('1234.50', '$1,234.50')
>>> get_field_type("date").parse("05/03/2026", {}, date_order="DMY")
datetime.date(2026, 3, 5)
>>> get_field_type("dropdown").parse(" referral ", {"options": ["Referral", "Website"]})
'Referral'

Canonical values: text-like → ``str``; number/percent/currency → ``Decimal`` (normalised, no
trailing zeros); rating → ``int``; checkbox → ``bool``; date → ``datetime.date``; dropdown → ``str``
(the option's own spelling); multi-select → ``list[str]``; reference/file → ``int`` ids (or, before
the domain resolves them, a title / path ``str``); a multi-valued field → a list. "No value" is
always ``None`` (never ``[]`` or ``""``).

Errors are ``ValueError(reason)``; the reason says what would be accepted. The caller wraps it into
``ValidationError(field, value, reason)``.

For a column of values (a list of records), ``item_reader(config)``, ``json_converter(config)`` and
``formatter(config)`` read the config once and return a function of the value alone.
"""

from __future__ import annotations

import calendar
import functools
import operator
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import PurePath
from urllib.parse import urlsplit

from crm_tui.domain.decimals import MAX_ABS, SCALE_DIGITS, from_scaled, normalize, to_scaled

__all__ = [
    "CURRENCY_PLACES",
    "CURRENCY_SYMBOLS",
    "FIELD_TYPES",
    "FieldType",
    "address_country",
    "currency_places",
    "get_field_type",
]

# ---------------------------------------------------------------------------------------------
# Currencies

#: ISO 4217 minor units. A code not listed here has 2 places (see :func:`currency_places`).
CURRENCY_PLACES: dict[str, int] = {
    code: 2
    for code in (
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
        "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
        "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
        "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
        "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP "
        "STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW "
        "ZWL"
    ).split()
}
CURRENCY_PLACES.update({
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
})

#: Symbols shown by :meth:`FieldType.format` (other currencies show their code after the amount).
CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥",
}

# Symbols accepted when parsing, and the currencies each may stand for.
_DOLLARS = frozenset("USD CAD AUD NZD SGD HKD MXN TWD ARS CLP COP BSD BBD BZD BMD BND FJD JMD "
                     "KYD LRD NAD SBD SRD TTD XCD GYD".split())
_SYMBOL_CURRENCIES: dict[str, frozenset[str]] = {
    "$": _DOLLARS,
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP", "GIP", "FKP", "SHP", "EGP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "￥": frozenset({"JPY", "CNY"}),
    "₹": frozenset({"INR"}),
    "₩": frozenset({"KRW"}),
    "₽": frozenset({"RUB"}),
    "₺": frozenset({"TRY"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "₴": frozenset({"UAH"}),
    "฿": frozenset({"THB"}),
    "₱": frozenset({"PHP"}),
}


def currency_places(code: str | None) -> int:
    """Minor-unit decimal places of an ISO currency code (2 when unknown)."""
    return CURRENCY_PLACES.get((code or "USD").upper(), 2)


def _field_currency(config: dict) -> str:
    return str(config.get("currency") or "USD").strip().upper()


# ---------------------------------------------------------------------------------------------
# Numbers

_SPACE_CHARS = "\u00a0\u2007\u2009\u202f\u2002\u2003\u2004\u2005\u2006\u2008\u200a\t"
_SPACE_TABLE = str.maketrans({c: " " for c in _SPACE_CHARS} | {"\u2212": "-"})  # − → -
_SYMBOL_RE = "|".join(re.escape(s) for s in sorted(_SYMBOL_CURRENCIES, key=len, reverse=True))
_AMOUNT_RE = re.compile(
    rf"""^
    (?P<s1>[-+])?\ *
    (?:(?P<c1>{_SYMBOL_RE}|[A-Za-z]{{3}})\ *)?
    (?P<s2>[-+])?\ *
    (?P<body>\d(?:[\d.,'’\ ]*\d)?|[.,]\d+)
    \ *(?P<c2>{_SYMBOL_RE}|[A-Za-z]{{3}})?
    \ *(?P<pct>%)?
    $""",
    re.X,
)
_NUMBER_HINT = "expected a number like 1234.56"


def _valid_grouping(int_part: str, sep: str) -> bool:
    groups = int_part.split(sep)
    if len(groups) < 2 or not all(g.isdigit() for g in groups):
        return False
    if 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        return True
    # Indian grouping: 12,34,567
    return (sep == "," and 1 <= len(groups[0]) <= 2 and len(groups[-1]) == 3
            and all(len(g) == 2 for g in groups[1:-1]))


def _body_to_decimal(body: str, hint: str) -> Decimal:
    """Digits with grouping and one decimal separator → Decimal (see the module's rules)."""
    has_dot, has_comma = "." in body, "," in body
    dec: str | None
    if has_dot and has_comma:
        dec = "." if body.rfind(".") > body.rfind(",") else ","
    elif has_comma:
        dec = None if _valid_grouping(body, ",") else ","
    elif has_dot:
        dec = None if body.count(".") > 1 and _valid_grouping(body, ".") else "."
    else:
        dec = None
    if dec is not None:
        if body.count(dec) != 1:
            raise ValueError(hint)
        int_part, _, frac = body.partition(dec)
        int_part = int_part.rstrip(" ")
        if not frac.isdigit():
            raise ValueError(hint)
    else:
        int_part, frac = body, ""
    if not int_part:
        int_part = "0"
    if not int_part.isdigit():
        seps = {c for c in int_part if not c.isdigit()}
        if len(seps) != 1 or seps == {dec} or not _valid_grouping(int_part, seps.pop()):
            raise ValueError(hint)
        int_part = re.sub(r"\D", "", int_part)
    return Decimal(f"{int_part}.{frac}" if frac else int_part)


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _check_decimal(value: Decimal, *, places: int = SCALE_DIGITS, currency: str | None = None) -> Decimal:
    """Finite, at most ``places`` decimals, within storage range → normalised Decimal."""
    if not value.is_finite():
        raise ValueError("expected a finite number")
    if abs(value) > MAX_ABS:
        raise ValueError(f"too large: at most {int(MAX_ABS):,} either way")
    if _decimal_places(value) > places:
        if currency is None:
            raise ValueError(f"at most {places} decimal places")
        if places == 0:
            raise ValueError(f"no decimal places allowed for {currency}")
        raise ValueError(f"at most {places} decimal places for {currency}")
    if value == 0:
        return Decimal(0)
    return normalize(value)


def _parse_amount(raw: str, *, kind: str, currency: str | None = None) -> Decimal:
    """Shared parser of number, percent and currency text. ``kind`` is the type name."""
    hint = {
        "currency": f"expected an amount like {_format_money(Decimal('1234.5'), currency or 'USD')}",
        "percent": "expected a percentage like 12.5%",
    }.get(kind, _NUMBER_HINT)
    text = raw.translate(_SPACE_TABLE).strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    match = _AMOUNT_RE.match(text)
    if match is None:
        raise ValueError(hint)
    signs = [s for s in (match["s1"], match["s2"]) if s]
    if len(signs) > 1 or (signs and negative):
        raise ValueError(hint)
    if signs and signs[0] == "-":
        negative = True
    if match["pct"] and kind != "percent":
        raise ValueError(hint)
    tokens = [t for t in (match["c1"], match["c2"]) if t]
    for token in tokens:
        if token in _SYMBOL_CURRENCIES:
            possible = _SYMBOL_CURRENCIES[token]
        elif token.upper() in CURRENCY_PLACES or (currency and token.upper() == currency):
            possible = frozenset({token.upper()})
        else:
            raise ValueError(hint)
        if kind == "percent":
            raise ValueError(hint)
        if kind == "currency" and currency not in possible:
            raise ValueError(f"expected an amount in {currency}, not {token}")
    value = _body_to_decimal(match["body"], hint)
    if negative:
        value = -value
    if kind == "currency":
        return _check_decimal(value, places=currency_places(currency), currency=currency)
    return _check_decimal(value)


def _coerce_decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(_NUMBER_HINT)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest repr: 0.1 → Decimal("0.1"); nan/inf caught later
    raise ValueError(_NUMBER_HINT)


_ZERO = Decimal(0)
_QUANTUM = Decimal(1).scaleb(-SCALE_DIGITS)
_PLACES = {p: Decimal(1).scaleb(-p) for p in range(SCALE_DIGITS + 1)}
_SCALE = 10**SCALE_DIGITS
_DECIMAL_SCALE = Decimal(_SCALE)
_BIGINT = 2**63


def _decimal_to_text(value: Decimal, places: int | None = None, *, grouping: bool = False) -> str:
    """Exact decimal text without exponent; ``places`` is a minimum (never rounds)."""
    if (type(value) is Decimal and value.is_finite() and value.adjusted() < 13
            and (places is None or places in _PLACES)):
        # The usual case (a stored amount) without normalize()'s as_tuple(). An amount with at most
        # ``places`` decimals is shown with exactly ``places`` (and str() has no exponent then);
        # otherwise as normalize() makes it: rounded to 6 places, no trailing zeros ("f" shows
        # 1E+3 and 1000 alike).
        if not value:
            value = _ZERO  # -0 → 0
        if places is not None:
            padded = value.quantize(_PLACES[places])
            if padded == value:
                return format(padded, ",f") if grouping else str(padded)
        value = value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN).normalize()
        if places is not None:
            padded = value.quantize(_PLACES[places])
            if padded == value:
                value = padded
        return format(value, ",f" if grouping else "f")
    value = normalize(value) if value != 0 else Decimal(0)
    if places is not None and _decimal_places(value) < places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value:,f}" if grouping else f"{value:f}"


def _from_scaled(stored) -> Decimal:
    """``from_scaled`` of a stored value (never None); a whole amount skips the division."""
    if type(stored) is int and -_BIGINT <= stored < _BIGINT:
        if stored % _SCALE == 0:
            return Decimal(stored // _SCALE)
        # exact, so the quotient has no trailing zeros: what normalize() would make of it
        return Decimal(stored) / _DECIMAL_SCALE
    return from_scaled(stored)


def _format_money(value: Decimal, code: str) -> str:
    return _money_formatter(code)(value)


def _money_formatter(code: str):
    """``_format_money(·, code)`` with the code's symbol and places looked up once."""
    places = currency_places(code)
    symbol = CURRENCY_SYMBOLS.get(code)

    def money(value: Decimal) -> str:
        text = _decimal_to_text(abs(value), places, grouping=True)
        sign = "-" if value < 0 else ""
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"

    return money


# ---------------------------------------------------------------------------------------------
# Base class


def _require_str(value, what: str = "text") -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected {what}")
    return value


def _same(item):
    return item


class _Nothing:
    """The ``item_type`` of types whose items have no one Python type: no value is of it."""


class FieldType:
    """One kind of custom field. Subclasses override the ``_``-prefixed hooks: ``_parse``,
    ``_coerce`` and ``_to_storage`` per value; ``_item_reader``, ``_item_json`` and ``_item_text``
    read the config once and return a function of one item (a column of values is converted by
    calling it, see :meth:`json_converter`)."""

    name: str = ""
    column: str = "text"
    computed: bool = False
    #: The Python type of one canonical item as read from storage (a multi-select's options: str).
    item_type: type = str

    def __repr__(self) -> str:
        return f"<FieldType {self.name}>"

    # -- shape ---------------------------------------------------------------------------------
    def multi_valued(self, config: dict) -> bool:
        return False

    def column_for(self, config: dict) -> str:
        """The ``field_value`` column the values are stored in (runtime-decided for formulas)."""
        return self.column

    # -- input ---------------------------------------------------------------------------------
    def parse(self, raw: str, config: dict, *, date_order: str = "YMD", today: date | None = None):
        """Text typed by a user or read from a CSV → canonical value; blank → None."""
        if raw is None:
            return None
        text = _require_str(raw).strip()
        if not text:
            return None
        return self._parse(text, config or {}, date_order=date_order, today=today)

    def coerce(self, value, config: dict):
        """A Python value (str, Decimal, int, date, bool, list, ...) → canonical value."""
        if value is None:
            return None
        if isinstance(value, str):
            return self.parse(value, config)
        return self._coerce(value, config or {})

    def _parse(self, text: str, config: dict, *, date_order: str, today: date | None):
        raise NotImplementedError

    def _coerce(self, value, config: dict):
        raise ValueError(f"expected {self.name.replace('_', ' ')} text, got {type(value).__name__}")

    # -- storage -------------------------------------------------------------------------------
    def to_storage(self, value, config: dict) -> list:
        """Canonical value → storage values for :meth:`column_for` (one per row; [] for None)."""
        config = config or {}
        if value is None:
            return []
        items = value if isinstance(value, (list, tuple)) else [value]
        return [self._to_storage(item, config) for item in items if item is not None]

    def from_storage(self, stored: list, config: dict):
        """Storage values (in position order) → canonical value; no rows → None."""
        present = [s for s in (stored or []) if s is not None]
        if not present:
            return None
        config = config or {}
        read = self._item_reader(config)
        values = [read(s) for s in present]
        return values if self.multi_valued(config) else values[0]

    def item_reader(self, config: dict):
        """A function: one storage value (not None) → one canonical item, ``config`` read once."""
        return self._item_reader(config or {})

    def item_json(self, config: dict):
        """A function: one item (a value that is neither None nor a list) → what ``to_json`` gives,
        without the checks for None and lists."""
        return self.json_converter(config) if self.computed else self._item_json(config or {})

    def item_text(self, config: dict):
        """A function: one item (a value that is neither None nor a list) → what ``format`` gives."""
        return self.formatter(config) if self.computed else self._item_text(config or {})

    def _to_storage(self, item, config: dict):
        return _require_str(item)

    def _item_reader(self, config: dict):
        return str

    # -- output --------------------------------------------------------------------------------
    def to_json(self, value, config: dict):
        """Canonical value → JSON-able value (Decimal → exact str, date → ISO)."""
        if value is None:
            return None
        return self.json_converter(config)(value)

    def format(self, value, config: dict) -> str:
        """Canonical value → text for display; None → ""."""
        if value is None:
            return ""
        return self.formatter(config)(value)

    def json_converter(self, config: dict):
        """``to_json`` as a function of the value alone, ``config`` read once (for many values).

        >>> get_field_type("currency").json_converter({"currency": "JPY"})(Decimal("1200"))
        '1200'
        """
        item = self._item_json(config or {})
        if item is _same:
            def to_json(value):
                if value is None:
                    return None
                if isinstance(value, (list, tuple)):
                    return list(value)
                return value
        else:
            def to_json(value):
                if value is None:
                    return None
                if isinstance(value, (list, tuple)):
                    return [item(v) for v in value]
                return item(value)
        return to_json

    def formatter(self, config: dict):
        """``format`` as a function of the value alone, ``config`` read once (for many values)."""
        item = self._item_text(config or {})

        def to_text(value) -> str:
            if value is None:
                return ""
            if isinstance(value, (list, tuple)):
                return ", ".join([item(v) for v in value])
            return item(value)

        return to_text

    def _item_json(self, config: dict):
        return _same

    def _item_text(self, config: dict):
        return str


# ---------------------------------------------------------------------------------------------
# Text-like types


def _clean_text(text: str, max_len: int) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    if len(text) > max_len:
        raise ValueError(f"at most {max_len:,} characters (got {len(text):,})")
    return text


class TextType(FieldType):
    """Free text; stays text ("08123" keeps its zero). Numbers and dates given as values become text."""

    name, column, max_len = "text", "text", 10_000

    def _parse(self, text, config, *, date_order, today):
        return _clean_text(text, self.max_len)

    def _coerce(self, value, config):
        if isinstance(value, bool):
            raise ValueError("expected text")
        if isinstance(value, (int, Decimal)):
            return self.parse(str(value), config)
        if isinstance(value, date):
            return self.parse(value.isoformat(), config)
        return super()._coerce(value, config)


class LongTextType(TextType):
    name, max_len = "long_text", 1_000_000


class AddressType(TextType):
    name, max_len = "address", 2_000


def address_country(value: str | None) -> str | None:
    """Best guess at the country of an address: the last comma part of its last non-empty line.

    None when the address has a single part or the guess contains digits (a postcode or street).

    >>> address_country("1 Main St\\nSpringfield, IL 62701\\nUSA")
    'USA'
    >>> address_country("10 rue de Rivoli, 75001 Paris, France")
    'France'
    >>> address_country("10 Downing Street") is None
    True
    """
    if not value:
        return None
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    parts = [p.strip() for p in ",".join(lines).split(",") if p.strip()]
    if len(parts) < 2:
        return None
    candidate = [p.strip() for p in lines[-1].split(",") if p.strip()][-1]
    if any(c.isdigit() for c in candidate):
        return None
    return candidate


_EMAIL_RE = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}))$"
)


class EmailType(FieldType):
    name, column = "email", "text"
    hint = "expected an email address like name@example.com"

    def _parse(self, text, config, *, date_order, today):
        if text.lower().startswith("mailto:"):
            text = text[7:]
        match = _EMAIL_RE.match(text)
        if match is None or len(text) > 254 or len(match["local"]) > 64:
            raise ValueError(self.hint)
        return f"{match['local']}@{match['domain'].lower()}"


_PHONE_RE = re.compile(
    r"^(?P<main>\+?[\d ().\-/]+?)\s*(?:(?:ext\.?|extension|x|#)\s*(?P<ext>\d{1,6}))?$", re.I
)


class PhoneType(FieldType):
    """Digits with the usual punctuation, 5–20 digits, optional extension; formatting kept."""

    name, column = "phone", "text"
    hint = "expected a phone number like +1 555 123 4567 (5 to 20 digits, optional ext 12)"

    def _parse(self, text, config, *, date_order, today):
        match = _PHONE_RE.match(text)
        if match is None:
            raise ValueError(self.hint)
        digits = sum(c.isdigit() for c in match["main"])
        if not 5 <= digits <= 20:
            raise ValueError(self.hint)
        return text


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?!\d)")
_LABEL_RE = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")


class UrlType(FieldType):
    """An http(s) address; a bare host ("example.com/path") gets ``https://``."""

    name, column = "url", "text"
    hint = "expected a web address like https://example.com"

    def _parse(self, text, config, *, date_order, today):
        if any(c.isspace() for c in text) or "\x00" in text or len(text) > 10_000:
            raise ValueError(self.hint)
        if "://" in text:
            scheme, rest = text.split("://", 1)
            if scheme.lower() not in ("http", "https"):
                raise ValueError(self.hint)
            text = f"{scheme.lower()}://{rest}"
        else:
            host_part = re.split(r"[/?#]", text, maxsplit=1)[0]
            if _SCHEME_RE.match(text) or "@" in host_part:
                raise ValueError(self.hint)
            text = "https://" + text
        try:
            parts = urlsplit(text)
            host = parts.hostname or ""
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError(self.hint) from None
        if not self._valid_host(host, parts.netloc):
            raise ValueError(self.hint)
        return text

    @staticmethod
    def _valid_host(host: str, netloc: str) -> bool:
        if not host:
            return False
        if host == "localhost" or "[" in netloc:  # IPv6 literal: urlsplit validated brackets
            return True
        labels = host.split(".")
        return len(labels) >= 2 and all(_LABEL_RE.match(label) for label in labels)


# ---------------------------------------------------------------------------------------------
# Numbers


class _DecimalType(FieldType):
    column, item_type = "number", Decimal

    def _coerce(self, value, config):
        return _check_decimal(_coerce_decimal(value))

    def _to_storage(self, item, config):
        return to_scaled(_coerce_decimal(item))

    def _item_reader(self, config):
        return _from_scaled

    def _item_json(self, config):
        return _decimal_to_text

    def _item_text(self, config):
        return _grouped_text


def _grouped_text(item: Decimal) -> str:
    return _decimal_to_text(item, grouping=True)


def _percent_text(item: Decimal) -> str:
    return _decimal_to_text(item, grouping=True) + "%"


class NumberType(_DecimalType):
    """A Decimal; "1,234.5", "1 234,5", "(5)" and "$12" are understood (symbols are dropped)."""

    name = "number"

    def _parse(self, text, config, *, date_order, today):
        return _parse_amount(text, kind="number")


class PercentType(_DecimalType):
    """The percent number itself: "12.5%" → Decimal("12.5")."""

    name = "percent"

    def _parse(self, text, config, *, date_order, today):
        return _parse_amount(text, kind="percent")

    def _item_text(self, config):
        return _percent_text


class CurrencyType(_DecimalType):
    """An amount in ``config["currency"]`` (default USD), with at most its minor-unit places."""

    name = "currency"

    def _parse(self, text, config, *, date_order, today):
        return _parse_amount(text, kind="currency", currency=_field_currency(config))

    def _coerce(self, value, config):
        code = _field_currency(config)
        return _check_decimal(_coerce_decimal(value), places=currency_places(code), currency=code)

    def _item_json(self, config):
        return functools.partial(_decimal_to_text, places=currency_places(_field_currency(config)))

    def _item_text(self, config):
        return _money_formatter(_field_currency(config))


class RatingType(FieldType):
    """Whole stars 1..max (default 5): "4", "4/5", "★★★★☆"; 0 means no rating."""

    name, column, item_type = "rating", "number", int

    @staticmethod
    def _max(config) -> int:
        try:
            return max(1, int(config.get("max") or 5))
        except (TypeError, ValueError):
            return 5

    def _hint(self, config) -> str:
        return f"expected 1 to {self._max(config)}"

    def _parse(self, text, config, *, date_order, today):
        top = self._max(config)
        stars = text.replace(" ", "")
        if stars and set(stars) <= set("★☆*"):
            return self._check(stars.count("★") + stars.count("*"), config)
        match = re.fullmatch(r"(\d+)(?:\.0*)?\s*(?:/\s*(\d+))?", text)
        if match is None or (match[2] is not None and int(match[2]) != top):
            raise ValueError(self._hint(config))
        return self._check(int(match[1]), config)

    def _coerce(self, value, config):
        if isinstance(value, bool):
            raise ValueError(self._hint(config))
        if isinstance(value, (Decimal, float)):
            if not Decimal(value).is_finite() or value != int(value):
                raise ValueError(self._hint(config))
            value = int(value)
        if not isinstance(value, int):
            raise ValueError(self._hint(config))
        return self._check(value, config)

    def _check(self, n: int, config):
        if n == 0:
            return None
        if not 1 <= n <= self._max(config):
            raise ValueError(self._hint(config))
        return n

    def _to_storage(self, item, config):
        return to_scaled(Decimal(int(item)))

    def _item_reader(self, config):
        return _whole_from_scaled

    def _item_json(self, config):
        return int

    def _item_text(self, config):
        top = self._max(config)

        def stars(item) -> str:
            n = int(item)
            return "★" * n + "☆" * max(0, top - n)

        return stars


def _whole_from_scaled(stored) -> int:
    """``int(from_scaled(stored))``: the whole part, towards zero."""
    if type(stored) is int and -_BIGINT <= stored < _BIGINT:
        return stored // _SCALE if stored >= 0 else -(-stored // _SCALE)
    return int(from_scaled(stored))


_TRUE = {"yes", "y", "true", "t", "1", "x", "on", "✓", "✔", "checked"}
_FALSE = {"no", "n", "false", "f", "0", "off", "✗", "✘", "unchecked"}


class CheckboxType(FieldType):
    name, column, item_type = "checkbox", "number", bool
    hint = "expected yes or no (also true/false, 1/0, x, on/off)"

    def _parse(self, text, config, *, date_order, today):
        word = text.casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(self.hint)

    def _coerce(self, value, config):
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, Decimal)) and value in (0, 1):
            return bool(value)
        raise ValueError(self.hint)

    def _to_storage(self, item, config):
        return to_scaled(Decimal(1)) if item else 0

    def _item_reader(self, config):
        return _nonzero

    def _item_json(self, config):
        return bool

    def _item_text(self, config):
        return _tick


def _nonzero(stored) -> bool:
    return int(stored) != 0


def _tick(item) -> str:
    return "✓" if item else ""


# ---------------------------------------------------------------------------------------------
# Dates

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_RELATIVE_RE = re.compile(r"^([+-])\s*(\d{1,5})\s*(d|days?|w|weeks?|m|months?|y|years?)$", re.I)
_NUMERIC_DATE_RE = re.compile(r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})\.?$")
_ISO_DATETIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_NAMED_DMY_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[ \-]+([A-Za-z]{3,9})\.?,?[ \-]+(\d{4})$")
_NAMED_MDY_RE = re.compile(r"^([A-Za-z]{3,9})\.?[ \-]+(\d{1,2})(?:st|nd|rd|th)?,?[ \-]+(\d{4})$")
_DATE_ORDERS = ("DMY", "MDY", "YMD")


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ValueError("date out of range")
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:  # strptime's %y pivot: 00-68 → 2000s, 69-99 → 1900s
        year += 2000 if year < 69 else 1900
    return year


class DateType(FieldType):
    """A calendar date: ISO, today/tomorrow/yesterday, +3d/-2w/+1m/+1y, or the user's date order."""

    name, column, item_type = "date", "date", date

    @staticmethod
    def _hint(date_order: str) -> str:
        example = {"DMY": "31/12/2026", "MDY": "12/31/2026", "YMD": "2026/12/31"}[date_order]
        return f"expected a date like 2026-12-31 or {example} (also today, +3d, -2w, +1m)"

    def _parse(self, text, config, *, date_order, today):
        if date_order not in _DATE_ORDERS:
            raise ValueError(f"unknown date order {date_order!r}; expected one of {', '.join(_DATE_ORDERS)}")
        today = today or date.today()
        word = text.lower()
        named = {"today": 0, "tomorrow": 1, "yesterday": -1}
        if word in named:
            return today + timedelta(days=named[word])
        try:
            if match := _RELATIVE_RE.match(text):
                n = int(match[2]) * (1 if match[1] == "+" else -1)
                unit = match[3][0].lower()
                if unit == "d":
                    return today + timedelta(days=n)
                if unit == "w":
                    return today + timedelta(weeks=n)
                return _add_months(today, n if unit == "m" else 12 * n)
        except (OverflowError, ValueError):
            raise ValueError(f"no such date: {text}") from None
        if match := _ISO_DATETIME_RE.match(text):
            text = match[1]
        if match := _NUMERIC_DATE_RE.match(text):
            return self._numeric(match, text, date_order)
        if match := _NAMED_DMY_RE.match(text):
            return self._build(text, match[3], match[2], match[1], date_order)
        if match := _NAMED_MDY_RE.match(text):
            return self._build(text, match[3], match[1], match[2], date_order)
        raise ValueError(self._hint(date_order))

    def _numeric(self, match, text, date_order):
        a, b, c = match[1], match[3], match[4]
        if len(a) == 4:  # year first, whatever the order: 2026-03-05, 2026/3/5
            if len(c) > 2:
                raise ValueError(self._hint(date_order))
            return self._build(text, a, b, c, date_order)
        if len(a) == 3 or len(c) == 3:
            raise ValueError(self._hint(date_order))
        if date_order == "YMD":
            if len(c) == 4:  # 05/03/2026 with no day/month order configured
                x, y = int(a), int(b)
                if x > 12 >= y:
                    return self._build(text, c, b, a, date_order)
                if y > 12 >= x:
                    return self._build(text, c, a, b, date_order)
                raise ValueError(f"ambiguous date {text}: is it day/month or month/day? "
                                 "write it as 2026-12-31 or set the date order (DMY or MDY)")
            return self._build(text, a, b, c, date_order)
        if date_order == "DMY":
            return self._build(text, c, b, a, date_order)
        return self._build(text, c, a, b, date_order)

    def _build(self, text, year, month, day, date_order):
        if not month.isdigit():
            number = _MONTHS.get(month.lower().rstrip("."))
            if number is None:
                raise ValueError(self._hint(date_order))
            month = str(number)
        try:
            return date(_full_year(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"no such date: {text}") from None

    def _coerce(self, value, config):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        raise ValueError(self._hint("YMD"))

    def _to_storage(self, item, config):
        if isinstance(item, datetime):
            return item.date()
        if not isinstance(item, date):
            raise ValueError(self._hint("YMD"))
        return item

    def _item_reader(self, config):
        return _date_from_storage

    def _item_json(self, config):
        return _isoformat

    def _item_text(self, config):
        return _isoformat


_isoformat = operator.methodcaller("isoformat")


def _date_from_storage(stored):
    """A ``date`` column value (a date, or ISO text on SQLite) → date."""
    if isinstance(stored, datetime):
        return stored.date()
    if isinstance(stored, str):
        return date.fromisoformat(stored[:10])
    return stored


# ---------------------------------------------------------------------------------------------
# Choices


def _options(config: dict) -> list[str]:
    """Option labels from ``config["options"]`` (plain strings, or dicts with a label/name)."""
    out = []
    for option in config.get("options") or []:
        if isinstance(option, dict):
            option = option.get("label") or option.get("name") or option.get("value")
        if option is not None and str(option).strip():
            out.append(str(option))
    return out


def _match_option(text: str, config: dict) -> str:
    options = _options(config)
    key = text.strip().casefold()
    for option in options:
        if option.strip().casefold() == key:
            return option
    if not options:
        raise ValueError("not an option; this field has no options yet")
    shown = options[:30]
    more = f", … ({len(options) - 30} more)" if len(options) > 30 else ""
    raise ValueError(f"not an option; expected one of: {', '.join(shown)}{more}")


class DropdownType(FieldType):
    name, column = "dropdown", "text"

    def _parse(self, text, config, *, date_order, today):
        return _match_option(text, config)


class MultiSelectType(FieldType):
    """Options separated by ";" or ","; an option whose name has a comma is found whole first."""

    name, column = "multi_select", "text"

    def multi_valued(self, config):
        return True

    def _parse(self, text, config, *, date_order, today):
        chosen: list[str] = []
        for part in text.split(";"):
            if not part.strip():
                continue
            try:
                pieces = [_match_option(part, config)]
            except ValueError:
                pieces = [_match_option(p, config) for p in part.split(",") if p.strip()]
            chosen.extend(pieces)
        return self._dedupe(chosen)

    def _coerce(self, value, config):
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise ValueError("expected a list of options")
        chosen = []
        for item in value:
            if item is None or (isinstance(item, str) and not item.strip()):
                continue
            chosen.append(_match_option(_require_str(item, "option names"), config))
        return self._dedupe(chosen)

    @staticmethod
    def _dedupe(chosen: list[str]) -> list[str] | None:
        return list(dict.fromkeys(chosen)) or None


# ---------------------------------------------------------------------------------------------
# References and files


def _id_or_text(text: str):
    text = text.strip()
    match = re.fullmatch(r"#?\s*(\d{1,18})", text)
    return int(match[1]) if match else text


class _LinkType(FieldType):
    """Shared by reference and file: ids (ints), or text the domain resolves; multi → list."""

    noun, item_type = "record", int

    def multi_valued(self, config):
        return bool(config.get("multiple", False))

    def _one(self, item):
        if isinstance(item, bool):
            raise ValueError(f"expected a {self.noun} id")
        if isinstance(item, int):
            if item <= 0:
                raise ValueError(f"expected a {self.noun} id (a positive number)")
            return item
        if isinstance(item, dict) and "id" in item:
            return self._one(item["id"])
        if isinstance(item, PurePath):
            return str(item)
        if isinstance(item, str) and item.strip():
            return self._text_item(item)
        raise ValueError(f"expected a {self.noun} id")

    def _text_item(self, text: str):
        return _id_or_text(text)

    def _shape(self, items: list, config):
        items = list(dict.fromkeys(items))
        if not items:
            return None
        if self.multi_valued(config):
            return items
        if len(items) > 1:
            raise ValueError(f"expected a single {self.noun}")
        return items[0]

    def _coerce(self, value, config):
        if isinstance(value, (list, tuple)):
            items = [self._one(v) for v in value if v is not None and v != ""]
        else:
            items = [self._one(value)]
        return self._shape(items, config)

    def _to_storage(self, item, config):
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{self.noun} {item!r} must be resolved to an id before it is stored")
        return item

    def _item_reader(self, config):
        return int

    def _item_text(self, config):
        return _record_text


def _record_text(item) -> str:
    return f"#{item}" if isinstance(item, int) else str(item)


def _file_text(item) -> str:
    return f"#{item}" if isinstance(item, int) else PurePath(item).name or str(item)


class ReferenceType(_LinkType):
    """Links to records: "12"/"#12" → id 12, other text is a title the domain resolves."""

    name, column, noun = "reference", "ref", "record"

    def _parse(self, text, config, *, date_order, today):
        if self.multi_valued(config):
            return self._shape([_id_or_text(p) for p in text.split(";") if p.strip()], config)
        return _id_or_text(text)

class FileType(_LinkType):
    """Attachments: ids once stored; a path string (copied in by the domain) before that."""

    name, column, noun = "file", "file", "file"

    def _text_item(self, text: str):
        return text.strip()

    def _parse(self, text, config, *, date_order, today):
        if self.multi_valued(config):
            return self._shape([p.strip() for p in text.split(";") if p.strip()], config)
        return text

    def _item_text(self, config):
        return _file_text


# ---------------------------------------------------------------------------------------------
# Computed types


class _ComputedType(FieldType):
    """Read-only values (materialised by the domain). Output follows config["display_type"]."""

    computed, item_type = True, _Nothing

    def parse(self, raw, config, *, date_order="YMD", today=None):
        raise ValueError("is computed and cannot be set")

    def coerce(self, value, config):
        raise ValueError("is computed and cannot be set")

    def _display(self, config):
        name = config.get("display_type")
        kind = FIELD_TYPES.get(name) if name else None
        if kind is None or kind.computed:
            return None, {}
        return kind, config.get("display_config") or {}

    # storage, by column
    def _to_storage(self, item, config):
        column = self.column_for(config)
        if column == "number":
            if isinstance(item, bool):
                return to_scaled(Decimal(int(item)))
            return to_scaled(_coerce_decimal(item))
        if column == "date":
            return DATE._to_storage(item, config)
        if column in ("ref", "file"):
            return _LinkType._to_storage(REFERENCE, item, config)
        if isinstance(item, date):
            return item.isoformat()
        if isinstance(item, Decimal):
            return _decimal_to_text(item)
        return str(item)

    def _item_reader(self, config):
        column = self.column_for(config)
        display, _ = self._display(config)
        if column == "number":
            if self._is_boolean(config) or (display and display.name == "checkbox"):
                return lambda stored: _from_scaled(stored) != 0
            if display and display.name == "rating":
                return _whole_from_scaled
            return _from_scaled
        if column == "date":
            return _date_from_storage
        if column in ("ref", "file"):
            return int
        return str

    def _is_boolean(self, config) -> bool:
        return False

    # output, through the display type when given
    def json_converter(self, config):
        config = config or {}
        display, dconfig = self._display(config)
        if display is None:
            return super().json_converter(config)
        shown, multi = display.json_converter(dconfig), display.multi_valued(dconfig)

        def to_json(value):
            if value is None:
                return None
            if not multi and isinstance(value, (list, tuple)):
                return [shown(v) for v in value]
            return shown(value)

        return to_json

    def formatter(self, config):
        config = config or {}
        display, dconfig = self._display(config)
        if display is None:
            return super().formatter(config)
        shown, multi = display.formatter(dconfig), display.multi_valued(dconfig)

        def to_text(value) -> str:
            if value is None:
                return ""
            if not multi and isinstance(value, (list, tuple)):
                return ", ".join([shown(v) for v in value if v is not None])
            return shown(value)

        return to_text

    def _item_json(self, config):
        return _computed_json

    def _item_text(self, config):
        return _computed_text


def _computed_json(item):
    if isinstance(item, Decimal):
        return _decimal_to_text(item)
    if isinstance(item, date):
        return item.isoformat()
    return item


def _computed_text(item) -> str:
    if isinstance(item, bool):
        return "✓" if item else ""
    if isinstance(item, Decimal):
        return _decimal_to_text(item, grouping=True)
    if isinstance(item, date):
        return item.isoformat()
    return str(item)


_RESULT_COLUMNS = {"number": "number", "text": "text", "date": "date", "boolean": "number"}


class FormulaType(_ComputedType):
    """Computed from ``config["formula"]``; stored in the column of ``config["result_kind"]``."""

    name, column = "formula", "number"

    def column_for(self, config):
        kind = (config or {}).get("result_kind") or "number"
        if kind not in _RESULT_COLUMNS:
            raise ValueError(f"unknown formula result kind {kind!r}; expected one of: "
                             + ", ".join(_RESULT_COLUMNS))
        return _RESULT_COLUMNS[kind]

    def _is_boolean(self, config):
        return (config or {}).get("result_kind") == "boolean"


class LookupType(_ComputedType):
    """Values of field ``of`` in the records linked through ``via``; column and multiplicity come
    from the caller (``config["column"]``, ``config["multiple"]``)."""

    name, column = "lookup", "text"

    def multi_valued(self, config):
        return bool((config or {}).get("multiple", False))

    def column_for(self, config):
        return (config or {}).get("column") or "text"


# ---------------------------------------------------------------------------------------------
# Registry

DATE = DateType()
REFERENCE = ReferenceType()

FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        TextType(), LongTextType(), NumberType(), PercentType(), CurrencyType(), EmailType(),
        PhoneType(), UrlType(), AddressType(), DATE, CheckboxType(), DropdownType(),
        MultiSelectType(), RatingType(), FileType(), FormulaType(), REFERENCE, LookupType(),
    )
}


def get_field_type(name: str) -> FieldType:
    """The field type called ``name``; ValueError listing the valid names otherwise."""
    try:
        return FIELD_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown field type {name!r}; expected one of: {', '.join(FIELD_TYPES)}") from None

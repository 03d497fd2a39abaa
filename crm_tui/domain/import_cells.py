"""Fast per-column cell handling for bulk imports: parse a CSV cell to its canonical value, and turn a
canonical value into ``field_value`` rows ready for ``executemany``.

>>> parse = cell_parser(amount_fdef)            # same results and errors as the field type's parse
>>> parse("$1,234.50")
Decimal('1234.5')
>>> storer(amount_fdef, sqlite=True)(Decimal("1234.5"))
((7, 0, None, 1234500000, None, None, None, None),)

A field type's ``parse`` is exact but general (one regex and an error hint per call, ~30 µs for an
amount or a date); a CSV column repeats the same shapes 100,000 times. So each column gets a parser
that first tries a fast path for the plain shapes (``1234.5``, ``$1,234.50``, ``12%``, ``2026-03-05``,
text without CR or NUL) that gives exactly what the field type gives, then a memo for columns with
few distinct values (dropdowns, checkboxes, ratings, dates), and falls back to the field type itself
for everything else — so every value and every error message is the field type's own.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from .decimals import MAX_ABS, normalize, to_scaled
from .field_types import _SYMBOL_CURRENCIES, currency_places, get_field_type  # the symbols parse accepts

__all__ = ["cell_parser", "storer", "memoized", "VALUE_COLUMNS", "PLAIN_TYPES"]

#: ``field_value`` columns in the order :func:`storer` fills them, after ``record_id``.
VALUE_COLUMNS = ["record_id", "field_id", "position", "text", "number", "date", "ref_id", "file_id", "error"]

#: Types whose parsed value is exactly what reading it back from the database gives (a formula over
#: them can be evaluated from the parsed row, without a query).
PLAIN_TYPES = frozenset({"text", "long_text", "email", "phone", "url", "address", "number", "percent",
                         "currency", "date", "checkbox", "rating", "dropdown", "multi_select"})

_TEXT_TYPES = ("text", "long_text", "address")
_DECIMAL_TYPES = ("number", "percent", "currency")
# Columns whose cells repeat a handful of values: memoised (bounded) before the field type parses.
_MEMO_TYPES = frozenset({"dropdown", "multi_select", "checkbox", "rating", "date", "url", "phone",
                         "number", "percent", "currency"})
_MEMO_SIZE = 4096

# ASCII digits only: other digits take the field type's own path
_PLAIN_NUMBER = re.compile(r"(-?)([0-9]{1,13})(?:\.([0-9]{1,6}))?\Z")
_GROUPED_NUMBER = re.compile(r"(-?)([0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]{1,6}))?\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class _Failed:
    """A memoised ValueError."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


_MISS = object()


def memoized(parse, size: int = _MEMO_SIZE):
    """``parse`` with a bounded memo of cell text → value (or error). A column whose cells are mostly
    distinct stops memoising after a couple of thousand cells, so it then costs nothing."""
    memo: dict = {}
    calls = misses = 0
    active = True

    def parse_memo(raw: str):
        nonlocal calls, misses, active
        if not active:
            return parse(raw)
        hit = memo.get(raw, _MISS)
        calls += 1
        if hit is _MISS:
            misses += 1
            try:
                hit = parse(raw)
            except ValueError as exc:
                hit = _Failed(str(exc))
            if len(memo) < size:
                memo[raw] = hit
            if calls == 2048 and misses > 1536:
                active = False
                memo.clear()
        if type(hit) is _Failed:
            raise ValueError(hit.reason)
        return hit

    return parse_memo


def _finish_decimal(value: Decimal, places: int):
    """What the field type returns for a finite ``value`` read from a plain number, or None when the
    field type must decide (too large, too many places: it words the error)."""
    if value == 0:
        return Decimal(0)
    if abs(value) > MAX_ABS:
        return None
    if value.as_tuple().exponent < 0:
        value = normalize(value)
        exponent = value.as_tuple().exponent
        if exponent < 0 and -exponent > places:
            return None
    return value


def _decimal_fast_path(type_name: str, config: dict):
    """A function ``stripped text → Decimal | None`` (None: not a plain shape, ask the field type).

    Plain shapes: ``-1234.5``, ``1,234,567.25`` (groups of three), a currency symbol that stands for
    the field's currency in front (``$1,234.50``, ``-$5``), ``12.5%`` for a percentage."""
    places = 6
    prefixes: tuple[str, ...] = ()
    suffix = ""
    if type_name == "currency":
        code = str(config.get("currency") or "USD").strip().upper()
        places = currency_places(code)
        prefixes = tuple(symbol for symbol, codes in _SYMBOL_CURRENCIES.items() if code in codes)
    elif type_name == "percent":
        suffix = "%"

    def fast(text: str):
        if suffix and text.endswith(suffix):
            text = text[:-1]
        elif prefixes:
            for symbol in prefixes:
                if text.startswith(symbol):
                    text = text[len(symbol):]
                    break
                if text.startswith("-" + symbol):
                    text = "-" + text[len(symbol) + 1:]
                    break
        match = _PLAIN_NUMBER.match(text)
        if match is None:
            match = _GROUPED_NUMBER.match(text)
            if match is None:
                return None
            whole = match[2].replace(",", "")
        else:
            whole = match[2]
        frac = match[3]
        value = Decimal(f"{match[1]}{whole}.{frac}" if frac else f"{match[1]}{whole}")
        return _finish_decimal(value, places)

    return fast


def cell_parser(fdef, *, date_order: str = "YMD", today: dt.date | None = None):
    """A function ``raw cell text → canonical value`` (None for a blank cell) for ``fdef``; raises
    ValueError exactly like ``get_field_type(fdef.type).parse`` does."""
    ftype = get_field_type(fdef.type)
    config = fdef.config or {}

    def general(raw: str):
        return ftype.parse(raw, config, date_order=date_order, today=today)

    kind = fdef.type
    if kind in _TEXT_TYPES:
        limit = ftype.max_len

        def parse_text(raw: str):
            text = raw.strip()
            if not text:
                return None
            if "\r" in text or "\x00" in text or len(text) > limit:
                return general(raw)
            return text

        return parse_text
    slow = memoized(general) if kind in _MEMO_TYPES else general
    if kind in _DECIMAL_TYPES:
        fast = _decimal_fast_path(kind, config)

        def parse_decimal(raw: str):
            text = raw.strip()
            if not text:
                return None
            value = fast(text)
            return value if value is not None else slow(raw)

        return parse_decimal
    if kind == "date":
        def parse_date(raw: str):
            text = raw.strip()
            if len(text) == 10 and _ISO_DATE.match(text):
                try:
                    return dt.date(int(text[:4]), int(text[5:7]), int(text[8:]))
                except ValueError:
                    pass  # no such date: the field type says so
            return slow(raw)

        return parse_date
    return slow


def storer(fdef, *, sqlite: bool):
    """A function ``canonical value → tuple of field_value rows without the record id``:
    ``(field_id, position, text, number, date, ref, file, error)``, values in database form."""
    fid = fdef.id
    kind = fdef.type
    config = fdef.config or {}
    if kind in ("text", "long_text", "email", "phone", "url", "address", "dropdown"):
        return lambda value: ((fid, 0, value, None, None, None, None, None),)
    if kind in _DECIMAL_TYPES:
        def store_decimal(value):
            scaled = value.scaleb(6)
            number = int(scaled)
            if number != scaled:
                number = to_scaled(value)
            return ((fid, 0, None, number, None, None, None, None),)

        return store_decimal
    if kind == "multi_select":
        return lambda value: tuple((fid, i, v, None, None, None, None, None) for i, v in enumerate(value))
    if kind in ("reference", "file"):
        slot = 5 if kind == "reference" else 6

        def store_link(value):
            items = value if isinstance(value, list) else [value]
            out = []
            for i, item in enumerate(items):
                row = [fid, i, None, None, None, None, None, None]
                row[slot] = item
                out.append(tuple(row))
            return tuple(out)

        return store_link
    ftype = get_field_type(kind)
    slot = {"text": 2, "number": 3, "date": 4, "ref": 5, "file": 6}[ftype.column_for(config)]
    memo: dict = {}

    def store_generic(value):
        key = tuple(value) if isinstance(value, list) else value
        rows = memo.get(key)
        if rows is None:
            out = []
            for i, stored in enumerate(ftype.to_storage(value, config)):
                if sqlite and isinstance(stored, dt.date):
                    stored = stored.isoformat()
                row = [fid, i, None, None, None, None, None, None]
                row[slot] = stored
                out.append(tuple(row))
            rows = tuple(out)
            if len(memo) < _MEMO_SIZE:
                memo[key] = rows
        return rows

    return store_generic

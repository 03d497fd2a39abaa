"""Custom-field values: turn input into canonical values, write them, read them back in batches.

>>> prepared = prepare_values(schema, {"Amount": "$1,200", "Client": "Acme"})   # validates everything
>>> write_values(record_id, prepared)                                            # inside a transaction
>>> load_values(schema, [record_id])[record_id]["Amount"]
Decimal('1200')

``prepare_values`` raises ``ValidationError`` (naming the field and the value) before anything is
written; references are resolved by id or exact title in one query per reference field.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
from decimal import Decimal
from pathlib import Path

from ..db import queries
from ..db.models import Attachment, FieldValue, Record
from ..errors import CrmError, NotFoundError, ValidationError
from .decimals import normalize
from .field_types import get_field_type
from .project_schema import FieldDef, ProjectSchema

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024


class ErrorValue(str):
    """A formula's runtime error as stored (``#DIV/0!``): shown as such, never a crash."""


# ---------------------------------------------------------------------------------------------
# input → canonical


def prepare_values(schema: ProjectSchema, raw: dict, *, from_text: bool = True, date_order: str = "YMD",
                   today: dt.date | None = None) -> dict[int, tuple[FieldDef, object]]:
    """Validate ``{field name or FieldDef: value}``; return ``{field id: (FieldDef, canonical value)}``.

    ``from_text``: values are strings as typed or found in a CSV (parsed); otherwise Python values
    (coerced). Nothing is written here.
    """
    out: dict[int, tuple[FieldDef, object]] = {}
    for key, value in raw.items():
        fdef = key if isinstance(key, FieldDef) else schema.field(str(key))
        if fdef.computed:
            raise ValidationError(fdef.name, value if value is not None else "", f"is a {fdef.type} "
                                  "field: its value is computed and cannot be set")
        ftype = get_field_type(fdef.type)
        try:
            if fdef.type == "reference":
                canonical = _resolve_references(fdef, value)
            elif fdef.type == "file":
                canonical = _prepare_files(fdef, value)
            elif from_text and isinstance(value, str):
                canonical = ftype.parse(value, fdef.config, date_order=date_order, today=today)
            else:
                canonical = ftype.coerce(value, fdef.config)
        except ValidationError:
            raise
        except (ValueError, TypeError) as exc:
            raise ValidationError(fdef.name, value if isinstance(value, str) else repr(value),
                                  str(exc)) from None
        out[fdef.id] = (fdef, canonical)
    return out


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and ";" in value:
        return [v for v in (p.strip() for p in value.split(";")) if v]
    return [value]


def _title_contains_any(texts: list[str]):
    """Records whose title contains any of ``texts`` (a coarse SQL filter, case-insensitive for
    ASCII); the caller keeps only exact case-insensitive matches."""
    return functools.reduce(operator.or_, [Record.title.contains(t) for t in texts])


def _resolve_references(fdef: FieldDef, value) -> list[int] | int | None:
    """Ids of the referenced records, by id (``12``, ``#12``, ``{"id": 12}``) or exact title."""
    target = fdef.config.get("target")
    items = _as_list(value)
    ids: list[int] = []
    titles: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id", item.get("title"))
        if isinstance(item, int) and not isinstance(item, bool):
            ids.append(item)
            continue
        text = str(item).strip()
        if text.startswith("#") and text[1:].isdigit():
            ids.append(int(text[1:]))
        elif text.isdigit():
            ids.append(int(text))
        elif text:
            titles.append(text)
    resolved: dict[str, int] = {}
    if titles:
        rows = list(Record.select(Record.id, Record.title)
                    .where((Record.project == target) & (Record.archived == False)  # noqa: E712
                           & (Record.title.in_(titles))).tuples())
        by_title: dict[str, list[int]] = {}
        for rid, title in rows:
            by_title.setdefault(title, []).append(rid)
        missing = [t for t in titles if t not in by_title]
        if missing:  # second chance: case-insensitive, trimmed
            lowered = {t.casefold() for t in missing}
            for rid, title in (Record.select(Record.id, Record.title)
                               .where((Record.project == target) & (Record.archived == False)  # noqa: E712
                                      & _title_contains_any(missing))
                               .tuples()):
                if title.strip().casefold() in lowered:
                    for t in missing:
                        if t.casefold() == title.strip().casefold():
                            by_title.setdefault(t, []).append(rid)
        for t in titles:
            found = by_title.get(t, [])
            if not found:
                raise ValidationError(fdef.name, t, "no record with this title or id in the referenced "
                                      "project")
            if len(set(found)) > 1:
                raise ValidationError(fdef.name, t, f"{len(set(found))} records have this title; "
                                      "give the id instead (e.g. #12)")
            resolved[t] = found[0]
    if ids:
        existing = {rid for (rid,) in Record.select(Record.id)
                    .where((Record.project == target) & Record.id.in_(ids)).tuples()}
        for rid in ids:
            if rid not in existing:
                raise ValidationError(fdef.name, f"#{rid}", "no such record in the referenced project")
    ordered: list[int] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id", item.get("title"))
        if isinstance(item, int):
            rid = item
        else:
            text = str(item).strip()
            rid = int(text.lstrip("#")) if text.lstrip("#").isdigit() else resolved.get(text)
        if rid is not None and rid not in ordered:
            ordered.append(rid)
    if not fdef.config.get("multiple"):
        if len(ordered) > 1:
            raise ValidationError(fdef.name, str(value), "takes a single record")
        return ordered[0] if ordered else None
    return ordered


def _prepare_files(fdef: FieldDef, value):
    """Paths are checked now (and read at write time); ints are existing attachment ids."""
    items = _as_list(value)
    out: list = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, int):
            if not Attachment.select().where(Attachment.id == item).exists():
                raise ValidationError(fdef.name, f"#{item}", "no such attachment")
            out.append(item)
            continue
        path = Path(str(item)).expanduser()
        if not path.is_file():
            raise ValidationError(fdef.name, str(item), "no such file")
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise ValidationError(fdef.name, str(item), "larger than 50 MB")
        out.append(path)
    if not fdef.config.get("multiple"):
        if len(out) > 1:
            raise ValidationError(fdef.name, str(value), "takes a single file")
        return out[0] if out else None
    return out


# ---------------------------------------------------------------------------------------------
# canonical → rows


def storage_rows(record_id: int, fdef: FieldDef, value) -> list[dict]:
    """The ``field_value`` rows for one field of one record (no query; files must be ids already)."""
    if value is None or value == []:
        return []
    if fdef.type == "reference":
        refs = value if isinstance(value, list) else [value]
        return [dict(record=record_id, field=fdef.id, position=i, ref=r) for i, r in enumerate(refs)]
    if fdef.type == "file":
        files = value if isinstance(value, list) else [value]
        return [dict(record=record_id, field=fdef.id, position=i, file=f) for i, f in enumerate(files)]
    ftype = get_field_type(fdef.type)
    column = ftype.column_for(fdef.config)
    return [dict(record=record_id, field=fdef.id, position=i, **{column: stored})
            for i, stored in enumerate(ftype.to_storage(value, fdef.config))]


def store_attachments(value):
    """Copy files given by path into ``attachment`` rows; return the value with ids instead."""
    if value is None:
        return None
    if isinstance(value, list):
        return [store_attachments(v) for v in value]
    if isinstance(value, int):
        return value
    data = Path(value).read_bytes()
    att = Attachment.create(name=Path(value).name, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                            content=data)
    return att.id


ROW_COLUMNS = ("record", "field", "position", "text", "number", "date", "ref", "file", "error")


def full_row(row: dict) -> dict:
    return {c: row.get(c) for c in ROW_COLUMNS}


def write_values(record_id: int, prepared: dict[int, tuple[FieldDef, object]]) -> dict[int, object]:
    """Replace the stored values of the given fields (call inside a write transaction).

    Returns ``{field id: canonical value as stored}`` (file paths replaced by attachment ids).
    """
    stored: dict[int, object] = {}
    rows: list[dict] = []
    for field_id, (fdef, value) in prepared.items():
        if fdef.type == "file":
            value = store_attachments(value)
        stored[field_id] = value
        rows.extend(storage_rows(record_id, fdef, value))
    if prepared:
        FieldValue.delete().where((FieldValue.record == record_id)
                                  & FieldValue.field.in_(list(prepared))).execute()
    if rows:
        FieldValue.insert_many([full_row(r) for r in rows]).execute()
    return stored


# ---------------------------------------------------------------------------------------------
# rows → canonical → JSON and text
#
# A list decodes and converts tens of thousands of values. What depends only on the field (its type,
# its config, the display type of a formula or lookup) is looked up once per field: ``row_decoder``,
# ``json_converter`` and ``display_converter`` return functions of the value alone, with the common
# case first. ``decode_field``, ``json_value`` and ``display_value`` are the same for one value.

# columns of a row of ``queries.values_of`` (record id and field id are 0 and 1)
_TEXT, _NUMBER, _DATE, _REF, _FILE, _ERROR, _REF_TITLE, _FILE_NAME, _FILE_SIZE = range(3, 12)
_COLUMNS = {"text": _TEXT, "number": _NUMBER, "date": _DATE, "ref": _REF}  # any other name: file
_scaled = get_field_type("number").item_reader({})  # stored millionths → Decimal
_read_date = get_field_type("date").item_reader({})


def decode_field(fdef: FieldDef, rows: list[tuple]):
    """Canonical value of one field from its rows ``(position, text, number, date, ref, file, error,
    ref_title, file_name, file_size)``. References become ``{"id", "title"}``, files ``{"id", "name",
    "size"}``; a formula error an ``ErrorValue``."""
    return row_decoder(fdef)([(None, None, *r) for r in rows])


def row_decoder(fdef: FieldDef):
    """``decode_field`` for many records: a function of one field's rows as ``queries.values_of``
    returns them (record id and field id first, in position order)."""
    cfg = fdef.config
    kind = fdef.type
    column = cfg.get("column") if kind == "lookup" else None
    if kind == "reference" or column == "ref":
        return _reference_decoder(bool(cfg.get("multiple")))
    if kind == "file" or column == "file":
        return _file_decoder(bool(cfg.get("multiple")))
    if kind == "formula":
        return _formula_decoder(cfg.get("result_kind", "number"))
    if kind == "lookup":
        return _lookup_decoder(cfg)
    try:
        ftype = get_field_type(kind)
    except ValueError as exc:
        return _failing_decoder(exc)
    column, config = ftype.column_for(cfg), cfg or {}
    return _field_decoder(_COLUMNS.get(column, _FILE), column == "date", ftype.item_reader(config),
                          ftype.multi_valued(config))


def _first_error(rows: list[tuple]) -> ErrorValue | None:
    for r in rows:
        if r[_ERROR] is not None:
            return ErrorValue(r[_ERROR])
    return None


def _reference_decoder(multiple: bool):
    if multiple:
        return lambda rows: [{"id": r[_REF], "title": r[_REF_TITLE]} for r in rows if r[_REF] is not None]

    def decode(rows):
        for r in rows:
            if r[_REF] is not None:
                return {"id": r[_REF], "title": r[_REF_TITLE]}
        return None

    return decode


def _file_decoder(multiple: bool):
    def item(r):
        return {"id": r[_FILE], "name": r[_FILE_NAME], "size": r[_FILE_SIZE]}

    if multiple:
        return lambda rows: [item(r) for r in rows if r[_FILE] is not None]

    def decode(rows):
        for r in rows:
            if r[_FILE] is not None:
                return item(r)
        return None

    return decode


def _formula_decoder(kind):
    if kind == "number":
        def value_of(r):
            return _scaled(r[_NUMBER]) if r[_NUMBER] is not None else None
    elif kind == "boolean":
        def value_of(r):
            return None if r[_NUMBER] is None else r[_NUMBER] != 0
    elif kind == "date":
        def value_of(r):
            return _as_date(r[_DATE])
    else:
        def value_of(r):
            return r[_TEXT]

    def decode(rows):
        error = _first_error(rows)
        if error is not None:
            return error
        return value_of(rows[0]) if rows else None

    return decode


def _lookup_decoder(cfg: dict):
    """Values of the looked-up field in their own shape; a list (maybe empty) when multiple."""
    display = cfg.get("display_type") or "text"
    dcfg = cfg.get("display_config") or {}
    if display in ("formula", "lookup"):
        display, dcfg = "text", {}
    try:
        ftype = get_field_type(display)
    except ValueError as exc:
        return _failing_decoder(exc)
    multiple = bool(cfg.get("multiple"))
    if multiple and display == "multi_select":
        def one(v):  # option names as stored
            return v
    else:
        read = ftype.item_reader(dcfg)
        one = (lambda v: [read(v)]) if ftype.multi_valued(dcfg) else read
    column = cfg.get("column", "text")
    index, dates = _COLUMNS.get(column, _FILE), column == "date"
    one_stored = _dated(one) if dates else one

    def decode(rows):
        if len(rows) == 1:  # a single reference: one value
            r = rows[0]
            if r[_ERROR] is not None:
                return ErrorValue(r[_ERROR])
            v = r[index]
            if v is None:
                return [] if multiple else None
            return [one_stored(v)] if multiple else one_stored(v)
        error = _first_error(rows)
        if error is not None:
            return error
        values = [_as_date(r[index]) for r in rows] if dates else [r[index] for r in rows]
        values = [v for v in values if v is not None]
        if multiple:
            return [one(v) for v in values]
        return one(values[0]) if values else None

    return decode


def _field_decoder(index: int, dates: bool, read, multiple: bool):
    """A field's own values, stored in column ``index`` (``dates``: read as dates first), each read
    by ``read``; a list when ``multiple``; None when there is none."""
    read_stored = _dated(read) if dates else read

    def decode(rows):
        if len(rows) == 1:  # most fields of most records: one value
            r = rows[0]
            if r[_ERROR] is not None:
                return ErrorValue(r[_ERROR])
            v = r[index]
            if v is None:
                return None
            return [read_stored(v)] if multiple else read_stored(v)
        error = _first_error(rows)
        if error is not None:
            return error
        values = [_as_date(r[index]) for r in rows] if dates else [r[index] for r in rows]
        values = [read(v) for v in values if v is not None]
        if not values:
            return None
        return values if multiple else values[0]

    return decode


def _failing_decoder(exc: ValueError):
    """A field whose type (or display type) is unknown: errors decode, anything else raises."""
    def decode(rows):
        error = _first_error(rows)
        if error is not None:
            return error
        raise ValueError(*exc.args)

    return decode


def _as_date(value):
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _dated(read):
    """``read(_as_date(v))`` for a value of a ``date`` column (not None): ISO text on SQLite."""
    if read is _read_date:
        def read_date(v):
            if type(v) is str:  # what _as_date and the date type make of it, in one step
                return dt.date.fromisoformat(v[:10])
            return read(_as_date(v))

        return read_date
    return lambda v: read(_as_date(v))


def load_values(schema: ProjectSchema, record_ids_query, *, field_ids=None) -> dict[int, dict[int, object]]:
    """``{record id: {field id: canonical value}}`` for the given records — one query.

    ``record_ids_query`` is a list of ids or a SELECT of ids (a subquery keeps it one statement
    however many records there are)."""
    fields = {f.id: f for f in schema.fields}
    decoders: dict = {}
    out: dict[int, dict[int, object]] = {}
    decoded: dict = {}
    rid = fid = decode = None
    rows: list[tuple] = []
    # rows come ordered by record, field and position: a field's rows are consecutive
    for row in queries.values_of(record_ids_query, field_ids):
        if row[1] == fid and row[0] == rid:
            rows.append(row)
            continue
        if decode is not None:
            decoded[fid] = decode(rows)
        if row[0] != rid:
            rid = row[0]
            decoded = out.setdefault(rid, {})
        fid = row[1]
        rows = [row]
        if fid in decoders:
            decode = decoders[fid]
        else:
            fdef = fields.get(fid)
            decode = decoders[fid] = row_decoder(fdef) if fdef is not None else None
    if decode is not None:
        decoded[fid] = decode(rows)
    return out


def json_value(fdef: FieldDef, value):
    """JSON form of a canonical value (exact decimals as strings, ISO dates)."""
    return json_converter(fdef)(value)


def json_converter(fdef: FieldDef):
    """``json_value`` for many values: a function of the value alone."""
    multi = _multi(fdef)
    if fdef.type in ("reference", "file"):
        def to_json(value):
            if value is None:
                return [] if multi else None
            if isinstance(value, ErrorValue):
                return {"error": str(value)}
            return value

        return to_json
    usual, convert_usual, convert = _json_parts(fdef)

    def to_json(value):
        if type(value) is usual:  # a value of the field's own kind: none of the checks below apply
            return convert_usual(value)
        if value is None:
            return [] if multi else None
        if isinstance(value, ErrorValue):
            return {"error": str(value)}
        if isinstance(value, dict):
            return value
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return value
        return convert(value)

    return to_json


def _json_parts(fdef: FieldDef):
    """(the usual type of a value, its conversion, the conversion of any other value) past the
    checks every field shares (None, errors, references)."""
    cfg = fdef.config
    if fdef.type == "formula":
        display = cfg.get("display_type")
        number = _type_json(display, cfg.get("display_config") or {})[1] if display else _plain_decimal

        def convert(value):
            if isinstance(value, Decimal):
                return number(value)
            if isinstance(value, dt.date):
                return value.isoformat()
            return value

        return Decimal, number, convert
    if fdef.type == "lookup":
        display = cfg.get("display_type") or "text"
        if display in ("formula", "lookup"):
            return _Never, None, _generic_json
        usual, one_usual, one = _type_json(display, cfg.get("display_config") or {})
        if display == "multi_select" or usual is _Never:  # _Never: an unknown type, whatever the value
            return usual, one_usual, one

        def convert(value):
            if isinstance(value, list):
                return [one(v) for v in value]
            return one(value)

        return usual, one_usual, convert
    return _type_json(fdef.type, cfg)


class _Never:
    """No value is of this type: no shortcut."""


def _type_json(type_name: str, config: dict):
    """(``item_type``, ``item_json``, ``json_converter``) of the type called ``type_name``."""
    try:
        kind = get_field_type(type_name)
    except ValueError as exc:
        return _Never, _failing(exc), _failing(exc)
    return kind.item_type, kind.item_json(config), kind.json_converter(config)


def _failing(exc: ValueError):
    """An unknown (display) type raises when a value meets it, as a lookup per value did."""
    def fail(value):
        raise ValueError(*exc.args)

    return fail


def _plain_decimal(value: Decimal) -> str:
    return str(normalize(value))


def _generic_json(value):
    if isinstance(value, list):
        return [_generic_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(normalize(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def display_value(fdef: FieldDef, value) -> str:
    """Text for a table cell or a detail line."""
    return display_converter(fdef)(value)


def display_converter(fdef: FieldDef):
    """``display_value`` for many values: a function of the value alone."""
    if fdef.type in ("formula", "lookup"):
        return _computed_display(fdef.config)
    try:
        ftype = get_field_type(fdef.type)
    except ValueError as exc:
        usual, fmt = _Never, _failing(exc)
        fmt_usual = fmt
    else:
        usual, fmt, fmt_usual = ftype.item_type, ftype.formatter(fdef.config), ftype.item_text(fdef.config)

    def display(value) -> str:
        if type(value) is usual:
            return fmt_usual(value)
        shared = _shared_display(value)
        return fmt(value) if shared is None else shared

    return display


def _shared_display(value) -> str | None:
    """Text of what every field shows alike (nothing, an error, references, files); None otherwise."""
    if value is None:
        return ""
    if isinstance(value, ErrorValue):
        return str(value)
    if isinstance(value, dict):
        return str(value.get("title") or value.get("name") or "")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return ", ".join(str(v.get("title") or v.get("name") or "") for v in value)
    return None


def _computed_display(cfg: dict):
    """A formula or lookup: through its display type when it has one that fits the value."""
    display = cfg.get("display_type")
    shown = failure = None
    if display and display not in ("formula", "lookup", "reference", "file"):
        try:
            shown = get_field_type(display).formatter(cfg.get("display_config") or {})
        except ValueError as exc:
            failure = exc
    joined = display != "multi_select"

    def show(value) -> str:
        shared = _shared_display(value)
        if shared is not None:
            return shared
        if failure is not None:
            raise ValueError(*failure.args)
        if shown is not None:
            try:
                if isinstance(value, list) and joined:
                    return ", ".join(shown(v) for v in value)
                return shown(value)
            except Exception:  # a value of another kind than the display hint: show it plainly
                pass
        if isinstance(value, list):
            return ", ".join(show(v) for v in value)
        if isinstance(value, bool):
            return "✓" if value else ""
        if isinstance(value, Decimal):
            return str(normalize(value))
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    return show


def _multi(fdef: FieldDef) -> bool:
    if fdef.type == "multi_select":
        return True
    return bool(fdef.config.get("multiple")) and fdef.type in ("reference", "file", "lookup")


def formula_input(value):
    """A canonical value as a formula sees it: references and files by their title/name."""
    if isinstance(value, dict):
        return value.get("title") or value.get("name")
    if isinstance(value, list):
        return [formula_input(v) for v in value]
    if isinstance(value, ErrorValue):
        from .formulas import FormulaError

        return FormulaError(str(value))
    return value


def attachment_bytes(attachment_id: int) -> tuple[str, bytes]:
    att = Attachment.get_or_none(Attachment.id == attachment_id)
    if att is None:
        raise NotFoundError(f"no attachment #{attachment_id}")
    return att.name, bytes(att.content)


__all__ = ["prepare_values", "write_values", "load_values", "decode_field", "json_value", "display_value",
           "row_decoder", "json_converter", "display_converter", "ErrorValue", "CrmError"]

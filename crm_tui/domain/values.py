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
from .decimals import from_scaled, normalize
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
# rows → canonical


def decode_field(fdef: FieldDef, rows: list[tuple]):
    """Canonical value of one field from its rows ``(position, text, number, date, ref, file, error,
    ref_title, file_name, file_size)``. References become ``{"id", "title"}``, files ``{"id", "name",
    "size"}``; a formula error an ``ErrorValue``."""
    cfg = fdef.config
    if fdef.type == "reference" or (fdef.type == "lookup" and cfg.get("column") == "ref"):
        items = [{"id": r[4], "title": r[7]} for r in rows if r[4] is not None]
        return items if (cfg.get("multiple") or fdef.type == "lookup" and cfg.get("multiple")) else (
            items[0] if items else None)
    if fdef.type == "file" or (fdef.type == "lookup" and cfg.get("column") == "file"):
        items = [{"id": r[5], "name": r[8], "size": r[9]} for r in rows if r[5] is not None]
        return items if cfg.get("multiple") else (items[0] if items else None)
    for r in rows:
        if r[6] is not None:
            return ErrorValue(r[6])
    if fdef.type == "formula":
        kind = cfg.get("result_kind", "number")
        if not rows:
            return None
        r = rows[0]
        if kind == "number":
            return from_scaled(r[2]) if r[2] is not None else None
        if kind == "boolean":
            return None if r[2] is None else r[2] != 0
        if kind == "date":
            return _as_date(r[3])
        return r[1]
    if fdef.type == "lookup":
        display = cfg.get("display_type") or "text"
        dcfg = cfg.get("display_config") or {}
        if display in ("formula", "lookup"):
            display, dcfg = "text", {}
        ftype = get_field_type(display)
        column = cfg.get("column", "text")
        values = [_column_value(r, column) for r in rows]
        values = [v for v in values if v is not None]
        if cfg.get("multiple"):
            if display == "multi_select":
                return [v for v in values]
            return [ftype.from_storage([v], dcfg) for v in values]
        return ftype.from_storage(values[:1], dcfg) if values else None
    ftype = get_field_type(fdef.type)
    column = ftype.column_for(cfg)
    return ftype.from_storage([_column_value(r, column) for r in rows], cfg)


def _as_date(value):
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _column_value(row: tuple, column: str):
    if column == "text":
        return row[1]
    if column == "number":
        return row[2]
    if column == "date":
        return _as_date(row[3])
    if column == "ref":
        return row[4]
    return row[5]


def load_values(schema: ProjectSchema, record_ids_query, *, field_ids=None) -> dict[int, dict[int, object]]:
    """``{record id: {field id: canonical value}}`` for the given records — one query.

    ``record_ids_query`` is a list of ids or a SELECT of ids (a subquery keeps it one statement
    however many records there are)."""
    by_record: dict[int, dict[int, list]] = {}
    for (rid, fid, pos, text, number, date, ref, file, error, ref_title, file_name,
         file_size) in queries.values_of(record_ids_query, field_ids):
        by_record.setdefault(rid, {}).setdefault(fid, []).append(
            (pos, text, number, date, ref, file, error, ref_title, file_name, file_size))
    fields = {f.id: f for f in schema.fields}
    out: dict[int, dict[int, object]] = {}
    for rid, per_field in by_record.items():
        decoded: dict[int, object] = {}
        for fid, rows in per_field.items():
            fdef = fields.get(fid)
            if fdef is not None:
                decoded[fid] = decode_field(fdef, rows)
        out[rid] = decoded
    return out


def json_value(fdef: FieldDef, value):
    """JSON form of a canonical value (exact decimals as strings, ISO dates)."""
    if value is None:
        return [] if _multi(fdef) else None
    if isinstance(value, ErrorValue):
        return {"error": str(value)}
    if fdef.type in ("reference", "file") or isinstance(value, dict):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value
    if fdef.type == "formula":
        if isinstance(value, Decimal):
            display = fdef.config.get("display_type")
            if display:
                return get_field_type(display).to_json(value, fdef.config.get("display_config") or {})
            return str(normalize(value))
        if isinstance(value, dt.date):
            return value.isoformat()
        return value
    if fdef.type == "lookup":
        display = fdef.config.get("display_type") or "text"
        dcfg = fdef.config.get("display_config") or {}
        if display in ("formula", "lookup"):
            return _generic_json(value)
        ftype = get_field_type(display)
        if isinstance(value, list) and display != "multi_select":
            return [ftype.to_json(v, dcfg) for v in value]
        return ftype.to_json(value, dcfg)
    return get_field_type(fdef.type).to_json(value, fdef.config)


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
    if value is None:
        return ""
    if isinstance(value, ErrorValue):
        return str(value)
    if isinstance(value, dict):
        return str(value.get("title") or value.get("name") or "")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return ", ".join(str(v.get("title") or v.get("name") or "") for v in value)
    if fdef.type in ("formula", "lookup"):
        display = fdef.config.get("display_type")
        dcfg = fdef.config.get("display_config") or {}
        if display and display not in ("formula", "lookup", "reference", "file"):
            ftype = get_field_type(display)
            try:
                if isinstance(value, list) and display != "multi_select":
                    return ", ".join(ftype.format(v, dcfg) for v in value)
                return ftype.format(value, dcfg)
            except Exception:  # a value of another kind than the display hint: show it plainly
                pass
        if isinstance(value, list):
            return ", ".join(display_value(fdef, v) for v in value)
        if isinstance(value, bool):
            return "✓" if value else ""
        if isinstance(value, Decimal):
            return str(normalize(value))
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)
    return get_field_type(fdef.type).format(value, fdef.config)


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
           "ErrorValue", "CrmError"]

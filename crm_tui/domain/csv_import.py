"""CSV import: read real-world CSV files and turn their rows into records — all or nothing.

>>> report = import_csv(actor, "Accounts", "accounts.csv", mapping={"account": "title"})
>>> report.created, report.ok, [(i.line, i.column, i.value, i.reason) for i in report.issues]
>>> import_csv(actor, "Pipeline", "pipeline.csv", key="opportunity_id", skip_bad=True, rejects="bad.csv")

Reading (§2 of the import issue): the encoding is detected (UTF-8 with or without BOM, UTF-16 as
Excel's "Unicode text" writes it, cp1252 as the fallback), then the delimiter (``, ; tab |``); quoted
fields with commas, doubled quotes and newlines, CRLF, blank lines and headers with stray spaces are
read as a person means them. Text stays text: nothing is converted before the field's type parses it.

Importing: columns map to fields by name (case-insensitive, trimmed) or by an explicit mapping; the
pseudo-fields ``title``, ``list``, ``tags``, ``assignee`` (and ``description``, ``due_date``) are
targets too. The file is streamed once to validate every cell; references are then resolved in one
query per referenced project (by title, or by the key field), including rows of the same file that
are referenced before they appear. With any bad row nothing is written unless ``skip_bad`` is set;
the report lists every bad cell (line, column, value, why), and ``skip_bad`` writes the bad rows with
a ``reason`` column to a CSV the user can fix and import again. ``key`` makes the import an upsert.
One import is one transaction: an interruption leaves the database as it was.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import json
import os
import re
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

from ..errors import NotFoundError, PermissionDenied, ValidationError

__all__ = [
    "CsvFormat",
    "ImportIssue",
    "ImportReport",
    "CsvReader",
    "detect_format",
    "import_csv",
    "plan_mapping",
    "PSEUDO_TARGETS",
]

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
MAX_FIELD_CHARS = 16 * 1024 * 1024
WRITE_CHUNK = 5000
MAX_TITLE = 500

#: Header spellings that map to the record's own attributes (after trimming and casefolding).
PSEUDO_TARGETS = {
    "title": "title",
    "list": "list",
    "tags": "tags",
    "tag": "tags",
    "assignee": "assignee",
    "description": "description",
    "due_date": "due_date",
    "due date": "due_date",
    "id": "id",
}
PSEUDO_NAMES = ("title", "list", "tags", "assignee", "description", "due_date", "id")
_HEADER_JUNK = "\ufeff\u00a0\u200b\t "

csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str


def detect_encoding(path: str | os.PathLike) -> str:
    """The file's encoding: a BOM decides; else UTF-16 by its NUL bytes; else UTF-8 if the whole file
    decodes (checked streaming, in constant memory); else cp1252 (latin-1 if even that fails)."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4:
        even_nuls = head[0::2].count(0)
        odd_nuls = head[1::2].count(0)
        half = len(head) // 2
        if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
            return "utf-16-le"
        if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
            return "utf-16-be"
    for encoding in ("utf-8", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(sample: str) -> str:
    """The delimiter among ``, ; tab |`` that splits the sample's rows into the most equal columns."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-row
    text = "".join(lines[:200])
    best, best_score = ",", (-1, -1, -1)
    for delim in DELIMITERS:
        try:
            rows = [r for r in csv.reader(text.splitlines(keepends=True), delimiter=delim) if any(
                c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows if len(r) == width)
        score = (1 if width > 1 else 0, consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def detect_format(path: str | os.PathLike) -> CsvFormat:
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(SAMPLE_BYTES)
    return CsvFormat(encoding, detect_delimiter(sample))


def clean_header(name: str) -> str:
    return " ".join(name.strip(_HEADER_JUNK).split())


class CsvReader:
    """Stream a CSV file: ``header`` (trimmed), then ``(line, cells)`` for each non-blank row.

    ``line`` is the physical line the row starts on (the header is usually line 1), as a text editor
    or a spreadsheet shows it; a row spanning lines (quoted newlines) counts all of them.

    >>> with CsvReader("clients.csv") as reader:
    ...     for line, cells in reader: ...
    """

    def __init__(self, path: str | os.PathLike, fmt: CsvFormat | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise NotFoundError(f"no such file: {self.path}")
        self.format = fmt or detect_format(self.path)
        self._fh = open(self.path, encoding=self.format.encoding, newline="")
        self._reader = csv.reader(self._fh, delimiter=self.format.delimiter)
        self.header: list[str] = []
        self.header_line = 0
        self._last_line = 0
        for line, cells in self._rows():
            self.header = [clean_header(c) for c in cells]
            self.header_line = line
            break

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in self._reader:
                start = self._last_line + 1
                self._last_line = self._reader.line_num
                if not cells or not any(c.strip() for c in cells):
                    continue
                yield start, cells
        except csv.Error as exc:
            raise ValidationError("file", str(self.path), f"line {self._reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ValidationError("file", str(self.path), f"not readable as {self.format.encoding}: {exc}") from None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Spreadsheets run a cell starting with one of these as a formula ("CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def needs_guard(text: str) -> bool:
    """Would a spreadsheet run ``text`` (or would stripping our guard from it change it)?"""
    while text[:1] == "'":
        text = text[1:]
        if text[:1] in FORMULA_TRIGGERS and text:
            return True
    return bool(text) and text[0] in FORMULA_TRIGGERS


def guard_cell(text: str) -> str:
    """Prefix ``'`` to a formula-like cell so a spreadsheet shows it as text (plain numbers such as
    ``-12.5`` are left alone: they cannot run). :func:`unguard_cell` undoes it exactly."""
    if text and (text[0] in FORMULA_TRIGGERS or text[0] == "'") and needs_guard(text) \
            and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def unguard_cell(text: str) -> str:
    if text[:1] == "'" and needs_guard(text[1:]) and not _PLAIN_NUMBER.match(text[1:]):
        return text[1:]
    return text


_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


# ---------------------------------------------------------------------------------------------
# Report


@dataclass
class ImportIssue:
    """One bad cell (or row): the line it starts on, the column, the value and why it was refused."""

    line: int
    column: str
    value: str
    reason: str

    def to_json(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class ImportReport:
    file: str
    project: str
    encoding: str = ""
    delimiter: str = ","
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    issues: list[ImportIssue] = dc_field(default_factory=list)
    mapping: dict[str, str] = dc_field(default_factory=dict)
    ignored_columns: list[str] = dc_field(default_factory=list)
    created_options: dict[str, list[str]] = dc_field(default_factory=dict)
    dry_run: bool = False
    written: bool = False
    rejects_file: str | None = None
    record_ids: list[int] = dc_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def bad_lines(self) -> list[int]:
        return sorted({i.line for i in self.issues})

    def summary(self) -> list[dict]:
        """The issues grouped by column, value and reason, most frequent first."""
        groups: dict[tuple, list[int]] = {}
        for issue in self.issues:
            groups.setdefault((issue.column, issue.value, issue.reason), []).append(issue.line)
        return [{"column": c, "value": v, "reason": r, "rows": len(lines), "first_line": min(lines)}
                for (c, v, r), lines in sorted(groups.items(), key=lambda kv: (-len(kv[1]), min(kv[1])))]

    def to_json(self) -> dict:
        return {
            "file": self.file, "project": self.project, "encoding": self.encoding,
            "delimiter": self.delimiter, "rows": self.rows, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected, "bad_rows": len(self.bad_lines),
            "written": self.written, "dry_run": self.dry_run, "mapping": self.mapping,
            "ignored_columns": self.ignored_columns, "created_options": self.created_options,
            "rejects_file": self.rejects_file, "summary": self.summary(),
            "issues": [i.to_json() for i in self.issues],
        }


# ---------------------------------------------------------------------------------------------
# Mapping


@dataclass
class Column:
    index: int
    header: str
    target: str  # a pseudo name, or "field"
    fdef: object = None  # FieldDef for target == "field"

    @property
    def target_name(self) -> str:
        return self.fdef.name if self.fdef is not None else self.target


def _split_map(spec: str, headers_cf: dict[str, int]) -> tuple[str, str]:
    """``"CSV column=Field"`` → (column, field); the column may itself contain ``=``."""
    if "=" not in spec:
        raise ValidationError("--map", spec, 'expected "CSV column=Field"')
    positions = [i for i, c in enumerate(spec) if c == "="]
    for pos in positions:
        if clean_header(spec[:pos]).casefold() in headers_cf:
            return spec[:pos], spec[pos + 1:]
    return spec[:positions[0]], spec[positions[0] + 1:]


def plan_mapping(schema, header: list[str], mapping: dict[str, str] | list[str] | None = None
                 ) -> tuple[list[Column], list[str]]:
    """Columns → targets. ``mapping``: ``{column: field}`` or ``["column=field", ...]``; an empty field
    ignores the column. Unmapped columns map by name. Returns (columns, ignored headers)."""
    headers_cf: dict[str, int] = {}
    for i, h in enumerate(header):
        if h:
            headers_cf.setdefault(h.casefold(), i)
    pairs: list[tuple[str, str]] = []
    if isinstance(mapping, dict):
        pairs = list(mapping.items())
    elif mapping:
        pairs = [_split_map(spec, headers_cf) for spec in mapping]
    explicit: dict[int, str] = {}
    for column, target in pairs:
        key = clean_header(column).casefold()
        if key not in headers_cf:
            raise ValidationError("--map", column, "no such column in the file; columns: "
                                  + ", ".join(h for h in header if h))
        explicit[headers_cf[key]] = target.strip()
    columns: list[Column] = []
    ignored: list[str] = []
    used: dict[str, tuple[str, int]] = {}
    for index, head in enumerate(header):
        if not head and index not in explicit:
            continue
        if index in explicit:
            target = explicit[index]
            if not target:
                ignored.append(head)
                continue
            col = _target_column(schema, index, head, target, strict=True)
        else:
            col = _target_column(schema, index, head, head, strict=False)
        if col is None or (col.fdef is not None and (col.fdef.computed or col.fdef.type == "file")):
            ignored.append(head)
            continue
        name = col.target_name.casefold()
        if name in used:
            other, other_index = used[name]
            what = (f"columns {other_index + 1} and {index + 1} are both named {head!r}" if other == head else
                    f"both {other!r} and {head!r} map to {col.target_name!r}")
            raise ValidationError("--map", head, f"{what}; map one of them elsewhere or to nothing "
                                  "(\"COLUMN=\")")
        used[name] = (head, index)
        columns.append(col)
    return columns, ignored


def _target_column(schema, index: int, header: str, target: str, *, strict: bool) -> Column | None:
    key = " ".join(target.strip().split()).casefold()
    if key in PSEUDO_TARGETS:
        return Column(index, header, PSEUDO_TARGETS[key])
    fdef = schema.field_or_none(target)
    if fdef is not None:
        if strict and fdef.computed:
            raise ValidationError("--map", f"{header}={target}", f"{fdef.name!r} is a {fdef.type}: its value "
                                  "is computed and cannot be imported")
        if strict and fdef.type == "file":
            raise ValidationError("--map", f"{header}={target}", "file fields cannot be imported from CSV")
        return Column(index, header, "field", fdef)
    if strict:
        names = list(PSEUDO_NAMES[:-1]) + [f.name for f in schema.fields if not f.computed]
        close = difflib.get_close_matches(target, names, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise NotFoundError(f"project {schema.name!r} has no field {target!r}{hint} "
                            f"(targets: {', '.join(names)})")
    return None


# ---------------------------------------------------------------------------------------------
# Staging


class _Row:
    __slots__ = ("line", "title", "list_id", "tags", "assignee_id", "due", "description", "values", "refs",
                 "key", "record_id", "bad", "id_value")

    def __init__(self, line: int):
        self.line = line
        self.title = None
        self.list_id = None
        self.tags = None
        self.assignee_id = None
        self.due = None
        self.description = None
        self.values: dict = {}
        self.refs: dict | None = None  # field id -> list of (raw text, token)
        self.key = None
        self.record_id = None  # set for an update (or after creation)
        self.bad = False
        self.id_value = None  # the "id" column, for --key id


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _key_norm(value):
    if isinstance(value, str):
        return _norm(value)
    if isinstance(value, Decimal):
        return value.normalize() if value else Decimal(0)
    return value


class _Users:
    def __init__(self):
        from ..db.models import User

        self.by_name: dict[str, int] = {}
        self.names: list[str] = []
        for uid, name, display, email in User.select(User.id, User.name, User.display_name, User.email).where(
                User.active == True).tuples():  # noqa: E712
            self.names.append(name)
            for text in (name, display, email):
                if text:
                    self.by_name.setdefault(_norm(text), uid)

    def find(self, text: str) -> int:
        uid = self.by_name.get(_norm(text))
        if uid is None:
            raise ValueError("no such user" + _did_you_mean(text, self.names) + " (see `crm-tui user list`)")
        return uid


def _did_you_mean(text: str, candidates) -> str:
    pool = {_norm(c): c for c in candidates}
    close = difflib.get_close_matches(_norm(text), list(pool), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f'"{pool[c]}"' for c in close) + "?"


_NO_TAGS: tuple = ()
_SHARED: dict[tuple, tuple] = {}


def _shared(items: list) -> tuple:
    """One tuple object per distinct list of names (rows share them instead of each holding a copy)."""
    key = tuple(items)
    if len(_SHARED) > 10_000:
        _SHARED.clear()
    return _SHARED.setdefault(key, key)


def _split_tags(text: str) -> list[str]:
    parts = text.split(";") if ";" in text else text.split(",")
    out: list[str] = []
    for part in parts:
        name = part.strip()
        if not name:
            continue
        if len(name) > 200:
            raise ValueError("a tag has at most 200 characters")
        if name.casefold() not in {t.casefold() for t in out}:
            out.append(name)
    return out


def _ref_tokens(text: str, multiple: bool) -> list[tuple[str, object]]:
    parts = [p.strip() for p in text.split(";")] if multiple else [text.strip()]
    out = []
    for part in parts:
        if not part:
            continue
        m = re.fullmatch(r"#\s*(\d{1,18})", part)
        out.append((part, int(m[1]) if m else part))
    return out


# ---------------------------------------------------------------------------------------------
# The import


def import_csv(actor, project, path: str | os.PathLike, *, mapping=None, key: str | None = None,
               dry_run: bool = False, skip_bad: bool = False, rejects: str | os.PathLike | None = None,
               create_options: bool = False, date_order: str = "YMD", today: dt.date | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> ImportReport:
    """Import ``path`` into ``project``; see the module docstring. Returns the report (never raises for
    bad rows: ``report.ok`` is False and, without ``skip_bad``, nothing was written).

    ``progress(phase, done, total)`` is called now and then (phases: ``read``, ``write``)."""
    from .project_schema import load_schema

    date_order = (date_order or "YMD").upper()
    if date_order not in ("DMY", "MDY", "YMD"):
        raise ValidationError("--date-order", date_order, "expected DMY, MDY or YMD")
    schema = load_schema(project)
    actor.require("import", schema.id, schema.name)
    shown = str(path)
    path, spooled = _regular_file(path)
    try:
        return _import(shown, actor, schema, path, mapping=mapping, key=key, dry_run=dry_run, skip_bad=skip_bad,
                       rejects=rejects, create_options=create_options, date_order=date_order, today=today,
                       progress=progress)
    finally:
        if spooled:
            os.unlink(path)


def _regular_file(path) -> tuple[Path, bool]:
    """A pipe, /dev/stdin or ``-`` is copied to a temporary file: the reader needs two passes."""
    import shutil
    import sys
    import tempfile

    if str(path) == "-":
        source = sys.stdin.buffer
    else:
        p = Path(path)
        if not p.exists() or p.is_dir():
            raise NotFoundError(f"no such file: {p}")
        if p.is_file():
            return p, False
        source = p.open("rb")
    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as tmp:
        shutil.copyfileobj(source, tmp)
    if source is not sys.stdin.buffer:
        source.close()
    return Path(tmp.name), True


def _import(shown: str, actor, schema, path: Path, *, mapping, key, dry_run, skip_bad, rejects, create_options, date_order,
            today, progress) -> ImportReport:
    from ..db.connection import run_write
    from .field_types import get_field_type

    reader = CsvReader(path)
    report = ImportReport(file=shown, project=schema.name, encoding=reader.format.encoding,
                          delimiter=reader.format.delimiter, dry_run=dry_run)
    try:
        if not reader.header:
            raise ValidationError("file", str(path), "is empty: expected a header row and data rows")
        columns, report.ignored_columns = plan_mapping(schema, reader.header, mapping)
        report.mapping = {c.header: c.target_name for c in columns}
        for col in columns:
            if col.fdef is not None and not actor.can_edit(col.fdef.id):
                raise PermissionDenied(f"you may not edit the field {col.fdef.name!r}")
        if create_options and not actor.is_admin and any(
                c.fdef is not None and c.fdef.type in ("dropdown", "multi_select") for c in columns):
            raise PermissionDenied("only an admin can add dropdown options (--create-options)")
        key_col = _key_column(schema, columns, key)
        if key_col is None or key_col.target != "id":
            # an exported id column is information, not an instruction (unless --key id)
            report.ignored_columns += [c.header for c in columns if c.target == "id"]
            columns = [c for c in columns if c.target != "id"]
            report.mapping = {c.header: c.target_name for c in columns}
        if not any(c.target == "title" for c in columns) and key_col is None:
            raise ValidationError("title", "", "no column maps to the record title; name one with "
                                  '--map "COLUMN=title" (columns: ' + ", ".join(h for h in reader.header if h) + ")")
        users = _Users() if any(c.target == "assignee" for c in columns) else None
        new_options: dict[int, dict[str, str]] = {}  # field id -> {casefold: spelling}
        rows: list[_Row] = []
        issues = report.issues
        width = len(reader.header)
        parsers = []
        for col in columns:
            if col.fdef is not None:
                ftype = get_field_type(col.fdef.type)
                parsers.append((col, ftype, col.fdef.config))
            else:
                parsers.append((col, None, None))
        for line, cells in reader:
            row = _Row(line)
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                issues.append(ImportIssue(line, "", f"{len(cells)} cells",
                                          f"the header has {width} columns; quote values that contain the "
                                          f"delimiter {reader.format.delimiter!r}"))
                row.bad = True
            for col, ftype, config in parsers:
                raw = cells[col.index] if col.index < len(cells) else ""
                if raw[:1] == "'":
                    raw = unguard_cell(raw)
                try:
                    _stage_cell(row, col, ftype, config, raw, schema, users, date_order, today,
                                create_options, new_options)
                except ValueError as exc:
                    issues.append(ImportIssue(line, col.header, raw, str(exc)))
                    row.bad = True
            if not row.bad and row.title is None and key_col is None:
                issues.append(ImportIssue(line, _header_of(columns, "title"), "", "a record needs a title"))
                row.bad = True
            rows.append(row)
            if progress and len(rows) % 5000 == 0:
                progress("read", len(rows), 0)
        report.rows = len(rows)
    finally:
        reader.close()

    if create_options and new_options:
        # the new options must be known when references and updates are checked
        for col in columns:
            if col.fdef is not None and col.fdef.id in new_options:
                opts = list(col.fdef.config.get("options") or [])
                opts += [o for o in new_options[col.fdef.id].values() if o.casefold() not in
                         {str(x).casefold() for x in opts}]
                col.fdef.config = dict(col.fdef.config, options=opts)
                report.created_options[col.fdef.name] = list(new_options[col.fdef.id].values())

    _match_keys(schema, rows, key_col, issues)
    _resolve_references(schema, rows, columns, key_col, issues)
    issues.sort(key=lambda i: (i.line, _column_order(columns, i.column)))
    bad = [r for r in rows if r.bad]
    good = [r for r in rows if not r.bad]
    report.rejected = len(bad)
    if (bad and not skip_bad) or dry_run:
        report.created = sum(1 for r in good if r.record_id is None)
        report.updated = sum(1 for r in good if r.record_id is not None)
        if bad and skip_bad and rejects is not None and not dry_run:
            report.rejects_file = str(rejects)
        return report

    if bad:
        rejects_path = Path(rejects) if rejects else Path.cwd() / f"{Path(path).stem}.rejects.csv"
        write_rejects(path, reader.format, rejects_path, issues)
        report.rejects_file = str(rejects_path)

    def write():
        return _write(actor, schema, rows, columns, new_options, report, progress)

    run_write(write)
    report.written = True
    return report


def _header_of(columns: list[Column], target: str) -> str:
    for c in columns:
        if c.target == target:
            return c.header
    return target


def _column_order(columns: list[Column], header: str) -> int:
    for c in columns:
        if c.header == header:
            return c.index
    return -1


def _key_column(schema, columns: list[Column], key: str | None) -> Column | None:
    if not key:
        return None
    name = " ".join(key.strip().split()).casefold()
    for col in columns:
        if col.target_name.casefold() == name or (name in PSEUDO_TARGETS and col.target == PSEUDO_TARGETS[name]):
            if col.target not in ("title", "id", "field"):
                raise ValidationError("--key", key, "the key must be the title, the id or a field")
            if col.fdef is not None and col.fdef.type in ("reference", "multi_select", "file"):
                raise ValidationError("--key", key, f"a {col.fdef.type} field cannot be the key")
            return col
    if schema.field_or_none(key) is None and name not in PSEUDO_TARGETS:
        schema.field(key)  # NotFoundError naming the fields
    raise ValidationError("--key", key, "no column of the file maps to it; map one with "
                          f'--map "COLUMN={key}"')


def _stage_cell(row: _Row, col: Column, ftype, config, raw: str, schema, users, date_order, today,
                create_options: bool, new_options: dict) -> None:
    text = raw.strip()
    target = col.target
    if target == "field":
        fdef = col.fdef
        if fdef.type == "reference":
            tokens = _ref_tokens(raw, bool(config.get("multiple")))
            if len(tokens) > 1 and not config.get("multiple"):
                raise ValueError("takes a single record")
            if row.refs is None:
                row.refs = {}
            row.refs[fdef.id] = tokens
            return
        try:
            value = ftype.parse(raw, config, date_order=date_order, today=today)
        except ValueError as exc:
            if not (fdef.type in ("dropdown", "multi_select") and str(exc).startswith("not an option")):
                raise
            if not create_options:
                options = [str(o) for o in config.get("options") or []]
                raise ValueError(str(exc) + _did_you_mean(raw, options)
                                 + " (--create-options adds new options)") from None
            value = _with_new_options(fdef, raw, new_options)
        if value is not None:
            row.values[fdef.id] = value
        return
    if target == "title":
        if text:
            if len(text) > MAX_TITLE:
                raise ValueError(f"a title has at most {MAX_TITLE} characters")
            row.title = text
    elif target == "list":
        if text:
            try:
                row.list_id = schema.list(text).id
            except NotFoundError:
                raise ValueError(f"no such list in {schema.name!r}"
                                 + _did_you_mean(text, [l.name for l in schema.lists])
                                 + f" (lists: {', '.join(l.name for l in schema.lists) or 'none'})") from None
    elif target == "tags":
        row.tags = _shared(_split_tags(text)) if text else _NO_TAGS
    elif target == "assignee":
        if text:
            row.assignee_id = users.find(text)
    elif target == "description":
        row.description = raw.replace("\r\n", "\n")
    elif target == "due_date":
        from .field_types import get_field_type

        row.due = get_field_type("date").parse(raw, {}, date_order=date_order, today=today)
    elif target == "id":
        if text:
            digits = text.lstrip("#")
            if not digits.isdigit():
                raise ValueError("expected a record id like 12")
            row.id_value = int(digits)


def _with_new_options(fdef, raw: str, new_options: dict):
    known = {str(o).strip().casefold(): str(o) for o in (fdef.config.get("options") or [])}
    added = new_options.setdefault(fdef.id, {})
    parts = [raw] if fdef.type == "dropdown" else [p for p in (raw.split(";") if ";" in raw else raw.split(","))]
    chosen = []
    for part in parts:
        name = " ".join(part.split())
        if not name:
            continue
        cf = name.casefold()
        if cf in known:
            chosen.append(known[cf])
        else:
            if len(name) > 200:
                raise ValueError("an option has at most 200 characters")
            chosen.append(added.setdefault(cf, name))
    if fdef.type == "dropdown":
        return chosen[0] if chosen else None
    return list(dict.fromkeys(chosen)) or None


def _match_keys(schema, rows: list[_Row], key_col: Column | None, issues: list[ImportIssue]) -> None:
    """With a key: find the existing record of each row (one query), refuse duplicate keys."""
    if key_col is None:
        return
    from ..db.models import FieldValue, Record
    from .decimals import from_scaled

    live = (Record.project == schema.id) & (Record.archived == False)  # noqa: E712
    existing: dict = {}
    if key_col.target == "title":
        for rid, title in Record.select(Record.id, Record.title).where(live).tuples():
            existing.setdefault(_norm(title), []).append(rid)
    elif key_col.target == "id":
        for (rid,) in Record.select(Record.id).where(live).tuples():
            existing[rid] = [rid]
    else:
        fdef = key_col.fdef
        from .field_types import get_field_type

        column = get_field_type(fdef.type).column_for(fdef.config)
        col = {"text": FieldValue.text, "number": FieldValue.number, "date": FieldValue.date}[column]
        query = (FieldValue.select(FieldValue.record, col).join(Record, on=(FieldValue.record == Record.id))
                 .where(live & (FieldValue.field == fdef.id)).tuples())
        for rid, value in query:
            if value is None:
                continue
            if column == "number":
                value = from_scaled(value)
            elif column == "date" and isinstance(value, str):
                value = dt.date.fromisoformat(value[:10])
            existing.setdefault(_key_norm(value), []).append(rid)
    seen: dict = {}
    for row in rows:
        if key_col.target == "title":
            value = row.title
        elif key_col.target == "id":
            value = row.id_value
        else:
            value = row.values.get(key_col.fdef.id)
        if row.bad:
            continue
        if value is None:
            if key_col.target == "id":  # no id: a new record
                if row.title is None:
                    issues.append(ImportIssue(row.line, _header_of([key_col], "title"), "",
                                              "a new record needs a title"))
                    row.bad = True
                continue
            issues.append(ImportIssue(row.line, key_col.header, "", "the key column is empty"))
            row.bad = True
            continue
        norm = _key_norm(value)
        if norm in seen:
            issues.append(ImportIssue(row.line, key_col.header, str(value),
                                      f"the same key as line {seen[norm]}; each key may appear once"))
            row.bad = True
            continue
        seen[norm] = row.line
        row.key = norm
        found = existing.get(norm, [])
        if key_col.target == "id" and not found:
            issues.append(ImportIssue(row.line, key_col.header, str(value), f"no record #{value} in "
                                      f"{schema.name!r}"))
            row.bad = True
        elif len(found) > 1:
            issues.append(ImportIssue(row.line, key_col.header, str(value),
                                      f"{len(found)} records of {schema.name!r} have this key; make it unique first"))
            row.bad = True
        elif found:
            row.record_id = found[0]
        elif row.title is None:
            issues.append(ImportIssue(row.line, _header_of([key_col], "title"), "", "a new record needs a title"))
            row.bad = True


class _Targets:
    """Titles (and keys) of one referenced project: existing records plus, for the imported project
    itself, the rows of the file."""

    def __init__(self, project_id: int):
        from ..db.models import Record

        self.project_id = project_id
        self.by_name: dict[str, set] = {}
        self.ids: set[int] = set()
        self.titles: list[str] = []
        for rid, title in Record.select(Record.id, Record.title).where(
                (Record.project == project_id) & (Record.archived == False)).tuples():  # noqa: E712
            self.ids.add(rid)
            self.titles.append(title)
            self.by_name.setdefault(_norm(title), set()).add(("id", rid))
        self._suggestions: dict[str, str] = {}

    def add(self, name: str, target) -> None:
        self.by_name.setdefault(_norm(name), set()).add(target)

    def suggest(self, text: str) -> str:
        if text not in self._suggestions:
            self._suggestions[text] = _did_you_mean(text, self.titles)
        return self._suggestions[text]


def _resolve_references(schema, rows: list[_Row], columns: list[Column], key_col: Column | None,
                        issues: list[ImportIssue]) -> None:
    """Turn reference texts into record ids (or ``("row", index)`` for a row of this file), in one
    query per referenced project; rows referring to rejected rows are rejected in turn."""
    ref_cols = [c for c in columns if c.fdef is not None and c.fdef.type == "reference"]
    if not ref_cols:
        return
    from ..db.models import Project

    project_names = dict(Project.select(Project.id, Project.name).tuples())
    targets: dict[int, _Targets] = {}
    for col in ref_cols:
        tid = col.fdef.config.get("target")
        if tid not in targets:
            targets[tid] = _Targets(tid)
    own = targets.get(schema.id)
    if own is not None:
        for index, row in enumerate(rows):
            if row.bad:
                continue
            marker = ("id", row.record_id) if row.record_id is not None else ("row", index)
            if row.title:
                own.add(row.title, marker)
                own.titles.append(row.title)
            if key_col is not None and key_col.target == "field" and row.key is not None:
                own.add(str(row.values.get(key_col.fdef.id)), marker)
        if key_col is not None and key_col.target == "field":
            _add_existing_keys(own, schema, key_col)
    line_of = {index: row.line for index, row in enumerate(rows)}
    changed = True
    while changed:
        changed = False
        for index, row in enumerate(rows):
            if row.bad or not row.refs:
                continue
            resolved: dict = {}
            for col in ref_cols:
                fdef = col.fdef
                tokens = row.refs.get(fdef.id)
                if not tokens:
                    continue
                tgt = targets[fdef.config.get("target")]
                out = []
                for raw, token in tokens:
                    if isinstance(token, int):
                        if token not in tgt.ids:
                            issues.append(ImportIssue(row.line, col.header, raw, f"no record #{token} in "
                                                      f"{project_names.get(tgt.project_id)!r}"))
                            row.bad = True
                        out.append(token)
                        continue
                    found = tgt.by_name.get(_norm(token), set())
                    live = {f for f in found if f[0] == "id" or not rows[f[1]].bad}
                    if not live:
                        if found:
                            lines = sorted(line_of[f[1]] for f in found if f[0] == "row")
                            reason = f"refers to the row on line {lines[0]}, which is rejected"
                        else:
                            reason = (f"no record with this title in {project_names.get(tgt.project_id)!r}"
                                      + tgt.suggest(token))
                        issues.append(ImportIssue(row.line, col.header, raw, reason))
                        row.bad = True
                        continue
                    if len(live) > 1:
                        issues.append(ImportIssue(row.line, col.header, raw,
                                                  f"{len(live)} records have this title; give the id instead "
                                                  "(e.g. #12)"))
                        row.bad = True
                        continue
                    (kind, ref), = live
                    out.append(ref if kind == "id" else ("row", ref))
                out = list(dict.fromkeys(out))
                resolved[fdef.id] = out if fdef.config.get("multiple") else (out[0] if out else None)
            if row.bad:
                changed = True
                continue
            row.values.update(resolved)
        if changed:  # a newly rejected row may be referenced by others: check again from scratch
            for row in rows:
                if not row.bad and row.refs:
                    for fid in row.refs:
                        row.values.pop(fid, None)
    for row in rows:
        if not row.bad:
            row.refs = None


def _add_existing_keys(own: _Targets, schema, key_col: Column) -> None:
    from ..db.models import FieldValue, Record

    query = (FieldValue.select(FieldValue.record, FieldValue.text)
             .join(Record, on=(FieldValue.record == Record.id))
             .where((Record.project == schema.id) & (Record.archived == False)  # noqa: E712
                    & (FieldValue.field == key_col.fdef.id) & FieldValue.text.is_null(False)).tuples())
    for rid, text in query:
        own.add(text, ("id", rid))


# ---------------------------------------------------------------------------------------------
# Writing


def _write(actor, schema, rows: list[_Row], columns: list[Column], new_options: dict, report: ImportReport,
           progress) -> None:
    from ..db.models import Field, FieldValue
    from .computed import FieldGraph, propagate
    from .records import NewRecord, create_records_bulk
    from .values import full_row, storage_rows

    for col in columns:
        if col.fdef is not None and col.fdef.id in new_options:
            Field.update(config=json.dumps(col.fdef.config)).where(Field.id == col.fdef.id).execute()
    fields = {f.id: f for f in schema.fields}
    for col in columns:
        if col.fdef is not None:
            fields[col.fdef.id] = col.fdef
    schema.fields = [fields[f.id] for f in schema.fields]

    good = [r for r in rows if not r.bad]
    new_rows = [r for r in good if r.record_id is None]
    updates = [r for r in good if r.record_id is not None]
    deferred: list[tuple[_Row, int, object]] = []
    total = len(good)
    done = 0
    for start in range(0, len(new_rows), WRITE_CHUNK):
        batch = new_rows[start:start + WRITE_CHUNK]
        items = []
        for row in batch:
            values = {}
            for fid, value in row.values.items():
                if _has_row_ref(value):
                    deferred.append((row, fid, value))
                else:
                    values[fid] = value
            items.append(NewRecord(row.title, list_id=row.list_id, tags=row.tags or (), values=values,
                                   assignee_id=row.assignee_id, description=row.description or "",
                                   due_date=row.due))
        ids = create_records_bulk(actor, schema, items, moved_events=False)
        for row, rid in zip(batch, ids):
            row.record_id = rid
        done += len(batch)
        if progress:
            progress("write", done, total)

    def fill(value):
        """("row", index) placeholders → the ids of the records created for those rows."""
        if isinstance(value, tuple):
            return rows[value[1]].record_id
        if isinstance(value, list):
            return list(dict.fromkeys(rows[v[1]].record_id if isinstance(v, tuple) else v for v in value))
        return value

    if deferred:
        # rows of this file referencing rows created just now
        value_rows = []
        changed: dict[int, set[int]] = {}
        for row, fid, value in deferred:
            value = fill(value)
            value_rows.extend(full_row(r) for r in storage_rows(row.record_id, fields[fid], value))
            changed.setdefault(fid, set()).add(row.record_id)
        for s in range(0, len(value_rows), 2000):
            FieldValue.insert_many(value_rows[s:s + 2000]).execute()
        propagate(changed, FieldGraph())
    report.created = len(new_rows)
    if updates:
        changed_count = _apply_updates(actor, schema, updates, columns, fill, fields)
        report.updated = changed_count
        report.unchanged = len(updates) - changed_count
        if progress:
            progress("write", total, total)
    report.record_ids = [r.record_id for r in good]


def _has_row_ref(value) -> bool:
    if isinstance(value, tuple):
        return True
    return isinstance(value, list) and any(isinstance(v, tuple) for v in value)


def _apply_updates(actor, schema, updates: list[_Row], columns: list[Column], fill, fields) -> int:
    """Update existing records (upsert): only what differs, through ``update_record`` (events,
    versions, formulas and lookups downstream). Returns how many records changed."""
    from ..db.models import Record, RecordTag, Tag
    from .records import move_record, tag_record, update_record
    from .values import load_values

    ids = [r.record_id for r in updates]
    current: dict[int, dict] = {}
    tags: dict[int, set[str]] = {}
    old_values: dict[int, dict] = {}
    field_ids = [c.fdef.id for c in columns if c.fdef is not None]
    for s in range(0, len(ids), 500):
        chunk = ids[s:s + 500]
        for rec in Record.select(Record.id, Record.title, Record.list, Record.assignee, Record.due_date,
                                 Record.description).where(Record.id.in_(chunk)).dicts():
            current[rec["id"]] = rec
        for rid, name in (RecordTag.select(RecordTag.record, Tag.name).join(Tag)
                          .where(RecordTag.record.in_(chunk)).tuples()):
            tags.setdefault(rid, set()).add(name.casefold())
        if field_ids:
            old_values.update(load_values(schema, chunk, field_ids=field_ids))
    touched = {c.target for c in columns}  # the record attributes the file sets
    changed_records = 0
    for row in updates:
        rid = row.record_id
        rec = current[rid]
        olds = old_values.get(rid, {})
        values = {}
        for col in columns:
            if col.fdef is None:
                continue
            fdef = fields[col.fdef.id]
            new = fill(row.values.get(fdef.id))
            if not _same(fdef, olds.get(fdef.id), new):
                values[fdef.name] = new
        kwargs: dict = {}
        if row.title is not None and row.title != rec["title"]:
            kwargs["title"] = row.title
        if "description" in touched and (row.description or "") != (rec["description"] or ""):
            kwargs["description"] = row.description or ""
        if "due_date" in touched and row.due != _as_date(rec["due_date"]):
            kwargs["due_date"] = row.due
        if "assignee" in touched and row.assignee_id != rec["assignee"]:
            kwargs["assignee"] = _user_name(row.assignee_id)
        did = False
        if values or kwargs:
            update_record(actor, rid, values=values, from_text=False, **kwargs)
            did = True
        if row.list_id is not None and row.list_id != rec["list"]:
            move_record(actor, rid, schema.list_by_id(row.list_id).name)
            did = True
        if row.tags:
            missing = [t for t in row.tags if t.casefold() not in tags.get(rid, set())]
            if missing:
                tag_record(actor, rid, missing)
                did = True
        changed_records += did
    return changed_records


def _user_name(user_id):
    if user_id is None:
        return None
    from ..db.models import User

    return User.get_by_id(user_id).name


def _as_date(value):
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _same(fdef, old, new) -> bool:
    from .values import json_value

    if fdef.type == "reference":
        def ids(v):
            if v is None:
                return []
            items = v if isinstance(v, list) else [v]
            return [i["id"] if isinstance(i, dict) else i for i in items]
        return ids(old) == ids(new)
    return json_value(fdef, old) == json_value(fdef, new)


def write_rejects(source: str | os.PathLike, fmt: CsvFormat, target: str | os.PathLike,
                  issues: list[ImportIssue]) -> int:
    """Copy the rejected rows of ``source`` (re-read, streaming) to ``target`` with a ``reason``
    column, as UTF-8 CSV that imports again once fixed. Returns the number of rows written."""
    reasons: dict[int, list[str]] = {}
    for issue in issues:
        text = f"{issue.column}: {issue.reason}" if issue.column else issue.reason
        if issue.value and issue.column:
            text = f"{issue.column}: {issue.value!r} {issue.reason}"
        reasons.setdefault(issue.line, []).append(text)
    count = 0
    with CsvReader(source, fmt) as reader, open(target, "w", encoding="utf-8", newline="") as out:
        header = list(reader.header)
        reason_col = "reason" if "reason" not in {h.casefold() for h in header} else "import reason"
        writer = csv.writer(out)
        writer.writerow(header + [reason_col])
        for line, cells in reader:
            if line in reasons:
                cells = list(cells) + [""] * (len(header) - len(cells))
                writer.writerow(cells[:max(len(header), len(cells))] + ["; ".join(reasons[line])])
                count += 1
    return count

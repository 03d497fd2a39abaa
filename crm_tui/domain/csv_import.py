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
targets too. A file (attachment) column holds one or more paths separated by ``;``, relative ones read
from the CSV file's folder; an update may also name the record's current attachments (what an export
writes). Files are confined: a path (after ``..`` and symlinks are resolved) must lie inside the CSV's
folder, or inside ``files_from`` when given (which is then also the base of relative paths), so a CSV
from someone else cannot pull the importing user's private files into the shared database. References
are resolved by title or by the key field, in one query per referenced project, including rows of the
same file that are referenced before they appear. With any bad row nothing is
written unless ``skip_bad`` is set; the report lists every bad cell (line, column, value, why), and
``skip_bad`` writes the bad rows with a ``reason`` column to a CSV the user can fix and import again.
``key`` makes the import an upsert.

Streaming: one import is one transaction (an interruption leaves the database as it was), and the
file is read once, a chunk of :data:`WRITE_CHUNK` rows at a time: each chunk is checked and written
(see :mod:`.import_writer`) before the next is read, so memory does not grow with the file. What the
end of the file still needs is kept: the names of the imported project's rows (for references to rows
further down), the references to that project (resolved at the end, when every name is known; a row
referring to a rejected row is rejected in turn, and removed again under ``skip_bad``), and updates
waiting for such references. A strict import stops writing at its first bad row, checks the rest, and
rolls back; a dry run writes nothing at all (same steps, stand-in ids) and gives the same report.
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
WRITE_CHUNK = 2000  # rows parsed, then written together: memory is bounded by this, not by the file
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
        if col is None or (col.fdef is not None and col.fdef.computed):
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
    """One parsed row, kept only until the chunk it belongs to is written."""

    __slots__ = ("line", "title", "list_id", "tags", "assignee_id", "due", "description", "values", "refs",
                 "files", "key", "key_text", "record_id", "new", "bad", "id_value")

    def __init__(self, line: int):
        self.line = line
        self.title = None
        self.list_id = None
        self.tags = None
        self.assignee_id = None
        self.due = None
        self.description = None
        self.values: dict = {}
        self.refs: dict | None = None  # field id -> list of (raw text, token), until resolved
        self.files: dict | None = None  # field id -> (column, raw cell, path texts), until checked
        self.key = None
        self.key_text = None  # the key field's value as text: same-file references may name it
        self.record_id = None  # the record the row updates, or the one created for it
        self.new = True
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


class _Targets:
    """Titles (and keys) of one referenced project → record ids: its records when the import starts,
    plus, for the imported project itself, the rows of the file as their chunks are written."""

    def __init__(self, project_id: int, name: str):
        from ..db.models import Record

        self.project_id = project_id
        self.name = name
        self.by_name: dict[str, object] = {}  # normalised name → an id, or a tuple of ids
        self.ids: set[int] = set()
        self.titles: list[str] = []
        for rid, title in Record.select(Record.id, Record.title).where(
                (Record.project == project_id) & (Record.archived == False)).tuples():  # noqa: E712
            self.ids.add(rid)
            self.titles.append(title)
            self.add(title, rid)
        self._suggestions: dict[str, str] = {}

    def add(self, name: str, rid: int) -> None:
        key = _norm(name)
        have = self.by_name.get(key)
        if have is None:
            self.by_name[key] = rid
        elif isinstance(have, tuple):
            if rid not in have:
                self.by_name[key] = have + (rid,)
        elif have != rid:
            self.by_name[key] = (have, rid)

    def find(self, name: str) -> tuple:
        have = self.by_name.get(_norm(name))
        if have is None:
            return ()
        return have if isinstance(have, tuple) else (have,)

    def suggest(self, text: str) -> str:
        if text not in self._suggestions:
            self._suggestions[text] = _did_you_mean(text, self.titles)
        return self._suggestions[text]

    def add_existing_keys(self, key_fdef) -> None:
        from ..db.models import FieldValue, Record

        query = (FieldValue.select(FieldValue.record, FieldValue.text)
                 .join(Record, on=(FieldValue.record == Record.id))
                 .where((Record.project == self.project_id) & (Record.archived == False)  # noqa: E712
                        & (FieldValue.field == key_fdef.id) & FieldValue.text.is_null(False)).tuples())
        for rid, text in query:
            self.add(text, rid)


class _Keys:
    """``--key``: the existing records by key (one query), and the keys seen so far in the file."""

    def __init__(self, schema, key_col: Column):
        from ..db.models import FieldValue, Record
        from .decimals import from_scaled

        self.schema = schema
        self.col = key_col
        live = (Record.project == schema.id) & (Record.archived == False)  # noqa: E712
        existing: dict = {}
        if key_col.target == "title":
            pairs = Record.select(Record.id, Record.title).where(live).tuples()
            for rid, title in pairs:
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
        self.existing = existing
        self.seen: dict = {}  # key → the line it was first seen on

    def match(self, row: _Row, issues: list[ImportIssue]) -> None:
        """Find the row's existing record (an update) or refuse it (empty, repeated or unknown key)."""
        key_col = self.col
        if key_col.target == "title":
            value = row.title
        elif key_col.target == "id":
            value = row.id_value
        else:
            value = row.values.get(key_col.fdef.id)
        if value is None:
            if key_col.target == "id":  # no id: a new record
                if row.title is None:
                    issues.append(ImportIssue(row.line, _header_of([key_col], "title"), "",
                                              "a new record needs a title"))
                    row.bad = True
                return
            issues.append(ImportIssue(row.line, key_col.header, "", "the key column is empty"))
            row.bad = True
            return
        norm = _key_norm(value)
        if norm in self.seen:
            issues.append(ImportIssue(row.line, key_col.header, str(value),
                                      f"the same key as line {self.seen[norm]}; each key may appear once"))
            row.bad = True
            return
        self.seen[norm] = row.line
        row.key = norm
        if key_col.target == "field":
            row.key_text = str(value)
        found = self.existing.get(norm, [])
        if key_col.target == "id" and not found:
            issues.append(ImportIssue(row.line, key_col.header, str(value), f"no record #{value} in "
                                      f"{self.schema.name!r}"))
            row.bad = True
        elif len(found) > 1:
            issues.append(ImportIssue(row.line, key_col.header, str(value),
                                      f"{len(found)} records of {self.schema.name!r} have this key; make it "
                                      "unique first"))
            row.bad = True
        elif found:
            row.record_id = found[0]
            row.new = False
        elif row.title is None:
            issues.append(ImportIssue(row.line, _header_of([key_col], "title"), "", "a new record needs a title"))
            row.bad = True


class _Pending:
    """References of a row to its own project, which wait for the end of the file: a title may belong
    to a row further down, or to two rows. For a created record they are stored then; an update is
    either held back whole (``row``) and applied then, or was applied already and is only checked."""

    __slots__ = ("rid", "line", "refs", "new", "row", "bad", "resolved")

    def __init__(self, rid: int, line: int, refs: dict, new: bool, row: _Row | None = None):
        self.rid = rid
        self.line = line
        self.refs = refs
        self.new = new
        self.row = row  # an update applied at the end
        self.bad = False
        self.resolved: dict = {}


class _Refused(Exception):
    """Strict import with bad rows: rolls the transaction back; carries the report out."""

    def __init__(self, report: ImportReport):
        super().__init__("refused")
        self.report = report


# ---------------------------------------------------------------------------------------------
# The import


def import_csv(actor, project, path: str | os.PathLike, *, mapping=None, key: str | None = None,
               dry_run: bool = False, skip_bad: bool = False, rejects: str | os.PathLike | None = None,
               create_options: bool = False, date_order: str = "YMD", today: dt.date | None = None,
               progress: Callable[[str, int, int], None] | None = None,
               files_from: str | os.PathLike | None = None) -> ImportReport:
    """Import ``path`` into ``project``; see the module docstring. Returns the report (never raises for
    bad rows: ``report.ok`` is False and, without ``skip_bad``, nothing was written).

    File cells may only name files inside ``files_from`` (a folder; relative paths are read from it),
    by default inside the CSV file's folder; a path outside is a bad cell. A CSV read from standard
    input or a pipe has no folder: its file cells need ``files_from``.

    ``progress(phase, done, total)`` is called after each chunk: phase ``write`` (``read`` for a dry
    run) with the rows done so far, then ``write`` with ``done == total`` at the end."""
    from .project_schema import load_schema

    date_order = (date_order or "YMD").upper()
    if date_order not in ("DMY", "MDY", "YMD"):
        raise ValidationError("--date-order", date_order, "expected DMY, MDY or YMD")
    schema = load_schema(project)
    actor.require("import", schema.id, schema.name)
    given = None
    if files_from is not None:
        given = Path(files_from).expanduser()
        if not given.is_dir():
            raise ValidationError("--files-from", str(files_from), "no such folder")
    shown = str(path)
    path, spooled = _regular_file(path)
    if given is not None:
        files = _FileFolder(given.absolute(), given.resolve(), True)
    elif spooled:
        files = _FileFolder(None, None, False)  # standard input has no folder: no file is readable
    else:
        # relative paths in file columns are relative to the CSV file's folder, and confined to it
        folder = Path(shown).expanduser().absolute().parent
        files = _FileFolder(folder, folder.resolve(), False)
    try:
        return _import(shown, actor, schema, path, mapping=mapping, key=key, dry_run=dry_run, skip_bad=skip_bad,
                       rejects=rejects, create_options=create_options, date_order=date_order, today=today,
                       progress=progress, files=files)
    finally:
        if spooled:
            os.unlink(path)


@dataclass(frozen=True)
class _FileFolder:
    """Where file cells may read from: ``base`` for relative paths, ``allowed`` (resolved) the folder
    every file must lie in once ``..`` and symlinks are resolved; both None for a CSV from a pipe.
    ``given``: set by ``files_from`` rather than being the CSV's folder."""

    base: Path | None
    allowed: Path | None
    given: bool

    def where(self) -> str:
        return (f"the --files-from folder {self.allowed}" if self.given
                else f"the CSV's folder {self.allowed}")

    def outside(self, path: Path, resolved: Path) -> str:
        """The reason for a path that resolves outside the allowed folder, naming the path (and
        where a symlink leads) and how to allow it."""
        written = Path(os.path.normpath(path))
        what = (f'"{resolved}" is' if written == resolved
                else f'"{written}" leads to "{resolved}", which is')
        hint = ("give --files-from a folder that holds it" if self.given
                else "use --files-from DIR to import files from elsewhere")
        return f"{what} outside {self.where()} ({hint})"


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


def _import(shown: str, actor, schema, path: Path, *, mapping, key, dry_run, skip_bad, rejects, create_options,
            date_order, today, progress, files: _FileFolder) -> ImportReport:
    from ..db.connection import run_write

    with CsvReader(path) as reader:
        fmt, header = reader.format, reader.header
    if not header:
        raise ValidationError("file", str(path), "is empty: expected a header row and data rows")
    columns, ignored = plan_mapping(schema, header, mapping)
    for col in columns:
        if col.fdef is not None and not actor.can_edit(col.fdef.id):
            raise PermissionDenied(f"you may not edit the field {col.fdef.name!r}")
    if create_options and not actor.is_admin and any(
            c.fdef is not None and c.fdef.type in ("dropdown", "multi_select") for c in columns):
        raise PermissionDenied("only an admin can add dropdown options (--create-options)")
    key_col = _key_column(schema, columns, key)
    if key_col is None or key_col.target != "id":
        # an exported id column is information, not an instruction (unless --key id)
        ignored += [c.header for c in columns if c.target == "id"]
        columns = [c for c in columns if c.target != "id"]
    if not any(c.target == "title" for c in columns) and key_col is None:
        raise ValidationError("title", "", "no column maps to the record title; name one with "
                              '--map "COLUMN=title" (columns: ' + ", ".join(h for h in header if h) + ")")

    def attempt() -> ImportReport:
        report = ImportReport(file=shown, project=schema.name, encoding=fmt.encoding, delimiter=fmt.delimiter,
                              dry_run=dry_run, mapping={c.header: c.target_name for c in columns},
                              ignored_columns=list(ignored))
        run = _Import(report, actor, schema, path, fmt, columns, key_col, dry_run=dry_run, skip_bad=skip_bad,
                      rejects=rejects, create_options=create_options, date_order=date_order, today=today,
                      progress=progress, files=files)
        run.stream()
        run.finish()
        return report

    if dry_run:
        return attempt()  # reads only: no transaction, nothing locked
    try:
        return run_write(attempt)
    except _Refused as refused:
        return refused.report


class _Import:
    """One pass over the file inside the import's transaction: parse and check each row, write the
    good ones a chunk at a time, keep only what the end needs (names → ids for same-file references,
    the references still to resolve, updates waiting for them), then finish."""

    def __init__(self, report: ImportReport, actor, schema, path: Path, fmt: CsvFormat, columns: list[Column],
                 key_col: Column | None, *, dry_run, skip_bad, rejects, create_options, date_order, today,
                 progress, files: _FileFolder):
        from ..db.models import Project
        from .import_writer import ChunkWriter

        self.report = report
        self.actor = actor
        self.schema = schema
        self.path = path
        self.fmt = fmt
        self.columns = columns
        self.key_col = key_col
        self.dry_run = dry_run
        self.skip_bad = skip_bad
        self.rejects = rejects
        self.create_options = create_options
        self.progress = progress
        self.file_folder = files
        self.width = 0
        self.title_header = _header_of(columns, "title")
        self.users = _Users() if any(c.target == "assignee" for c in columns) else None
        self.keys = _Keys(schema, key_col) if key_col is not None else None
        self.new_options: dict[int, dict[str, str]] = {}  # field id -> {casefold: spelling}
        self._saved_options: dict[int, int] = {}
        self.ref_cols = {c.fdef.id: c for c in columns if c.fdef is not None and c.fdef.type == "reference"}
        self.targets: dict[int, _Targets] = {}
        if self.ref_cols:
            names = dict(Project.select(Project.id, Project.name).tuples())
            for col in self.ref_cols.values():
                tid = col.fdef.config.get("target")
                if tid not in self.targets:
                    self.targets[tid] = _Targets(tid, names.get(tid))
        self.own = self.targets.get(schema.id)
        if self.own is not None and key_col is not None and key_col.target == "field":
            self.own.add_existing_keys(key_col.fdef)
        self.new_lines: dict[int, int] = {}  # created record (own references only) → its line
        self.rejected_new: set[int] = set()  # created records rejected afterwards
        self.pending: list[_Pending] = []
        self.writer = ChunkWriter(actor, schema, dry=dry_run)
        self.stagers = [(c.index, c.header, self._stager(c, schema, date_order, today)) for c in columns]
        self.created = 0  # good new rows so far
        self.updates = 0  # good update rows so far
        self.changed = 0  # updates that changed something
        self.rejected = 0
        self.record_ids: list[int] = []

    # -- cells -----------------------------------------------------------------------------------
    def _stager(self, col: Column, schema, date_order, today):
        """A function ``(row, raw cell)`` that puts the cell's value on the row or raises ValueError."""
        from .import_cells import cell_parser
        from .project_schema import FieldDef

        target = col.target
        if target == "field":
            fdef = col.fdef
            fid = fdef.id
            config = fdef.config
            multiple = bool(config.get("multiple"))
            if fdef.type == "reference":
                def stage_reference(row, raw):
                    tokens = _ref_tokens(raw, multiple)
                    if tokens:
                        if row.refs is None:
                            row.refs = {}
                        row.refs[fid] = tokens

                return stage_reference
            if fdef.type == "file":
                def stage_file(row, raw):
                    parts = [p.strip() for p in raw.split(";") if p.strip()]
                    if not parts:
                        return
                    if len(parts) > 1 and not multiple:
                        raise ValueError("takes a single file")
                    if row.files is None:
                        row.files = {}
                    row.files[fid] = (col, raw, parts)

                return stage_file
            parse = cell_parser(fdef, date_order=date_order, today=today)
            if fdef.type in ("dropdown", "multi_select"):
                options = [str(o) for o in config.get("options") or []]
                create_options, new_options = self.create_options, self.new_options

                def stage_choice(row, raw):
                    try:
                        value = parse(raw)
                    except ValueError as exc:
                        if not str(exc).startswith("not an option"):
                            raise
                        if not create_options:
                            raise ValueError(str(exc) + _did_you_mean(raw, options)
                                             + " (--create-options adds new options)") from None
                        value = _with_new_options(fdef, raw, new_options)
                    if value is not None:
                        row.values[fid] = value

                return stage_choice

            def stage_value(row, raw):
                value = parse(raw)
                if value is not None:
                    row.values[fid] = value

            return stage_value
        if target == "title":
            def stage_title(row, raw):
                text = raw.strip()
                if text:
                    if len(text) > MAX_TITLE:
                        raise ValueError(f"a title has at most {MAX_TITLE} characters")
                    row.title = text

            return stage_title
        if target == "list":
            lists: dict[str, int] = {}
            for lst in schema.lists:
                lists.setdefault(lst.name.casefold(), lst.id)

            def stage_list(row, raw):
                text = raw.strip()
                if text:
                    list_id = lists.get(text.casefold())
                    if list_id is None:
                        raise ValueError(f"no such list in {schema.name!r}"
                                         + _did_you_mean(text, [l.name for l in schema.lists])
                                         + f" (lists: {', '.join(l.name for l in schema.lists) or 'none'})")
                    row.list_id = list_id

            return stage_list
        if target == "tags":
            def stage_tags(row, raw):
                text = raw.strip()
                row.tags = _shared(_split_tags(text)) if text else _NO_TAGS

            return stage_tags
        if target == "assignee":
            users = self.users

            def stage_assignee(row, raw):
                text = raw.strip()
                if text:
                    row.assignee_id = users.find(text)

            return stage_assignee
        if target == "description":
            def stage_description(row, raw):
                row.description = raw.replace("\r\n", "\n")

            return stage_description
        if target == "due_date":
            parse_date = cell_parser(FieldDef(0, schema.id, "due_date", "date", 0, False, {}),
                                     date_order=date_order, today=today)

            def stage_due(row, raw):
                row.due = parse_date(raw)

            return stage_due
        assert target == "id", target

        def stage_id(row, raw):
            text = raw.strip()
            if text:
                digits = text.lstrip("#")
                if not digits.isdigit():
                    raise ValueError("expected a record id like 12")
                row.id_value = int(digits)

        return stage_id

    # -- the pass ----------------------------------------------------------------------------------
    def stream(self) -> None:
        report = self.report
        with CsvReader(self.path, self.fmt) as reader:
            self.width = len(reader.header)
            chunk: list[_Row] = []
            for line, cells in reader:
                row = self._stage(line, cells)
                report.rows += 1
                if row.bad:
                    self.rejected += 1
                    continue
                chunk.append(row)
                if len(chunk) >= WRITE_CHUNK:
                    self._flush(chunk)
                    chunk = []
            self._flush(chunk)

    def _stage(self, line: int, cells: list[str]) -> _Row:
        row = _Row(line)
        issues = self.report.issues
        width = self.width
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            issues.append(ImportIssue(line, "", f"{len(cells)} cells",
                                      f"the header has {width} columns; quote values that contain the "
                                      f"delimiter {self.fmt.delimiter!r}"))
            row.bad = True
        count = len(cells)
        for index, header, stage in self.stagers:
            raw = cells[index] if index < count else ""
            if raw[:1] == "'":
                raw = unguard_cell(raw)
            try:
                stage(row, raw)
            except ValueError as exc:
                issues.append(ImportIssue(line, header, raw, str(exc)))
                row.bad = True
        if not row.bad and row.title is None and self.key_col is None:
            issues.append(ImportIssue(line, self.title_header, "", "a record needs a title"))
            row.bad = True
        if not row.bad and self.keys is not None:
            self.keys.match(row, issues)
        if row.files:
            self._check_files(row)
        if not row.bad and row.refs:
            self._resolve_foreign(row)
            if row.bad and self.own is not None:
                # still a name of the file: a reference to it is refused as "rejected", not "unknown"
                rid = row.record_id if not row.new else self.writer.stand_ins(1)[0]
                self._index(row, rid)
                if row.new:
                    self.rejected_new.add(rid)
        return row

    def _check_files(self, row: _Row) -> None:
        """File cells: each path (relative to the CSV's folder, or to ``files_from``) must resolve, ``..``
        and symlinks followed, to a readable file inside that folder and within the attachment size
        limit; an update may also name the record's current attachments. What is kept is the resolved
        path, so the file read later is the one checked here, not whatever a link leads to by then."""
        import stat

        from .values import MAX_ATTACHMENT_BYTES

        folder = self.file_folder
        current = None
        for fid, (col, raw, parts) in row.files.items():
            items: list = []
            for part in parts:
                st = path = None
                try:
                    written = Path(part).expanduser()
                    if folder.base is not None:
                        path = folder.base / written
                        resolved = path.resolve()
                except (OSError, RuntimeError) as exc:  # a symlink loop, an unknown ~user
                    reason = f"cannot follow {path or part}: {exc}"
                    written = None
                else:
                    if path is None:
                        reason = (f'cannot read "{part}": the CSV comes from standard input, which has no folder '
                                  "(use --files-from DIR to say where its files are)")
                    elif not resolved.is_relative_to(folder.allowed):
                        reason = folder.outside(path, resolved)  # never looked at: not even whether it exists
                    else:
                        try:
                            st = resolved.stat()
                        except OSError:
                            st = None
                        if st is not None and stat.S_ISREG(st.st_mode):
                            if st.st_size > MAX_ATTACHMENT_BYTES:
                                reason = (f"{path} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB, "
                                          "the attachment size limit")
                            elif not os.access(resolved, os.R_OK):
                                reason = f"cannot read {path} (permission denied)"
                            else:
                                items.append(resolved)
                                continue
                        elif st is not None and stat.S_ISDIR(st.st_mode):
                            reason = f"{path} is a folder, not a file"
                        else:
                            reason = f"no such file: {path}"
                            if not written.is_absolute():
                                reason += (" (a relative path is read from the --files-from folder)" if folder.given
                                           else " (a relative path is read from the CSV file's folder)")
                if not row.new and (st is None or not stat.S_ISREG(st.st_mode)):
                    if current is None:
                        current = _attachments_of(row.record_id)
                    found = current.get((fid, part))
                    if found is not None:
                        items.append(found)  # the attachment the record has: unchanged
                        continue
                self.report.issues.append(ImportIssue(row.line, col.header, raw, reason))
                row.bad = True
            if items:
                items = list(dict.fromkeys(items))
                row.values[fid] = items if col.fdef.config.get("multiple") else items[0]
        row.files = None

    def _resolve_foreign(self, row: _Row) -> None:
        """References to other projects: their titles are all known now."""
        for fid in list(row.refs):
            col = self.ref_cols[fid]
            tgt = self.targets[col.fdef.config.get("target")]
            if tgt is self.own:
                continue  # at the end of the file
            matches, ok = self._resolve_tokens(tgt, row.refs.pop(fid), row.line, col.header)
            row.bad |= not ok
            out = [rid for rid, _raw in matches]
            if out:
                row.values[fid] = out if col.fdef.config.get("multiple") else out[0]
        if not row.refs:
            row.refs = None

    def _resolve_tokens(self, tgt, tokens, line: int, header: str, rejected=(), new_lines=None):
        """The records a reference cell's tokens name in ``tgt`` (``#12`` ids, else titles or keys),
        as ``(id, raw)`` pairs without repeats; each unknown, rejected or ambiguous name becomes an
        issue. Returns the pairs and whether every token matched."""
        issues = self.report.issues
        matches: dict[int, str] = {}
        ok = True
        for raw, token in tokens:
            if isinstance(token, int):
                if token not in tgt.ids:
                    issues.append(ImportIssue(line, header, raw, f"no record #{token} in {tgt.name!r}"))
                    ok = False
                matches.setdefault(token, raw)
                continue
            found = tgt.find(token)
            live = [m for m in found if m not in rejected]
            if not live:
                if found:
                    reason = f"refers to the row on line {min(new_lines[m] for m in found)}, which is rejected"
                else:
                    reason = f"no record with this title in {tgt.name!r}" + tgt.suggest(token)
                issues.append(ImportIssue(line, header, raw, reason))
                ok = False
            elif len(live) > 1:
                issues.append(ImportIssue(line, header, raw, f"{len(live)} records have this title; "
                                          "give the id instead (e.g. #12)"))
                ok = False
            else:
                matches.setdefault(live[0], raw)
        return list(matches.items()), ok

    def _index(self, row: _Row, rid: int) -> None:
        """Make the row's title (and key) a name same-file references can use."""
        own = self.own
        if row.title:
            own.add(row.title, rid)
            own.titles.append(row.title)
        if row.key_text is not None:
            own.add(row.key_text, rid)
        if row.new:
            self.new_lines[rid] = row.line

    def _writing(self) -> bool:
        """Strict mode stops writing at the first bad row (it will all be rolled back)."""
        return not self.dry_run and (self.skip_bad or not self.report.issues)

    def _flush(self, rows: list[_Row]) -> None:
        if not rows:
            return
        writing = self._writing()
        new = [r for r in rows if r.new]
        for row, rid in zip(new, self.writer.create(new, dry=not writing)):
            row.record_id = rid
        if self.own is not None:
            for row in rows:
                self._index(row, row.record_id)
        apply_now = []
        for row in rows:
            if row.new:
                self.created += 1
            else:
                self.updates += 1
            if row.refs:
                if row.new or not writing:
                    self.pending.append(_Pending(row.record_id, row.line, row.refs, row.new))
                elif not self.skip_bad and self._resolve_now(row):
                    # strict: applied now, checked at the end (a wrong guess means bad rows: all rolled back)
                    self.pending.append(_Pending(row.record_id, row.line, row.refs, False))
                    apply_now.append(row)
                else:
                    self.pending.append(_Pending(row.record_id, row.line, row.refs, False, row))
            elif not row.new:
                apply_now.append(row)
            if writing:
                self.record_ids.append(row.record_id)
        if writing and apply_now:
            self._save_new_options()
            self.changed += _apply_updates(self.actor, self.schema, apply_now, self.columns)
        if self.progress:
            self.progress("read" if self.dry_run else "write", self.report.rows, 0)

    def _resolve_now(self, row: _Row) -> bool:
        """Resolve an update's references to its own project with the names known so far; False when
        one cannot be yet (a name not seen yet, or several records for it)."""
        own = self.own
        values = {}
        for fid, tokens in row.refs.items():
            out = []
            for _, token in tokens:
                if isinstance(token, int):
                    if token not in own.ids:
                        return False
                    out.append(token)
                    continue
                found = own.find(token)
                if len(found) != 1:
                    return False
                out.append(found[0])
            out = list(dict.fromkeys(out))
            values[fid] = out if self.ref_cols[fid].fdef.config.get("multiple") else out[0]
        row.values.update(values)
        return True

    # -- the end -----------------------------------------------------------------------------------
    def _resolve_own(self) -> None:
        """References to the imported project: resolve them against every name now known, then
        reject, transitively, the rows that refer to a rejected row."""
        own = self.own
        issues = self.report.issues
        rejected = self.rejected_new
        new_lines = self.new_lines
        referrers: dict[int, list] = {}  # created record → (pending, column, raw) referring to it
        queue: list[int] = []

        def reject(p: _Pending) -> None:
            p.bad = True
            if p.new:
                rejected.add(p.rid)
                queue.append(p.rid)

        for p in self.pending:
            for fid, tokens in p.refs.items():
                col = self.ref_cols[fid]
                matches, ok = self._resolve_tokens(own, tokens, p.line, col.header, rejected, new_lines)
                p.bad |= not ok
                for rid, raw in matches:
                    if rid in new_lines:
                        referrers.setdefault(rid, []).append((p, col.header, raw))
                out = [rid for rid, _raw in matches]
                p.resolved[fid] = out if col.fdef.config.get("multiple") else (out[0] if out else None)
            p.refs = None
        for p in self.pending:
            if p.bad:
                reject(p)
        while queue:
            rid = queue.pop()
            for p, header, raw in referrers.pop(rid, ()):
                if not p.bad:
                    issues.append(ImportIssue(p.line, header, raw,
                                              f"refers to the row on line {new_lines[rid]}, which is rejected"))
                    reject(p)

    def finish(self) -> None:
        report = self.report
        if self.pending:
            self._resolve_own()
        dead = [p for p in self.pending if p.bad]
        self.rejected += len(dead)
        report.rejected = self.rejected
        created = self.created - sum(1 for p in dead if p.new)
        updates = self.updates - sum(1 for p in dead if not p.new)
        columns = self.columns
        report.issues.sort(key=lambda i: (i.line, _column_order(columns, i.column)))
        for col in columns:
            if col.fdef is not None and self.new_options.get(col.fdef.id):
                report.created_options[col.fdef.name] = list(self.new_options[col.fdef.id].values())
        if self.dry_run or (report.issues and not self.skip_bad):
            report.created, report.updated = created, updates
            if not self.dry_run:
                raise _Refused(report)
            return
        writer = self.writer
        writer.delete([p.rid for p in dead if p.new])
        links: dict[int, list] = {}
        held: list[_Row] = []
        for p in self.pending:
            if p.bad:
                continue
            if p.new:
                for fid, value in p.resolved.items():
                    if value is not None and value != []:
                        links.setdefault(fid, []).append((p.rid, value))
            elif p.row is not None:
                for fid, value in p.resolved.items():
                    if value is not None and value != []:
                        p.row.values[fid] = value
                held.append(p.row)
        self.pending = []
        for fid, pairs in links.items():
            writer.add_references(fid, pairs)
        self._save_new_options()
        if held:
            self.changed += _apply_updates(self.actor, self.schema, held, columns)
        writer.finish()
        report.created = created
        report.updated = self.changed
        report.unchanged = updates - self.changed
        if dead:
            gone = {p.rid for p in dead}
            self.record_ids = [rid for rid in self.record_ids if rid not in gone]
        report.record_ids = self.record_ids
        if self.rejected:
            rejects_path = Path(self.rejects) if self.rejects else Path.cwd() / f"{Path(self.path).stem}.rejects.csv"
            write_rejects(self.path, self.fmt, rejects_path, report.issues)
            report.rejects_file = str(rejects_path)
        report.written = True
        if self.progress:
            self.progress("write", report.rows - report.rejected, report.rows - report.rejected)

    def _save_new_options(self) -> None:
        """Options added by ``--create-options`` so far, into the fields' configuration (updates of
        existing records check their values against it)."""
        from ..db.models import Field

        for col in self.columns:
            fdef = col.fdef
            if fdef is None or not self.new_options.get(fdef.id):
                continue
            added = self.new_options[fdef.id]
            if self._saved_options.get(fdef.id) == len(added):
                continue
            opts = list(fdef.config.get("options") or [])
            known = {str(x).casefold() for x in opts}
            opts += [o for o in added.values() if o.casefold() not in known]
            Field.update(config=json.dumps(dict(fdef.config, options=opts))).where(Field.id == fdef.id).execute()
            self._saved_options[fdef.id] = len(added)


def _attachments_of(record_id: int) -> dict[tuple[int, str], int]:
    """{(field id, file name): attachment id} of one record."""
    from ..db.models import Attachment, FieldValue

    query = (FieldValue.select(FieldValue.field, Attachment.name, Attachment.id)
             .join(Attachment, on=(FieldValue.file == Attachment.id))
             .where(FieldValue.record == record_id).tuples())
    return {(fid, name): aid for fid, name, aid in query}


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


# ---------------------------------------------------------------------------------------------
# Updates (--key)


def _apply_updates(actor, schema, updates: list[_Row], columns: list[Column]) -> int:
    """Update existing records (upsert): only what differs, through ``update_record`` (events,
    versions, formulas and lookups downstream). Returns how many records changed."""
    from ..db.models import Record, RecordTag, Tag
    from .project_schema import load_schema
    from .records import move_record, tag_record, update_record
    from .values import load_values

    fields = {f.id: f for f in load_schema(schema.id).fields}  # with options added by this import
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
            new = row.values.get(fdef.id)
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

    if fdef.type in ("reference", "file"):
        def ids(v):
            if v is None:
                return []
            items = v if isinstance(v, list) else [v]
            return [i["id"] if isinstance(i, dict) else i for i in items]
        if fdef.type == "file":
            return _same_files(ids(old), ids(new))
        return ids(old) == ids(new)
    return json_value(fdef, old) == json_value(fdef, new)


def _same_files(old_ids: list[int], new_items: list) -> bool:
    """Attachments ``old_ids`` against the cell's items (attachment ids kept, or paths): the same when
    each path holds the same name and bytes as the attachment in its place."""
    if len(old_ids) != len(new_items):
        return False
    from ..db.models import Attachment

    for old, new in zip(old_ids, new_items):
        if isinstance(new, int):
            if new != old:
                return False
            continue
        att = Attachment.select(Attachment.name, Attachment.size, Attachment.sha256).where(
            Attachment.id == old).first()
        if att is None or att.name != new.name or att.size != new.stat().st_size:
            return False
        if att.sha256 != _sha256_of(new):
            return False
    return True


def _sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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

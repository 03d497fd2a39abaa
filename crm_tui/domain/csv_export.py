"""Export a project's records as CSV (for spreadsheets, and to import again) or JSON.

>>> with open("won.csv", "w", encoding="utf-8", newline="") as fh:
...     export_records(actor, "Opportunities", fh, list_name="Won", bom=True)
>>> export_records(actor, "Clients", sys.stdout, fmt="json")

Columns: ``id, title, list, tags, assignee`` (then ``due_date``/``description`` where the project shows
them) and every field the acting user may see, lookups and formulas included. Values are written the
way the importer reads them back: exact decimals without symbols or grouping, ISO dates, yes/no,
references by title, attachments by file name, multiple values joined by ``; ``. (Importing a file
name reads that file from the CSV's folder; an update by ``--key id`` whose names are the record's
own attachments keeps them as they are.) A cell a spreadsheet would run as a formula
(starting with ``= + - @``, tab or CR) is prefixed with ``'``; the importer strips that prefix again, so
an export re-imports to the same data (``crm-tui import P export.csv --key id`` changes nothing).
Records are read a page at a time (keyset on id), so memory stays flat on big projects.
"""

from __future__ import annotations

import csv
import json
from typing import IO

from .csv_import import guard_cell

PAGE = 1000
BUILTIN_COLUMNS = ("id", "title", "list", "tags", "assignee")


def cell_text(value) -> str:
    """A JSON field value (as ``records_as_dicts`` gives it) → one CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "error" in value:
            return str(value["error"])
        return str(value.get("title") or value.get("name") or "")
    if isinstance(value, list):
        return "; ".join(cell_text(v) for v in value if v is not None)
    return str(value)


def iter_record_pages(actor, schema, *, list_name=None, tags=None, include_archived=False):
    """Pages of JSON-ready record dicts, in id order (4 queries a page)."""
    from ..db.models import Record
    from .record_views import record_query, records_as_dicts

    last = 0
    while True:
        query = (record_query(schema, list_name=list_name, tag=tags or None, include_archived=include_archived,
                              actor=actor)
                 .where(Record.id > last).order_by(Record.id).limit(PAGE))
        items = records_as_dicts(actor, schema, query, with_referenced_by=False)
        if not items:
            return
        yield items
        last = items[-1]["id"]
        if len(items) < PAGE:
            return


def export_columns(actor, schema) -> tuple[list[str], list]:
    """(header, visible fields) of an export."""
    from .record_views import visible_fields

    fields = visible_fields(actor, schema)
    header = list(BUILTIN_COLUMNS)
    if schema.shows("due_date"):
        header.append("due_date")
    if schema.shows("description"):
        header.append("description")
    return header + [f.name for f in fields], fields


def export_records(actor, project, out: IO[str], *, fmt: str = "csv", list_name=None, tags=None,
                   bom: bool = False, delimiter: str = ",", include_archived: bool = False) -> int:
    """Write the project's records to ``out`` (a text stream opened with ``newline=""``); returns how
    many were written."""
    from .project_schema import ProjectSchema, load_schema

    schema = project if isinstance(project, ProjectSchema) else load_schema(project)
    actor.require("export", schema.id, schema.name)
    if list_name:
        schema.list(list_name)  # NotFoundError naming the lists
    pages = iter_record_pages(actor, schema, list_name=list_name, tags=tags, include_archived=include_archived)
    count = 0
    if fmt == "json":
        out.write("[")
        for items in pages:
            for item in items:
                out.write(",\n" if count else "\n")
                out.write(json.dumps(item, ensure_ascii=False, default=str))
                count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    if fmt != "csv":
        from ..errors import ValidationError

        raise ValidationError("--format", fmt, "expected csv or json")
    header, fields = export_columns(actor, schema)
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    extra = header[len(BUILTIN_COLUMNS):len(header) - len(fields)]
    for items in pages:
        for item in items:
            row = [str(item["id"]), item["title"], item["list"] or "", "; ".join(item["tags"]),
                   item.get("assignee") or ""]
            row += [cell_text(item.get(name)) for name in extra]
            row += [cell_text(item["fields"].get(f.name)) for f in fields]
            writer.writerow([guard_cell(c) for c in row])
            count += 1
    return count

"""Write the new records of an import a chunk at a time, inside the import's one transaction.

>>> writer = ChunkWriter(actor, schema)
>>> ids = writer.create(rows)          # rows: title, list_id, tags, assignee_id, due, description, values
>>> writer.add_references(fid, [(ids[0], ids[1])])   # a reference to a row written later
>>> writer.delete(ids[2:])             # rows rejected after they were written (--skip-bad)

Records, values, tags and "created" events go in with one ``executemany`` (or multi-row INSERT) per
table and chunk, built as tuples straight from the parsed values — no model instances, no per-row
query building. Formulas over plain values are evaluated from the parsed row (what reading the values
back would give); lookups, and formulas over lookups or references, are computed set-based after the
chunk is written, as ``create_records_bulk`` does. A dry writer (``dry=True``) writes nothing and hands
out stand-in ids (negative), so a dry run or a refused import goes through the same steps.
"""

from __future__ import annotations

import json

from peewee import fn

from ..db.bulk import insert_rows, refresh_statistics
from ..db.connection import is_sqlite
from ..db.models import Attachment, Event, FieldValue, Record, RecordTag, Tag, utcnow
from ..db import queries
from .computed import FieldGraph, evaluate_formulas, formula_rows, propagate, recompute_formulas
from .import_cells import PLAIN_TYPES, VALUE_COLUMNS, storer
from .records import POSITION_STEP
from .values import ROW_COLUMNS, store_attachments

__all__ = ["ChunkWriter"]

RECORD_COLUMNS = ["project_id", "title", "description", "list_id", "position", "assignee_id", "due_date",
                  "created_at", "updated_at", "list_entered_at", "created_by_id", "version", "archived"]
EVENT_COLUMNS = ["at", "user_id", "project_id", "record", "kind", "field", "field_name", "old", "new"]


class ChunkWriter:
    """Creates records for parsed import rows; see the module docstring."""

    def __init__(self, actor, schema, *, dry: bool = False):
        self.actor = actor
        self.schema = schema
        self.dry = dry
        self.sqlite = is_sqlite()
        self.fields = {f.id: f for f in schema.fields}
        self.store = {f.id: storer(f, sqlite=self.sqlite) for f in schema.fields if not f.computed}
        self.lists = {lst.id: lst for lst in schema.lists}
        self.first_list = schema.lists[0] if schema.lists else None
        self.tag_ids = {t.name.casefold(): t.id for t in schema.tags}
        self.top: dict = {}  # list id → the last position handed out
        self.next_stand_in = -1
        self.created = 0
        self._graph: FieldGraph | None = None
        self.formulas = [f for f in schema.fields if f.type == "formula"]
        self.formulas_in_memory = _evaluable_in_memory(self.formulas, self.fields)

    @property
    def graph(self) -> FieldGraph:
        if self._graph is None:
            self._graph = FieldGraph()
        return self._graph

    # -- create ----------------------------------------------------------------------------------
    def create(self, rows: list, *, dry: bool | None = None) -> list[int]:
        """Insert one record per row (values canonical by field id; file values as paths); returns
        the ids in order. ``dry`` (default: the writer's) returns stand-in ids and writes nothing."""
        if not rows:
            return []
        if self.dry if dry is None else dry:
            return self.stand_ins(len(rows))
        now = utcnow()
        stamp = now.isoformat(sep=" ") if self.sqlite else now
        actor_id = self.actor.id
        project_id = self.schema.id
        records = []
        list_names = []
        for row in rows:
            list_id = row.list_id if row.list_id is not None else (self.first_list.id if self.first_list else None)
            position = self.top.get(list_id)
            if position is None:
                position = Record.select(fn.MAX(Record.position)).where(Record.list == list_id).scalar() or 0
            position += POSITION_STEP
            self.top[list_id] = position
            lst = self.lists.get(list_id)
            list_names.append(lst.name if lst else None)
            due = row.due
            if due is not None and self.sqlite:
                due = due.isoformat()
            records.append((project_id, row.title, row.description or "", list_id, position, row.assignee_id,
                            due, stamp, stamp, stamp, actor_id, 1, 0 if self.sqlite else False))
        ids = insert_rows("record", RECORD_COLUMNS, records, returning="id", adapt=False)
        values: list[tuple] = []
        tags: list[tuple] = []
        events: list[tuple] = []
        store = self.store
        fields = self.fields
        in_memory = self.formulas if self.formulas_in_memory else ()
        for rid, row, list_name in zip(ids, rows, list_names):
            for fid, value in row.values.items():
                if fields[fid].type == "file":
                    value = store_attachments(value)
                for partial in store[fid](value):
                    values.append((rid, *partial))
            if in_memory:
                values.extend(self._formula_rows(rid, row.values))
            for name in row.tags or ():
                tags.append((rid, self._tag_id(name)))
            events.append((stamp, actor_id, project_id, rid, "created", None, "title", None,
                           json.dumps({"title": row.title, "list": list_name}, ensure_ascii=False, default=str)))
        insert_rows("field_value", VALUE_COLUMNS, values, adapt=False)
        insert_rows("record_tag", ["record_id", "tag_id"], tags, adapt=False)
        insert_rows("event", EVENT_COLUMNS, events, adapt=False)
        self._computed(ids, formulas_done=bool(in_memory))
        self.created += len(ids)
        return ids

    def stand_ins(self, count: int) -> list[int]:
        """Ids for rows that are not written (negative, never a record's)."""
        start = self.next_stand_in
        self.next_stand_in -= count
        return list(range(start, start - count, -1))

    def _formula_rows(self, rid: int, values: dict) -> list[tuple]:
        results = evaluate_formulas(self.formulas, self.schema.fields, values)
        out = []
        for f in self.formulas:
            for row in formula_rows(rid, f, results.get(f.id)):
                stored = tuple(row[c] for c in ROW_COLUMNS)
                if self.sqlite and stored[5] is not None:
                    stored = stored[:5] + (stored[5].isoformat(),) + stored[6:]
                out.append(stored)
        return out

    def _computed(self, ids: list[int], *, formulas_done: bool) -> None:
        """Lookups (in dependency order), then the formulas not evaluated from the parsed rows."""
        graph = self.graph
        project_fields = graph.by_project[self.schema.id]
        lookups = [f for f in project_fields if f.type == "lookup"]
        for lk in graph.dependency_order(lookups):
            queries.materialize_lookup(lk.id, lk.config["via"], lk.config["of"], ids, fresh=True)
        formulas = [f for f in project_fields if f.type == "formula"]
        if formulas and not formulas_done:
            recompute_formulas(formulas, ids, project_fields)

    def _tag_id(self, name: str) -> int:
        key = name.casefold()
        tid = self.tag_ids.get(key)
        if tid is None:
            # two imports may add the same new tag at once: ignore the conflict, read the id back
            Tag.insert(project=self.schema.id, name=name).on_conflict_ignore().execute()
            tid = Tag.select(Tag.id).where((Tag.project == self.schema.id) & (Tag.name == name)).scalar()
            self.tag_ids[key] = tid
        return tid

    # -- after the whole file ------------------------------------------------------------------
    def add_references(self, field_id: int, links: list[tuple[int, object]]) -> None:
        """Store reference values resolved after their records were written (``(record id, target id
        or list of ids)``), then recompute what depends on them."""
        if self.dry or not links:
            return
        rows = []
        for rid, value in links:
            targets = value if isinstance(value, list) else [value]
            rows.extend((rid, field_id, i, None, None, None, target, None, None) for i, target in enumerate(targets))
        insert_rows("field_value", VALUE_COLUMNS, rows, adapt=False)
        propagate({field_id: {rid for rid, _ in links}}, self.graph)

    def delete(self, ids: list[int]) -> None:
        """Remove records written earlier in this import (rows rejected afterwards), with their
        values, tags, events and attachments."""
        ids = [i for i in ids if i > 0]
        if self.dry or not ids:
            return
        for chunk in queries.chunks(ids):
            files = [f for (f,) in FieldValue.select(FieldValue.file)
                     .where(FieldValue.record.in_(chunk) & FieldValue.file.is_null(False)).tuples()]
            FieldValue.delete().where(FieldValue.record.in_(chunk)).execute()
            RecordTag.delete().where(RecordTag.record.in_(chunk)).execute()
            Event.delete().where(Event.record.in_(chunk) & (Event.project == self.schema.id)).execute()
            Record.delete().where(Record.id.in_(chunk)).execute()
            if files:
                Attachment.delete().where(Attachment.id.in_(files)).execute()
        self.created -= len(ids)

    def finish(self) -> None:
        if not self.dry and self.created >= 1000:
            refresh_statistics()


def _evaluable_in_memory(formulas: list, fields: dict) -> bool:
    """Can every formula be evaluated from parsed values alone (inputs plain, or such formulas)?"""
    ok = {f.id for f in formulas}
    changed = True
    while changed:
        changed = False
        for f in formulas:
            if f.id not in ok:
                continue
            for ref in f.config.get("refs", []):
                src = fields.get(ref)
                if src is None or not (src.type in PLAIN_TYPES or (src.type == "formula" and src.id in ok)):
                    ok.discard(f.id)
                    changed = True
                    break
    return len(ok) == len(formulas)

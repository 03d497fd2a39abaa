"""Query functions: every SQL statement the domain needs beyond simple ``get``s lives here.

Reads are batched (one query per kind of data for a whole page of records, never one per record);
lookups are materialised with set-based ``INSERT … SELECT`` statements.
"""

from __future__ import annotations

from peewee import JOIN, fn, Value

from .connection import database
from .models import Attachment, Field, FieldValue, Record, RecordTag, StageList, Tag, User

CHUNK = 500  # ids per IN (...) list when a statement must name records one by one


def chunks(ids, size: int = CHUNK):
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def record_select(project_id: int, *, list_ids=None, tag_ids=None, search: str | None = None,
                  text_field_ids=(), include_archived: bool = False, only_archived: bool = False,
                  record_ids=None):
    """SELECT of the records of a project with the usual filters (no ORDER/LIMIT yet).

    ``search`` matches the title or any of ``text_field_ids`` (case-insensitive substring).
    A record must carry every tag in ``tag_ids``.
    """
    query = Record.select().where(Record.project == project_id)
    if only_archived:
        query = query.where(Record.archived == True)  # noqa: E712
    elif not include_archived:
        query = query.where(Record.archived == False)  # noqa: E712
    if list_ids:
        query = query.where(Record.list.in_(list(list_ids)))
    for tag_id in tag_ids or ():
        query = query.where(fn.EXISTS(
            RecordTag.select(Value(1)).where((RecordTag.record == Record.id) & (RecordTag.tag == tag_id))))
    if search:
        text = search.strip()
        match = Record.title.contains(text)
        if text_field_ids:
            match |= fn.EXISTS(
                FieldValue.select(Value(1)).where(
                    (FieldValue.record == Record.id)
                    & (FieldValue.field.in_(list(text_field_ids)))
                    & (FieldValue.text.contains(text))))
        query = query.where(match)
    if record_ids is not None:
        query = query.where(Record.id.in_(list(record_ids)))
    return query


def record_rows(query):
    """Rows (dicts) for a record query: record columns plus list name and assignee name."""
    return (query.select_extend(StageList.name.alias("list_name"), User.name.alias("assignee_name"))
            .join_from(Record, StageList, JOIN.LEFT_OUTER, on=(Record.list == StageList.id))
            .join_from(Record, User, JOIN.LEFT_OUTER, on=(Record.assignee == User.id))
            .dicts())


def values_of(record_ids_query, field_ids=None):
    """Every value row of the given records (a subquery or a list of ids), with the referenced record's
    title and the attachment's name, ordered for decoding. One query."""
    RefRecord = Record.alias("ref_record")
    query = (FieldValue
             .select(FieldValue.record, FieldValue.field, FieldValue.position, FieldValue.text,
                     FieldValue.number, FieldValue.date, FieldValue.ref, FieldValue.file,
                     FieldValue.error, RefRecord.title.alias("ref_title"),
                     Attachment.name.alias("file_name"), Attachment.size.alias("file_size"))
             .join_from(FieldValue, RefRecord, JOIN.LEFT_OUTER, on=(FieldValue.ref == RefRecord.id))
             .join_from(FieldValue, Attachment, JOIN.LEFT_OUTER, on=(FieldValue.file == Attachment.id))
             .where(FieldValue.record.in_(record_ids_query)))
    if field_ids is not None:
        query = query.where(FieldValue.field.in_(list(field_ids)))
    return query.order_by(FieldValue.record, FieldValue.field, FieldValue.position).tuples()


def tags_of(record_ids_query):
    """(record id, tag name) pairs, ordered by tag name. One query."""
    return (RecordTag.select(RecordTag.record, Tag.name)
            .join(Tag, on=(RecordTag.tag == Tag.id))
            .where(RecordTag.record.in_(record_ids_query))
            .order_by(RecordTag.record, Tag.name).tuples())


def referenced_by(record_ids_query):
    """(referenced id, referring id, referring title, referring project id, field name) for live
    records that point at the given ones through a reference field. One query."""
    Referrer = Record.alias("referrer")
    return (FieldValue
            .select(FieldValue.ref, Referrer.id, Referrer.title, Referrer.project, Field.name)
            .join(Field, on=((FieldValue.field == Field.id) & (Field.type == "reference")))
            .join_from(FieldValue, Referrer, on=(FieldValue.record == Referrer.id))
            .where(FieldValue.ref.in_(record_ids_query) & (Referrer.archived == False))  # noqa: E712
            .order_by(FieldValue.ref, Referrer.project, Referrer.id).tuples())


def referenced_by_counts(record_ids_query):
    """{record id: number of live records referring to it}. One query."""
    Referrer = Record.alias("referrer")
    rows = (FieldValue.select(FieldValue.ref, fn.COUNT(fn.DISTINCT(FieldValue.record)))
            .join(Field, on=((FieldValue.field == Field.id) & (Field.type == "reference")))
            .join_from(FieldValue, Referrer, on=(FieldValue.record == Referrer.id))
            .where(FieldValue.ref.in_(record_ids_query) & (Referrer.archived == False))  # noqa: E712
            .group_by(FieldValue.ref).tuples())
    return dict(rows)


def records_referring(ref_field_id: int, target_ids) -> set[int]:
    """Records whose reference field ``ref_field_id`` points at any of ``target_ids``."""
    found: set[int] = set()
    for chunk in chunks(target_ids):
        found.update(r for (r,) in FieldValue.select(FieldValue.record)
                     .where((FieldValue.field == ref_field_id) & FieldValue.ref.in_(chunk)).tuples())
    return found


def delete_values(field_id: int, record_ids) -> None:
    for chunk in chunks(record_ids):
        FieldValue.delete().where((FieldValue.field == field_id) & FieldValue.record.in_(chunk)).execute()


def materialize_lookup(lookup_id: int, via_id: int, of, record_ids=None, *, project_id=None,
                       fresh: bool = False) -> None:
    """Recompute a lookup's stored values from its reference (``via_id``) and target field (``of``:
    a field id, or ``"title"``) for ``record_ids`` — or for every record of ``project_id``.

    Set-based: one DELETE and one INSERT … SELECT per chunk of records, whatever the chunk size.
    Positions keep the reference's order, then the target value's order.
    """
    Ref = FieldValue.alias("r")
    cols = [FieldValue.record, FieldValue.field, FieldValue.position, FieldValue.text, FieldValue.number,
            FieldValue.date, FieldValue.ref, FieldValue.file, FieldValue.error]
    if of == "title":
        Target = Record.alias("t")
        base = (Ref.select(Ref.record, Value(lookup_id), Ref.position, Target.title, Value(None),
                           Value(None), Value(None), Value(None), Value(None))
                .join(Target, on=(Target.id == Ref.ref))
                .where(Ref.field == via_id))
    else:
        Target = FieldValue.alias("t")
        base = (Ref.select(Ref.record, Value(lookup_id), Ref.position * 10000 + Target.position,
                           Target.text, Target.number, Target.date, Target.ref, Target.file, Target.error)
                .join(Target, on=((Target.record == Ref.ref) & (Target.field == of)))
                .where(Ref.field == via_id))
    if record_ids is None:
        project_records = Record.select(Record.id).where(Record.project == project_id)
        FieldValue.delete().where((FieldValue.field == lookup_id)
                                  & FieldValue.record.in_(project_records)).execute()
        FieldValue.insert_from(base.where(Ref.record.in_(project_records)), cols).execute()
        return
    for chunk in chunks(record_ids, 2000):
        if not fresh:  # records created in this transaction have nothing to delete
            FieldValue.delete().where((FieldValue.field == lookup_id) & FieldValue.record.in_(chunk)).execute()
        FieldValue.insert_from(base.where(Ref.record.in_(chunk)), cols).execute()


def project_record_ids(project_id: int) -> list[int]:
    return [r for (r,) in Record.select(Record.id).where(Record.project == project_id).tuples()]


def in_transaction() -> bool:
    return database.obj.transaction_depth() > 0

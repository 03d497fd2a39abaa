"""Rename and delete a project's tags (adding one is ``projects.add_tag``). Admins only.

>>> rename_tag(admin, "Opportunities", "hot", "Hot lead")
>>> tag_usage("Opportunities")            # {"Hot lead": 12, "renewal": 3}
>>> delete_tag(admin, "Opportunities", "renewal")   # untags its records, then removes it

Records keep their version: tags never conflict with concurrent edits (as in ``records.tag_record``).
"""

from __future__ import annotations

from peewee import fn

from ..db.connection import run_write
from ..db.models import RecordTag, Tag
from ..errors import NotFoundError, PermissionDenied, ValidationError
from .project_schema import load_schema


def _require_admin(actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"only an admin can {what}")


def _tag(schema, name: str):
    tag = schema.tag(name)
    if tag is None:
        names = ", ".join(t.name for t in schema.tags) or "none"
        raise NotFoundError(f"project {schema.name!r} has no tag {name!r}; tags: {names}")
    return tag


def tag_usage(project) -> dict[str, int]:
    """How many records carry each tag of the project (one grouped query), every tag named."""
    schema = load_schema(project)
    counts = dict(RecordTag.select(RecordTag.tag, fn.COUNT(RecordTag.record))
                  .where(RecordTag.tag.in_([t.id for t in schema.tags])).group_by(RecordTag.tag).tuples()) \
        if schema.tags else {}
    return {t.name: counts.get(t.id, 0) for t in schema.tags}


def rename_tag(actor, project, name: str, new_name: str) -> None:
    """Rename a tag; records carrying it carry the new name. Refused when the new name is taken."""
    _require_admin(actor, "change tags")
    schema = load_schema(project)
    tag = _tag(schema, name)
    text = (new_name or "").strip() if isinstance(new_name, str) else ""
    if not text:
        raise ValidationError("tag name", new_name or "", "a name is needed")
    if len(text) > 200:
        raise ValidationError("tag name", text[:40] + "…", "at most 200 characters")
    other = schema.tag(text)
    if other is not None and other.id != tag.id:
        raise ValidationError("tag name", text, f"project {schema.name!r} already has this tag")
    run_write(lambda: Tag.update(name=text).where(Tag.id == tag.id).execute())


def delete_tag(actor, project, name: str) -> int:
    """Remove a tag from every record and delete it; returns how many records carried it."""
    _require_admin(actor, "change tags")
    schema = load_schema(project)
    tag = _tag(schema, name)

    def write():
        untagged = RecordTag.delete().where(RecordTag.tag == tag.id).execute()
        Tag.delete().where(Tag.id == tag.id).execute()
        return untagged

    return run_write(write)

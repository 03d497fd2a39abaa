"""A record's detail and editor: every field with an editor fitting its type, the records that
point here, and the record's history. Also the form for a new record.

| key        | action                                                   | binding id         |
| ---------- | -------------------------------------------------------- | ------------------ |
| ctrl+s     | save (nothing is written until every field is valid)     | record.save        |
| ctrl+t     | next tab: fields, referenced by, history                 | record.next_tab    |
| ctrl+o     | after a conflict: save mine over theirs                  | record.keep_mine   |
| ctrl+r     | reload (after a conflict: take theirs)                   | record.reload      |
| ctrl+l     | URL / email field: open it in a browser, or copy it (OSC 52) | record.open_link |
| ctrl+l     | file field: open a stored attachment with the system's viewer | record.open_file |
| space      | checklist: tick / untick the focused item                | record.checklist_toggle |
| a          | checklist: type a new item · blocked by: pick a record   | record.add_entry   |
| delete     | remove the focused checklist item / blocking record      | record.remove_entry |
| ctrl+g     | file field: save a stored attachment as… (~/<name>)      | record.save_as     |
| escape     | back (asks before dropping unsaved changes)              | record.back        |

A reference field that holds several records is a list: ↑↓ move over it, ``a`` / enter adds a record
with the type-ahead picker, ``x`` / delete removes the highlighted one; like every field, the change is
written by ctrl+s.

Opening an attachment writes a copy into a private temporary folder (under its own name, so the viewer
knows its type) and starts ``xdg-open`` (``open`` on macOS) when a display is there; over SSH without
one, the copy's path is shown instead (see ``crm_tui.tui.opener``).

The checklist's new-item line adds the item on enter. "Blocked by" takes records of the same project,
chosen with the type-ahead picker. Checklist and dependency changes are written at once (they are
not part of ctrl+s) and never drop the edits in the other fields.

Errors appear under the field they are about. Saving sends the version that was read; when someone
else saved meanwhile, both values of each edited field are shown and nothing is overwritten unless
you say so (ctrl+o).
"""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from ...errors import ConflictError, CrmError, ValidationError
from ..dbwork import db_session
from ..widgets.field_editors import (ChoiceInput, FieldRow, ReferenceInput, _area, _input, _text, date_hint,
                                     editor_for)
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import CrmModal, CrmScreen
from .confirm import ConfirmScreen


class RecordLoaded(Message):
    def __init__(self, schema, item, history, users) -> None:
        super().__init__()
        self.schema, self.item, self.history, self.users = schema, item, history, users


class Saved(Message):
    def __init__(self, record_id: int, created: bool) -> None:
        super().__init__()
        self.record_id, self.created = record_id, created


class SaveRefused(Message):
    def __init__(self, field: str | None, text: str) -> None:
        super().__init__()
        self.field, self.text = field, text


class SaveConflicted(Message):
    def __init__(self, text: str, theirs: dict, changes: dict) -> None:
        super().__init__()
        self.text, self.theirs, self.changes = text, theirs, changes


class ExtrasChanged(Message):
    def __init__(self, checklist: list, blocked_by: list) -> None:
        super().__init__()
        self.checklist, self.blocked_by = checklist, blocked_by


class FileSaved(Message):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


class FileOpened(Message):
    """A copy of an attachment was written to ``path``; ``opened``: a viewer was started (``how``), else
    ``how`` says why not."""

    def __init__(self, name: str, path: str, opened: bool, how: str) -> None:
        super().__init__()
        self.name, self.path, self.opened, self.how = name, path, opened, how


class SavePathScreen(CrmModal):
    """Where to write a stored attachment; dismisses with the path typed, or ``None``.

    | key    | action        | binding id      |
    | ------ | ------------- | --------------- |
    | enter  | write it here | (Input)         |
    | escape | cancel        | save_as.cancel  |
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="save_as.cancel")]

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.title_text, self.default = title, default

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield _input(self.default, "a path (a folder keeps the file name)", id="save-path")
            yield Static("[b]enter[/b] save   [b]escape[/b] cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    @on(Input.Submitted, "#save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


def describe_event(event: dict) -> str:
    """One line of history: ``2026-03-05 10:22  alice  moved Qualifying → Won``."""
    kind, field = event["kind"], event["field"]
    old, new = _text(event["old"]), _text(event["new"])
    if kind == "created":
        what = "created"
        if isinstance(event["new"], dict) and event["new"].get("list"):
            what += f" in {event['new']['list']}"
    elif kind == "moved":
        what = f"moved {old or '—'} → {new}"
    elif kind == "updated":
        what = f"{field}: {old or '—'} → {new or '—'}"
    elif kind == "tagged":
        what = f"tagged {new}"
    elif kind == "untagged":
        what = f"untagged {old}"
    elif kind == "assigned":
        what = f"assigned {old or '—'} → {new or '—'}"
    elif kind == "deleted":
        what = "archived"
    else:
        what = kind
    at = str(event["at"]).replace("T", " ")[:16]
    return f"{at}  {event['user'] or 'system'}  {what}".replace("\n", " ")


def fetch_record(actor, record_id: int | None = None, project_id: int | None = None) -> RecordLoaded:
    """What the record screen shows (run in a worker, inside a connection context)."""
    from ...domain import browse, events
    from ...domain.project_schema import load_schema
    from ...domain.record_views import show_record

    if record_id is not None:
        item = show_record(actor, record_id)
        schema = load_schema(item["project"])
        history = events.history(record_id, actor)
    else:
        item, history = None, []
        schema = load_schema(project_id)
    return RecordLoaded(schema, item, history, browse.active_users())


class RecordScreen(CrmScreen):
    help_title = "record"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="record.save", priority=True),
        Binding("ctrl+t", "next_tab", "Tabs", id="record.next_tab"),
        Binding("ctrl+o", "keep_mine", "Keep mine", id="record.keep_mine"),
        Binding("ctrl+r", "reload", "Reload", id="record.reload"),
        Binding("ctrl+l", "open_link", "Open link", id="record.open_link"),
        Binding("ctrl+l", "open_file", "Open file", id="record.open_file"),
        Binding("space", "toggle_item", "Done", id="record.checklist_toggle"),
        Binding("a", "add_entry", "Add", id="record.add_entry"),
        Binding("delete", "remove_entry", "Remove", id="record.remove_entry"),
        Binding("ctrl+g", "save_file_as", "Save file as", id="record.save_as"),
        Binding("escape", "back", "Back", id="record.back"),
    ]

    def __init__(self, record_id: int | None = None, project_id: int | None = None,
                 preloaded: RecordLoaded | None = None) -> None:
        super().__init__()
        self.record_id = record_id
        self.project_id = project_id
        self.preloaded = preloaded
        self.schema = None
        self.item: dict | None = None
        self.version: int | None = None
        self.users: list = []
        self.rows: list[FieldRow] = []
        self.result = None
        self.conflict: dict | None = None
        self._refs: list[dict] = []
        self.said = ""

    def compose(self):
        rows: list[FieldRow] = []
        if self.preloaded is not None:  # read before the screen was pushed: built in one go, one paint
            self._take(self.preloaded)
            rows = self._form_rows()
        yield AppHeader("record" if self.record_id else "new record", "loading…")
        with TabbedContent(id="record-tabs"):
            with TabPane("Fields", id="tab-fields"):
                with VerticalScroll(id="fields"):
                    yield from rows
            with TabPane("Referenced by", id="tab-refs"):
                yield OptionList(id="referenced-by")
            with TabPane("History", id="tab-history"):
                yield OptionList(id="history")
        yield Static("", id="conflict")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#conflict").display = False
        if self.preloaded is not None:
            self._after_build(self.preloaded)
            self.preloaded = None
        else:
            self.load()

    def _take(self, message: RecordLoaded) -> None:
        self.schema, self.item, self.users = message.schema, message.item, message.users
        self.version = message.item["version"] if message.item else None
        self.conflict = None

    def _after_build(self, message: RecordLoaded) -> None:
        self._fill_extras()
        self._fill_refs()
        self._fill_history(message.history)
        self._update_header()
        if self.rows:
            self.rows[0].editor.focus()

    # -- loading ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="record-load", exit_on_error=False)
    def load(self) -> None:
        with db_session():
            message = fetch_record(self.app.actor, self.record_id, self.project_id)
        self.post_message(message)

    @on(RecordLoaded)
    async def _loaded(self, message: RecordLoaded) -> None:
        self._take(message)
        self.query_one("#conflict").display = False
        rows = self._form_rows()
        container = self.query_one("#fields", VerticalScroll)
        await container.remove_children()
        await container.mount_all(rows)
        self._after_build(message)
        self.refresh_bindings()

    def _update_header(self) -> None:
        name = self.schema.name if self.schema else ""
        if self.item:
            place = f"{name} · #{self.item['id']} {self.item['title']}"
            status = f"v{self.version}" + (" · archived" if self.item.get("archived") else "")
            if self.said:
                status = f"{self.said} · {status}"
        else:
            place, status = f"{name} · new record", "ctrl+s creates it"
        self.query_one(AppHeader).set_text(place, status)

    def _form_rows(self) -> list[FieldRow]:
        from ...domain.record_views import visible_fields

        schema, item = self.schema, self.item or {}
        order = self.app.date_order
        rows: list[FieldRow] = [FieldRow("title", "Title", _input(item.get("title", ""), "a title"),
                                         item.get("title", ""))]
        if len(schema.lists) > 1:
            current = item.get("list") or schema.lists[0].name
            choice = ChoiceInput([l.name for l in schema.lists], current, allow_blank=False)
            rows.append(FieldRow("list", "List", choice, current, kind="choice"))
        tags = ", ".join(item.get("tags", []))
        known = ", ".join(t.name for t in schema.tags[:6])
        rows.append(FieldRow("tags", "Tags", _input(tags, f"comma-separated, e.g. {known}" if known else
                                                    "comma-separated"), tags))
        if schema.shows("assignee"):
            current = item.get("assignee") or ""
            names = [name for _, name, _ in self.users]
            if current and current not in names:
                names.append(current)
            choice = ChoiceInput(names, current, blank="(nobody)")
            rows.append(FieldRow("assignee", "Assignee", choice, current, kind="choice"))
        if schema.shows("due_date"):
            due = item.get("due_date") or ""
            rows.append(FieldRow("due_date", "Due date", _input(due, date_hint(order), classes="date-input"), due))
        fields = visible_fields(self.app.actor, schema)
        values = item.get("fields", {})
        for fdef in fields:
            editor, initial, kind = editor_for(fdef, values.get(fdef.name), date_order=order)
            label = fdef.name + (" ƒ" if fdef.computed else "")
            rows.append(FieldRow(fdef.id, label, editor, initial, kind=kind, fdef=fdef))
        if schema.shows("description"):
            text = item.get("description", "")
            rows.append(FieldRow("description", "Description", _area(text), text, kind="area"))
        if self.item and schema.shows("checklist"):
            rows.append(FieldRow("checklist", "Checklist", OptionList(id="checklist"), None, kind="readonly"))
            rows.append(FieldRow("checklist_new", "", _input("", "new item — enter adds it", id="checklist-new"),
                                 "", kind="readonly"))
        if self.item and schema.shows("dependencies"):
            rows.append(FieldRow("blocked_by", "Blocked by", OptionList(id="blocked-by"), None, kind="readonly"))
        self.rows = rows
        return rows

    def _fill_extras(self) -> None:
        item = self.item or {}
        for selector, entries, empty in (
                ("#checklist", item.get("checklist") or [], "no items yet — a adds one"),
                ("#blocked-by", item.get("blocked_by") or [], "nothing — a picks a blocking record")):
            found = self.query(selector)
            if not found:
                continue
            options = found.first(OptionList)
            keep = options.highlighted
            options.clear_options()
            if entries:
                options.add_options([Option(("☑ " if e.get("done") else "☐ ") + e["text"] if selector == "#checklist"
                                            else f"#{e['id']} {e['title']}") for e in entries])
                options.highlighted = min(keep or 0, len(entries) - 1)
            else:
                options.add_option(Option(empty, disabled=True))

    def _fill_refs(self) -> None:
        refs = (self.item or {}).get("referenced_by") or []
        self._refs = refs
        options = self.query_one("#referenced-by", OptionList)
        options.clear_options()
        if refs:
            options.add_options([Option(f"{r['project']} · {r['title']}  (via {r['field']})") for r in refs])
            options.highlighted = 0
        else:
            options.add_option(Option("nothing refers to this record", disabled=True))
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("tab-refs").label = f"Referenced by ({len(refs)})"

    def _fill_history(self, history: list[dict]) -> None:
        options = self.query_one("#history", OptionList)
        options.clear_options()
        lines = [describe_event(e) for e in reversed(history)]
        options.add_options([Option(line) for line in lines] or
                            [Option("no history yet", disabled=True)])
        self.query_one(TabbedContent).get_tab("tab-history").label = f"History ({len(history)})"

    # -- editing ------------------------------------------------------------------------------

    @on(ReferenceInput.PickRequested)
    def _pick_reference(self, message: ReferenceInput.PickRequested) -> None:
        from .reference_picker import ReferencePickerScreen

        editor = message.editor
        if editor.target is None:
            return
        row = next((r for r in self.rows if r.editor is editor), None)
        label = row.label if row else "a record"

        def chosen(result) -> None:
            if result:
                editor.add(*result)

        if editor.multiple:  # the records already listed are not offered again
            picker = ReferencePickerScreen(editor.target, f"Add to {label}", exclude=editor.value())
        else:
            picker = ReferencePickerScreen(editor.target, f"Choose {label}")
        self.app.push_screen(picker, chosen)

    def date_order_changed(self, order: str) -> None:
        """The date order setting changed: the date inputs show it (the values are read with it on save)."""
        for widget in self.query(".date-input"):
            if isinstance(widget, Input):
                widget.placeholder = date_hint(order)

    # -- checklist, dependencies, attachments (written at once, in workers) -------------------

    def _extras_focus(self) -> tuple[str | None, list]:
        """(``checklist`` / ``blocked_by`` / ``None``, its entries) for the focused list."""
        focused = self.focused
        key = {"checklist": "checklist", "blocked-by": "blocked_by"}.get(getattr(focused, "id", None) or "")
        return key, ((self.item or {}).get(key) or []) if key else []

    def _focused_entry(self) -> dict | None:
        key, entries = self._extras_focus()
        index = self.focused.highlighted if key else None
        if index is not None and 0 <= index < len(entries):
            return entries[index]
        return None

    def action_toggle_item(self) -> None:
        entry = self._focused_entry()
        if entry is not None and self._extras_focus()[0] == "checklist":
            self.change_extras("set_checklist_done", entry["id"], not entry["done"])

    def action_add_entry(self) -> None:
        from .reference_picker import ReferencePickerScreen

        key, _ = self._extras_focus()
        if key == "checklist":
            self.query_one("#checklist-new", Input).focus()
        elif key == "blocked_by" and self.schema is not None:
            def chosen(result) -> None:
                if result:
                    self.change_extras("add_dependency", self.record_id, result[0])

            self.app.push_screen(ReferencePickerScreen(self.schema.id, "Blocked by which record?"), chosen)

    def action_remove_entry(self) -> None:
        key, _ = self._extras_focus()
        entry = self._focused_entry()
        if entry is None:
            return
        if key == "checklist":
            self.change_extras("remove_checklist_item", entry["id"])
        else:
            self.change_extras("remove_dependency", self.record_id, entry["id"])

    @on(Input.Submitted, "#checklist-new")
    def _new_item(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.notify("an item needs some text", severity="warning")
            return
        self.change_extras("add_checklist_item", self.record_id, event.value)
        event.input.value = ""

    @work(thread=True, group="record-extras", exit_on_error=False)
    def change_extras(self, what: str, *args) -> None:
        from ...domain import record_extras
        from ...domain.record_views import show_record

        with db_session():
            getattr(record_extras, what)(self.app.actor, *args)
            item = show_record(self.app.actor, self.record_id)
        self.post_message(ExtrasChanged(item["checklist"], item["blocked_by"]))

    @on(ExtrasChanged)
    def _extras_changed(self, message: ExtrasChanged) -> None:
        if self.item is not None:
            self.item = dict(self.item, checklist=message.checklist, blocked_by=message.blocked_by)
        self._fill_extras()
        self.refresh_bindings()

    def _attachments(self) -> list[dict]:
        """The stored attachments of the focused file field."""
        focused = self.focused
        row = next((r for r in self.rows if r.editor is focused), None)
        if row is None or row.kind != "file" or row.fdef is None:
            return []
        value = (self.item or {}).get("fields", {}).get(row.fdef.name)
        files = value if isinstance(value, list) else ([value] if value else [])
        return [f for f in files if isinstance(f, dict) and f.get("id")]

    def _with_attachment(self, question: str, then) -> None:
        """``then(attachment id, name)`` for the focused file field's attachment, asking which one
        (``question``) when it holds several."""
        from .picker import ChoiceScreen

        files = self._attachments()
        if not files:
            return

        def chosen(attachment_id) -> None:
            if attachment_id is not None:
                then(attachment_id, next(f["name"] for f in files if f["id"] == attachment_id))

        if len(files) == 1:
            chosen(files[0]["id"])
        else:
            self.app.push_screen(ChoiceScreen(question, [(f["id"], f["name"]) for f in files]), chosen)

    def action_save_file_as(self) -> None:
        def ask_path(attachment_id: int, name: str) -> None:
            def write(path) -> None:
                if path:
                    self.save_file(attachment_id, path)

            self.app.push_screen(SavePathScreen(f"Save {name} as", f"~/{name}"), write)

        self._with_attachment("Save which file?", ask_path)

    def action_open_file(self) -> None:
        self._with_attachment("Open which file?", self.open_file)

    @work(thread=True, group="record-file", exit_on_error=False)
    def open_file(self, attachment_id: int, name: str) -> None:
        """Write a private copy of the attachment, then hand it to the system's opener if there is one."""
        from ...domain.record_extras import save_attachment
        from .. import opener

        try:
            path = opener.private_copy_path(name)
            with db_session():
                save_attachment(attachment_id, path)
            path.chmod(0o600)
        except OSError as exc:
            raise CrmError(f"could not write a copy of {name} to open it: {exc.strerror or exc}") from None
        outcome = opener.open_file(path)
        self.post_message(FileOpened(name, str(path), outcome.ok, outcome.how))

    @on(FileOpened)
    def _file_opened(self, message: FileOpened) -> None:
        if message.opened:
            self.notify(f"{message.name} opened with {message.how} (a copy: {message.path})")
        else:
            # over SSH a viewer would start on the server, and $PAGER cannot run inside the TUI:
            # the user opens the copy themselves (or fetches it with scp)
            self.notify(f"{message.how} — {message.name} is at {message.path}", timeout=20)

    @work(thread=True, group="record-file", exit_on_error=False)
    def save_file(self, attachment_id: int, path: str) -> None:
        from ...domain.record_extras import save_attachment

        with db_session():
            try:
                target = save_attachment(attachment_id, path)
            except OSError as exc:
                raise CrmError(f"could not write {path}: {exc.strerror or exc}") from None
        self.post_message(FileSaved(str(target)))

    @on(FileSaved)
    def _file_saved(self, message: FileSaved) -> None:
        self.notify(f"written to {message.path}")

    @on(ChoiceInput.PickRequested)
    def _pick_choice(self, message: ChoiceInput.PickRequested) -> None:
        from .picker import ChoiceScreen

        editor = message.editor
        row = next((r for r in self.rows if r.editor is editor), None)
        options = ([("", editor.blank)] if editor.allow_blank else []) + [(o, o) for o in editor.options]

        def chosen(value) -> None:
            if value is not None:
                editor.choose(value)

        self.app.push_screen(ChoiceScreen(row.label if row else "Choose", options, current=editor.value), chosen)

    @on(OptionList.OptionSelected, "#referenced-by")
    def _jump(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self._refs):
            self.app.open_record(self._refs[event.option_index]["id"])

    def _validate(self) -> dict | None:
        """The edited values, or ``None`` after marking every invalid field."""
        from ...domain.field_types import get_field_type
        from ...domain.records import check_title, parse_due_date

        changes: dict = {}
        bad: list[FieldRow] = []
        order = self.app.date_order
        for row in self.rows:
            row.set_error("")
            if not row.changed and not (self.record_id is None and row.key == "title"):
                continue
            raw = row.raw()
            try:
                if row.key == "title":
                    check_title(raw)
                elif row.key == "due_date":
                    parse_due_date(raw, order)
                elif row.fdef is not None and row.kind == "input":
                    get_field_type(row.fdef.type).parse(raw, row.fdef.config, date_order=order)
            except ValidationError as exc:
                row.set_error(str(exc))
                bad.append(row)
                continue
            except ValueError as exc:
                row.set_error(f"{row.label}: {raw!r} is not valid: {exc}")
                bad.append(row)
                continue
            changes[row.key] = raw
        if bad:
            bad[0].editor.focus()
            self.notify(f"{len(bad)} field(s) need fixing — see the red lines", severity="warning")
            return None
        return changes

    def action_save(self) -> None:
        if self.schema is None:
            return
        changes = self._validate()
        if changes is None:
            return
        if not changes and self.record_id is not None:
            self.said = "nothing to save"
            self._update_header()
            return
        self.save(changes, self.version)

    @work(thread=True, exclusive=True, group="record-save", exit_on_error=False)
    def save(self, changes: dict, version: int | None) -> None:
        from ...domain import records
        from ...domain.record_views import show_record

        actor, schema, order = self.app.actor, self.schema, self.app.date_order
        values = {schema.field_by_id(key).name: raw for key, raw in changes.items() if isinstance(key, int)}
        tags = [t.strip() for t in str(changes.get("tags", "")).split(",") if t.strip()]
        with db_session():
            try:
                if self.record_id is None:
                    record_id = records.create_record(
                        actor, schema, changes.get("title", ""), list_name=changes.get("list") or None,
                        tags=tags, values=values, assignee=changes.get("assignee") or None,
                        due_date=changes.get("due_date") or None, description=changes.get("description", ""),
                        date_order=order)
                    self.post_message(Saved(record_id, True))
                    return
                kwargs = {}
                for key in ("title", "description", "due_date"):
                    if key in changes:
                        kwargs[key] = changes[key]
                if "assignee" in changes:
                    kwargs["assignee"] = changes["assignee"] or None
                if kwargs or values:
                    version = records.update_record(actor, self.record_id, values=values, expect_version=version,
                                                    date_order=order, **kwargs)
                if "tags" in changes:
                    before = {t.casefold(): t for t in (self.item or {}).get("tags", [])}
                    after = {t.casefold(): t for t in tags}
                    added = [t for k, t in after.items() if k not in before]
                    removed = [t for k, t in before.items() if k not in after]
                    if added:
                        records.tag_record(actor, self.record_id, added)
                    if removed:
                        records.untag_record(actor, self.record_id, removed)
                if "list" in changes:
                    records.move_record(actor, self.record_id, changes["list"], expect_version=version)
            except ValidationError as exc:
                self.post_message(SaveRefused(exc.field, str(exc)))
                return
            except ConflictError as exc:
                theirs = show_record(actor, self.record_id)
                self.post_message(SaveConflicted(str(exc), theirs, changes))
                return
        self.post_message(Saved(self.record_id, False))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        self.result = message.record_id
        self.record_id = message.record_id
        self.said = "created" if message.created else "saved"
        self.load()

    @on(SaveRefused)
    def _refused(self, message: SaveRefused) -> None:
        field = (message.field or "").casefold()
        row = next((r for r in self.rows if r.label.rstrip(" ƒ").casefold() == field
                    or str(r.key).replace("_", " ") == field), None)
        if row is None:
            self.notify(message.text, severity="error", timeout=8)
            return
        row.set_error(message.text)
        row.editor.focus()

    @on(SaveConflicted)
    def _conflicted(self, message: SaveConflicted) -> None:
        self.conflict = message.theirs
        lines = [f"[b]Someone else saved this record meanwhile[/b] (now v{message.theirs['version']}). "
                 "Nothing of yours was written."]
        for row in self.rows:
            if row.key not in message.changes:
                continue
            theirs = self._their_value(row, message.theirs)
            lines.append(f"{row.label}: yours {_text(message.changes[row.key]) or '—'!r} · "
                         f"theirs {theirs or '—'!r}")
        lines.append("[b]ctrl+o[/b] save mine over theirs · [b]ctrl+r[/b] take theirs (drops your edits)")
        panel = self.query_one("#conflict", Static)
        panel.update("\n".join(lines))
        panel.display = True
        self.refresh_bindings()

    @staticmethod
    def _their_value(row: FieldRow, theirs: dict) -> str:
        if row.fdef is not None:
            return _text(theirs.get("fields", {}).get(row.fdef.name))
        if row.key == "tags":
            return ", ".join(theirs.get("tags", []))
        return _text(theirs.get(row.key))

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "keep_mine":
            return self.conflict is not None
        if action == "open_link":
            return self._link_row() is not None
        if action == "add_entry":
            return self._extras_focus()[0] is not None
        if action in ("toggle_item", "remove_entry"):
            key = self._extras_focus()[0]
            return (action == "remove_entry" or key == "checklist") and self._focused_entry() is not None
        if action in ("save_file_as", "open_file"):
            return bool(self._attachments())
        return True

    def _link_row(self) -> FieldRow | None:
        focused = self.focused
        row = next((r for r in self.rows if r.editor is focused), None)
        if row is not None and row.fdef is not None and row.fdef.type in ("url", "email") and row.raw():
            return row
        return None

    def on_descendant_focus(self, event) -> None:
        self.refresh_bindings()  # ctrl+l shows only on a link, the list keys only on their list

    def action_open_link(self) -> None:
        """Open the link where a browser can be started (not over SSH), else copy it to the clipboard
        of the terminal the user sits at (OSC 52 travels over SSH)."""
        from ..opener import open_url

        row = self._link_row()
        if row is None:
            return
        link = str(row.raw()).strip()
        if row.fdef.type == "email" and not link.startswith("mailto:"):
            link = "mailto:" + link
        if open_url(link):
            self.said = "opened in the browser"
            self._update_header()
            return
        self.app.copy_to_clipboard(link)
        self.said = "link copied to the clipboard"
        self._update_header()

    def action_keep_mine(self) -> None:
        if self.conflict is None:
            return
        self.version = self.conflict["version"]
        self.item = dict(self.item or {}, tags=self.conflict.get("tags", []))
        self.conflict = None
        self.query_one("#conflict").display = False
        self.refresh_bindings()
        self.action_save()

    def action_reload(self) -> None:
        if self.record_id is not None:
            self.load()

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        order = ["tab-fields", "tab-refs", "tab-history"]
        tabs.active = order[(order.index(tabs.active) + 1) % len(order)] if tabs.active in order else order[0]
        target = {"tab-fields": None, "tab-refs": "#referenced-by", "tab-history": "#history"}[tabs.active]
        if target:
            self.query_one(target).focus()  # enter on a referring record opens it
        elif self.rows:
            self.rows[0].editor.focus()

    def action_back(self) -> None:
        if any(row.changed for row in self.rows):
            def answered(yes: bool | None) -> None:
                if yes:
                    self.dismiss(self.result)

            self.app.push_screen(ConfirmScreen("Drop your unsaved changes?", yes="drop them"), answered)
            return
        self.dismiss(self.result)

    def worker_failed(self, error) -> None:
        if isinstance(error, CrmError) and self.schema is None:
            self.app.report(error)
            self.dismiss(None)
            return
        super().worker_failed(error)

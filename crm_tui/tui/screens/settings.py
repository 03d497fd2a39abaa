"""A project's settings: its lists (stages), tags, custom fields, hidden default fields, and the
workspace's projects — one tab each, every change a domain call (admins only; others see why not).

| key                 | action                                                 | binding id           |
| ------------------- | ------------------------------------------------------ | -------------------- |
| a                   | add a list, tag, field or project (by tab)             | settings.add         |
| e / enter           | edit: a list's name, probability, kind, aging days; rename a tag or field | settings.edit |
| r                   | rename the list, tag or field                          | settings.rename      |
| K / shift+up        | move the list or field up                              | settings.move_up     |
| J / shift+down      | move the list or field down                            | settings.move_down   |
| h                   | hide / show the field in tables and cards              | settings.hide        |
| space / enter       | hidden default fields: show / hide                     | settings.toggle      |
| d                   | delete the field or tag (asks first)                   | settings.delete      |
| p                   | settings of another project                            | settings.project     |
| 1 … 5, ctrl+t       | Lists, Tags, Fields, Defaults, Projects; next tab      | settings.tab_1…5, settings.next_tab |
| escape              | back (the view re-reads the project when it changed)   | settings.back        |

Schema changes (a formula field on a big project computes every record) run in thread workers; a
refusal — an unknown field in a formula, a name in use, a field a formula still needs — is shown in the
dialog or as a message, never as a traceback.

The user's own settings (theme, date order) are not a project's: they are reached from the palette
(ctrl+p "Switch theme", "Date order") and saved in the user's config file. ``DateOrderScreen`` is the
date order's dialog (``choose_date_order(app)`` opens it, applies and saves the choice):

| key        | action                          | binding id         |
| ---------- | ------------------------------- | ------------------ |
| ↑ ↓ / j k  | previous / next order           | date_order.up/down |
| enter      | use it (saved at once)          | (OptionList)       |
| escape     | cancel                          | date_order.cancel  |
"""

from __future__ import annotations

from functools import partial

from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.containers import Vertical
from textual.widgets import OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from ..cells import fit
from ..dbwork import cancelled, db_session
from ..widgets.header import AppHeader
from ..widgets.key_hints import KeyHints
from .base import SCREENS_CSS, CrmModal, CrmScreen
from .confirm import ConfirmScreen
from .form import Entry, FormDialog
from .picker import ChoiceScreen

TABS = ("lists", "tags", "fields", "defaults", "projects")
DEFAULT_LABELS = {"due_date": "Due date", "assignee": "Assignee", "dependencies": "Dependencies",
                  "checklist": "Checklist", "description": "Description"}
TYPE_HELP = {
    "text": "one line of text", "long_text": "several lines", "number": "a number", "percent": "a percentage",
    "currency": "money in one currency", "email": "an email address", "phone": "a phone number",
    "url": "a web link", "address": "a postal address", "date": "a date", "checkbox": "yes / no",
    "dropdown": "one of a few options", "multi_select": "any of a few options", "rating": "1 to N stars",
    "file": "attached files", "formula": "computed from other fields", "reference": "a record of a project",
    "lookup": "a field of the referenced record",
}


class SettingsLoaded(Message):
    def __init__(self, schema, tag_counts: dict, projects: list[dict], field_names: dict, said: str,
                 keep: dict) -> None:
        super().__init__()
        self.schema, self.tag_counts, self.projects = schema, tag_counts, projects
        self.field_names = field_names
        self.said, self.keep = said, keep


def fetch_settings(project_id: int) -> tuple:
    """(schema, tag usage, projects, {field id: name} of the workspace) — run in a worker, inside a
    connection context."""
    from ...domain.project_schema import all_field_defs, load_schema
    from ...domain.projects import projects_summary
    from ...domain.tag_admin import tag_usage

    schema = load_schema(project_id)
    names = {fid: f.name for fid, f in all_field_defs().items()}
    return schema, tag_usage(schema.id), projects_summary(), names


def describe_field(fdef, project_names: dict[int, str], field_names: dict[int, str]) -> str:
    """What a field holds, in a few words: options, currency, stars, target, lookup path, formula."""
    cfg = fdef.config
    if fdef.type in ("dropdown", "multi_select"):
        return ", ".join(str(o) for o in cfg.get("options", []))
    if fdef.type == "currency":
        return cfg.get("currency", "USD")
    if fdef.type == "rating":
        return f"1–{cfg.get('max', 5)} stars"
    if fdef.type == "reference":
        return "→ " + project_names.get(cfg.get("target"), f"#{cfg.get('target')}") + \
            (" (several)" if cfg.get("multiple") else "")
    if fdef.type == "file":
        return "several" if cfg.get("multiple") else "one"
    if fdef.type == "lookup":
        of = cfg.get("of")
        return f"{field_names.get(cfg.get('via'), '?')} → " + ("title" if of == "title" else
                                                               field_names.get(of, f"field #{of}"))
    if fdef.type == "formula":
        return "= " + cfg.get("formula", "")
    return ""


class SettingsScreen(CrmScreen):
    help_title = "settings"
    CSS_PATH = [SCREENS_CSS, "settings.tcss"]
    BINDINGS = [
        Binding("a", "add", "Add", id="settings.add"),
        Binding("e", "edit", "Edit", id="settings.edit"),
        Binding("r", "rename", "Rename", id="settings.rename"),
        Binding("shift+up,K", "move(-1)", "Up", id="settings.move_up", key_display="K"),
        Binding("shift+down,J", "move(1)", "Down", id="settings.move_down", key_display="J"),
        Binding("h", "hide", "Hide/show", id="settings.hide"),
        Binding("space", "toggle", "Show/hide", id="settings.toggle"),
        Binding("d", "delete", "Delete", id="settings.delete"),
        Binding("p", "pick_project", "Project", show=False, id="settings.project"),
        Binding("ctrl+t", "next_tab", "Tabs", show=False, id="settings.next_tab"),
        *[Binding(str(n), f"tab({n - 1})", name.title(), show=False, id=f"settings.tab_{n}")
          for n, name in enumerate(TABS, start=1)],
        Binding("escape", "back", "Back", id="settings.back"),
    ]

    def __init__(self, project_id: int, tab: str = "lists") -> None:
        super().__init__()
        self.project_id = project_id
        self.start_tab = tab
        self.schema = None
        self.tag_counts: dict[str, int] = {}
        self.projects: list[dict] = []
        self.changed = False

    def compose(self):
        yield AppHeader("settings", "loading…")
        with TabbedContent(id="settings-tabs", initial=f"tab-{self.start_tab}"):
            for name in TABS:
                with TabPane(name.title(), id=f"tab-{name}"):
                    yield OptionList(id=f"settings-{name}", classes="settings-list")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(f"#settings-{self.start_tab}", OptionList).focus()
        self.load()

    # -- loading ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="settings-load", exit_on_error=False)
    def load(self, said: str = "", keep: dict | None = None) -> None:
        with db_session():
            loaded = fetch_settings(self.project_id)
        if not cancelled():
            self.post_message(SettingsLoaded(*loaded, said, keep or {}))

    @on(SettingsLoaded)
    def _loaded(self, message: SettingsLoaded) -> None:
        self.schema, self.tag_counts, self.projects = message.schema, message.tag_counts, message.projects
        schema = self.schema
        names = {p["id"]: p["name"] for p in self.projects}
        keep = message.keep
        width = max(40, self.size.width - 4)
        self._fill("lists", [(l.name, fit(l.name, 24) + " " + fit(f"{l.probability}%", 5, "right") + "  "
                              + fit(l.kind, 7) + f"  aging {l.aging_days} d") for l in schema.lists],
                   keep.get("lists"), "no lists — a adds one")
        self._fill("tags", [(t.name, fit(t.name, 30) + f"  {self.tag_counts.get(t.name, 0):,} records")
                            for t in schema.tags], keep.get("tags"), "no tags — a adds one")
        self._fill("fields", [(f.name, fit(f.name, 22) + " " + fit(f.type, 12) + " "
                               + fit(("hidden · " if f.hidden else "") + describe_field(f, names, message.field_names),
                                     max(10, width - 37)))
                              for f in schema.fields], keep.get("fields"), "no custom fields — a adds one")
        self._fill("defaults", [(key, ("☐ " if key in schema.hidden_defaults else "☑ ") + fit(label, 14)
                                 + ("hidden" if key in schema.hidden_defaults else "shown"))
                                for key, label in DEFAULT_LABELS.items()], keep.get("defaults"), "")
        self._fill("projects", [(p["id"], fit(p["name"], 30) + f"  {p['records']:,} records"
                                 + ("   ◂ these settings" if p["id"] == schema.id else ""))
                                for p in self.projects], keep.get("projects", schema.id), "no projects")
        if message.said:
            self.changed = True
        self.query_one(AppHeader).set_text(f"{schema.name} · settings", message.said or
                                           f"{len(schema.lists)} lists · {len(schema.fields)} fields")
        self.refresh_bindings()

    def _fill(self, tab: str, items: list[tuple[object, str]], keep, empty: str) -> None:
        options = self.query_one(f"#settings-{tab}", OptionList)
        previous = options.highlighted
        keys = [key for key, _ in items]
        setattr(self, f"_{tab}_keys", keys)
        options.clear_options()
        if items:
            options.add_options([Option(text) for _, text in items])
            if keep in keys:
                options.highlighted = keys.index(keep)
            else:
                options.highlighted = min(previous or 0, len(items) - 1)
        elif empty:
            options.add_option(Option(empty, disabled=True))

    # -- where the cursor is ------------------------------------------------------------------

    @property
    def tab(self) -> str:
        active = self.query_one(TabbedContent).active or "tab-lists"
        return active.removeprefix("tab-")

    def current(self, tab: str | None = None):
        """The key (name, id) of the highlighted row of ``tab`` (the active one by default)."""
        tab = tab or self.tab
        keys = getattr(self, f"_{tab}_keys", [])
        index = self.query_one(f"#settings-{tab}", OptionList).highlighted
        return keys[index] if index is not None and 0 <= index < len(keys) else None

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        self.query_one(f"#settings-{self.tab}", OptionList).focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        tab = self.tab
        if action == "edit":
            return tab in ("lists", "tags", "fields")
        if action == "rename":
            return tab in ("lists", "tags", "fields")
        if action == "move":
            return tab in ("lists", "fields")
        if action == "hide":
            return tab == "fields"
        if action == "toggle":
            return tab == "defaults"
        if action == "delete":
            return tab in ("tags", "fields")
        if action == "add":
            return tab != "defaults"
        return True

    # -- writing ------------------------------------------------------------------------------

    @work(thread=True, group="settings-write", exit_on_error=False)
    def write(self, call, said: str, keep: dict | None = None) -> None:
        """Run one domain call, then read the settings again (the header says what was done)."""
        with db_session():
            call()
            loaded = fetch_settings(self.project_id)
        self.post_message(SettingsLoaded(*loaded, said, keep or {}))

    def _form(self, title: str, entries: list[Entry], submit, said, keep_tab: str, keep_key=None,
              hint: str = "") -> None:
        """A dialog whose save runs ``submit(values)``; then the tab re-reads, highlighting ``keep_key``
        (or what ``keep_key(values)`` names)."""
        def done(result) -> None:
            if result is None:
                return
            values = result if isinstance(result, dict) else {}
            key = keep_key(values) if callable(keep_key) else keep_key
            self.load(said(values) if callable(said) else said, {keep_tab: key})

        def run(values: dict):
            submit(values)
            return values

        self.app.push_screen(FormDialog(title, entries, run, hint=hint), done)

    @property
    def actor(self):
        return self.app.actor

    def action_add(self) -> None:
        if self.schema is None:
            return
        {"lists": self._add_list, "tags": self._add_tag, "fields": self._add_field,
         "projects": self._add_project}.get(self.tab, lambda: None)()

    def action_edit(self) -> None:
        if self.schema is None:
            return
        if self.tab == "lists":
            self._edit_list()
        elif self.tab in ("tags", "fields"):
            self.action_rename()

    def action_rename(self) -> None:
        tab, name = self.tab, self.current()
        if self.schema is None or name is None or tab not in ("lists", "tags", "fields"):
            return
        from ...domain import projects, tag_admin

        pid = self.schema.id
        call = {"lists": lambda v: projects.update_list(self.actor, pid, name, new_name=v["name"]),
                "tags": lambda v: tag_admin.rename_tag(self.actor, pid, name, v["name"]),
                "fields": lambda v: projects.rename_field(self.actor, pid, name, v["name"])}[tab]
        what = tab[:-1]
        self._form(f"Rename the {what} “{name}”", [Entry("name", "New name", value=name)], call,
                   lambda v: f"{what} {name} renamed to {v['name'].strip()}", tab, lambda v: v["name"].strip(),
                   hint="formulas that use the field are rewritten to the new name" if tab == "fields" else "")

    # lists

    def _list_entries(self, lst=None) -> list[Entry]:
        from ...domain.project_schema import LIST_KINDS

        return [Entry("name", "Name", value=lst.name if lst else "", placeholder="e.g. Negotiation"),
                Entry("probability", "Probability %", "number", lst.probability if lst else 0, placeholder="0–100"),
                Entry("kind", "Kind", "choice", lst.kind if lst else "open", list(LIST_KINDS)),
                Entry("aging_days", "Aging days", "number", lst.aging_days if lst else 14,
                      placeholder="days before a record counts as stale")]

    def _add_list(self) -> None:
        from ...domain.projects import add_list

        pid = self.schema.id
        self._form("Add a list", self._list_entries(),
                   lambda v: add_list(self.actor, pid, v["name"], probability=v["probability"] or 0, kind=v["kind"],
                                      aging_days=int(v["aging_days"] or 14)),
                   lambda v: f"list {v['name'].strip()} added", "lists", lambda v: v["name"].strip())

    def _edit_list(self) -> None:
        from ...domain.projects import update_list

        name = self.current("lists")
        lst = next((l for l in self.schema.lists if l.name == name), None)
        if lst is None:
            return
        pid = self.schema.id

        def submit(v: dict) -> None:
            new_name = v["name"].strip()
            update_list(self.actor, pid, name, new_name=new_name if new_name != name else None,
                        probability=int(v["probability"]) if v["probability"] != "" else None, kind=v["kind"],
                        aging_days=_days(v["aging_days"]))

        self._form(f"Edit the list “{name}”", self._list_entries(lst), submit,
                   lambda v: f"list {v['name'].strip()} saved", "lists", lambda v: v["name"].strip())

    def action_move(self, offset: int) -> None:
        tab, name = self.tab, self.current()
        if self.schema is None or name is None or tab not in ("lists", "fields"):
            return
        from ...domain.projects import move_field, move_list

        mover = move_list if tab == "lists" else move_field
        self.write(partial(mover, self.actor, self.schema.id, name, offset),
                   f"{tab[:-1]} {name} moved {'up' if offset < 0 else 'down'}", {tab: name})

    # tags

    def _add_tag(self) -> None:
        from ...domain.projects import add_tag

        pid = self.schema.id
        self._form("Add a tag", [Entry("name", "Name", placeholder="e.g. Hot lead")],
                   lambda v: add_tag(self.actor, pid, v["name"]), lambda v: f"tag {v['name'].strip()} added",
                   "tags", lambda v: v["name"].strip())

    # fields

    def _add_field(self) -> None:
        from ...domain.field_types import FIELD_TYPES

        options = [(name, f"{name.replace('_', ' ')} — {TYPE_HELP.get(name, '')}") for name in FIELD_TYPES]

        def chosen(type_name) -> None:
            if type_name:
                self._add_field_of(type_name)

        self.app.push_screen(ChoiceScreen("Add a field — its type", options), chosen)

    def _add_field_of(self, type_name: str) -> None:
        from ...domain.projects import add_field

        schema = self.schema
        entries = [Entry("name", "Name", placeholder="e.g. Budget")]
        hint = ""
        if type_name in ("dropdown", "multi_select"):
            entries.append(Entry("options", "Options", placeholder="comma-separated: Small, Medium, Large"))
        elif type_name == "currency":
            entries.append(Entry("currency", "Currency", value="USD", placeholder="a 3-letter code: USD, EUR"))
        elif type_name == "rating":
            entries.append(Entry("max", "Stars (max)", "number", 5, placeholder="1–10"))
        elif type_name == "reference":
            names = [p["name"] for p in self.projects]
            entries += [Entry("target", "Refers to", "choice", names[0] if names else "", names),
                        Entry("multiple", "Several", "check", False)]
        elif type_name == "file":
            entries.append(Entry("multiple", "Several files", "check", False))
        elif type_name == "lookup":
            refs = [f.name for f in schema.fields if f.type == "reference"]
            if not refs:
                self.notify(f"a lookup reads through a reference field; {schema.name} has none — add one first",
                            severity="warning")
                return
            entries += [Entry("via", "Through", "choice", refs[0], refs),
                        Entry("of", "Field", placeholder="a field of the referenced project, or title")]
        elif type_name == "formula":
            entries.append(Entry("formula", "Formula", placeholder="{Amount} - {Cost}"))
            hint = "fields in braces: " + ", ".join("{" + f.name + "}" for f in schema.fields[:12])
        pid = schema.id

        def submit(v: dict) -> None:
            kwargs: dict = {}
            if "options" in v:
                kwargs["options"] = [o.strip() for o in v["options"].split(",") if o.strip()]
            if "currency" in v:
                kwargs["currency"] = v["currency"]
            if "max" in v:
                kwargs["max_rating"] = v["max"] or None
            if "target" in v:
                kwargs["target"] = v["target"] or None
            if "multiple" in v:
                kwargs["multiple"] = bool(v["multiple"])
            if "via" in v:
                kwargs["via"], kwargs["of"] = v["via"], v["of"].strip()
            if "formula" in v:
                kwargs["formula"] = v["formula"]
            add_field(self.actor, pid, v["name"], type_name, **kwargs)

        self._form(f"Add a {type_name.replace('_', ' ')} field", entries, submit,
                   lambda v: f"field {v['name'].strip()} added", "fields", lambda v: v["name"].strip(), hint=hint)

    def action_hide(self) -> None:
        name = self.current("fields")
        if self.schema is None or self.tab != "fields" or name is None:
            return
        from ...domain.projects import set_field_hidden

        fdef = self.schema.field(name)
        self.write(partial(set_field_hidden, self.actor, self.schema.id, name, not fdef.hidden),
                   f"field {name} {'shown' if fdef.hidden else 'hidden'}", {"fields": name})

    def action_delete(self) -> None:
        tab, name = self.tab, self.current()
        if self.schema is None or name is None or tab not in ("tags", "fields"):
            return
        from ...domain import projects, tag_admin

        if tab == "fields":
            question = f"Delete the field “{name}” and its value in every record?\nThis cannot be undone."
            call = partial(projects.delete_field, self.actor, self.schema.id, name)
        else:
            count = self.tag_counts.get(name, 0)
            question = f"Delete the tag “{name}”?\n{count:,} records lose it."
            call = partial(tag_admin.delete_tag, self.actor, self.schema.id, name)

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(call, f"{tab[:-1]} {name} deleted")

        self.app.push_screen(ConfirmScreen(question, yes="delete"), answered)

    # hidden default fields

    def action_toggle(self) -> None:
        key = self.current("defaults")
        if self.schema is None or self.tab != "defaults" or key is None:
            return
        from ...domain.projects import set_hidden_defaults

        hidden = list(self.schema.hidden_defaults)
        shown = key in hidden
        hidden = [h for h in hidden if h != key] if shown else hidden + [key]
        self.write(partial(set_hidden_defaults, self.actor, self.schema.id, hidden),
                   f"{DEFAULT_LABELS[key]} {'shown' if shown else 'hidden'}", {"defaults": key})

    # projects

    def _add_project(self) -> None:
        from ...domain.projects import add_project

        def submit(v: dict) -> None:
            add_project(self.actor, v["name"])

        def done(result) -> None:
            if result:
                self.app.load_projects()  # the palette lists it
                self.load(f"project {result['name'].strip()} added", {"projects": None})

        def run(values: dict):
            submit(values)
            return values

        self.app.push_screen(FormDialog("Add a project", [Entry("name", "Name", placeholder="e.g. Partners")],
                                        run, hint="it starts with no lists and no fields; "
                                                  "enter on it opens its settings"), done)

    def action_pick_project(self) -> None:
        def chosen(project_id) -> None:
            if project_id is not None:
                self.switch_project(project_id)

        self.app.push_screen(ChoiceScreen("Settings of", [(p["id"], p["name"]) for p in self.projects],
                                          current=self.project_id), chosen)

    def switch_project(self, project_id: int) -> None:
        self.project_id = project_id
        self.load()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        tab = self.tab
        if tab == "defaults":
            self.action_toggle()
        elif tab == "projects":
            project_id = self.current("projects")
            if project_id is not None:
                self.switch_project(project_id)
                self.query_one(TabbedContent).active = "tab-lists"
        else:
            self.action_edit()

    # -- tabs and leaving -----------------------------------------------------------------------

    def action_tab(self, index: int) -> None:
        self.query_one(TabbedContent).active = f"tab-{TABS[index]}"

    def action_next_tab(self) -> None:
        self.action_tab((TABS.index(self.tab) + 1) % len(TABS))

    def action_back(self) -> None:
        self.dismiss(self.changed)


def _days(text) -> int | None:
    return int(text) if str(text).strip() else None


# -- the user's date order ---------------------------------------------------------------------

DATE_ORDER_NAMES = {"YMD": "year first", "DMY": "day first", "MDY": "month first"}
DATE_ORDER_SAMPLE = "03/04/2026"


def read_sample(order: str, text: str = DATE_ORDER_SAMPLE) -> str:
    """How ``text`` typed in a date field reads under ``order``, in words: ``3 April 2026``, or why not."""
    from ...domain.field_types import get_field_type

    try:
        day = get_field_type("date").parse(text, {}, date_order=order)
    except ValueError:
        return "ambiguous: refused"
    return f"{day.day} {day:%B %Y}"


class DateOrderScreen(CrmModal):
    """How a date typed as ``03/04/2026`` is read; dismisses with ``YMD``, ``DMY``, ``MDY`` or ``None``.
    ISO dates (2026-04-03), ``today`` and ``+3d`` read the same in every order."""

    CSS_PATH = [SCREENS_CSS, "settings.tcss"]
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="date_order.cancel"),
        Binding("j", "move(1)", "Down", show=False, id="date_order.down"),
        Binding("k", "move(-1)", "Up", show=False, id="date_order.up"),
    ]

    def __init__(self, current: str) -> None:
        super().__init__()
        from ..settings import DATE_ORDERS

        self.orders = list(DATE_ORDERS)
        self.current = current if current in self.orders else self.orders[0]

    def compose(self):
        with Vertical(classes="dialog date-order-dialog"):
            yield Static("Date order — how a date you type is read", classes="dialog-title")
            yield OptionList(*[Option(self._line(order)) for order in self.orders], id="date-orders")
            yield Static("2026-04-03, today, +3d: the same in every order · saved to your config",
                         classes="form-hint")
            yield Static("[b]enter[/b] use it   [b]escape[/b] cancel", classes="dialog-hint")

    def _line(self, order: str) -> str:
        mark = "●" if order == self.current else " "
        return f"{mark} {order}  {DATE_ORDER_NAMES[order]:<12}{DATE_ORDER_SAMPLE} → {read_sample(order)}"

    def on_mount(self) -> None:
        options = self.query_one("#date-orders", OptionList)
        options.highlighted = self.orders.index(self.current)
        options.focus()

    def action_move(self, step: int) -> None:
        options = self.query_one("#date-orders", OptionList)
        options.highlighted = max(0, min(len(self.orders) - 1, (options.highlighted or 0) + step))

    @on(OptionList.OptionSelected, "#date-orders")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.orders[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


def choose_date_order(app) -> None:
    """Ask for the date order; the choice applies at once (``app.date_order``, read by every date input
    when it is parsed; the open screens' date hints are updated) and is saved in the config file."""
    from .. import settings

    def chosen(order: str | None) -> None:
        if not order:
            return
        app.date_order = order
        for screen in app.screen_stack:
            hook = getattr(screen, "date_order_changed", None)
            if callable(hook):
                hook(order)
        try:
            settings.save_date_order(order)
        except OSError as exc:
            app.notify(f"date order {order} used, but not saved to {settings.config_path()}: "
                       f"{exc.strerror or exc}", severity="error", timeout=8)
            return
        app.notify(f"date order: {order} — {DATE_ORDER_SAMPLE} is {read_sample(order)} (saved)")

    app.push_screen(DateOrderScreen(getattr(app, "date_order", settings.DEFAULT_DATE_ORDER)), chosen)

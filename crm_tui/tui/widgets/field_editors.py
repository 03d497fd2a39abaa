"""One editor per field type, in a labelled row with its error line underneath.

``FieldRow.raw()`` is the value to hand the domain (text as typed, or a Python value for pickers);
``FieldRow.changed`` compares it with what was loaded, so only edited fields are saved.

| editor      | field types                                   | keys                                        |
| ----------- | --------------------------------------------- | ------------------------------------------- |
| Input       | text, email, phone, url, date, file path      | typing                                      |
| NumberInput | number, percent, currency                     | typing; letters are refused as typed        |
| TextArea    | long text, address, description               | typing (tab leaves)                         |
| ChoiceInput | dropdown, list, assignee                      | enter picks (choice.pick), backspace clears |
| SelectionList | multi-select                                | space toggles                               |
| Checkbox    | checkbox                                      | space / enter toggles                       |
| RatingInput | rating                                        | 1–N set, 0 / backspace clear, ← → (rating.less/more) |
| ReferenceInput | reference to one record                    | enter picks (reference.pick), backspace clears |
| ReferenceListInput | reference to several records | ↑↓ j k move, a / enter add, x / delete remove (reference_list.*) |
"""

from __future__ import annotations

from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, SelectionList, Static, TextArea

NUMBER_CHARS = r"[-+0-9.,' $€£¥₹%\u00a0]*"
"""What a number, percent or currency input lets through: digits, signs, separators, symbols."""
DATE_EXAMPLES = {"DMY": "31/12/2026", "MDY": "12/31/2026", "YMD": "2026-12-31"}


class RatingInput(Widget, can_focus=True):
    """Stars ``★★★☆☆``; digit keys set the rating."""

    BINDINGS = [
        Binding("left,minus", "step(-1)", "Fewer stars", show=False, id="rating.less"),
        Binding("right,plus", "step(1)", "More stars", show=False, id="rating.more"),
    ]
    DEFAULT_CSS = """
    RatingInput { height: 1; width: 1fr; padding: 0 1; background: $panel; color: $warning; }
    RatingInput:focus { background: $boost; }
    """

    def __init__(self, value: int | None, top: int = 5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.value = value
        self.top = top

    def render(self) -> Text:
        n = self.value or 0
        hint = f"  {n}/{self.top}" if n else "  (1–{} sets, 0 clears)".format(self.top)
        return Text("★" * n + "☆" * (self.top - n)) + Text(hint, style="dim")

    def _set(self, value: int | None) -> None:
        self.value = value if value else None
        self.refresh()
        self.post_message(FieldRow.Edited(self))

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit():
            n = int(event.character)
            if n == 0 or 1 <= n <= self.top:
                self._set(n)
            event.stop()
        elif event.key in ("backspace", "delete"):
            self._set(None)
            event.stop()

    def action_step(self, step: int) -> None:
        self._set(max(0, min(self.top, (self.value or 0) + step)))


class ChoiceInput(Widget, can_focus=True):
    """One option of a few (dropdown, list, assignee) on one line; enter opens a picker."""

    BINDINGS = [
        Binding("enter,space", "pick", "Choose", id="choice.pick"),
        Binding("backspace,delete", "clear", "Clear", show=False, id="choice.clear"),
    ]
    DEFAULT_CSS = """
    ChoiceInput { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    ChoiceInput:focus { background: $boost; }
    """

    class PickRequested(Message):
        def __init__(self, editor: "ChoiceInput") -> None:
            super().__init__()
            self.editor = editor

    def __init__(self, options: list[str], value: str, *, allow_blank: bool = True, blank: str = "(none)",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.value = value
        self.allow_blank = allow_blank
        self.blank = blank

    def render(self) -> Text:
        text = Text(self.value) if self.value else Text(self.blank, style="dim")
        return text + Text("  ▾", style="dim")

    def choose(self, value: str) -> None:
        if value != self.value:
            self.value = value
            self.refresh()
            self.post_message(FieldRow.Edited(self))

    def action_pick(self) -> None:
        self.post_message(self.PickRequested(self))

    def action_clear(self) -> None:
        if self.allow_blank:
            self.choose("")


class ReferenceInput(Widget, can_focus=True):
    """The referenced record(s) by title; enter opens a type-ahead picker over the target project."""

    BINDINGS = [
        Binding("enter,space", "pick", "Choose", id="reference.pick"),
        Binding("backspace,delete", "clear", "Remove", show=False, id="reference.clear"),
    ]
    DEFAULT_CSS = """
    ReferenceInput { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    ReferenceInput:focus { background: $boost; }
    """

    class PickRequested(Message):
        def __init__(self, editor: "ReferenceInput") -> None:
            super().__init__()
            self.editor = editor

    def __init__(self, items: list[dict], multiple: bool, target: int | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items = list(items)
        self.multiple = multiple
        self.target = target

    def render(self) -> Text:
        if not self.items:
            return Text("(none) — enter to choose", style="dim")
        return Text("; ".join(str(i.get("title") or f"#{i.get('id')}") for i in self.items))

    def add(self, record_id: int, title: str) -> None:
        item = {"id": record_id, "title": title}
        if self.multiple:
            if all(i["id"] != record_id for i in self.items):
                self.items.append(item)
        else:
            self.items = [item]
        self.refresh()
        self.post_message(FieldRow.Edited(self))

    def action_pick(self) -> None:
        self.post_message(self.PickRequested(self))

    def action_clear(self) -> None:
        if self.items:
            self.items.pop()
            self.refresh()
            self.post_message(FieldRow.Edited(self))

    def value(self):
        ids = [i["id"] for i in self.items]
        return ids if self.multiple else (ids[0] if ids else "")


class ReferenceListInput(ReferenceInput, inherit_bindings=False):
    """Several referenced records, one per line, with a cursor: ``a`` / enter adds one with the
    type-ahead picker, ``x`` / delete removes the highlighted one. Saved with the record (ctrl+s)."""

    BINDINGS = [
        Binding("a,enter", "pick", "Add", id="reference_list.add"),
        Binding("x,delete", "remove", "Remove", id="reference_list.remove"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="reference_list.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="reference_list.up"),
    ]
    COMPONENT_CLASSES = {"reference-list--cursor"}
    DEFAULT_CSS = """
    ReferenceListInput { height: auto; width: 1fr; padding: 0 1; background: $panel; }
    ReferenceListInput:focus { background: $boost; }
    ReferenceListInput > .reference-list--cursor {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
        text-style: $block-cursor-text-style;
    }
    """

    def __init__(self, items: list[dict], target: int | None, **kwargs) -> None:
        super().__init__(items, True, target, **kwargs)
        self.cursor = 0

    def render(self) -> Text:
        if not self.items:
            return Text("(none) — a adds one", style="dim")
        cursor_style = self.get_component_rich_style("reference-list--cursor") if self.has_focus else None
        lines = []
        for index, item in enumerate(self.items):
            title = str(item.get("title") or f"#{item.get('id')}")
            here = index == self.cursor and self.has_focus
            lines.append(Text(("▸ " if here else "  ") + title, style=cursor_style if here else "",
                              no_wrap=True, overflow="ellipsis"))
        return Text("\n").join(lines)

    def _changed(self) -> None:
        self.cursor = max(0, min(self.cursor, len(self.items) - 1))
        self.clear_cached_dimensions()  # one line per record: the height follows the count
        self.refresh(layout=True)
        self.call_after_refresh(self.scroll_visible, animate=False)  # the grown list stays in view
        self.post_message(FieldRow.Edited(self))

    def add(self, record_id: int, title: str) -> None:
        index = next((i for i, item in enumerate(self.items) if item["id"] == record_id), None)
        if index is None:
            self.items.append({"id": record_id, "title": title})
            index = len(self.items) - 1
        self.cursor = index
        self._changed()

    def action_remove(self) -> None:
        if self.items:
            del self.items[self.cursor]
            self._changed()

    def action_cursor(self, step: int) -> None:
        target = self.cursor + step
        if not 0 <= target < len(self.items):
            raise SkipAction()  # past either end: the form scrolls as usual
        self.cursor = target
        self.refresh()
        self.scroll_visible(animate=False)

    def on_click(self, event) -> None:
        if 0 <= event.y < len(self.items):
            self.cursor = event.y
            self.refresh()

    def on_focus(self) -> None:
        self.refresh()  # the cursor shows only while the list has the focus

    def on_blur(self) -> None:
        self.refresh()


def _input(value: str, placeholder: str = "", restrict: str | None = None, **kwargs) -> Input:
    widget = Input(value=value, placeholder=placeholder, restrict=restrict, **kwargs)
    widget.cursor_blink = False
    return widget


class NumberInput(Input):
    """The one input for number, percent and currency fields: what may be typed (``NUMBER_CHARS`` —
    letters are refused as they are typed) and the hint, by type. Whether the text is a valid value is
    the domain field type's call when the record is saved, as for every field."""

    def __init__(self, value: str, type_name: str = "number", config: dict | None = None, **kwargs) -> None:
        super().__init__(value=value, placeholder=number_hint(type_name, config or {}), restrict=NUMBER_CHARS,
                         **kwargs)
        self.cursor_blink = False
        self.type_name = type_name


def number_hint(type_name: str, config: dict) -> str:
    """``amount in EUR`` / ``e.g. 12.5%`` / ``a number``."""
    if type_name == "currency":
        return f"amount in {config.get('currency', 'USD')}"
    return "e.g. 12.5%" if type_name == "percent" else "a number"


def date_hint(date_order: str) -> str:
    """The placeholder of a date input under ``date_order``: ``31/12/2026, today, +3d`` for DMY."""
    return f"{DATE_EXAMPLES.get(date_order, DATE_EXAMPLES['YMD'])}, today, +3d"


def _area(value: str) -> TextArea:
    widget = TextArea(value, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
    widget.cursor_blink = False
    return widget


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("title") or value.get("name") or value.get("error") or "")
    return str(value)


class FieldRow(Widget):
    """``Label  editor`` and, when there is one, the error underneath. ``key`` is ``title``, ``list``,
    ``tags``, ``assignee``, ``due_date``, ``description`` or a custom field id."""

    DEFAULT_CSS = """
    FieldRow {
        layout: grid;
        grid-size: 2;
        grid-columns: 18 1fr;
        grid-rows: auto;
        height: auto;
    }
    FieldRow > .field-error { column-span: 2; }
    """

    class Edited(Message):
        """A picker-style editor changed its value."""

        def __init__(self, editor) -> None:
            super().__init__()
            self.editor = editor

    def __init__(self, key, label: str, editor: Widget, initial, *, kind: str = "input", fdef=None) -> None:
        super().__init__(classes="field-row")
        self.key = key
        self.label = label
        self.editor = editor
        self.kind = kind
        self.fdef = fdef
        self.initial = initial
        self.error = ""
        editor.add_class("field-editor")

    def compose(self):
        yield Label(self.label, classes="field-label")
        yield self.editor

    def raw(self):
        editor = self.editor
        if isinstance(editor, Input):
            return editor.value
        if isinstance(editor, TextArea):
            return editor.text
        if isinstance(editor, ChoiceInput):
            return editor.value
        if isinstance(editor, SelectionList):
            return list(editor.selected)
        if isinstance(editor, Checkbox):
            return editor.value
        if isinstance(editor, RatingInput):
            return editor.value
        if isinstance(editor, ReferenceInput):
            return editor.value()
        return self.initial

    @property
    def changed(self) -> bool:
        if self.kind == "readonly":
            return False
        return self.raw() != self.initial

    def set_error(self, text: str) -> None:
        """Show ``text`` under the field (the line is only mounted while there is an error)."""
        if text == self.error:
            return
        self.error = text
        shown = self.query(".field-error")
        if text and shown:
            shown.first(Static).update(text)
        elif text:
            self.mount(Static(text, classes="field-error"))
        else:
            shown.remove()


def editor_for(fdef, value, *, date_order: str = "YMD") -> tuple[Widget, object, str]:
    """(editor widget, the raw value it starts with, kind) for a custom field and its JSON value."""
    t = fdef.type
    cfg = fdef.config
    if fdef.computed:
        return Static(_text(value) or "—", classes="readonly"), _text(value), "readonly"
    if t in ("long_text", "address"):
        text = _text(value)
        return _area(text), text, "area"
    if t in ("number", "percent", "currency"):
        text = _text(value)
        return NumberInput(text, t, cfg), text, "input"
    if t == "date":
        text = _text(value)
        return _input(text, date_hint(date_order), classes="date-input"), text, "input"
    if t == "dropdown":
        options = _options(cfg)
        current = value if value in options else ""
        return ChoiceInput(options, current), current, "choice"
    if t == "multi_select":
        chosen = list(value or [])
        widget = SelectionList(*[(o, o, o in chosen) for o in map(str, _options(cfg))])
        return widget, [o for o in map(str, _options(cfg)) if o in chosen], "selection"
    if t == "checkbox":
        return Checkbox("", bool(value), compact=True), bool(value), "checkbox"
    if t == "rating":
        top = int(cfg.get("max") or 5)
        return RatingInput(int(value) if value else None, top), int(value) if value else None, "rating"
    if t == "reference":
        items = [i for i in (value if isinstance(value, list) else [value]) if isinstance(i, dict)]
        widget = (ReferenceListInput(items, cfg.get("target")) if cfg.get("multiple")
                  else ReferenceInput(items, False, cfg.get("target")))
        return widget, widget.value(), "reference"
    if t == "file":
        names = _text(value)
        return _input("", f"{names} — type a path to attach" if names else "path of a file to attach"), "", "file"
    placeholder = {"email": "name@example.com", "phone": "+44 20 7946 0000", "url": "https://…"}.get(t, "")
    text = _text(value)
    return _input(text, placeholder), text, "input"


def _options(config: dict) -> list[str]:
    out = []
    for option in config.get("options") or []:
        if isinstance(option, dict):
            option = option.get("label") or option.get("name")
        if option:
            out.append(str(option))
    return out

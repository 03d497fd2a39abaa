"""One editor per field type, in a labelled row with its error line underneath.

``FieldRow.raw()`` is the value to hand the domain (text as typed, or a Python value for pickers);
``FieldRow.changed`` compares it with what was loaded, so only edited fields are saved.

| editor      | field types                                   | keys                                        |
| ----------- | --------------------------------------------- | ------------------------------------------- |
| Input       | text, email, phone, url, date, file path      | typing; numbers refuse letters              |
| TextArea    | long text, address, description               | typing (tab leaves)                         |
| ChoiceInput | dropdown, list, assignee                      | enter picks (choice.pick), backspace clears |
| SelectionList | multi-select                                | space toggles                               |
| Checkbox    | checkbox                                      | space / enter toggles                       |
| RatingInput | rating                                        | 1–N set, 0 / backspace clear, ← → (rating.less/more) |
| ReferenceInput | reference                                  | enter picks (reference.pick), backspace removes (reference.clear) |
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, SelectionList, Static, TextArea

NUMBER_CHARS = r"[-+0-9.,' $€£¥₹%\u00a0]*"


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


def _input(value: str, placeholder: str = "", restrict: str | None = None, **kwargs) -> Input:
    widget = Input(value=value, placeholder=placeholder, restrict=restrict, **kwargs)
    widget.cursor_blink = False
    return widget


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
        hint = {"currency": f"amount in {cfg.get('currency', 'USD')}", "percent": "e.g. 12.5%"}.get(t, "a number")
        return _input(text, hint, NUMBER_CHARS), text, "input"
    if t == "date":
        text = _text(value)
        example = {"DMY": "31/12/2026", "MDY": "12/31/2026"}.get(date_order, "2026-12-31")
        return _input(text, f"{example}, today, +3d"), text, "input"
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
        items = value if isinstance(value, list) else ([value] if value else [])
        widget = ReferenceInput(items, bool(cfg.get("multiple")), cfg.get("target"))
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

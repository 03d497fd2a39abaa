"""``?``: every key of the screen underneath, with its binding id (what the ``[keys]`` table of the
config file remaps).

| key              | action | binding id  |
| ---------------- | ------ | ----------- |
| escape / ? / q   | close  | help.close  |
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..cells import fit

from .base import CrmModal


def binding_rows(screen) -> list[tuple[str, str, str]]:
    """(keys, description, id) of the bindings active on ``screen``, one row per action."""
    app = screen.app
    rows: dict[tuple, list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system and not binding.id:
            continue
        ident = (binding.id or "", binding.action, binding.description)
        rows.setdefault(ident, []).append(app.get_key_display(binding) if binding.key_display is None
                                         else binding.key_display)
    out = []
    for (binding_id, action, description), keys in rows.items():
        out.append((" ".join(dict.fromkeys(keys)), description or action, binding_id))
    return out


class HelpScreen(CrmModal):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, target) -> None:
        super().__init__()
        self.target = target

    def compose(self):
        rows = binding_rows(self.target)
        key_width = max([cell_len(k) for k, _, _ in rows] + [3]) + 2
        lines = [Text.assemble((fit("key", key_width), "bold"), ("does", "bold"))]
        for keys, description, binding_id in rows:
            # three style runs a line: a rich Table here cost ~50 KB per opening at 80x24
            lines.append(Text.assemble((fit(keys, key_width), "bold"), fit(description, 30), " ",
                                       (binding_id or "—", "dim")))
        with Vertical(classes="dialog help-dialog"):
            yield Static(f"Keys — {getattr(self.target, 'help_title', type(self.target).__name__)}"
                         "   (ids remap in the [keys] table of config.toml)", classes="dialog-title", markup=False)
            yield OptionList(*[Option(line) for line in lines], id="help-list")
            yield Static("escape closes · ctrl+p lists every command", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#help-list", OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)

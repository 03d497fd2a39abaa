"""Export a project to CSV: a small dialog asks where (default ``~/<project>.csv``), then
``crm_tui.domain.csv_export`` writes the file in a thread worker — the same code as ``crm-tui export``.

>>> app.push_screen(ExportDialog("Clients"), chosen)     # dismissed with (Path, bom) or None
>>> count = write_export(actor, "Clients", Path("~/Clients.csv").expanduser(), bom=True)

| key      | action                                       | binding id     |
| -------- | -------------------------------------------- | -------------- |
| enter    | export (asks again before replacing a file)   | (Input)        |
| escape   | cancel                                       | export.cancel  |
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Static

from ...errors import CrmError
from .base import CrmModal
from .import_wizard import PathSuggester


def default_export_path(project: str) -> str:
    """``~/<project>.csv``, with characters a file name cannot hold replaced."""
    safe = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in project).strip() or "export"
    return f"~/{safe}.csv"


def export_target(text: str, project: str) -> Path:
    """The file to write for what the user typed: ``~`` expanded, a folder gets ``<project>.csv``."""
    path = Path(os.path.expanduser(text.strip() or default_export_path(project)))
    if path.is_dir():
        path = path / Path(os.path.expanduser(default_export_path(project))).name
    return path


def write_export(actor, project: str, path: Path, *, bom: bool = False) -> int:
    """Write the project's records to ``path`` (through a temporary file beside it, so a failure never
    leaves half a file); returns how many records were written. Call inside a db session."""
    from ...domain.csv_export import export_records

    if not path.parent.is_dir():
        raise CrmError(f"export: the folder {str(path.parent)!r} does not exist; give a path in an existing "
                       "folder")
    partial = path.with_name(f".{path.name}.part")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as fh:
            count = export_records(actor, project, fh, bom=bom)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CrmError(f"export: cannot write {str(path)!r}: {exc.strerror or exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count


class ExportDialog(CrmModal):
    """Where to write the CSV export of ``project``; dismissed with ``(path, bom)`` or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, project: str, path: str | None = None) -> None:
        super().__init__()
        self.project = project
        self.initial_path = path or default_export_path(project)
        self._confirmed: Path | None = None

    def compose(self):
        with Vertical(classes="dialog"):
            yield Static(f"Export {self.project} to CSV", classes="dialog-title", markup=False)
            box = Input(value=self.initial_path, id="export-path", placeholder=default_export_path(self.project),
                        suggester=PathSuggester())
            box.cursor_blink = False
            yield box
            yield Checkbox("UTF-8 BOM (for Excel)", id="export-bom", compact=True)
            yield Static("", id="export-error", classes="dialog-error", markup=False)
            yield Static("[b]enter[/b] export   [b]escape[/b] cancel   every field you may see, "
                         "references as titles", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        self._confirmed = None
        self.query_one("#export-error", Static).update("")

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path = export_target(event.value, self.project)
        error = self.query_one("#export-error", Static)
        if not path.parent.is_dir():
            error.update(f"no folder {path.parent}")
            return
        if path.exists() and self._confirmed != path:
            self._confirmed = path
            error.update(f"{path} exists: enter again to replace it")
            return
        self.dismiss((path, self.query_one("#export-bom", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)

"""The CSV import wizard: file → column mapping → preview with every bad cell marked → import.

    self.app.push_screen(ImportWizard("Clients"), callback)   # dismissed with the ImportReport or None

Every step runs ``crm_tui.domain.csv_import`` (the same code as ``crm-tui import``) in a thread worker:
reading the header, a dry run for the preview, then the import itself with a progress bar. Nothing is
written before the last step, and that step is one transaction. In the app's low-bandwidth mode the bar
moves at most once a second (``ProgressThrottle``); the end always shows at once.

| key          | action                              | binding id      |
| ------------ | ----------------------------------- | --------------- |
| ctrl+n       | next step (check, then import)      | import.next     |
| escape       | previous step, or close             | import.back     |
| → (in path)  | accept the completed path           | (Input)         |
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import (Button, Checkbox, ContentSwitcher, DataTable, Input, Label, ProgressBar, Select,
                             Static)

from ..dbwork import cancelled, db_session
from .base import CrmScreen

IGNORE = "__ignore__"
PREVIEW_ROWS = 100
STEPS = ("file", "mapping", "preview", "run")
LOW_BANDWIDTH_PROGRESS_SECONDS = 1.0


class ProgressThrottle:
    """At most one progress update per ``interval`` seconds: the first goes out at once, the ones that
    come sooner wait for the interval to end, and only the newest of them is shown then.

    >>> now = [10.0]
    >>> throttle = ProgressThrottle(1.0, clock=lambda: now[0])
    >>> throttle.wait(), throttle.shown(), throttle.wait()   # 0: show it now (then shown())
    (0.0, None, 1.0)
    """

    def __init__(self, interval: float, clock=time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.last: float | None = None

    def wait(self) -> float:
        """Seconds until the next update may be shown (0: now)."""
        if self.last is None or self.interval <= 0:
            return 0.0
        return max(0.0, self.last + self.interval - self.clock())

    def shown(self) -> None:
        self.last = self.clock()


class PathSuggester(Suggester):
    """Completes a file path from the directory listing (case-sensitive, directories end with /)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, prefix = os.path.split(expanded)
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            return None
        for name in names:
            if name == prefix or not name.startswith(prefix):
                continue
            if name.startswith(".") and not prefix.startswith("."):
                continue  # hidden files only when asked for
            slash = "/" if os.path.isdir(os.path.join(folder or ".", name)) else ""
            return value + name[len(prefix):] + slash
        return None


class HeaderRead(Message):
    def __init__(self, header, rows, columns, ignored, fmt) -> None:
        super().__init__()
        self.header, self.rows, self.columns, self.ignored, self.fmt = header, rows, columns, ignored, fmt


class PreviewChecked(Message):
    def __init__(self, report) -> None:
        super().__init__()
        self.report = report


class ImportProgressed(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total


class ImportFinished(Message):
    def __init__(self, report) -> None:
        super().__init__()
        self.report = report


class ImportWizard(CrmScreen):
    """Import a CSV file into ``project`` (a name or id)."""

    BINDINGS = CrmScreen.BINDINGS + [
        Binding("ctrl+n", "next", "Next", id="import.next"),
        Binding("escape", "back", "Back", id="import.back"),
    ]
    DEFAULT_CSS = """
    ImportWizard { padding: 0 1; layout: vertical; }
    ImportWizard #steps { height: 1fr; }
    ImportWizard #file, ImportWizard #mapping, ImportWizard #preview, ImportWizard #run { height: 1fr; }
    ImportWizard #file, ImportWizard #map-rows { overflow-y: auto; }
    ImportWizard #map-rows { height: 1fr; }
    ImportWizard .wizard-title { text-style: bold; padding: 0 0 1 0; }
    ImportWizard .map-row { height: 3; }
    ImportWizard .map-row Label { width: 30; padding: 1 1 0 0; }
    ImportWizard .map-row Select { width: 1fr; }
    ImportWizard .error { color: $error; }
    ImportWizard #preview { height: 1fr; }
    ImportWizard #issues { height: 12; }
    ImportWizard Input { width: 1fr; }
    """

    def __init__(self, project, path: str | None = None) -> None:
        super().__init__()
        self.project = project
        self.initial_path = path or ""
        self.step = "file"
        self.header: list[str] = []
        self.sample: list[tuple[int, list[str]]] = []
        self.report = None
        self.result = None
        self._progress: tuple[int, int] | None = None  # the newest (done, total) not shown yet
        self._progress_timer = None
        self.progress_throttle = ProgressThrottle(0.0)

    # -- layout ------------------------------------------------------------------------------------
    def compose(self):
        yield Static(f"Import CSV into {self.project}", classes="wizard-title", id="title")
        with ContentSwitcher(initial="file", id="steps"):
            with Vertical(id="file"):
                yield Label("CSV file (→ completes the path)")
                path = Input(value=self.initial_path, placeholder="~/Downloads/clients.csv", id="path",
                             suggester=PathSuggester())
                path.cursor_blink = False  # a blinking cursor repaints twice a second while idle
                yield path
                with Horizontal(classes="map-row"):
                    yield Label("Dates like 05/03/2026 are")
                    yield Select([("day/month/year (DMY)", "DMY"), ("month/day/year (MDY)", "MDY"),
                                  ("ISO or unambiguous only", "YMD")], value="YMD", allow_blank=False,
                                 id="date-order")
                with Horizontal(classes="map-row"):
                    yield Label("Update records by key field")
                    key = Input(placeholder="(none: always add) e.g. Email or title", id="key")
                    key.cursor_blink = False
                    yield key
                yield Checkbox("Add missing dropdown options", id="create-options")
                yield Checkbox("Import the good rows, write the bad ones to a file", id="skip-bad")
                yield Static("", id="file-error", classes="error")
                yield Button("Next: map columns", id="to-mapping", variant="primary")
            with Vertical(id="mapping"):
                yield Label("Columns → fields (matched by name; change any)")
                yield VerticalScroll(id="map-rows")
                yield Button("Next: preview", id="to-preview", variant="primary")
            with Vertical(id="preview"):
                yield Static("", id="preview-summary")
                yield DataTable(id="preview-table", zebra_stripes=True, cursor_type="cell")
                yield DataTable(id="issues", cursor_type="row")
                yield Button("Import", id="to-run", variant="primary")
            with Vertical(id="run"):
                yield Static("Importing…", id="run-status")
                # a total from the start: without one the bar runs its 15-a-second "indeterminate" timer
                yield ProgressBar(total=1, id="progress", show_eta=False)
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    # -- navigation --------------------------------------------------------------------------------
    def _show(self, step: str) -> None:
        self.step = step
        self.query_one("#steps", ContentSwitcher).current = step

    def action_back(self) -> None:
        index = STEPS.index(self.step)
        if self.step == "run":
            if self.result is not None:
                self.dismiss(self.result)
            return  # the import is running: it cannot be taken back half-way
        if index == 0:
            self.dismiss(None)
        else:
            self._show(STEPS[index - 1])

    def action_next(self) -> None:
        if self.step == "file":
            self._read_header()
        elif self.step == "mapping":
            self._check()
        elif self.step == "preview":
            self._run()
        elif self.result is not None:
            self.dismiss(self.result)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(self.result)
        else:
            self.action_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.step == "file":
            self._read_header()

    # -- options -----------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return Path(os.path.expanduser(self.query_one("#path", Input).value.strip()))

    def options(self) -> dict:
        skip_bad = self.query_one("#skip-bad", Checkbox).value
        rejects = None
        if skip_bad:
            folder = self.path.parent if os.access(self.path.parent, os.W_OK) else Path.cwd()
            rejects = folder / f"{self.path.stem}.rejects.csv"
        return {
            "mapping": self.mapping(),
            "key": self.query_one("#key", Input).value.strip() or None,
            "date_order": self.query_one("#date-order", Select).value,
            "create_options": self.query_one("#create-options", Checkbox).value,
            "skip_bad": skip_bad,
            "rejects": rejects,
        }

    def mapping(self) -> dict[str, str]:
        out = {}
        for index, header in enumerate(self.header):
            if not header:
                continue
            try:
                value = self.query_one(f"#map-{index}", Select).value
            except Exception:
                continue
            out[header] = "" if value in (IGNORE, Select.BLANK) else str(value)
        return out

    # -- step 1: the header ------------------------------------------------------------------------
    def _read_header(self) -> None:
        self.query_one("#file-error", Static).update("")
        path = self.path
        if not path.is_file():
            self.query_one("#file-error", Static).update(f"no such file: {path}")
            return
        self.read_header(path)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def read_header(self, path: Path) -> None:
        from ...domain.csv_import import CsvReader, plan_mapping
        from ...domain.project_schema import load_schema

        with db_session():
            schema = load_schema(self.project)
            with CsvReader(path) as reader:
                rows = []
                for line, cells in reader:
                    rows.append((line, cells))
                    if len(rows) >= PREVIEW_ROWS:
                        break
                header, fmt = reader.header, reader.format
            columns, ignored = plan_mapping(schema, header)
            targets = [("(ignore)", IGNORE), ("title", "title"), ("list", "list"), ("tags", "tags"),
                       ("assignee", "assignee"), ("description", "description"), ("due_date", "due_date")]
            targets += [(f"{f.name}  ({f.type})", f.name) for f in schema.fields
                        if not f.computed and f.type != "file"]
        if not cancelled():
            self.post_message(HeaderRead(header, rows, ({c.header: c.target_name for c in columns}, targets),
                                         ignored, fmt))

    def on_header_read(self, message: HeaderRead) -> None:
        if not message.header:
            self.query_one("#file-error", Static).update("the file is empty")
            return
        self.header, self.sample = message.header, message.rows
        auto, targets = message.columns
        box = self.query_one("#map-rows", VerticalScroll)
        box.remove_children()
        rows = []
        for index, header in enumerate(self.header):
            if not header:
                continue
            value = auto.get(header, IGNORE)
            rows.append(Horizontal(Label(header), Select(targets, value=value, allow_blank=False, id=f"map-{index}"),
                                   classes="map-row"))
        box.mount_all(rows)
        self.query_one("#title", Static).update(
            f"Import {self.path.name} into {self.project} · {message.fmt.encoding}, "
            f"delimiter {message.fmt.delimiter!r}")
        self._show("mapping")

    # -- step 2 → 3: dry run -----------------------------------------------------------------------
    def _check(self) -> None:
        self.query_one("#preview-summary", Static).update("checking every row…")
        self._show("preview")
        self.dry_run(self.path, self.options())

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def dry_run(self, path: Path, options: dict) -> None:
        from ...domain.csv_import import import_csv

        options = dict(options, dry_run=True)
        with db_session():
            report = import_csv(self.app.actor, self.project, path, **options)
        if not cancelled():
            self.post_message(PreviewChecked(report))

    def worker_failed(self, error: BaseException | None) -> None:
        if self.step in ("mapping", "preview"):
            self._show("mapping")
        elif self.step == "file":
            self.query_one("#file-error", Static).update(str(error))
        super().worker_failed(error)

    def on_preview_checked(self, message: PreviewChecked) -> None:
        report = self.report = message.report
        bad = {(i.line, i.column) for i in report.issues}
        bad_lines = set(report.bad_lines)
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        table.add_columns("line", *[h or "(blank)" for h in self.header])
        from rich.text import Text

        for line, cells in self.sample:
            cells = list(cells) + [""] * (len(self.header) - len(cells))
            row = [Text(str(line), style="bold red" if line in bad_lines else "")]
            for header, cell in zip(self.header, cells):
                mark = (line, header) in bad
                row.append(Text(("✗ " if mark else "") + cell.replace("\n", "⏎"), style="reverse red" if mark else ""))
            table.add_row(*row)
        issues = self.query_one("#issues", DataTable)
        issues.clear(columns=True)
        issues.add_columns("line", "column", "value", "why")
        for i in report.issues:
            issues.add_row(str(i.line), i.column or "(row)", i.value, i.reason)
        what = (f"{report.rows:,} rows: {report.created:,} to create, {report.updated:,} to update")
        if report.issues:
            n = len(report.bad_lines)
            what += f"; {n:,} row{'s have' if n != 1 else ' has'} problems (marked ✗)"
            what += (" and will be written to a rejects file" if self.options()["skip_bad"] else
                     " — fix them, or tick “import the good rows” on the first step")
        if report.created_options:
            what += "; new options: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in report.created_options.items())
        self.query_one("#preview-summary", Static).update(what)
        self.query_one("#to-run", Button).disabled = bool(report.issues) and not self.options()["skip_bad"]

    # -- step 4: the import ------------------------------------------------------------------------
    def _run(self) -> None:
        if self.report is None or (self.report.issues and not self.options()["skip_bad"]):
            return
        self._show("run")
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(1, self.report.rows), progress=0)
        interval = LOW_BANDWIDTH_PROGRESS_SECONDS if getattr(self.app, "low_bandwidth", False) else 0.0
        self.progress_throttle = ProgressThrottle(interval)
        self.progress_throttle.shown()
        self.import_file(self.path, self.options(), self.report.rows)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def import_file(self, path: Path, options: dict, rows: int) -> None:
        from ...domain.csv_import import import_csv

        def progress(phase: str, done: int, total: int) -> None:
            # one pass: rows checked and written so far, of the rows the preview counted
            self.post_message(ImportProgressed(min(done, rows), rows))

        with db_session():
            report = import_csv(self.app.actor, self.project, path, progress=progress, **options)
        self.post_message(ImportFinished(report))

    def on_import_progressed(self, message: ImportProgressed) -> None:
        self._progress = (message.done, message.total)
        if self._progress_timer is not None:
            return  # an update is due already: it shows this newer figure
        wait = self.progress_throttle.wait()
        if wait > 0:
            self._progress_timer = self.set_timer(wait, self._show_progress)
        else:
            self._show_progress()

    def _show_progress(self) -> None:
        self._progress_timer = None
        if self._progress is None or self.result is not None:
            return
        done, total = self._progress
        self._progress = None
        self.query_one("#progress", ProgressBar).update(total=max(1, total), progress=done)
        self.progress_throttle.shown()

    def on_import_finished(self, message: ImportFinished) -> None:
        report = self.result = message.report
        if self._progress_timer is not None:
            self._progress_timer.stop()
            self._progress_timer = None
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=1, progress=1)
        text = f"Imported: {report.created:,} created, {report.updated:,} updated"
        if report.unchanged:
            text += f", {report.unchanged:,} unchanged"
        if report.rejected:
            text += f"; {report.rejected:,} rejected rows written to {report.rejects_file}"
        self.query_one("#run-status", Static).update(text)
        self.query_one("#close", Button).focus()

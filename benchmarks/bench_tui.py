"""Benchmark: the TUI on the wire and on the clock — bytes the real ``crm-tui`` writes to its terminal
per action, and how long its screens take — measured from outside with ``ptybytes.py``. Prints a
markdown table and saves every raw number as JSON.

    python benchmarks/bench_tui.py                    # everything (~6 min; the first run builds 100k: ~1 min)
    python benchmarks/bench_tui.py --rounds 3         # fewer timing rounds
    python benchmarks/bench_tui.py --only wire,capture
    python benchmarks/bench_tui.py --only lowbw            # normal vs --low-bandwidth (~2 min)

What is measured (issue 3 §6, issue 4 §3):

- ``wire``: on the default demo (300 deals, ~100 clients) at 80×24 — first paint (the Clients table),
  bytes per cursor move in the table, idle bytes over 5 s on the table (``--settle 5``, before any key)
  and on the record screen; then a second run that opens the Opportunities board from the palette:
  bytes per cursor move on the board, per screen switch (``v``: board → table → board …), per card move
  (``L`` = shift+right), and idle bytes on the board. Bytes are deterministic; one run each.
- ``first_paint``: spawn → last byte of the first paint of ``crm-tui`` on a 100,000-deal demo (33,333
  clients in the first table) against a bare Textual app that paints one label; rounds interleaved,
  medians, one warm-up run of each first. ``crm-tui`` on the 300-deal demo is shown beside it, so the
  share of the data size is visible. Both run from a venv installed the way README's first command
  does (``pip install .``: compiled ``.pyc`` files, no PostgreSQL driver), built once per version of
  the sources in ``results/tui/user-venv-*``: an editable install under ``PYTHONDONTWRITEBYTECODE``
  compiles every module of ours on every start, and importing psycopg2 (peewee does when it is
  there) costs a SQLite user nothing they would pay. ``--dev-venv`` measures this venv instead.
- ``board``: opening the Opportunities board (palette → enter, to the last byte of its paint) and
  moving a card (``L``, to the last byte of the repaint) on 100-deal and 10,000-deal demos; interleaved
  rounds on fresh copies, medians. The moves are checked in the database (``moved`` events).
- ``capture``: the board of the default demo at 100×16 as text (tmux ``capture-pane``) into
  ``results/board_capture.txt``, for the README.
- ``lowbw``: the default demo at 80×24, normal vs ``--low-bandwidth``, runs interleaved, medians: first
  paint; 20 ``down`` keys sent in one write (a burst) and at 30 a second (key repeat), from the top of
  the Clients table; the palette opened and "Opportu" typed one key at a time (each settled) and at 10
  keys a second; a window switch (focus out, then in) and a mouse sweep over the table and the key
  hints (40 cells each), sent only when the app asked the terminal for such reports, as a terminal
  does — the bytes the terminal would send up are counted too; idle 5 s. ptybytes sends one key at a
  time, so these runs drive its ``Session`` (imported from ptybytes.py) from here.

Demo databases are what ``crm-tui demo --no-tui --size N --seed 1 --user alice`` builds; they are cached
in ``benchmarks/results/tui/`` under a name carrying generate.py's fingerprint of the modules that shape
the data, so a change to them rebuilds. Runs that write (card moves) use a scratch copy. Results go to
``benchmarks/results/tui-<time>.json`` and ``benchmarks/results/tui-latest.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import generate  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)

RESULTS = ROOT / "results"
DATA = RESULTS / "tui"
PTYBYTES = Path(__file__).resolve().parents[1].parent / "shared/tools/ptybytes.py"
CRM_TUI = Path(sys.executable).parent / "crm-tui"
USER = "alice"
SEED = 1

PALETTE_TO_BOARD = ["ctrl+p", *"Opportu", "enter"]  # the first hit is "Open Opportunities" (its board)
BARE_APP = '''\
from textual.app import App
from textual.widgets import Label


class Bare(App):
    def compose(self):
        yield Label("bare textual app: one label")


Bare().run()
'''

log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731


# ---------------------------------------------------------------------------------------------
# data and processes


def demo_db(size: int) -> Path:
    """The cached demo database of ``size`` deals (built with the CLI on first use)."""
    DATA.mkdir(parents=True, exist_ok=True)
    stem = f"demo_n{size}_s{SEED}_"
    path = DATA / f"{stem}{generate.fingerprint()}.db"
    if path.exists():
        return path
    for old in DATA.glob(f"{stem}*.db"):  # built from other versions of demo/template/models
        old.unlink()
    partial = DATA / f".building-{uuid.uuid4().hex[:8]}.db"
    log(f"building the {size:,}-deal demo: crm-tui demo --no-tui --size {size} …")
    started = time.perf_counter()
    try:
        subprocess.run([str(CRM_TUI), "demo", "--no-tui", "--size", str(size), "--seed", str(SEED),
                        "--db", f"sqlite:///{partial}", "--user", USER],
                       env=app_env(DATA), check=True, capture_output=True, text=True)
        partial.rename(path)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
    log(f"    built in {time.perf_counter() - started:.1f} s")
    return path


def user_venv() -> Path:
    """A venv with crm-tui installed as README's first command does (``pip install .``), cached per
    version of pyproject.toml and the package's files; returns its ``bin`` folder."""
    repo = ROOT.parent
    digest = hashlib.sha256((repo / "pyproject.toml").read_bytes())
    for path in sorted((repo / "crm_tui").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(repo)).encode())
            digest.update(path.read_bytes())
    venv = DATA / f"user-venv-{digest.hexdigest()[:10]}"
    bin_dir = venv / "bin"
    if (bin_dir / "crm-tui").exists():
        return bin_dir
    for old in DATA.glob("user-venv-*"):
        shutil.rmtree(old, ignore_errors=True)
    log(f"installing crm-tui into {venv} (pip install ., as a user does) …")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(repo)], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    return bin_dir


def scratch(path: Path, into: Path) -> Path:
    copy = into / f"scratch-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(path, copy)
    return copy


def app_env(tmp: Path) -> dict[str, str]:
    """The app's environment: no config, data dir or colour choice of the person running this."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_TUI_") and k not in ("NO_COLOR", "TMUX")}
    env.update({"CRM_TUI_CONFIG": str(tmp / "config.toml"), "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
                "XDG_DATA_HOME": str(tmp / "xdg-data")})
    return env


def crm_cmd(db: Path, bin_dir: Path | None = None) -> list[str]:
    script = bin_dir / "crm-tui" if bin_dir else CRM_TUI
    return [str(script), "--db", f"sqlite:///{db}", "--user", USER]


def ptybytes(cmd: list[str], env: dict[str, str], *, keys: list[str] = (), size: str = "80x24",
             idle: float = 0, settle: float = 0, wait_for: str | None = None, quiet_ms: int = 300) -> dict:
    """One ``ptybytes.py`` run (its JSON)."""
    args = [sys.executable, str(PTYBYTES), "--size", size, "--idle", str(idle), "--quiet-ms", str(quiet_ms)]
    if keys:
        args += ["--keys", ",".join(keys)]
    if settle:
        args += ["--settle", str(settle)]
    if wait_for:
        args += ["--wait-for", wait_for]
    result = subprocess.run([*args, "--", *cmd], env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"ptybytes failed ({result.returncode}): {result.stderr.strip()}")
    out = json.loads(result.stdout)
    if wait_for and not out.get("wait_for_seen"):
        raise RuntimeError(f"{wait_for!r} never appeared: {' '.join(cmd)}")
    return out


def moved_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM event WHERE kind = 'moved'").fetchone()[0]


def clients_header(db: Path) -> str:
    """The text the Clients table's header shows once its rows are read: ``33,333 records``."""
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM record r JOIN project p ON p.id = r.project_id "
                                "WHERE p.name = 'Clients' AND NOT r.archived").fetchone()
    return f"{count:,} records"


def median(values) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------------------------------------
# the measurements


def measure_wire(tmp: Path) -> dict:
    """Bytes per action at 80×24 on the default (300-deal) demo."""
    db = demo_db(300)
    env = app_env(tmp)
    ready = clients_header(db)
    table_moves = 5
    log("wire: table (first paint, cursor moves, idle 5 s, record open, idle 5 s) …")
    table = ptybytes(crm_cmd(db), env, keys=["down"] * table_moves + ["enter"], settle=5, idle=5, wait_for=ready)

    copy = scratch(db, tmp)
    before = moved_events(copy)
    board_moves = ["down", "down", "right", "right", "up", "left"]
    switches = ["v", "v", "v", "v"]
    card_moves = ["L", "L", "L"]
    keys = PALETTE_TO_BOARD + board_moves + switches + card_moves
    log("wire: board (palette → board, cursor moves, v switches, card moves, idle 5 s) …")
    board = ptybytes(crm_cmd(copy), env, keys=keys, idle=5, wait_for=ready)
    moved = moved_events(copy) - before
    if moved != len(card_moves):
        raise RuntimeError(f"expected {len(card_moves)} card moves in the database, found {moved}")
    per_key = board["per_key_bytes"]
    i = len(PALETTE_TO_BOARD)
    return {
        "size": "80x24", "deals": 300,
        "first_paint_bytes": table["first_paint_bytes"],
        "seconds_to_first_paint": table["seconds_to_first_paint"],
        "table_cursor_bytes": table["per_key_bytes"][:table_moves],
        "table_idle_bytes_5s": table.get("settle_bytes", 0),
        "record_open_bytes": table["per_key_bytes"][table_moves],
        "record_idle_bytes_5s": table["idle_bytes"],
        "palette_open_bytes": per_key[0],
        "palette_char_bytes": per_key[1:i - 1],
        "board_open_bytes": per_key[i - 1],
        "board_cursor_bytes": per_key[i:i + len(board_moves)],
        "switch_bytes": per_key[i + len(board_moves):i + len(board_moves) + len(switches)],
        "card_move_bytes": per_key[i + len(board_moves) + len(switches):],
        "board_idle_bytes_5s": board["idle_bytes"],
        "raw": {"table": table, "board": board},
    }


def measure_first_paint(tmp: Path, rounds: int, size: int, dev_venv: bool = False) -> dict:
    """Spawn → first paint: crm-tui on ``size`` deals vs a bare Textual app (and crm-tui on 300),
    both from the user-install venv (``user_venv``) unless ``dev_venv``."""
    big, small = demo_db(size), demo_db(300)
    env = app_env(tmp)
    bare = tmp / "bare_app.py"
    bare.write_text(BARE_APP)
    bin_dir = None if dev_venv else user_venv()
    python = str(bin_dir / "python") if bin_dir else sys.executable
    runs = {
        "bare": ([python, str(bare)], "one label"),
        "crm_big": (crm_cmd(big, bin_dir), clients_header(big)),
        "crm_300": (crm_cmd(small, bin_dir), clients_header(small)),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    paint_bytes: dict[str, int] = {}
    log(f"first paint: warm-up, then {rounds} interleaved rounds (bare, {size:,} deals, 300 deals) …")
    for name, (cmd, text) in runs.items():
        ptybytes(cmd, env, wait_for=text)  # warm-up: page cache, .pyc files
    for _ in range(rounds):
        for name, (cmd, text) in runs.items():
            out = ptybytes(cmd, env, wait_for=text)
            times[name].append(out["seconds_to_first_paint"])
            paint_bytes[name] = out["first_paint_bytes"]
    med = {k: median(v) for k, v in times.items()}
    return {"deals": size, "rounds": rounds, "venv": "dev (this one)" if dev_venv else "pip install . (user)",
            "seconds": times, "median": med, "first_paint_bytes": paint_bytes,
            "ratio": med["crm_big"] / med["bare"], "ratio_300": med["crm_300"] / med["bare"]}


def measure_board(tmp: Path, rounds: int, sizes: tuple[int, int]) -> dict:
    """Board open (palette → enter) and card move (``L``) times at two sizes, interleaved rounds."""
    dbs = {size: demo_db(size) for size in sizes}
    env = app_env(tmp)
    moves = 3
    keys = PALETTE_TO_BOARD + ["L"] * moves
    opened: dict[int, list[float]] = {s: [] for s in sizes}
    moved: dict[int, list[float]] = {s: [] for s in sizes}
    open_bytes: dict[int, list[int]] = {s: [] for s in sizes}
    move_bytes: dict[int, list[int]] = {s: [] for s in sizes}
    log(f"board: {rounds} interleaved rounds at {' and '.join(f'{s:,}' for s in sizes)} deals …")
    for _ in range(rounds):
        for size, db in dbs.items():
            copy = scratch(db, tmp)
            before = moved_events(copy)
            # a long quiet window: the board's data is read in a worker between the palette closing
            # and the board's paint, which must stay one burst (times run to the burst's last byte)
            out = ptybytes(crm_cmd(copy), env, keys=keys, wait_for=clients_header(copy), quiet_ms=1200)
            if moved_events(copy) - before != moves:
                raise RuntimeError(f"{size:,} deals: expected {moves} moves in the database")
            i = len(PALETTE_TO_BOARD)
            opened[size].append(out["per_key_seconds"][i - 1])
            open_bytes[size].append(out["per_key_bytes"][i - 1])
            moved[size].extend(out["per_key_seconds"][i:])
            move_bytes[size].extend(out["per_key_bytes"][i:])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
    small, big = sizes
    open_med = {s: median(v) for s, v in opened.items()}
    move_med = {s: median(v) for s, v in moved.items()}
    return {"sizes": list(sizes), "rounds": rounds,
            "open_seconds": opened, "move_seconds": moved, "open_bytes": open_bytes, "move_bytes": move_bytes,
            "open_median": open_med, "move_median": move_med,
            "open_ratio": open_med[big] / open_med[small], "move_ratio": move_med[big] / move_med[small]}


def _ptybytes_module():
    spec = importlib.util.spec_from_file_location("ptybytes", PTYBYTES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TERMINAL_MODE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])")


def _terminal_class(ptybytes_module):
    """ptybytes' ``Session`` that also follows the reports the program asked the terminal for (mouse
    motion, focus), so a benchmark sends only what a terminal would."""

    class Terminal(ptybytes_module.Session):
        def __init__(self, *args, **kwargs) -> None:
            self.modes: dict[int, bool] = {}
            self._mode_tail = b""
            super().__init__(*args, **kwargs)

        def _observe(self, data: bytes) -> None:
            super()._observe(data)
            for numbers, action in TERMINAL_MODE.findall(self._mode_tail + data):
                for number in numbers.split(b";"):
                    self.modes[int(number)] = action == b"h"
            self._mode_tail = data[-16:]

        @property
        def motion_reported(self) -> bool:  # any-event tracking: a report for every cell crossed
            return self.modes.get(1003, False)

        @property
        def focus_reported(self) -> bool:
            return self.modes.get(1004, False)

    return Terminal


def measure_low_bandwidth_once(tmp: Path, db: Path, low_bandwidth: bool, pb, Terminal) -> dict:
    """One run of the low-bandwidth scenario (see the module docstring) in one mode."""
    env = app_env(tmp)
    env.update({"TERM": "xterm-256color"})
    for name in ("COLUMNS", "LINES", "COLORTERM"):
        env.pop(name, None)
    cmd = crm_cmd(db) + (["--low-bandwidth"] if low_bandwidth else [])
    quiet = 0.4
    term = Terminal(cmd, 80, 24, env, use_screen=True)
    out: dict = {}
    try:
        first, t_first = term.burst(quiet, 60, wait_for=clients_header(db), need_first_byte=True)
        out["first_paint_bytes"] = first
        out["seconds_to_first_paint"] = round(t_first - term.start, 4)
        out["idle_bytes_5s"] = term.idle(5)

        def send(data: bytes) -> tuple[int, float]:
            sent = time.monotonic()
            os.write(term.fd, data)
            count, last = term.burst(quiet, 30)
            return count, round(last - sent, 4) if count else 0.0

        def paced(keys: list[bytes], gap: float) -> int:
            """Keys ``gap`` seconds apart (key repeat, typing); bytes until the screen is quiet."""
            total = 0
            for key in keys:
                os.write(term.fd, key)
                end = time.monotonic() + gap
                while time.monotonic() < end:
                    total += len(term._read_once(end - time.monotonic()))
            return total + term.burst(quiet, 30)[0]

        down, up = pb.key_bytes("down", term.app_cursor), pb.key_bytes("up", term.app_cursor)
        out["burst20_down_bytes"] = send(down * 20)[0]
        send(up * 20)
        out["repeat20_down_bytes"] = paced([down] * 20, 1 / 30)
        paced([up] * 20, 1 / 30)
        out["palette_open_bytes"] = send(b"\x10")[0]
        chars = [send(ch.encode()) for ch in "Opportu"]
        out["palette_char_bytes"] = [n for n, _ in chars]
        out["palette_char_seconds"] = [t for _, t in chars]
        send(b"\x1b")
        send(b"\x10")
        out["palette_typed_10ps_bytes"] = paced([ch.encode() for ch in "Opportu"], 0.1)
        send(b"\x1b")
        # a window switch: focus out, then in — reported only if the app asked for focus reports
        focus = [b"\x1b[O", b"\x1b[I"] if term.focus_reported else []
        out["focus_up_bytes"] = sum(map(len, focus))
        out["focus_bytes"] = sum(send(event)[0] for event in focus)
        # the mouse crossing the table (row 12) and the key hints (row 24), 40 cells each, no button
        moves = [f"\x1b[<35;{x};{y}M".encode() for y in (12, 24) for x in range(2, 42)]
        moves = moves if term.motion_reported else []
        out["mouse_up_bytes"] = sum(map(len, moves))
        out["mouse_bytes"] = paced(moves, 0.01) if moves else 0
        out["modes"] = {str(k): v for k, v in sorted(term.modes.items())}
    finally:
        term.finish(kill=True)
    return out


def measure_low_bandwidth(tmp: Path, rounds: int) -> dict:
    """Normal vs ``--low-bandwidth`` on the default demo at 80×24 (interleaved runs, medians)."""
    pb = _ptybytes_module()
    Terminal = _terminal_class(pb)
    db = demo_db(300)
    runs: dict[str, list[dict]] = {"normal": [], "low_bandwidth": []}
    log(f"lowbw: {rounds} interleaved runs of each mode (burst, key repeat, palette, focus, mouse, idle) …")
    for _ in range(rounds):
        for mode in runs:
            runs[mode].append(measure_low_bandwidth_once(tmp, db, mode == "low_bandwidth", pb, Terminal))
    med: dict[str, dict] = {}
    for mode, results in runs.items():
        fields = {}
        for key, value in results[0].items():
            if isinstance(value, list):
                fields[key] = [median(column) for column in zip(*(r[key] for r in results))]
            elif isinstance(value, (int, float)):
                fields[key] = median([r[key] for r in results])
            else:
                fields[key] = value
        med[mode] = fields
    return {"size": "80x24", "deals": 300, "rounds": rounds, "median": med, "runs": runs}


def capture_board(tmp: Path, size: tuple[int, int] = (100, 16)) -> str:
    """The default demo's board as text, through tmux (its own server, killed afterwards)."""
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed")
    db = tmp / "capture" / "demo.db"  # the header names the file, as for `crm-tui demo`'s own demo.db
    db.parent.mkdir(exist_ok=True)
    shutil.copyfile(demo_db(300), db)
    env = app_env(tmp)
    socket = f"crm-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]

    def run(*args: str) -> str:
        return subprocess.run([*tmux, *args], env=env, capture_output=True, text=True, check=True).stdout

    def wait_for(predicate, what: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = run("capture-pane", "-p", "-t", "crm")
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise RuntimeError(f"capture: {what} not on screen:\n{screen}")
            time.sleep(0.05)

    import shlex

    cols, rows = size
    try:
        run("new-session", "-d", "-s", "crm", "-x", str(cols), "-y", str(rows),
            f"TERM=xterm-256color {shlex.join(crm_cmd(db))}; sleep 600")
        wait_for(lambda s: "Clients · table" in s, "the Clients table")
        run("send-keys", "-t", "crm", "C-p")
        wait_for(lambda s: "Open Opportunities" in s, "the palette")
        run("send-keys", "-t", "crm", "-l", "Open Opportunities")
        wait_for(lambda s: "Open Clients" not in s, "the palette's matches")
        run("send-keys", "-t", "crm", "Enter")
        wait_for(lambda s: "Opportunities · board" in s, "the board")
        time.sleep(0.5)  # anything still arriving
        screen = run("capture-pane", "-p", "-t", "crm")
        run("send-keys", "-t", "crm", "C-q")
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True)
        (Path(env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)
    text = "\n".join(line.rstrip() for line in screen.rstrip("\n").splitlines()) + "\n"
    (RESULTS / "board_capture.txt").write_text(text)
    return text


# ---------------------------------------------------------------------------------------------
# report


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def fmt_b(values) -> str:
    if isinstance(values, (int, float)):
        return f"{values:,.0f} B"
    values = list(values)
    if not values:
        return "—"
    med = median(values)
    spread = f" ({min(values):,}–{max(values):,})" if min(values) != max(values) else ""
    return f"{med:,.0f} B{spread}"


def verdict(value: float, goal: float) -> str:
    return "meets the goal" if value <= goal else "**misses the goal**"


def markdown(results: dict) -> str:
    lines = ["| measurement | value | note |", "| --- | ---: | --- |"]
    add = lambda a, b, c="": lines.append(f"| {a} | {b} | {c} |")  # noqa: E731
    w = results.get("wire")
    if w:
        add("first paint (Clients table, 80×24)", fmt_b(w["first_paint_bytes"]),
            f"300-deal demo; painted {fmt_s(w['seconds_to_first_paint'])} after spawn")
        add("table: per cursor move", fmt_b(w["table_cursor_bytes"]), "median (min–max) of 5 moves down")
        add("table: idle 5 s", fmt_b(w["table_idle_bytes_5s"]), "goal 0")
        add("record: open (enter)", fmt_b(w["record_open_bytes"]))
        add("record: idle 5 s", fmt_b(w["record_idle_bytes_5s"]), "goal 0")
        add("palette: open (ctrl+p)", fmt_b(w["palette_open_bytes"]))
        add("palette: per typed character", fmt_b(w["palette_char_bytes"]), "“Opportu”: the match list repaints")
        add("board: open from the palette (enter)", fmt_b(w["board_open_bytes"]), "palette closes, board paints")
        add("board: per cursor move", fmt_b(w["board_cursor_bytes"]), "↓ ↓ → → ↑ ←")
        add("screen switch (v)", fmt_b(w["switch_bytes"]), "board → table → board → table → board")
        add("board: per card move (shift+right)", fmt_b(w["card_move_bytes"]), "3 moves, checked in the database")
        add("board: idle 5 s", fmt_b(w["board_idle_bytes_5s"]), "goal 0")
    f = results.get("first_paint")
    if f:
        m = f["median"]
        add(f"time to first paint: crm-tui, {f['deals']:,} deals", fmt_s(m["crm_big"]),
            f"Clients table; median of {f['rounds']}; venv: {f.get('venv', 'dev')}")
        add("time to first paint: bare Textual app, one label", fmt_s(m["bare"]), f"median of {f['rounds']}")
        add(f"ratio crm-tui ({f['deals']:,}) / bare", f"{f['ratio']:.2f}×", f"goal ≤ 1.3: {verdict(f['ratio'], 1.3)}")
        add("time to first paint: crm-tui, 300 deals", fmt_s(m["crm_300"]),
            f"{f['ratio_300']:.2f}× bare: the part that is not data size")
    b = results.get("board")
    if b:
        small, big = b["sizes"]
        om, mm = b["open_median"], b["move_median"]
        add(f"board open: {small:,} deals", fmt_s(om[small]), f"palette enter → last byte; median of {b['rounds']}")
        add(f"board open: {big:,} deals", fmt_s(om[big]), f"median of {b['rounds']}")
        add(f"ratio {big:,} / {small:,}", f"{b['open_ratio']:.2f}×", f"goal ≤ 1.5: {verdict(b['open_ratio'], 1.5)}")
        add(f"card move: {small:,} deals", fmt_s(mm[small]), f"key → last byte; median of {len(b['move_seconds'][small])}; "
            f"{fmt_b(b['move_bytes'][small])}")
        add(f"card move: {big:,} deals", fmt_s(mm[big]), f"median of {len(b['move_seconds'][big])}; "
            f"{fmt_b(b['move_bytes'][big])}; {b['move_ratio']:.2f}× the small board")
    lb = results.get("lowbw")
    if lb:
        n, q = lb["median"]["normal"], lb["median"]["low_bandwidth"]

        def pair(key, what, note=""):
            a, b = n[key], q[key]
            change = f"{(b - a) / a:+.0%}" if a else ("0" if not b else "new")
            add(f"low bandwidth: {what}", f"{fmt_b(a)} → {fmt_b(b)}", f"{change}{'; ' + note if note else ''}")

        pair("first_paint_bytes", "first paint (80×24)", "normal → --low-bandwidth")
        pair("burst20_down_bytes", "20 × down in one write", "both merge the burst into one update")
        pair("repeat20_down_bytes", "20 × down at 30/s (key repeat)", "at most 12 frames a second")
        pair("palette_open_bytes", "palette: open")
        add("low bandwidth: palette, per typed key (settled)",
            f"{fmt_b(n['palette_char_bytes'])} → {fmt_b(q['palette_char_bytes'])}",
            f"key → last byte {fmt_s(median(n['palette_char_seconds']))} → "
            f"{fmt_s(median(q['palette_char_seconds']))}")
        pair("palette_typed_10ps_bytes", "palette: “Opportu” typed at 10 keys/s")
        pair("focus_bytes", "window switch (focus out + in)",
             f"up: {n['focus_up_bytes']} → {q['focus_up_bytes']} B (focus reports off)")
        pair("mouse_bytes", "mouse sweep, 80 cells, no button",
             f"up: {n['mouse_up_bytes']:,} → {q['mouse_up_bytes']:,} B (motion reported only with a button held)")
        pair("idle_bytes_5s", "idle 5 s", "goal 0")
    return "\n".join(lines)


def environment() -> dict:
    import textual

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "textual": getattr(textual, "__version__", "?"), "fingerprint": generate.fingerprint(),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "term": "xterm-256color (ptybytes)", "colorterm": os.environ.get("COLORTERM")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bytes and times of the crm-tui TUI (ptybytes, tmux).")
    parser.add_argument("--only", default="wire,first_paint,board,capture,lowbw",
                        help="comma-separated: wire, first_paint, board, capture, lowbw")
    parser.add_argument("--rounds", type=int, default=5,
                        help="timing rounds (first paint; board and lowbw use max(3, N-2))")
    parser.add_argument("--big", type=int, default=100_000, help="deals in the first-paint database")
    parser.add_argument("--board-sizes", default="100,10000", help="the two board sizes compared")
    parser.add_argument("--dev-venv", action="store_true",
                        help="first paint from this venv instead of a `pip install .` one")
    args = parser.parse_args(argv)
    if not PTYBYTES.exists():
        raise SystemExit(f"ptybytes.py not found at {PTYBYTES}")
    if not CRM_TUI.exists():
        raise SystemExit(f"no crm-tui console script next to {sys.executable}")
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    started = time.perf_counter()
    results: dict = {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-tui-") as tmpdir:
        tmp = Path(tmpdir)
        if "wire" in only:
            results["wire"] = measure_wire(tmp)
        if "first_paint" in only:
            results["first_paint"] = measure_first_paint(tmp, args.rounds, args.big, args.dev_venv)
        if "board" in only:
            small, big = (int(x) for x in args.board_sizes.split(","))
            results["board"] = measure_board(tmp, max(3, args.rounds - 2), (small, big))
        if "capture" in only:
            log("capture: the board at 100×16 through tmux …")
            results["capture"] = capture_board(tmp)
        if "lowbw" in only:
            results["lowbw"] = measure_low_bandwidth(tmp, max(3, args.rounds - 2))
    env = environment()
    env["total_seconds"] = round(time.perf_counter() - started, 1)
    table = markdown(results)
    print(table)
    if "capture" in results:
        print(f"\nboard capture (100×16) → {RESULTS / 'board_capture.txt'}:\n")
        print(results["capture"])
    now = dt.datetime.now()
    run = {"environment": env, "measured_at": now.isoformat(timespec="seconds"), "results": results, "table": table}
    (RESULTS / f"tui-{now.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(run, indent=2, default=str))
    # tui-latest.json: the newest result of each measurement (an --only run replaces only its own)
    latest_path = RESULTS / "tui-latest.json"
    latest = json.loads(latest_path.read_text()) if latest_path.exists() else {"results": {}}
    for name, value in json.loads(json.dumps(results, default=str)).items():
        latest["results"][name] = value
        latest.setdefault("measured_at_by_measurement", {})[name] = run["measured_at"]
    latest["environment"] = env
    latest_path.write_text(json.dumps(latest, indent=2, default=str))
    log(f"done in {env['total_seconds']} s; results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""End-to-end fixtures: the real ``crm-tui`` console script in a real terminal (tmux).

>>> term = tmux_app(db_url, user, size=(80, 24))   # a fixture: the app running in its own tmux server
>>> term.wait_for("Clients · table")
>>> term.keys("C-p"); term.type("Open Opportunities")

Each test gets its own tmux server (``tmux -L <unique socket> -f /dev/null``), so no user config,
no other session and no inherited environment leak in, and the finaliser kills exactly that server.
The app runs from the console script next to ``sys.executable`` (the environment under test). Waits
poll ``capture-pane`` every 50 ms for up to ``WAIT_SECONDS`` — fast on a quick machine, patient on a
loaded one. Tests skip when tmux is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CRM_TUI = Path(sys.executable).parent / "crm-tui"
WAIT_SECONDS = float(os.environ.get("CRM_TUI_E2E_WAIT", "20"))
DEMO_USER = "alice"  # `crm-tui demo --user alice` makes alice the demo's admin
EXIT_MARK = "[crm-tui exited "


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the app: nothing of the developer's config, data dir or colour choice."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRM_TUI_") and k not in ("NO_COLOR", "TMUX", "TMUX_PANE", "COLUMNS", "LINES")}
    env.update({
        "CRM_TUI_CONFIG": str(tmp_path / "config.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "TERM": "xterm-256color",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def run_cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """``crm-tui ARGS`` as a subprocess (the same console script the app runs from)."""
    result = subprocess.run([str(CRM_TUI), *args], env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"crm-tui {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def cli_json(*args: str, env: dict[str, str]):
    return json.loads(run_cli(*args, "--json", env=env).stdout)


@dataclass
class Demo:
    """A demo database built by ``crm-tui demo --no-tui`` and the environment to run against it."""

    url: str
    user: str
    env: dict[str, str]
    counts: dict = field(default_factory=dict)

    def cli(self, *args: str):
        """JSON output of ``crm-tui --db URL --user USER ARGS --json``."""
        return cli_json("--db", self.url, "--user", self.user, *args, env=self.env)


@pytest.fixture
def demo(tmp_path) -> Demo:
    if not CRM_TUI.exists():
        pytest.fail(f"no crm-tui console script next to {sys.executable} (is the package installed?)")
    env = _clean_env(tmp_path)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    counts = cli_json("demo", "--no-tui", "--size", "60", "--seed", "2", "--db", url, "--user", DEMO_USER, env=env)
    return Demo(url, DEMO_USER, env, counts)


class Terminal:
    """One app in one tmux pane: send keys, read the screen, wait for text."""

    def __init__(self, socket: str, env: dict[str, str], size: tuple[int, int]) -> None:
        self.socket = socket
        self.env = env
        self.size = size
        self.target = "crm:0.0"

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, timeout=30, check=check)

    def start(self, command: list[str]) -> None:
        cols, rows = self.size
        # tmux sets TERM in its panes (to "screen"): say which terminal the app should write for.
        # After the app exits the pane shows its exit status (and stays open for it to be read).
        shell = f"TERM={self.env['TERM']} {shlex.join(command)}; echo \"{EXIT_MARK}$?]\"; sleep 600"
        self.tmux("new-session", "-d", "-s", "crm", "-x", str(cols), "-y", str(rows), shell)

    def kill(self) -> None:
        self.tmux("kill-server", check=False)
        # tmux leaves its socket file behind
        base = Path(self.env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (base / self.socket).unlink(missing_ok=True)

    def screen(self) -> str:
        result = self.tmux("capture-pane", "-p", "-t", self.target, check=False)
        return result.stdout if result.returncode == 0 else ""

    def keys(self, *keys: str) -> None:
        """tmux key names: ``Enter``, ``C-p``, ``S-Right``, ``/``…"""
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def wait_until(self, predicate, what: str, timeout: float = WAIT_SECONDS) -> str:
        """Poll the screen until ``predicate(screen)`` holds; fail with the last screen otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if EXIT_MARK in text and EXIT_MARK not in what:
                pytest.fail(f"crm-tui exited while waiting for {what}:\n{text}")
            if time.monotonic() > deadline:
                pytest.fail(f"not on screen after {timeout:.0f} s: {what}\n--- screen ---\n{text}")
            time.sleep(0.05)

    def wait_for(self, *texts: str, timeout: float = WAIT_SECONDS) -> str:
        return self.wait_until(lambda s: all(t in s for t in texts), " and ".join(map(repr, texts)), timeout)

    def wait_gone(self, text: str, timeout: float = WAIT_SECONDS) -> str:
        return self.wait_until(lambda s: text not in s, f"{text!r} to disappear", timeout)

    def wait_exit(self, timeout: float = WAIT_SECONDS) -> int:
        """Wait for the app to exit; its exit status."""
        text = self.wait_until(lambda s: EXIT_MARK in s, EXIT_MARK, timeout)
        tail = text.split(EXIT_MARK, 1)[1]
        return int(tail.split("]", 1)[0])


@pytest.fixture
def tmux_app(tmp_path):
    """Start ``crm-tui --db URL --user USER`` in a fresh tmux server of the given size."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    started: list[Terminal] = []

    def start(demo: Demo, size: tuple[int, int] = (80, 24)) -> Terminal:
        socket = f"crm-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        term = Terminal(socket, demo.env, size)
        started.append(term)
        term.start([str(CRM_TUI), "--db", demo.url, "--user", demo.user])
        return term

    yield start
    for term in started:
        term.kill()

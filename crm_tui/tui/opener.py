"""Open a link or a file with what the user's desktop offers, and say so when there is nothing to open
it with (over SSH, on a headless server): the caller then copies the link (OSC 52) or shows the path.

No Textual here: the decisions take the environment, the platform and ``shutil.which`` as arguments, so
tests can fake any machine.

>>> path = private_copy_path("contract.pdf")         # /tmp/crm-tui-open-x1y2/contract.pdf (0700 folder)
>>> path.write_bytes(data)
>>> open_file(path)                                   # Opened(True, "xdg-open") or Opened(False, why)
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Callable, Mapping

TEMP_PREFIX = "crm-tui-open-"
KEEP_SECONDS = 24 * 3600  # copies older than this, from earlier opens, are removed at the next open
_started: list = []  # openers started and not yet seen to exit (polled at the next open: no zombies)


@dataclass(frozen=True)
class Opened:
    """``ok``: the opener was started. ``how``: its name, or why nothing was started."""

    ok: bool
    how: str


def is_remote(env: Mapping[str, str] | None = None) -> bool:
    """Are we in an SSH session (the user's screen is on another machine)?"""
    env = os.environ if env is None else env
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY"))


def has_display(env: Mapping[str, str] | None = None, system: str | None = None) -> bool:
    """Can a window appear in front of the user? An X or Wayland display (over SSH too: X forwarding
    shows the window where the user sits), or a Mac used at its own keyboard (``open`` over SSH would
    open the file on the Mac's screen, not the user's)."""
    env = os.environ if env is None else env
    system = platform.system() if system is None else system
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return True
    return system == "Darwin" and not is_remote(env)


def system_opener(env: Mapping[str, str] | None = None, system: str | None = None,
                  which: Callable[[str], str | None] | None = None) -> str | None:
    """The program that opens a file with the desktop's default application (``xdg-open``, or
    ``open`` on macOS), when there is a display to show it on and the program is installed."""
    system = platform.system() if system is None else system
    if not has_display(env, system):
        return None
    return (which or shutil.which)("open" if system == "Darwin" else "xdg-open")


def why_not_opened(env: Mapping[str, str] | None = None, system: str | None = None) -> str:
    """In a few words, why :func:`system_opener` found nothing."""
    system = platform.system() if system is None else system
    if not has_display(env, system):
        return "no display here (over SSH?)"
    return f"no {'open' if system == 'Darwin' else 'xdg-open'} here"


def open_file(path: Path, *, env: Mapping[str, str] | None = None, system: str | None = None,
              which: Callable[[str], str | None] | None = None,
              popen: Callable[..., object] | None = None) -> Opened:
    """Start the system opener on ``path``, detached (its own session, no terminal I/O: it must never
    write over the TUI), and return at once. ``Opened(False, why)`` when there is none or it fails."""
    program = system_opener(env, system, which)
    if program is None:
        return Opened(False, why_not_opened(env, system))
    popen = popen or spawn
    _started[:] = [child for child in _started if _still_running(child)]
    try:
        child = popen([program, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError as exc:
        return Opened(False, f"{Path(program).name} failed: {exc.strerror or exc}")
    _started.append(child)
    return Opened(True, Path(program).name)


def spawn(args: list[str], **kwargs):
    """``subprocess.Popen`` — a name of this module, so tests replace it here and nowhere else."""
    return subprocess.Popen(args, **kwargs)


def _still_running(child) -> bool:
    poll = getattr(child, "poll", None)
    return poll is not None and poll() is None


def can_start_browser(env: Mapping[str, str] | None = None, system: str | None = None) -> bool:
    """Would ``webbrowser`` open a window the user sees? Not over SSH (a browser would start on the
    server, or a text browser inside our terminal), and only with a display (or on Windows / macOS)."""
    env = os.environ if env is None else env
    system = platform.system() if system is None else system
    if is_remote(env):
        return False
    return system == "Windows" or has_display(env, system)


def open_url(link: str, *, env: Mapping[str, str] | None = None, system: str | None = None) -> bool:
    """Open ``link`` in the user's browser; ``False`` when none can be started here (the caller copies
    the link to the terminal's clipboard instead)."""
    if not can_start_browser(env, system):
        return False
    import webbrowser

    try:
        return bool(webbrowser.open(link))
    except Exception:  # noqa: BLE001 - a broken browser setup means "copy it instead"
        return False


def safe_file_name(name: str) -> str:
    """The last part of ``name`` (no folders, no leading dots), extension kept: ``../a/b.pdf`` → ``b.pdf``."""
    base = PurePath(str(name).replace("\\", "/")).name.lstrip(".").strip()
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f")
    return base or "attachment"


def private_copy_path(name: str, *, temp_dir: str | None = None, now: float | None = None) -> Path:
    """Where to write a copy of an attachment for a viewer: a fresh folder only the user can read
    (``mkdtemp`` makes it 0700), holding the file under its own name so the viewer sees the extension.
    Folders left by earlier opens are removed once a day old (a viewer still showing a file has read
    it long before)."""
    base = Path(temp_dir or tempfile.gettempdir())
    _prune(base, time.time() if now is None else now)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=base))
    return folder / safe_file_name(name)


def _prune(base: Path, now: float) -> None:
    try:
        folders = list(base.glob(TEMP_PREFIX + "*"))
    except OSError:
        return
    uid = os.getuid() if hasattr(os, "getuid") else None
    for folder in folders:
        try:
            info = folder.lstat()
            if not folder.is_dir() or folder.is_symlink() or (uid is not None and info.st_uid != uid):
                continue
            if now - info.st_mtime > KEEP_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue

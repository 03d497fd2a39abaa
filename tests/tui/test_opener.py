"""The opener's decisions (no Textual): a display or not, an opener installed or not, over SSH or not —
the machine faked with monkeypatch, no program ever started."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from crm_tui.tui import opener


@pytest.fixture
def machine(monkeypatch):
    """A Linux box with no display, not over SSH, with no opener installed; tests change what they need."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(opener.platform, "system", lambda: "Linux")
    monkeypatch.setattr(opener.shutil, "which", lambda name: None)
    started: list[tuple[list, dict]] = []

    def fake_popen(args, **kwargs):
        started.append((args, kwargs))
        return None

    monkeypatch.setattr(opener, "spawn", fake_popen)
    return started


def test_an_x_display_with_xdg_open_starts_it_detached(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(opener.shutil, "which", lambda name: f"/usr/bin/{name}")
    outcome = opener.open_file(tmp_path / "contract.pdf")
    assert outcome == opener.Opened(True, "xdg-open")
    [(args, kwargs)] = machine
    assert args == ["/usr/bin/xdg-open", str(tmp_path / "contract.pdf")]
    assert kwargs["stdout"] is subprocess.DEVNULL and kwargs["stderr"] is subprocess.DEVNULL
    assert kwargs["stdin"] is subprocess.DEVNULL and kwargs["start_new_session"] is True


def test_wayland_counts_as_a_display(machine, monkeypatch):
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert opener.has_display()
    monkeypatch.setattr(opener.shutil, "which", lambda name: "/usr/bin/xdg-open" if name == "xdg-open" else None)
    assert opener.system_opener() == "/usr/bin/xdg-open"


def test_no_display_means_no_opener_even_when_installed(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
    monkeypatch.setattr(opener.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert not opener.has_display()
    assert opener.system_opener() is None
    outcome = opener.open_file(tmp_path / "notes.txt")
    assert outcome.ok is False and "no display" in outcome.how
    assert machine == []  # nothing started


def test_a_display_without_xdg_open_says_so(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("DISPLAY", ":0")
    outcome = opener.open_file(tmp_path / "notes.txt")
    assert outcome == opener.Opened(False, "no xdg-open here")
    assert machine == []


def test_macos_uses_open_at_its_own_keyboard_but_not_over_ssh(machine, monkeypatch):
    monkeypatch.setattr(opener.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(opener.shutil, "which", lambda name: "/usr/bin/open" if name == "open" else None)
    assert opener.system_opener() == "/usr/bin/open"
    monkeypatch.setenv("SSH_TTY", "/dev/pts/3")
    assert opener.system_opener() is None
    assert opener.why_not_opened() == "no display here (over SSH?)"


def test_x_forwarding_over_ssh_opens_on_the_forwarded_display(machine, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
    monkeypatch.setenv("DISPLAY", "localhost:10.0")
    monkeypatch.setattr(opener.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert opener.system_opener() == "/usr/bin/xdg-open"
    assert not opener.can_start_browser()  # links are still copied over SSH (unchanged)


def test_an_opener_that_fails_to_start_is_reported(machine, monkeypatch, tmp_path):
    monkeypatch.setenv("DISPLAY", ":0")

    def broken(args, **kwargs):
        raise PermissionError(13, "Permission denied")

    outcome = opener.open_file(tmp_path / "a.pdf", which=lambda name: "/usr/bin/xdg-open", popen=broken)
    assert outcome == opener.Opened(False, "xdg-open failed: Permission denied")


def test_browser_only_with_a_local_display(machine, monkeypatch):
    assert not opener.can_start_browser()
    assert opener.open_url("https://example.com") is False
    monkeypatch.setenv("DISPLAY", ":0")
    assert opener.can_start_browser()
    assert opener.can_start_browser(env={}, system="Windows")


def test_private_copy_keeps_the_name_in_a_folder_only_the_user_reads(tmp_path):
    path = opener.private_copy_path("../../etc/Quote 2026.xlsx", temp_dir=str(tmp_path))
    assert path.name == "Quote 2026.xlsx" and path.suffix == ".xlsx"
    assert path.parent.parent == tmp_path and path.parent.name.startswith(opener.TEMP_PREFIX)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert opener.safe_file_name(".hidden\n.txt") == "hidden.txt"
    assert opener.safe_file_name("") == "attachment"


def test_copies_older_than_a_day_are_removed_at_the_next_open(tmp_path):
    old = opener.private_copy_path("old.pdf", temp_dir=str(tmp_path))
    old.write_bytes(b"x")
    recent = opener.private_copy_path("recent.pdf", temp_dir=str(tmp_path))
    day_ago = old.parent.stat().st_mtime - opener.KEEP_SECONDS - 60
    os.utime(old.parent, (day_ago, day_ago))
    opener.private_copy_path("new.pdf", temp_dir=str(tmp_path))
    assert not old.parent.exists()
    assert recent.parent.exists()


def test_the_opener_does_not_import_textual():
    import json
    import sys

    code = ("import json, sys, crm_tui.tui.opener\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []

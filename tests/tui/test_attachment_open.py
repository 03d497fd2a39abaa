"""Record screen: ctrl+l on a file field writes a private copy of the attachment and opens it with the
system's opener — or, with no display (SSH), shows where the copy is. No program is ever started: the
opener's Popen is replaced."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import pytest

from crm_tui.domain.record_views import show_record
from crm_tui.domain.records import update_record
from crm_tui.tui import opener
from crm_tui.tui.screens.record import RecordScreen

from tests.tui.tuihelpers import open_project, screen_text, settle


@pytest.fixture
def no_display(monkeypatch, tmp_path):
    """Over SSH to a Linux server with no X forwarding; temp copies go under the test's folder."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
    monkeypatch.setattr(opener.platform, "system", lambda: "Linux")
    monkeypatch.setattr(opener.shutil, "which", lambda name: f"/usr/bin/{name}")
    started: list[list[str]] = []
    monkeypatch.setattr(opener, "spawn", lambda args, **kwargs: started.append(args))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return started


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def open_with_attachment(pilot, demo, tmp_path, name: str, content: bytes):
    app = pilot.app
    await settle(pilot)
    await open_project(pilot, "Opportunities", "table")
    record_id = app.screen.table.current_id
    source = tmp_path / "in" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(content)
    version = show_record(demo, record_id)["version"]
    update_record(demo, record_id, values={"Files received": [str(source)]}, expect_version=version)
    await pilot.press("enter")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, RecordScreen)
    row = next(r for r in screen.rows if r.label == "Files received")
    row.editor.focus()
    await pilot.pause()
    return screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_open_without_a_display_writes_the_copy_and_shows_its_path(demo, make_app, tmp_path, no_display,
                                                                         size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_with_attachment(pilot, demo, tmp_path, "notes.txt", b"call back on Monday\n")
        assert "Open file" in screen_text(app) or size == (80, 24)  # the footer offers it on a file field
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.screen is screen
        said = next(n for n in notes(app) if "notes.txt is at" in n)
        path = Path(said.rsplit(" is at ", 1)[1])
        assert "no display" in said
        assert path.name == "notes.txt" and path.read_bytes() == b"call back on Monday\n"
        assert path.is_relative_to(Path(tempfile.gettempdir()))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert no_display == []  # no viewer (and no $PAGER) started inside the TUI


async def test_open_with_a_display_starts_the_system_opener(demo, make_app, tmp_path, no_display, monkeypatch):
    monkeypatch.delenv("SSH_CONNECTION")
    monkeypatch.setenv("DISPLAY", ":0")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_with_attachment(pilot, demo, tmp_path, "contract.pdf", b"%PDF-1.4 contract")
        await pilot.press("ctrl+l")
        await settle(pilot)
        [[program, target]] = no_display
        assert program == "/usr/bin/xdg-open"
        assert Path(target).name == "contract.pdf" and Path(target).read_bytes() == b"%PDF-1.4 contract"
        assert any("contract.pdf opened with xdg-open" in n for n in notes(app))


async def test_open_key_is_not_offered_on_other_fields(demo, make_app, tmp_path, no_display):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_with_attachment(pilot, demo, tmp_path, "a.txt", b"a")
        next(r for r in screen.rows if r.label == "Title").editor.focus()
        await pilot.pause()
        assert "Open file" not in screen_text(app)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert not any(" is at " in n for n in notes(app))

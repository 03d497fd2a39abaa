"""Helpers for the Pilot tests: wait for workers, read the screen as text, use the palette."""

from __future__ import annotations


async def settle(pilot, rounds: int = 60) -> None:
    """Wait until no worker runs and the messages they posted are handled."""
    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if any(worker.is_running for worker in app.workers):
            quiet = 0
            continue
        quiet += 1
        if quiet >= 2:
            return


def screen_text(app) -> str:
    """The current screen as plain text, one line per terminal row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def open_project(pilot, name: str, view: str | None = None) -> None:
    """Open a project through the command palette, as a user would (a short query is enough)."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*(name[:4] + (f" as {view}" if view else "")))
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)

"""The real ``crm-tui`` in tmux, as a user at a terminal would drive it: keys in, screen text out,
and the database read back with the CLI afterwards.

- the board: palette → Opportunities → shift+right moves the focused card → quit; the CLI then
  shows the card in the next stage with a ``moved`` event by the user;
- the client table: ``/`` filters as you type → enter opens the client → its Referenced by tab
  lists the client's opportunities (the same ones ``record show --json`` gives) → enter jumps there.

Both at 80×24 and 120×40.
"""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def _ids(records: list[dict]) -> set[int]:
    return {r["id"] for r in records}


@pytest.mark.parametrize("size", SIZES)
def test_board_move_by_key_is_recorded(demo, tmux_app, size):
    before_unqualified = _ids(demo.cli("records", "Opportunities", "--list", "Unqualified"))
    before_qualifying = _ids(demo.cli("records", "Opportunities", "--list", "Qualifying"))
    assert before_unqualified, "the demo has no Unqualified deal to move"

    term = tmux_app(demo, size)
    term.wait_for("Clients · table", demo.user)  # the first project opens first
    term.keys("C-p")
    term.wait_for("Search for commands")
    # type at once: the palette's first list can still be filling on a busy machine
    term.type("Open Opportunities")
    # the palette shows the matches for all that was typed (enter picks the first: the board)
    term.wait_until(lambda s: "Open Opportunities as table" in s and "Open Clients" not in s
                    and "Open Delivery" not in s, "the palette's matches for 'Open Opportunities'")
    term.keys("Enter")
    screen = term.wait_for("Opportunities · board", "Unqualified", "Qualifying")
    assert re.search(rf"Unqualified +{len(before_unqualified)}\b", screen), screen  # the column's count

    term.keys("S-Right")  # the focused card: the first of the first column
    screen = term.wait_for("moved to Qualifying")
    assert re.search(rf"Unqualified +{len(before_unqualified) - 1}\b", screen), screen
    assert re.search(rf"Qualifying +{len(before_qualifying) + 1}\b", screen), screen
    term.keys("q")
    assert term.wait_exit() == 0

    after_unqualified = _ids(demo.cli("records", "Opportunities", "--list", "Unqualified"))
    after_qualifying = _ids(demo.cli("records", "Opportunities", "--list", "Qualifying"))
    moved = before_unqualified - after_unqualified
    assert len(moved) == 1, (before_unqualified, after_unqualified)
    assert after_qualifying == before_qualifying | moved
    (card_id,) = moved
    history = demo.cli("record", "history", str(card_id))
    last = history[-1]
    assert (last["kind"], last["user"]) == ("moved", demo.user), history
    assert (last["old"], last["new"]) == ("Unqualified", "Qualifying"), last
    card = demo.cli("record", "show", str(card_id))
    assert card["list"] == "Qualifying"
    assert card["list_entered_at"] >= last["at"][:19]  # days in stage restart with the move


@pytest.mark.parametrize("size", SIZES)
def test_client_filter_open_and_referenced_by(demo, tmux_app, size):
    clients = demo.cli("records", "Clients")
    # an ASCII-titled client that some opportunity points at (typed as-is; unique in the demo)
    client = next(c for c in sorted(clients, key=lambda c: c["id"])
                  if c["title"].isascii() and " " in c["title"]
                  and demo.cli("record", "show", str(c["id"]))["referenced_by"]
                  and sum(c["title"] == o["title"] for o in clients) == 1)
    shown = demo.cli("record", "show", str(client["id"]))
    refs = shown["referenced_by"]

    term = tmux_app(demo, size)
    term.wait_for("Clients · table", f"{len(clients)} records")
    term.keys("/")
    term.wait_for("filter: title and text fields")
    term.type(client["title"])
    screen = term.wait_for(f"/{client['title']}", f"of {len(clients)}")  # the filtered count is in the header
    rows = [line for line in screen.splitlines()[2:] if line.strip()]
    assert rows[0].startswith(client["title"][:20]), screen
    term.keys("Enter")  # keeps the filter, back to the table
    term.wait_for("s Sort")
    term.keys("Enter")  # opens the highlighted record
    term.wait_for(f"Clients · #{client['id']} {client['title']}", f"Referenced by ({len(refs)})")

    term.keys("C-t")  # the next tab: Referenced by
    screen = term.wait_for("(via Client)")
    for ref in refs:
        line = f"{ref['project']} · {ref['title']}"
        assert line[:40] in screen, (line, screen)  # long titles wrap

    term.keys("Enter")  # jump to the first record that points here
    first = refs[0]
    term.wait_for(f"{first['project']} · #{first['id']}")
    term.keys("C-q")
    assert term.wait_exit() == 0

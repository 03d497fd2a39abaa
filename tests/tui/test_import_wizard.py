"""The CSV import wizard (a self-contained screen): path completion, mapping by name, a preview that
marks bad cells, and the import with its progress bar."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from crm_tui.domain.record_views import list_records
from crm_tui.tui.screens.import_wizard import ImportWizard, PathSuggester

from tests.tui.tuihelpers import screen_text, settle


async def test_path_suggester_completes_files_and_folders(tmp_path):
    (tmp_path / "clients.csv").write_text("x\n")
    (tmp_path / "sub").mkdir()
    suggester = PathSuggester()
    assert await suggester.get_suggestion(str(tmp_path / "cli")) == str(tmp_path / "clients.csv")
    assert await suggester.get_suggestion(str(tmp_path / "su")) == str(tmp_path / "sub") + "/"
    assert await suggester.get_suggestion(str(tmp_path / "zz")) is None


async def test_wizard_maps_previews_and_imports(demo, make_app, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("Company,Email,Source,Notes\n"
                    "Wizard One,one@example.com,referral,x\n"
                    "Wizard Two,not-an-email,Website,y\n"
                    "Wizard Three,three@example.com,Nowhere,z\n", encoding="utf-8")
    before = len(list_records(demo, "Clients"))
    app = make_app()
    results = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await app.push_screen(ImportWizard("Clients", str(path)), results.append)
        await settle(pilot)
        wizard = app.screen
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert wizard.step == "mapping"
        # matched by name; the first column is mapped by hand
        assert wizard.query_one("#map-1", Select).value == "Email"
        assert wizard.query_one("#map-3", Select).value == "__ignore__"
        wizard.query_one("#map-0", Select).value = "title"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert wizard.step == "preview"
        text = screen_text(app)
        assert "2 rows have problems" in text and "✗ not-an-email" in text
        issues = wizard.query_one("#issues", DataTable)
        assert issues.row_count == 2
        assert wizard.query_one("#to-run").disabled  # all or nothing: the import is refused
        # back to the first step: import the good rows only
        await pilot.press("escape", "escape")
        await settle(pilot)
        wizard.query_one("#skip-bad").value = True
        wizard.query_one("#path", Input).focus()
        await pilot.press("ctrl+n")
        await settle(pilot)
        wizard.query_one("#map-0", Select).value = "title"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert not wizard.query_one("#to-run").disabled
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert "1 created" in screen_text(app) and "2 rejected" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
    assert results and results[0].created == 1
    titles = [r["title"] for r in list_records(demo, "Clients")]
    assert len(titles) == before + 1 and "Wizard One" in titles
    assert (tmp_path / "clients.rejects.csv").exists()

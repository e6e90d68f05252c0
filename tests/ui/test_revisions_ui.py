"""Issue 22 in the TUI, as a user drives it: the history tab's revisions, scores and diffs, the
baseline key and the tree's "changed since baseline" mark, ratings from the output pane and the
compare columns, and a column of the file as committed (a real git repository in a temp dir)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tui_app.core.history import History
from tui_app.core.paths import history_path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def one_prompt(words: str) -> dict[str, Any]:
    return chain([{"name": "a", "input": words}])


async def test_history_tab_baseline_mark_diff_and_ratings(write_config: Any) -> None:
    path = write_config(one_prompt("owls at night"))
    git(path.parent, "init", "-q")
    git(path.parent, "add", path.name)
    git(path.parent, "commit", "-qm", "first")
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", what="first run")
        app.session.workspace.set_template("a", "bats at dawn")  # as `e` does
        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.config.prompt("a").output_text == "bats at dawn", what="edit run"
        )
        await pilot.press("5")
        table = screen.query_one("#history-table")
        await wait_for(pilot, lambda: table.row_count == 2, what="two runs listed")
        newest, older = (list(map(str, table.get_row_at(i))) for i in range(2))  # Text cells
        assert newest[4].endswith("+") and not older[4].endswith("+")  # edited vs committed
        table.focus()
        await pilot.press("down", "b")  # the older run is the baseline now
        with History(history_path()) as history:
            await wait_for(pilot, lambda: history.baseline(str(path)) is not None, what="baseline")
            older_id = history.baseline(str(path))[0]
        await wait_for(pilot, lambda: "a" in screen.prompt_tree.marks, what="≠base mark")
        assert "≠base" in str(screen.prompt_tree.label_for("a"))
        await pilot.press("minus")  # 👎 for the older run's answer, from the table
        await wait_for(pilot, lambda: str(table.get_row_at(1)[5]) == "👎", what="score shown")
        await pilot.press("enter")  # its diff against the current output
        await wait_for(pilot, lambda: screen.output.active_tab == "output")
        shown = screen.output.stream.text
        assert "[-owls-]" in shown and "{+bats+}" in shown and "{+dawn+}" in shown
        screen.prompt_tree.focus()
        await pilot.press("plus")  # 👍 for the current output: the newest run's
        with History(history_path()) as history:
            await wait_for(
                pilot,
                lambda: any(
                    r.score == 1 for r in history.ratings(history.run_ids(str(path))).values()
                ),
                what="rated from the output pane",
            )
            ratings = history.ratings(history.run_ids(str(path)))
        assert ratings[(older_id, "a")].score == 0
        await pilot.press("asterisk")
        await wait_for(pilot, lambda: app.screen.id != "main", what="the rating dialog")
        await pilot.press(*"0.5", "enter", *"too dark", "enter", *"bats at noon", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the main screen")
        with History(history_path()) as history:
            await wait_for(
                pilot,
                lambda: any(
                    r.expected == "bats at noon"
                    for r in history.ratings(history.run_ids(str(path))).values()
                ),
                what="the dialog's rating stored",
            )
            rated = [r for r in history.ratings(history.run_ids(str(path))).values() if r.expected]
        assert rated[0].score == 0.5 and rated[0].comment == "too dark"


async def test_a_compare_column_of_the_file_as_committed(write_config: Any) -> None:
    path = write_config(one_prompt("owls at night"))
    git(path.parent, "init", "-q")
    git(path.parent, "add", path.name)
    git(path.parent, "commit", "-qm", "first")
    path.write_text(path.read_text().replace("owls at night", "bats at dawn"))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "a")
        await pilot.press("c")
        await wait_for(
            pilot,
            lambda: type(app.screen).__name__ == "CompareSetupScreen",
            what="compare setup",
        )
        await pilot.press(*"@HEAD", "enter", "ctrl+r")
        await wait_for(pilot, lambda: app.screen.id == "compare", what="compare screen")
        compare: Any = app.screen
        await wait_for(
            pilot,
            lambda: [m.status.value for m in compare.metrics()] == ["done", "done"],
            what="both columns done",
        )
        assert [m.text for m in compare.metrics()] == ["bats at dawn", "owls at night"]
        assert compare.labels[1] == "@HEAD"
        await pilot.press("right", "plus")
        with History(history_path()) as history:
            run_id = compare.comparison.runs[1].id
            await wait_for(
                pilot, lambda: (run_id, "a") in history.ratings([run_id]), what="column rated"
            )
            origin = history.origins([run_id])[run_id]
        assert origin.ref == "HEAD" and origin.dirty is False
    assert "bats at dawn" in path.read_text()  # the working file was never touched


async def test_an_earlier_runs_diff_is_left_for_the_list_or_the_current_output(
    write_config: Any,
) -> None:
    """The diff of an earlier run belongs to the history view: escape goes back to the list,
    another view's key shows the current output again (the diff stayed under "1 Output")."""
    from textual.widgets import Static

    from tui_app.ui.widgets.output_pane import TabStrip

    path = write_config(one_prompt("owls at night"))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", what="first run")
        app.session.workspace.set_template("a", "bats at dawn")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.config.prompt("a").output_text == "bats at dawn")
        await pilot.press("5")
        table = screen.query_one("#history-table")
        await wait_for(pilot, lambda: table.row_count == 2 and table.has_focus, what="list")
        note = screen.output.query_one("#output-note", Static)

        def diffing() -> bool:
            return str(note.render()).startswith("history: the run of")

        for leave, tab in (("escape", "history"), ("1", "output"), ("2", "request")):
            await pilot.press("down", "enter")
            await wait_for(pilot, diffing, what="the diff")
            assert "[-owls-]" in screen.output.stream.text
            assert screen.output.query_one(TabStrip).active == "history"  # its tab stays lit
            await pilot.press(leave)
            await wait_for(pilot, lambda: not diffing(), what=f"{leave} leaves the diff")
            assert screen.output.active_tab == tab
            assert "[-owls-]" not in screen.output.stream.text
            if tab == "history":
                await wait_for(pilot, lambda: table.has_focus, what="back in the list")
            else:
                await pilot.press("5")
                await wait_for(pilot, lambda: table.has_focus, what="the list again")

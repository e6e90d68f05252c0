"""The dataset matrix (issue 24): `b` opens it, cells fill in with verdicts, the filters, a cell's
detail with check results, re-running a cell, and re-checking after the config is saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.ui.conftest import chain
from tests.ui.helpers import make_app, ready, wait_for
from tui_app.ui.screens.matrix import MatrixScreen
from tui_app.ui.widgets.matrix_grid import MatrixGrid

NO_CONTEXT = {"remember_chat_context": False}


def config(tmp_path: Path, expected_check: str = "{{expected}}") -> Path:
    (tmp_path / "rows.csv").write_text(
        "word,expected\napple,apple\npear,plum\nfig,fig\n", encoding="utf-8"
    )
    data = chain(
        [
            {
                "name": "say",
                "input": "Say {{word}}",
                "metadata": {**NO_CONTEXT, "checks": [{"contains": expected_check}]},
            },
            {"name": "again", "input": "Again: {{say.output}}", "metadata": NO_CONTEXT},
        ],
        parameters={"word": "kiwi"},
        datasets={"rows": "rows.csv"},
    )
    path = tmp_path / "chain.aiconfig.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def matrix(app: Any) -> MatrixScreen:
    screen = app.screen
    assert isinstance(screen, MatrixScreen), f"expected the matrix, got {screen!r}"
    return screen


def finished(app: Any, n: int) -> bool:
    screen = app.screen
    return (
        isinstance(screen, MatrixScreen)
        and sum(len(c) for c in screen.cells) == n
        and not screen.running
        and not screen.queued
    )


def verdicts(screen: MatrixScreen) -> list[str]:
    return [screen.cell_state(y, 0) for y in range(screen.visible_rows())]


async def test_b_opens_the_matrix_and_cells_show_their_verdicts_and_checks(tmp_path: Path) -> None:
    app = make_app(config(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: finished(app, 3), what="three cells")
        screen = matrix(app)
        assert verdicts(screen) == ["pass", "fail", "pass"]
        figures = screen.query_one("#matrix-figures")
        await wait_for(pilot, lambda: "3 cells done" in str(figures.render()), what="figures")
        assert "own models pass 67% · $0" in str(figures.render())
        # the failing row: its chain and what the check expected and saw
        await pilot.press("down")
        detail = str(screen.query_one("#matrix-detail-text").render())
        assert "Row 2" in detail and "Say pear" in detail and "Again: Say pear" in detail
        assert "fail  contains: expected contains 'plum'; saw 'Say pear'" in detail
        # failures only
        await pilot.press("f")
        assert [screen.row_label(y)[0] for y in range(screen.visible_rows())] == ["2"]
        await pilot.press("f", "f")  # rows where models differ (one column: none), then all
        assert screen.visible_rows() == 3
        # rows x prompts of the model
        await pilot.press("v")
        assert screen.column_count() == 2
        assert [screen.cell_state(1, x) for x in range(2)] == ["fail", "pass"]
        await wait_for(
            pilot, lambda: "say pass 67% · $0" in str(figures.render()), what="prompt figures"
        )
        assert "again pass 100% · $0" in str(figures.render())
        await pilot.press("v")
        # re-run one cell: it is sent again (not from the cache)
        grid = screen.query_one(MatrixGrid)
        grid.move_to(0, 0)
        before = screen.cells[0]["own models"].run_id
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: screen.cells[0]["own models"].run_id != before and finished(app, 3),
            what="re-run",
        )
        statuses = {r.status.value for r in screen.cells[0]["own models"].results.values()}
        assert statuses == {"done"}
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MatrixScreen)


async def test_a_saved_edit_of_a_check_rechecks_every_cell_without_sending(tmp_path: Path) -> None:
    path = config(tmp_path)
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await wait_for(
            pilot, lambda: any(w.group == "watch" for w in app.screen.workers), what="watcher"
        )
        await pilot.pause(0.2)  # its directory watch is in place (as tests/ui/test_reload.py)
        await pilot.press("b")
        await wait_for(pilot, lambda: finished(app, 3), what="three cells")
        screen = matrix(app)
        assert verdicts(screen) == ["pass", "fail", "pass"]
        # the check now reads the word itself: every row passes, and nothing was sent again
        data = json.loads(path.read_text())
        checks = [{"contains": "{{word}}"}, {"not_contains": "{{expected}}!"}]
        data["prompts"][0]["metadata"]["checks"] = checks
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        await wait_for(
            pilot, lambda: verdicts(screen) == ["pass", "pass", "pass"], what="re-checked"
        )
        await wait_for(pilot, lambda: finished(app, 3), what="settled")
        statuses = {
            r.status.value
            for cells in screen.cells
            for c in cells.values()
            for r in c.results.values()
        }
        assert statuses == {"cached"}
        # a template edit: only the prompt it changed goes to the model again
        data["prompts"][1]["input"] = "Once more: {{say.output}}"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

        def resent() -> bool:
            cells = [c["own models"] for c in screen.cells]
            return finished(app, 3) and all(
                c.results["again"].text.startswith("Once more") for c in cells
            )

        await wait_for(pilot, resent, what="the edited step re-run")
        for cells in screen.cells:
            results = cells["own models"].results
            assert (results["say"].status.value, results["again"].status.value) == (
                "cached",
                "done",
            )


async def test_no_dataset_says_how_to_add_one(write_config: Any) -> None:
    app = make_app(write_config(chain([{"name": "a", "input": "hi"}])))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, MatrixScreen)
        assert any("metadata.datasets" in str(n.message) for n in app._notifications)


async def test_an_edit_made_in_the_app_rechecks_the_matrix(tmp_path: Path) -> None:
    app = make_app(config(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: finished(app, 3), what="three cells")
        screen = matrix(app)
        screen.workspace.set_template("again", "Then: {{say.output}}")  # as the editor does

        def rerun() -> bool:
            return finished(app, 3) and all(
                c["own models"].results["again"].text.startswith("Then") for c in screen.cells
            )

        await wait_for(pilot, rerun, what="the edited step re-run")
        assert {c["own models"].results["say"].status.value for c in screen.cells} == {"cached"}


async def test_leaving_while_cells_run_stops_them_cleanly(tmp_path: Path) -> None:
    path = config(tmp_path)
    data = json.loads(path.read_text())
    data["metadata"]["models"]["echo"]["delay"] = 0.01  # cells take a moment: some are in flight
    path.write_text(json.dumps(data), encoding="utf-8")
    rows = "word,expected\n" + "".join(f"w{i},w{i}\n" for i in range(300))
    (tmp_path / "rows.csv").write_text(rows, encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, MatrixScreen) and sum(map(len, app.screen.cells)) > 5,
            what="some cells",
        )
        screen = app.screen
        await pilot.press("escape")
        assert not isinstance(app.screen, MatrixScreen)
    # leaving run_test at once (cells still finishing come back to a dismissed screen) re-raises
    # any worker's exception: reaching here means none
    assert sum(map(len, screen.cells)) < 300  # the rest were not run


async def test_with_several_datasets_the_matrix_asks_which(tmp_path: Path) -> None:
    path = config(tmp_path)
    (tmp_path / "more.jsonl").write_text('{"word": "fig", "expected": "fig"}\n', encoding="utf-8")
    data = json.loads(path.read_text())
    data["metadata"]["datasets"]["more"] = "more.jsonl"
    path.write_text(json.dumps(data), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("down", "enter")  # the second: more
        await wait_for(pilot, lambda: finished(app, 1), what="the one row of 'more'")
        assert matrix(app).dataset.label == "more"

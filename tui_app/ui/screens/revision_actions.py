"""What the main screen does with runs over time (issue 22): the history tab's revision, tags and
scores, a chosen run's diff against the current output, baselines, ratings, and the tree's
"changed since baseline" mark. Plain functions over the screen's public parts; SQLite and git
always in thread workers, results drawn back on the loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.errors import PromptTuiError

# core.history and core.rundiff (sqlite3) are imported where they are used, in the workers: the
# main screen imports this module, and its first frame is drawn before any SQLite is loaded. So
# are the history tab's table (Textual's DataTable) and the rating dialog: neither is on the
# first frame (tests/ui/test_structure.py).

if TYPE_CHECKING:
    from .main import MainScreen
    from .rate import RateAnswer


def _config_path(screen: MainScreen) -> str:
    path = screen.session.workspace.document.path
    return str(path) if path is not None else screen.path


def load_history(screen: MainScreen, name: str) -> None:
    """Read the prompt's earlier runs with their labels (call from a thread worker)."""
    from ...core.rundiff import prompt_runs
    from ..widgets.run_history import label_cells

    history = screen.session.workspace.history
    app = screen.app
    if history is None:
        app.call_from_thread(screen.output.show_history, name, [], "History is off.")
        return
    try:
        runs = prompt_runs(history, _config_path(screen), name)
    except Exception as exc:  # a locked or broken database: say so in the tab
        app.call_from_thread(
            screen.output.show_history, name, [], f"Cannot read the history: {exc}"
        )
        return
    labels = [label_cells(r.revision, r.tags, r.score) for r in runs]
    app.call_from_thread(screen.output.show_history, name, [r.record for r in runs], "", labels)


def show_diff(screen: MainScreen, prompt: str, index: int) -> None:
    """The chosen earlier run's answer diffed against the current output, in the output view."""
    import time

    from ...core.rundiff import diff_against

    record = screen.output.history_record(index)
    if record is None:
        return
    current = screen.shown_text(prompt)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started_at or 0))
    text, same = diff_against(record, current)
    if same:
        note = f"history: the run of {when} ({record.model}) gave the same answer as now"
    else:
        note = (
            f"history: the run of {when} ({record.model}) → now: "
            "[-only then-] {+only now+}, long unchanged stretches folded"
        )
    if record.error:
        note += f"; that run failed: {record.error}"
    screen.output.show_history_diff(prompt, text, note)


def set_baseline(screen: MainScreen, prompt: str, index: int) -> None:
    record = screen.output.history_record(index)
    history = screen.session.workspace.history
    if record is None or history is None:
        return

    def work() -> None:
        try:
            history.set_baseline(record.config_path or _config_path(screen), record.run_id)
        except PromptTuiError as exc:
            screen.app.call_from_thread(screen.notify, str(exc), severity="error")
            return
        screen.app.call_from_thread(
            screen.notify, f"Run {record.run_id} is the baseline now.", title="Baseline"
        )
        refresh_marks_now(screen)

    screen.run_worker(work, thread=True, group="revisions", exit_on_error=False)


def rate_history_row(screen: MainScreen, prompt: str, index: int, score: float) -> None:
    from .rate import RateAnswer

    record = screen.output.history_record(index)
    if record is None:
        return
    _store(screen, record.run_id, prompt, RateAnswer(score, None, None), reload_tab=True)


def rate_output(screen: MainScreen, score: float | None, *, ask: bool = False) -> None:
    """Rate the selected prompt's shown output (the recorded run that produced it)."""
    from .rate import RateAnswer, RateScreen

    prompt = screen.selected
    if prompt is None:
        return
    current = screen.shown_text(prompt)

    def find_and_rate(answer: RateAnswer) -> None:
        from ...core.rundiff import run_of_output

        history = screen.session.workspace.history
        run_id = run_of_output(history, _config_path(screen), prompt, current)
        if run_id is None:
            screen.app.call_from_thread(
                screen.notify,
                "No recorded run gave this output (run the prompt first).",
                severity="warning",
            )
            return
        _store_now(screen, run_id, prompt, answer, reload_tab=False)

    def start(answer: RateAnswer | None) -> None:
        if answer is not None:
            screen.run_worker(
                lambda: find_and_rate(answer), thread=True, group="revisions", exit_on_error=False
            )

    if ask:
        screen.app.push_screen(RateScreen(f"Rate the answer of {prompt}"), start)
    else:
        start(RateAnswer(score, None, None))


def _store(
    screen: MainScreen, run_id: str, prompt: str, answer: RateAnswer, *, reload_tab: bool
) -> None:
    screen.run_worker(
        lambda: _store_now(screen, run_id, prompt, answer, reload_tab=reload_tab),
        thread=True,
        group="revisions",
        exit_on_error=False,
    )


def _store_now(
    screen: MainScreen, run_id: str, prompt: str, answer: RateAnswer, *, reload_tab: bool
) -> None:
    from ...core.history import Rating

    history = screen.session.workspace.history
    if history is None:
        screen.app.call_from_thread(screen.notify, "History is off: nothing to rate.")
        return
    try:
        earlier = history.ratings([run_id]).get((run_id, prompt))
        earlier = earlier or Rating(run_id=run_id, prompt=prompt)
        rating = Rating(  # what is not given now stays as rated before
            run_id=run_id,
            prompt=prompt,
            score=answer.score if answer.score is not None else earlier.score,
            comment=answer.comment if answer.comment is not None else earlier.comment,
            expected=answer.expected if answer.expected is not None else earlier.expected,
        )
        history.rate(rating)
    except PromptTuiError as exc:
        screen.app.call_from_thread(screen.notify, str(exc), severity="error")
        return
    screen.app.call_from_thread(
        screen.notify, f"{prompt} in run {run_id}: {rating.thumb or 'rated'}", title="Rated"
    )
    if reload_tab or screen.output.active_tab == "history":
        load_history(screen, prompt)


def refresh_marks(screen: MainScreen) -> None:
    """Recompute which prompts' outputs differ from the baseline's, in a thread."""
    screen.run_worker(
        lambda: refresh_marks_now(screen), thread=True, group="baseline-marks", exit_on_error=False
    )


def refresh_marks_now(screen: MainScreen) -> None:
    from ...core.rundiff import changed_since_baseline

    workspace = screen.session.workspace
    outputs = {p.name: p.output_text for p in workspace.document.prompts}
    try:
        changed = changed_since_baseline(workspace.history, _config_path(screen), outputs)
    except PromptTuiError:
        return
    screen.app.call_from_thread(screen.prompt_tree.set_marks, changed)

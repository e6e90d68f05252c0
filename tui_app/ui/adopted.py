"""After compare's adopt, the main screen shows the adopted answer: the output pane and Info of
each adopted prompt are drawn from the column's result, not from the stream an earlier run of
this session left behind (which the file no longer holds)."""

from __future__ import annotations

from ..core.runs import Run
from .state import RunInfo, Session


def show_adopted(session: Session, adoptions: list[tuple[Run, str]]) -> None:
    for run, name in adoptions:
        result = run.results.get(name)
        if result is None or name not in session.config.prompt_name_set:
            continue
        view = session.state(name)
        view.chunks, view.streaming, view.note = [result.text], False, ""
        view.request = result.request
        usage = result.usage
        view.info = RunInfo(
            model=result.model,
            status=result.status.value,
            ttft=result.ttft,
            latency=result.latency,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
            cost=result.cost,
            cached=result.status.value == "cached",
            attempts=result.attempts,
            offline=result.offline,
            started_at=result.started_at,
        )

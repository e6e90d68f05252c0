"""After compare's adopt, the main screen shows the adopted answer: the output pane and Info of
each adopted prompt are drawn from the column's result, not from the stream an earlier run of
this session left behind (which the file no longer holds)."""

from __future__ import annotations

from ..core.runs import Run
from .state import Session


def show_adopted(session: Session, adoptions: list[tuple[Run, str]]) -> None:
    for run, name in adoptions:
        result = run.results.get(name)
        if result is not None and name in session.config.prompt_name_set:
            session.show_result(name, result)

"""Writing untrusted text (model answers) to stdout: inert on a terminal, as is to a pipe."""

from __future__ import annotations

import io
from typing import TextIO

from ..core.inert import visible


class InertWriter(io.TextIOBase):
    """Writes to ``out`` with control sequences shown, not executed (see :mod:`..core.inert`)."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out

    def write(self, text: str) -> int:
        self._out.write(visible(text))
        return len(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return True


def for_terminal(out: TextIO) -> TextIO:
    """``out`` itself when it is a pipe or a file (the text as is, for scripts); an
    :class:`InertWriter` around it when it is a terminal."""
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        tty = False
    return InertWriter(out) if tty else out  # type: ignore[return-value]

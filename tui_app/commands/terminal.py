"""Writing untrusted text to the terminal: inert on a terminal, as is to a pipe.

Every command prints text that came from somewhere else: model answers, prompt names, template
text, provider errors, file names. :func:`inert_streams` puts :class:`InertWriter` around stdout
and stderr for the whole command (the CLI's one boundary with the terminal), so no printer has
to remember; a pipe or a file still gets the text as is, for scripts.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
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

    def write_control(self, sequence: str) -> None:
        """Our own terminal control (a progress line's carriage return and erase), written as
        is: only text from elsewhere is made inert."""
        self._out.write(sequence)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._out.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._out, "encoding", "utf-8")


def for_terminal(out: TextIO) -> TextIO:
    """``out`` itself when it is a pipe or a file (the text as is, for scripts); an
    :class:`InertWriter` around it when it is a terminal."""
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        tty = False
    return InertWriter(out) if tty else out  # type: ignore[return-value]


@contextlib.contextmanager
def inert_streams() -> Iterator[None]:
    """stdout and stderr inert for the duration (each only when it is a terminal)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = for_terminal(out), for_terminal(err)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = out, err

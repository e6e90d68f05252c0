"""Streams answers to a terminal or a pipe as a run goes (``run`` and ``run --watch``).

With concurrent prompts, one prompt streams live and the others are buffered and printed whole
when it is their turn, so outputs never interleave.
"""

from __future__ import annotations

from typing import TextIO

from ..core.events import Cached, Delta, Failed, Finished, RunEvent, Started


class TextPrinter:
    """Streams one prompt live; buffers the others until their turn."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live: str | None = None
        self.buffers: dict[str, list[str]] = {}
        self.headers: dict[str, str] = {}
        self.done: list[str] = []  # finished while another prompt was live, in finish order
        self.printed: set[str] = set()  # prompts whose header is already out
        self.mid_line = False  # the live answer's last line is not ended yet

    def handle(self, event: RunEvent) -> None:
        name = event.prompt
        if isinstance(event, Started):
            label = event.request.model + (" (offline)" if event.offline else "")
            self.headers[name] = f"── {name} · {label} "
            self.buffers.setdefault(name, [])
            if self.live is None:
                self._go_live(name)
        elif isinstance(event, Cached):
            self.headers[name] = f"── {name} · {event.model} (cached) "
            self.buffers[name] = [event.text]
            self.done.append(name)
        elif isinstance(event, Delta):
            if name == self.live:
                self.out.write(event.text)
                self.out.flush()
                self.mid_line = not event.text.endswith("\n")
            else:
                self.buffers.setdefault(name, []).append(event.text)
        elif isinstance(event, Finished | Failed):
            if name == self.live:
                self.out.write("\n")
                self.live = None
                self.mid_line = False
            elif name in self.headers:
                self.done.append(name)
        if self.live is None:
            self._flush_done()
            running = [n for n in self.buffers if n not in self.done and n not in self.printed]
            if running:
                self._go_live(running[0])

    def _header(self, name: str) -> None:
        self.out.write(self.headers[name].ljust(60, "─") + "\n")

    def _go_live(self, name: str) -> None:
        self.live = name
        self.printed.add(name)
        self._header(name)
        text = "".join(self.buffers.get(name, []))
        self.out.write(text)
        self.out.flush()
        self.mid_line = bool(text) and not text.endswith("\n")

    def break_line(self) -> None:
        """End an answer's unfinished line before another line is written (a run cut short by
        a newer version stops mid-line: "…worth a day each for a prompt-tui: reloaded: …")."""
        if self.mid_line:
            self.out.write("\n")
            self.out.flush()
            self.mid_line = False

    def _flush_done(self) -> None:
        while self.done:
            name = self.done.pop(0)
            if name in self.printed:
                continue
            self.printed.add(name)
            self._header(name)
            self.out.write("".join(self.buffers.get(name, [])) + "\n")
        self.out.flush()

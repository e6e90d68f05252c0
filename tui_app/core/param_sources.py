"""Where each value a template reads comes from: the typed vocabulary the form and the CLI share.

Kept apart from ``resolve`` (which imports the template engine) so the UI can use the types
before anything heavy is imported.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class ParamSource(enum.StrEnum):
    """Where a value a template reads comes from (lowest precedence last)."""

    RUNTIME = "run-time"
    PROMPT = "prompt"
    GLOBAL = "global"
    OUTPUT = "output"  # another prompt's output (``ParamInfo.of`` names it)
    INPUT = "input"  # another prompt's raw template
    MISSING = "missing"
    OPTIONAL = "optional"  # unset, and the template guards it (`is defined`, `| default`)


@dataclass(frozen=True)
class ParamInfo:
    name: str
    value: Any  # None when missing
    source: ParamSource
    of: str | None = None  # the prompt, for OUTPUT and INPUT

    @property
    def missing(self) -> bool:
        return self.source is ParamSource.MISSING

    @property
    def from_prompt(self) -> bool:
        """Read from another prompt (its output or input): not a parameter the user edits."""
        return self.source in (ParamSource.OUTPUT, ParamSource.INPUT)

    @property
    def source_label(self) -> str:
        return f"{self.source.value} of {self.of}" if self.of else self.source.value

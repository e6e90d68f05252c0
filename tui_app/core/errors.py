"""Every error the engine raises on purpose. Each one names where the problem is."""

from __future__ import annotations

from collections.abc import Iterable


class PromptTuiError(Exception):
    """Base class: an expected failure that the UI and the CLI show as one clear line."""


class ConfigError(PromptTuiError):
    """A config file that cannot be loaded or is not a valid AIConfig.

    ``location`` is a path into the document (``prompts[2].metadata.model``); ``line``/``col`` are
    1-based positions in the file when they are known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        col: int | None = None,
        location: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.col = col
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or "<config>"
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        prefix = f"{where}: "
        if self.location:
            prefix += f"{self.location}: "
        return prefix + self.message


class ConfigErrors(ConfigError):
    """Several independent problems found in one file (validation reports them all at once)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(
            first.message,
            source=first.source,
            line=first.line,
            col=first.col,
            location=first.location,
        )

    def __str__(self) -> str:
        return "\n".join(ConfigError.__str__(e) for e in self.errors)


class TemplateError(PromptTuiError):
    """A template that does not parse, or that the sandbox refuses to render."""

    def __init__(self, message: str, *, prompt: str | None = None, line: int | None = None):
        self.message = message
        self.prompt = prompt
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"prompt '{self.prompt}'" if self.prompt else "template"
        if self.line is not None:
            where += f" (template line {self.line})"
        return f"{where}: {self.message}"


class MissingReferenceError(PromptTuiError):
    """A template reads parameters or upstream outputs that have no value."""

    def __init__(self, prompt: str, missing: list[str], *, reasons: dict[str, str] | None = None):
        self.prompt = prompt
        self.missing = missing
        self.reasons = reasons or {}
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        for name in self.missing:
            why = self.reasons.get(name)
            parts.append(f"{name} ({why})" if why else name)
        noun = "reference" if len(self.missing) == 1 else "references"
        return f"prompt '{self.prompt}': missing {noun}: " + ", ".join(parts)


class CycleError(PromptTuiError):
    """Prompts whose outputs depend on each other in a loop."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(str(self))

    def __str__(self) -> str:
        loop = [*self.cycle, self.cycle[0]]
        if len(self.cycle) <= 12:
            return "dependency cycle: " + " -> ".join(loop)
        # a loop of thousands of prompts: its two ends say where to look, the count says how big
        shown = [*loop[:6], f"... ({len(loop) - 10:,} more) ...", *loop[-4:]]
        return f"dependency cycle of {len(self.cycle):,} prompts: " + " -> ".join(shown)


class UnknownPromptError(PromptTuiError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        if not known:
            hint = " (the config has no prompts)"
        else:  # the names meant when there are some, else all of them when they are few
            close = did_you_mean(name, known)
            hint = (
                f"; {close}"
                if close
                else f" (known: {', '.join(known)})"
                if len(known) <= 10
                else f" ({len(known):,} prompts; `prompt-tui validate` lists them)"
            )
        super().__init__(f"no prompt named '{name}'{hint}")


class RunRefused(PromptTuiError):
    """A run was refused before anything was sent (missing parameters or keys, a cycle...)."""


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """``"did you mean 'run'?"`` for the choices close to a mistyped word, else ``""``."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def no_such_prompt(written: str, prompt_names: Iterable[str]) -> str:
    """Why ``written.output`` has no value when no prompt has that name: with the names meant."""
    hint = did_you_mean(written, prompt_names)
    return f"no prompt is named '{written}'" + (f"; {hint}" if hint else "")

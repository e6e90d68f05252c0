"""Runner events: what a run tells its listeners (the TUI draws them, the CLI prints them).

Every event names its run and prompt and carries ``t``, unix time in seconds when it happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .request import ResolvedRequest


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    run_id: str
    prompt: str
    t: float

    @property
    def kind(self) -> str:
        return EVENT_NAMES[type(self)]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("request", None)
        out: dict[str, Any] = {"event": self.kind}
        out.update(data)
        if isinstance(self, Started):
            out["model"] = self.request.model
        return out


@dataclass(frozen=True, kw_only=True)
class Queued(RunEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class Started(RunEvent):
    request: ResolvedRequest
    offline: bool = False


@dataclass(frozen=True, kw_only=True)
class Delta(RunEvent):
    text: str


@dataclass(frozen=True, kw_only=True)
class Retrying(RunEvent):
    attempt: int  # the attempt that failed (1-based)
    delay: float  # seconds until the next attempt
    reason: str


@dataclass(frozen=True, kw_only=True)
class Finished(RunEvent):
    text: str
    output: dict[str, Any]  # the AIConfig execute_result stored on the prompt
    model: str
    usage: Usage | None = None
    cost: float | None = None  # None: unknown (model not in the local price table)
    ttft: float | None = None  # seconds from request to first token
    latency: float = 0.0  # seconds from request to the end of the stream
    attempts: int = 1
    offline: bool = False
    finish_reason: str | None = None  # "stop"; "length": cut at max_tokens (still a success)


@dataclass(frozen=True, kw_only=True)
class Cached(RunEvent):
    text: str
    output: dict[str, Any]
    model: str
    usage: Usage | None = None
    cost: float | None = None
    cached_at: float = 0.0  # unix time of the run that produced it
    # the request this run would have sent (known: its key found the answer), and the timings
    # of the run that produced the answer, as its usage and cost are
    request: ResolvedRequest | None = None
    ttft: float | None = None
    latency: float | None = None


@dataclass(frozen=True, kw_only=True)
class Failed(RunEvent):
    error: str
    partial_text: str = ""
    attempts: int = 1
    status: int | None = None  # HTTP status when the provider answered with one


@dataclass(frozen=True, kw_only=True)
class Blocked(RunEvent):
    by: str  # the upstream prompt that failed, was blocked or cancelled
    reason: str


@dataclass(frozen=True, kw_only=True)
class Cancelled(RunEvent):
    partial_text: str = ""


@dataclass(frozen=True, kw_only=True)
class Refused(RunEvent):
    """The run was refused before anything was sent; ``prompt`` is the run's target."""

    problems: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return "; ".join(self.problems)


@dataclass(frozen=True, kw_only=True)
class RunDone(RunEvent):
    """Last event of a run; ``prompt`` is the run's target ("" for all prompts)."""

    counts: dict[str, int] = field(default_factory=dict)


EVENT_NAMES: dict[type, str] = {
    Queued: "queued",
    Started: "started",
    Delta: "delta",
    Retrying: "retrying",
    Finished: "finished",
    Cached: "cached",
    Failed: "failed",
    Blocked: "blocked",
    Cancelled: "cancelled",
    Refused: "refused",
    RunDone: "done",
}

"""Runner events: what a run tells its listeners (the TUI draws them, the CLI prints them).

Every event names its run and prompt and carries ``t``, unix time in seconds when it happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .request import ResolvedRequest
from .structured import StructuredAnswer


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    # Of prompt_tokens, those read from the provider's prompt cache (Anthropic
    # cache_read_input_tokens, Gemini cachedContentTokenCount, OpenAI cached_tokens).
    cached_tokens: int | None = None
    # Of completion_tokens, those spent thinking (Anthropic thinking is billed as output; Gemini
    # thoughtsTokenCount is added to completion_tokens; OpenAI reasoning_tokens).
    reasoning_tokens: int | None = None
    # True: the counts are litellm's own estimate, not figures the server sent.
    estimated: bool = False


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
        data.pop("structured", None)
        structured = getattr(self, "structured", None)  # a JSON answer: value and verdict
        if structured is not None:
            data["structured"] = structured.to_json()
        out: dict[str, Any] = {"event": self.kind}
        out.update(data)
        status = EVENT_STATUS.get(type(self))
        if status is not None:
            out["status"] = status
        request = getattr(self, "request", None)
        if request is not None:
            out["model"] = request.model
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
    structured: StructuredAnswer | None = None  # a JSON answer: its value and schema verdict


@dataclass(frozen=True, kw_only=True)
class Cached(RunEvent):
    text: str
    output: dict[str, Any]
    model: str
    usage: Usage | None = None
    cost: float | None = None
    cached_at: float = 0.0  # unix time of the run that produced it
    request: ResolvedRequest | None = None  # the request the cache answered
    offline: bool = False
    structured: StructuredAnswer | None = None
    # the timings of the run that produced the answer, as its usage and cost are
    ttft: float | None = None
    latency: float | None = None


@dataclass(frozen=True, kw_only=True)
class Failed(RunEvent):
    error: str
    partial_text: str = ""
    attempts: int = 1
    http_status: int | None = None  # when the provider answered with one
    structured: StructuredAnswer | None = None  # a JSON answer that missed its schema


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


# What happened, never the word for the state it leads to (that is ``status``, PromptStatus):
# ``"event": "finish", "status": "done"``, so no event reads like a status.
EVENT_NAMES: dict[type, str] = {
    Queued: "enqueue",
    Started: "start",
    Delta: "delta",
    Retrying: "retry",
    Finished: "finish",
    Cached: "cache_hit",
    Failed: "fail",
    Blocked: "block",
    Cancelled: "cancel",
    Refused: "refuse",
    RunDone: "run_end",
}

# The prompt status each event leaves its prompt in (run-level events leave none).
EVENT_STATUS: dict[type, str] = {
    Queued: "queued",
    Started: "running",
    Finished: "done",
    Cached: "cached",
    Failed: "failed",
    Blocked: "blocked",
    Cancelled: "cancelled",
}

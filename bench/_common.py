"""Shared pieces of the benchmarks: samples and medians, A/B alternation, report rows, JSON out.

One place for the statistics every bench prints (median with min-max over N samples), for the
order in which the measured sides run (alternating, so drift in machine load hits both alike),
and for the machine-readable protocol ``bench/run_all.py`` reads:

    python bench/X.py --json   ->   last stdout line: {"rows": [{figure, ours, baseline, ratio,
                                                        target, met, unit, note}, ...]}

A row's ``target`` is a string: ``"<= 1.15x"`` bounds the ratio ours/baseline, ``"< 100 ms"``
bounds ``ours`` itself (in the row's unit); ``None`` makes an informational row that no target
counts. ``ours is None`` means not measured (the note says why): counted as not met.

The raw httpx client baseline lives in ``_raw_client.py`` (it must stay cheap to import: a fresh
process runs it as the cold baseline).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_RUNS = 5
QUICK_RUNS = 3  # --quick: a smoke run that fits in 5 minutes; the README quotes full runs


def runs_for(explicit: int | None, quick: bool) -> int:
    """Runs per side: as asked, else 3 for --quick and 5 for a full run."""
    return explicit or (QUICK_RUNS if quick else DEFAULT_RUNS)


# --- samples ------------------------------------------------------------------------------------


@dataclass
class Samples:
    """Measurements of one side of a comparison (seconds, bytes... whatever the unit is)."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def describe(self, scale: float = 1.0, unit: str = "s", digits: int = 3) -> str:
        """``1.234 s (1.200-1.300, n=5)``."""
        if not self.values:
            return "no samples"
        m, lo, hi = self.median * scale, self.low * scale, self.high * scale
        unit = f" {unit}" if unit else ""
        return f"{m:.{digits}f}{unit} ({lo:.{digits}f}-{hi:.{digits}f}, n={self.n})"


def order_for_round(names: Sequence[str], round_index: int) -> list[str]:
    """The sides in the order round ``round_index`` runs them: rotated each round (A B, B A, ...
    or A B C, B C A, ...), so no side always goes first, right after another's garbage."""
    k = round_index % len(names) if names else 0
    return list(names[k:]) + list(names[:k])


def alternate(cases: dict[str, Callable[[], float]], runs: int) -> dict[str, Samples]:
    """Run every case ``runs`` times, interleaved round by round; each call returns one sample."""
    out = {name: Samples() for name in cases}
    for i in range(runs):
        for name in order_for_round(list(cases), i):
            out[name].add(cases[name]())
    return out


async def alternate_async(
    cases: dict[str, Callable[[], Awaitable[float]]], runs: int
) -> dict[str, Samples]:
    """:func:`alternate` for coroutine functions."""
    out = {name: Samples() for name in cases}
    for i in range(runs):
        for name in order_for_round(list(cases), i):
            out[name].add(await cases[name]())
    return out


# --- report rows -------------------------------------------------------------------------------

_TARGET = re.compile(r"^\s*(<=|<)\s*([0-9]*\.?[0-9]+)\s*(x|.*)$")


@dataclass
class Row:
    figure: str
    ours: float | None
    baseline: float | None = None
    unit: str = "s"
    target: str | None = None
    note: str = ""
    ratio: float | None = None  # None: computed as ours / baseline
    met: bool | None = None  # None: computed from the target

    def finished(self) -> Row:
        """The row with ``ratio`` and ``met`` filled in from ours, baseline and target."""
        ratio = self.ratio
        if ratio is None and self.ours is not None and self.baseline:
            ratio = self.ours / self.baseline
        met = self.met if self.met is not None else target_met(self.target, self.ours, ratio)
        return Row(
            self.figure, self.ours, self.baseline, self.unit, self.target, self.note, ratio, met
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self.finished())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) else None

        met = data.get("met")
        return cls(
            figure=str(data.get("figure", "?")),
            ours=number("ours"),
            baseline=number("baseline"),
            unit=str(data.get("unit") or ""),
            target=data.get("target") if isinstance(data.get("target"), str) else None,
            note=str(data.get("note") or ""),
            ratio=number("ratio"),
            met=met if isinstance(met, bool) else None,
        ).finished()

    @property
    def counted(self) -> bool:
        """Does this row count towards "N of M targets met"? A row with a target does, and so
        does a figure that could not be measured (``met`` False, no value): a miss."""
        return self.target is not None or (self.ours is None and self.met is False)


def not_measured(figure: str, reason: str, target: str | None = None) -> Row:
    """A figure that should be there and is not: counted as a missed target."""
    return Row(figure, None, target=target, note=f"not measured: {reason}", met=False)


def target_met(target: str | None, ours: float | None, ratio: float | None) -> bool | None:
    """True/False against ``target``; None for an informational row (no target)."""
    if target is None:
        return None
    match = _TARGET.match(target)
    if match is None:
        raise ValueError(f"bad target {target!r}: expected '<= 1.2x' or '< 100 ms'")
    op, bound_text, suffix = match.groups()
    value = ratio if suffix == "x" else ours
    if value is None:
        return False
    bound = float(bound_text)
    return value < bound if op == "<" else value <= bound


def emit_json(rows: Sequence[Row]) -> None:
    """The one final line ``run_all.py`` reads."""
    print(json.dumps({"rows": [row.to_json() for row in rows]}), flush=True)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:.3g} {unit}".strip()


def format_table(rows: Sequence[Row]) -> str:
    """The report: one line per row, then ``N of M targets met``."""
    done = [row.finished() for row in rows]
    head = ("figure", "ours", "baseline", "ratio", "target", "met")
    body = []
    for row in done:
        met = "—" if row.met is None else ("yes" if row.met else "NO")
        body.append(
            (
                row.figure,
                fmt_value(row.ours, row.unit),
                fmt_value(row.baseline, row.unit),
                "—" if row.ratio is None else f"{row.ratio:.3f}x",  # 1.054 is not "1.05"
                row.target or ("?" if row.counted else "(info)"),
                met,
            )
        )
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row, cells in zip(done, body, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if row.note:
            lines.append(" " * 4 + row.note)
    counted = [row for row in done if row.counted]
    missed = [row.figure for row in counted if not row.met]
    lines.append("")
    if missed:
        lines.append("not met: " + "; ".join(missed))
    lines.append(f"{len(counted) - len(missed)} of {len(counted)} targets met")
    return "\n".join(lines)


def all_met(rows: Sequence[Row]) -> bool:
    return all(row.finished().met for row in rows if row.counted)


def rss_mib() -> float:
    """This process's resident set size (Linux /proc), MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def machine_line() -> str:
    """Cores, memory, Python and load: the context every figure needs."""
    import os
    import platform

    cores = os.cpu_count()
    load = os.getloadavg()
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            total = int(info.readline().split()[1]) / 1024 / 1024
        mem = f", {total:.0f} GiB RAM"
    except OSError:
        pass
    return (
        f"{cores} cores{mem}, Python {platform.python_version()} ({sys.platform}), "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )

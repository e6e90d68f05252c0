"""Run every benchmark and print one table: figure, ours, baseline, ratio, target, met.

Each bench runs as its own process with ``--json`` (and ``--quick`` when given) and prints one
final line ``{"rows": [...]}`` (bench/_common.py describes a row). A bench that is missing, has
no ``--json`` mode yet, fails or prints no rows is reported as "not measured: <reason>" and
counts as a missed target. The table ends with the figures that missed and the closing line
``N of M targets met``; the exit status is 0 when every target is met, 1 otherwise.

    python bench/run_all.py [--quick] [--sdk] [--only NAME ...] [--timeout S]

--quick: 3 runs per side and smaller workloads (a smoke run meant to finish within 5 minutes on
2 cores); the README quotes a full run (5 runs per side).
--sdk: also measure the AIConfig SDK (python-aiconfig 1.1.34) in its own virtual environment,
made once with pip and cached outside the repo (bench/_sdk_env.py says where); the chain bench
gets it as ``--sdk-python``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import Row, all_met, format_table, machine_line, not_measured  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str  # what the table's missing row is called
    script: str

    @property
    def path(self) -> Path:
        return BENCH / self.script


BENCHES = (
    Bench("startup", "startup.py"),
    Bench("selection", "selection.py"),
    Bench("stream", "stream.py"),
    Bench("fan-out and serial chains", "chain.py"),
    Bench("provider stream", "provider_stream.py"),
    Bench("native providers", "native_providers.py"),
    Bench("reload", "reload.py"),
    Bench("compare", "compare.py"),
    Bench("memory", "memory.py"),
    Bench("scale", "scale.py"),
    Bench("diff", "diff.py"),
    Bench("estimate", "estimate.py"),
    Bench("batch", "batch.py"),
    Bench("1,000-prompt run and reload in the TUI", "run_all_tui.py"),
)


def command_for(bench: Bench, quick: bool, sdk: str | None = None) -> list[str] | str:
    """The command that runs ``bench`` in JSON mode, or why it cannot run yet."""
    if not bench.path.exists():
        return f"bench/{bench.script} is not on this branch"
    source = bench.path.read_text(encoding="utf-8")
    if '"--json"' not in source:
        return f"bench/{bench.script} has no --json mode yet"
    command = [sys.executable, str(bench.path), "--json"]
    if quick and '"--quick"' in source:
        command.append("--quick")
    if sdk is not None and '"--sdk-python"' in source:
        command += ["--sdk-python", sdk]
    return command


def parse_rows(bench: Bench, stdout: str, stderr: str, returncode: int) -> list[Row]:
    """The rows of the bench's last ``{"rows": ...}`` line, or one not-measured row saying why."""
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"rows"'):
            try:
                data = json.loads(line)
                rows = [Row.from_json(item) for item in data["rows"]]
            except (ValueError, KeyError, TypeError) as exc:
                return [not_measured(bench.name, f"bench/{bench.script} printed bad JSON: {exc}")]
            if rows:
                return rows
    last = (stderr.strip().splitlines() or ["no output"])[-1][:200]
    why = f"exit {returncode}" if returncode else "no rows"
    return [not_measured(bench.name, f"bench/{bench.script} {why}: {last}")]


def run_bench(bench: Bench, quick: bool, timeout: float, sdk: str | None = None) -> list[Row]:
    command = command_for(bench, quick, sdk)
    if isinstance(command, str):
        return [not_measured(bench.name, command)]
    print(f"[run_all] {bench.script} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=BENCH.parent
        )
    except subprocess.TimeoutExpired:
        return [not_measured(bench.name, f"bench/{bench.script} ran over {timeout:g} s")]
    print(
        f"[run_all] {bench.script} took {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return parse_rows(bench, done.stdout, done.stderr, done.returncode)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="benches: " + ", ".join(b.script for b in BENCHES),
    )
    parser.add_argument("--quick", action="store_true", help="3 runs per side, smaller workloads")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these benches (e.g. chain memory)"
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds per bench")
    parser.add_argument(
        "--sdk",
        action="store_true",
        help="measure the AIConfig SDK too (its venv is made once, cached outside the repo)",
    )
    args = parser.parse_args(argv)
    timeout = args.timeout or (300.0 if args.quick else 1800.0)
    benches = [b for b in BENCHES if not args.only or b.script.removesuffix(".py") in args.only]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    before = machine_line()
    start = time.perf_counter()
    rows: list[Row] = []
    sdk: str | None = None
    if args.sdk:
        from _sdk_env import sdk_python

        sdk, why = sdk_python()
        if sdk is None:
            rows.append(not_measured("AIConfig SDK rows", why))
    for bench in benches:
        rows += run_bench(bench, args.quick, timeout, sdk)
    mode = "quick (3 runs per side)" if args.quick else "full (5 runs per side)"
    print(f"prompt-tui benchmarks, {mode}, {started}, {time.perf_counter() - start:.0f} s")
    print(f"machine: {before}")
    print(f"load at the end: {machine_line().rsplit('load average ', 1)[-1]}")
    print()
    print(format_table(rows))
    return 0 if all_met(rows) else 1


if __name__ == "__main__":
    sys.exit(main())

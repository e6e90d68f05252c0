"""The benchmark report: run_all's command line and the table's arithmetic (no timing here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import _common  # noqa: E402
import run_all  # noqa: E402
from _common import Row, format_table, not_measured, order_for_round, target_met  # noqa: E402


def test_run_all_help_lists_the_benches() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout
    for script in ("startup.py", "chain.py", "memory.py", "scale.py"):
        assert script in done.stdout


def test_ratio_is_ours_over_baseline_and_met_follows_the_target() -> None:
    slow = Row("fan-out", 1.30, 1.00, "s", "<= 1.15x").finished()
    fast = Row("serial", 1.04, 1.00, "s", "<= 1.05x").finished()
    assert slow.ratio == pytest.approx(1.30)
    assert slow.met is False
    assert fast.ratio == pytest.approx(1.04)
    assert fast.met is True


def test_a_bound_on_the_value_itself_ignores_the_baseline() -> None:
    lag = Row("key lag", 120.0, None, "ms", "< 100 ms").finished()
    assert lag.ratio is None
    assert lag.met is False
    assert target_met("< 100 ms", 99.9, None) is True
    assert target_met("< 100 ms", 100.0, None) is False  # strict
    assert target_met("<= 1.2x", None, 1.2) is True  # inclusive


def test_a_ratio_given_by_the_bench_wins_over_ours_over_baseline() -> None:
    # startup quotes the median of paired ratios, which differs from the ratio of medians
    row = Row("startup", 0.50, 0.40, "s", "<= 1.3x", ratio=1.2).finished()
    assert row.ratio == 1.2
    assert row.met is True


def test_a_bad_target_is_refused() -> None:
    with pytest.raises(ValueError, match="bad target"):
        target_met("about 2", 1.0, 1.0)


def test_table_counts_targets_and_names_the_misses() -> None:
    rows = [
        Row("fan-out", 1.30, 1.00, "s", "<= 1.15x"),
        Row("serial", 1.04, 1.00, "s", "<= 1.05x"),
        Row("litellm vs raw", 4.0, 0.1, "s", None, "info only"),
        Row("vs SDK", None, None, "s", None, "baseline unavailable: not installed"),
        not_measured("reload", "bench/reload.py is not on this branch"),
    ]
    table = format_table(rows)
    lines = table.splitlines()
    assert lines[-1] == "1 of 3 targets met"
    assert lines[-2] == "not met: fan-out; reload"
    fan = next(line for line in lines if line.startswith("fan-out"))
    assert "1.300x" in fan and "NO" in fan
    assert "40.000x" in next(line for line in lines if line.startswith("litellm vs raw"))
    assert "not measured: bench/reload.py is not on this branch" in table
    assert "baseline unavailable: not installed" in table
    assert _common.all_met(rows) is False
    assert _common.all_met(rows[1:3]) is True


def test_rows_survive_the_json_line_run_all_reads() -> None:
    rows = [Row("serial", 1.04, 1.00, "s", "<= 1.05x", "n=5"), not_measured("x", "why")]
    line = json.dumps({"rows": [row.to_json() for row in rows]})
    bench = run_all.Bench("chain", "chain.py")
    parsed = run_all.parse_rows(bench, "streamed text\n" + line + "\n", "", 0)
    assert [(r.figure, r.met, r.counted) for r in parsed] == [
        ("serial", True, True),
        ("x", False, True),
    ]
    assert parsed[0].ratio == pytest.approx(1.04)


def test_a_bench_that_prints_no_rows_is_a_missed_target_with_its_reason() -> None:
    bench = run_all.Bench("scale", "scale.py")
    (row,) = run_all.parse_rows(bench, "some table\n", "Traceback...\nValueError: boom\n", 1)
    assert row.counted and row.met is False
    assert row.note == "not measured: bench/scale.py exit 1: ValueError: boom"


def test_a_bench_without_json_mode_is_not_run(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "old.py").write_text("print('a table for people')\n")
    (tmp_path / "new.py").write_text('p.add_argument("--json")\np.add_argument("--quick")\n')
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    assert run_all.command_for(run_all.Bench("old", "old.py"), quick=True) == (
        "bench/old.py has no --json mode yet"
    )
    assert run_all.command_for(run_all.Bench("gone", "gone.py"), quick=False) == (
        "bench/gone.py is not on this branch"
    )
    command = run_all.command_for(run_all.Bench("new", "new.py"), quick=True)
    assert isinstance(command, list) and command[-2:] == ["--json", "--quick"]


def test_sides_alternate_round_by_round() -> None:
    assert [order_for_round(["a", "b"], i) for i in range(3)] == [
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
    ]
    calls: list[str] = []
    samples = _common.alternate(
        {"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 3.0}, 4
    )
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert samples["a"].n == 4 and samples["b"].median == 3.0

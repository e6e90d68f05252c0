"""Datasets: rows of parameter values, read from CSV, JSONL or YAML, one row at a time.

A dataset's columns are parameter names: each row becomes the run-time parameters of one run of
the chain. Columns no prompt reads are still available to checks (``expected``). A config names
its datasets in ``metadata.datasets`` (``{name: path}``, paths relative to the config file; other
AIConfig tools keep the key as an unknown one), or the user gives a file with ``--data``.

Reading is streamed: a row is parsed when it is asked for, so a batch over a million-row file
holds one row at a time (a YAML file is read item by item from the parser's event stream). Every
problem names the file and line. Rows are numbered from 1 in file order, whatever the format.

Selecting rows (``--rows 1-20,40``, ``--sample 50 --seed 1``) never loads the file: a sample
counts the rows in one pass, draws the row numbers, then streams again picking them.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import PromptTuiError, did_you_mean

if TYPE_CHECKING:
    from .config import AIConfig

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".yaml": "yaml", ".yml": "yaml"}
MAX_PROBLEMS = 10  # problems listed before "... and N more"


class DatasetError(PromptTuiError):
    """A dataset that cannot be read or does not fit the chain; ``str()`` names file and line."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None) -> None:
        self.message, self.path, self.line = message, path, line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Row:
    """One row: its number (1-based, in file order), the line it starts on, its values."""

    number: int
    line: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Dataset:
    path: Path
    name: str = ""  # its name in metadata.datasets, when it came from there

    @property
    def format(self) -> str:
        found = FORMATS.get(self.path.suffix.lower())
        if found is None:
            raise DatasetError(
                f"unknown dataset format '{self.path.suffix or '(none)'}': use .csv, .jsonl or "
                ".yaml",
                path=str(self.path),
            )
        return found

    @property
    def label(self) -> str:
        return self.name or self.path.name

    def rows(self) -> Iterator[Row]:
        """Every row, streamed (raises DatasetError with file:line on bad input)."""
        fmt = self.format
        try:
            handle = self.path.open("r", encoding="utf-8", newline="" if fmt == "csv" else None)
        except OSError as exc:
            raise DatasetError(
                f"cannot read the dataset: {exc.strerror or exc}", path=str(self.path)
            ) from None
        with handle:
            try:
                if fmt == "csv":
                    yield from _csv_rows(handle, str(self.path))
                elif fmt == "jsonl":
                    yield from _jsonl_rows(handle, str(self.path))
                else:
                    yield from _yaml_rows(handle, str(self.path))
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"not UTF-8 text (byte {exc.start})", path=str(self.path)
                ) from None

    def count(self) -> int:
        return sum(1 for _ in self.rows())

    def columns(self) -> list[str]:
        """Every column a row gives, in order of first appearance (one streamed pass)."""
        seen: dict[str, None] = {}
        for row in self.rows():
            for key in row.values:
                seen.setdefault(key, None)
        return list(seen)


def _csv_rows(handle: Iterable[str], path: str) -> Iterator[Row]:
    reader = csv.reader(handle, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [h.strip() for h in header]
        for col, name in enumerate(names, 1):
            if not name:
                raise DatasetError(f"column {col} of the header has no name", path=path, line=1)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DatasetError(
                "the header names a column twice: " + ", ".join(duplicates), path=path, line=1
            )
        number = 0
        line = reader.line_num + 1
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                line = reader.line_num + 1
                continue  # a blank line
            number += 1
            if len(record) != len(names):
                raise DatasetError(
                    f"row {number} has {len(record)} fields, the header has {len(names)}",
                    path=path,
                    line=line,
                )
            yield Row(number, line, dict(zip(names, record, strict=True)))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"bad CSV: {exc}", path=path, line=reader.line_num) from None


def _jsonl_rows(handle: Iterable[str], path: str) -> Iterator[Row]:
    number = 0
    for line_number, text in enumerate(handle, 1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"bad JSON at column {exc.colno}: {exc.msg}", path=path, line=line_number
            ) from None
        number += 1
        if not isinstance(value, dict):
            raise DatasetError(
                f"row {number} is {type(value).__name__}, not an object of column values",
                path=path,
                line=line_number,
            )
        yield Row(number, line_number, value)


class _RowLoader(yaml.SafeLoader):
    """PyYAML's safe loader, driven one sequence item at a time. Aliases are refused: a
    dataset has no use for them, and an alias bomb would expand when a row is rendered."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise DatasetError(
                "YAML aliases (*name) are not allowed in a dataset",
                path=str(self.name),
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


def _yaml_rows(handle: Any, path: str) -> Iterator[Row]:
    loader = _RowLoader(handle)
    loader.name = path
    try:
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return
        loader.get_event()  # DocumentStart
        if not loader.check_event(yaml.SequenceStartEvent):
            mark = loader.peek_event().start_mark
            raise DatasetError(
                "a YAML dataset is a list of rows (- name: value ...)",
                path=path,
                line=mark.line + 1,
            )
        loader.get_event()
        number = 0
        while not loader.check_event(yaml.SequenceEndEvent):
            node = loader.compose_node(None, None)
            loader.anchors = {}
            number += 1
            line = node.start_mark.line + 1
            value = loader.construct_document(node)
            if not isinstance(value, dict):
                raise DatasetError(
                    f"row {number} is {type(value).__name__}, not a mapping of column values",
                    path=path,
                    line=line,
                )
            yield Row(number, line, {str(k): v for k, v in value.items()})
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DatasetError(f"bad YAML: {exc.problem or exc}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise DatasetError(f"bad YAML: {exc}", path=path) from None
    finally:
        loader.dispose()


# --- which rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which rows of a dataset a batch runs: ranges (1-based, inclusive), a seeded sample of
    those, or all of them."""

    ranges: tuple[tuple[int, int], ...] = ()
    sample: int | None = None
    seed: int = 0

    @classmethod
    def parse(cls, rows: str | None = None, sample: int | None = None, seed: int = 0) -> Selection:
        ranges: list[tuple[int, int]] = []
        for part in (rows or "").split(","):
            part = part.strip()
            if not part:
                continue
            first, sep, last = part.partition("-")
            try:
                lo = int(first)
                hi = int(last) if sep else lo
            except ValueError:
                raise DatasetError(
                    f"--rows expects row numbers like 1-20,40; got '{part}'"
                ) from None
            if lo < 1 or hi < lo:
                raise DatasetError(f"--rows: '{part}' is not a range of rows counted from 1")
            ranges.append((lo, hi))
        if sample is not None and sample < 1:
            raise DatasetError("--sample must be at least 1")
        return cls(tuple(ranges), sample, seed)

    def wants(self, number: int) -> bool:
        return not self.ranges or any(lo <= number <= hi for lo, hi in self.ranges)

    def rows(self, dataset: Dataset) -> Iterator[Row]:
        """The selected rows, streamed in file order."""
        if self.sample is None:
            yield from (row for row in dataset.rows() if self.wants(row.number))
            return
        # reservoir sampling over the row numbers: memory in the sample's size, not the file's
        rng = random.Random(self.seed)
        chosen: list[int] = []
        for seen, row in enumerate((r for r in dataset.rows() if self.wants(r.number)), 1):
            if len(chosen) < self.sample:
                chosen.append(row.number)
            else:
                slot = rng.randrange(seen)
                if slot < self.sample:
                    chosen[slot] = row.number
        picked = set(chosen)
        yield from (row for row in dataset.rows() if row.number in picked)

    def count(self, dataset: Dataset) -> int:
        total = sum(1 for row in dataset.rows() if self.wants(row.number))
        return total if self.sample is None else min(self.sample, total)

    def describe(self) -> str:
        parts = []
        if self.ranges:
            parts.append(
                "rows " + ",".join(f"{lo}-{hi}" if hi != lo else str(lo) for lo, hi in self.ranges)
            )
        if self.sample is not None:
            parts.append(f"a sample of {self.sample} (seed {self.seed})")
        return ", ".join(parts) or "every row"


# --- datasets of a config -------------------------------------------------------------------


def named_datasets(config: AIConfig) -> dict[str, Path]:
    """``metadata.datasets`` of the config: name -> path (relative paths from the config)."""
    raw = config.metadata.get("datasets")
    if not isinstance(raw, Mapping):
        return {}
    base = config.path.parent if config.path is not None else Path.cwd()
    return {str(name): base / str(path) for name, path in raw.items() if isinstance(path, str)}


def dataset_problems(config: AIConfig) -> list[tuple[str, str]]:
    """(location, message) for a malformed ``metadata.datasets`` (validate reports them)."""
    raw = config.metadata.get("datasets")
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        return [("metadata.datasets", "must map dataset names to file paths")]
    problems = []
    for name, path in raw.items():
        where = f"metadata.datasets.{name}"
        if not isinstance(path, str):
            problems.append((where, f"must be a file path, not {type(path).__name__}"))
            continue
        if Path(path).suffix.lower() not in FORMATS:
            problems.append((where, f"'{path}': use a .csv, .jsonl or .yaml file"))
        elif config.path is not None and not (config.path.parent / path).exists():
            problems.append((where, f"'{path}' does not exist (paths are relative to the config)"))
        elif config.path is not None:
            try:
                Dataset(config.path.parent / path).columns()
            except DatasetError as exc:
                problems.append((where, str(exc)))
    return problems


def dataset_columns(config: AIConfig) -> set[str]:
    """Every column the config's datasets give (unreadable ones give none)."""
    out: set[str] = set()
    for path in named_datasets(config).values():
        try:
            out.update(Dataset(path).columns())
        except DatasetError:
            continue
    return out


def find_dataset(config: AIConfig, given: str | None) -> Dataset:
    """The dataset ``--data`` names: a name from ``metadata.datasets`` or a file path; without
    ``--data``, the config's only dataset."""
    named = named_datasets(config)
    if given is None:
        if len(named) == 1:
            name, path = next(iter(named.items()))
            return Dataset(path, name)
        if not named:
            raise DatasetError("no dataset: give one with --data FILE (.csv, .jsonl or .yaml)")
        raise DatasetError(
            "the config names several datasets (" + ", ".join(named) + "): pick one with --data"
        )
    if given in named:
        return Dataset(named[given], given)
    path = Path(given)
    if not path.exists():
        hint = did_you_mean(given, named, n=1) if named else ""
        known = f"; datasets of the config: {', '.join(named)}" if named else ""
        raise DatasetError(
            f"no such dataset file or name: '{given}'" + (f" ({hint})" if hint else known)
        )
    return Dataset(path)


# --- does the dataset fit the chain? --------------------------------------------------------


@dataclass
class Fit:
    """What a chain needs from rows and what it reads, for :func:`check_fit`."""

    needed: dict[str, str] = field(default_factory=dict)  # parameter -> a prompt that reads it
    reads: set[str] = field(default_factory=set)  # every name prompts and checks read


def check_fit(
    dataset: Dataset, rows: Iterable[Row], fit: Fit, *, given: Iterable[str] = ()
) -> None:
    """Raise DatasetError listing (with file and line) every row that lacks a parameter the
    chain needs and nothing else defines, and every column nothing reads. One streamed pass.
    ``given``: parameters set some other way (``-p NAME=VALUE``)."""
    path = str(dataset.path)
    needed = {k: v for k, v in fit.needed.items() if k not in set(given)}
    problems: list[str] = []
    extra = 0
    unread: dict[str, int] = {}  # column -> line it first appears on
    for row in rows:
        for column in row.values:
            if column not in fit.reads and column not in unread and not column.startswith("_"):
                unread[column] = row.line
        lacking = [p for p in needed if row.values.get(p) is None]
        if lacking:
            if len(problems) >= MAX_PROBLEMS:
                extra += 1
                continue
            what = ", ".join(f"'{p}' (read by prompt '{needed[p]}')" for p in lacking)
            problems.append(f"{path}:{row.line}: row {row.number} gives no {what}")
    for column, line in unread.items():
        hint = did_you_mean(column, sorted(fit.reads), n=1)
        problems.append(
            f"{path}:{line}: column '{column}' is read by no prompt and no check"
            + (f" ({hint})" if hint else "")
            + "; name it _"
            + column
            + " to keep it as a note"
        )
    if extra:
        problems.append(f"... and {extra} more rows lacking a parameter")
    if problems:
        raise DatasetError("\n".join(problems))

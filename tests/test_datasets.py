"""Datasets (issue 24): CSV, JSONL and YAML rows, streamed; bad input named by file and line;
row selection; whether the rows fit the chain, checked before anything is sent."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tui_app.core.batch import Batch, batch_workspace
from tui_app.core.config import load
from tui_app.core.datasets import Dataset, DatasetError, Selection, find_dataset


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("d.csv", 'topic,expected\ncats,meow\n\n"dogs, big",woof\n'),
        (
            "d.jsonl",
            '{"topic": "cats", "expected": "meow"}\n\n{"topic": "dogs, big", "expected": "woof"}\n',
        ),
        ("d.yaml", "- topic: cats\n  expected: meow\n\n- topic: dogs, big\n  expected: woof\n"),
    ],
)
def test_the_three_formats_give_the_same_rows_with_their_lines(tmp_path, name, text):
    rows = list(Dataset(write(tmp_path / name, text)).rows())
    assert [r.values for r in rows] == [
        {"topic": "cats", "expected": "meow"},
        {"topic": "dogs, big", "expected": "woof"},
    ]
    assert [r.number for r in rows] == [1, 2]
    lines = {"d.csv": [2, 4], "d.jsonl": [1, 3], "d.yaml": [1, 4]}[name]
    assert [r.line for r in rows] == lines


@pytest.mark.parametrize(
    ("name", "text", "where", "words"),
    [
        ("d.csv", "a,b\n1,2\n3\n", "d.csv:3", "row 2 has 1 fields, the header has 2"),
        ("d.csv", "a,a\n1,2\n", "d.csv:1", "names a column twice: a"),
        ("d.jsonl", '{"a": 1}\n{"a": 2,\n', "d.jsonl:2", "bad JSON at column"),
        ("d.jsonl", '{"a": 1}\n[1, 2]\n', "d.jsonl:2", "row 2 is list"),
        ("d.yaml", "- a: 1\n- a: [1\n", "d.yaml:3", "bad YAML"),
        ("d.yaml", "a: 1\n", "d.yaml:1", "a YAML dataset is a list of rows"),
        ("d.yaml", "- a: &x [1, 2]\n- a: *x\n", "d.yaml:2", "aliases"),
        ("d.txt", "a\n", "d.txt", "unknown dataset format '.txt'"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, name, text, where, words):
    dataset = Dataset(write(tmp_path / name, text))
    with pytest.raises(DatasetError) as info:
        list(dataset.rows())
    message = str(info.value)
    assert message.startswith(str(tmp_path / where)), message
    assert words in message


def test_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a\n\xff\xfe\n")
    with pytest.raises(DatasetError, match="not UTF-8"):
        list(Dataset(path).rows())


def test_rows_and_a_seeded_sample(tmp_path):
    path = write(tmp_path / "d.csv", "n\n" + "".join(f"{i}\n" for i in range(1, 101)))
    dataset = Dataset(path)
    picked = Selection.parse("1-3,10").rows(dataset)
    assert [r.values["n"] for r in picked] == ["1", "2", "3", "10"]
    first = [r.number for r in Selection.parse(None, 5, 1).rows(dataset)]
    again = [r.number for r in Selection.parse(None, 5, 1).rows(dataset)]
    other = [r.number for r in Selection.parse(None, 5, 2).rows(dataset)]
    assert first == again and len(first) == 5 and first == sorted(first)
    assert first != other
    assert Selection.parse("90-200", 50, 1).count(dataset) == 11
    for bad in ("0-3", "5-2", "x"):
        with pytest.raises(DatasetError, match="--rows"):
            Selection.parse(bad)


def test_reading_is_streamed(tmp_path):
    """Memory while reading does not grow with the file: 20,000 rows read in a loop hold one."""
    path = tmp_path / "big.jsonl"
    with path.open("w") as out:
        for i in range(20_000):
            out.write(f'{{"topic": "topic number {i}", "expected": "{i}"}}\n')
    tracemalloc.start()
    count = 0
    for _ in Dataset(path).rows():
        count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 20_000
    assert peak < 1_000_000, peak  # the file is ~1 MB; holding its rows would be several


def _config(tmp_path: Path, **meta) -> Path:
    prompts = [
        {"name": "outline", "input": "Outline {{topic}} for {{audience}}"},
        {
            "name": "draft",
            "input": "Draft from {{outline.output}}",
            "metadata": {"checks": [{"contains": "{{expected}}"}]},
        },
    ]
    return write_config(
        tmp_path / "c.json", chain(prompts, parameters={"audience": "kids"}, **meta)
    )


def test_a_missing_parameter_and_an_unread_column_are_named_with_file_and_row(tmp_path):
    data = write(tmp_path / "d.csv", "topic,expected,topc\ncats,meow,x\n")
    write(tmp_path / "e.jsonl", '{"topic": "a", "expected": "b"}\n{"expected": "c"}\n')
    config = load(_config(tmp_path))
    workspace, _ = batch_workspace(config, concurrency=1, history=False)
    with pytest.raises(DatasetError) as info:
        Batch(workspace, Dataset(data)).prepare()
    assert (
        f"{data}:2: column 'topc' is read by no prompt and no check (did you mean 'topic'?)"
        in str(info.value)
    )
    with pytest.raises(DatasetError) as info:
        Batch(workspace, Dataset(tmp_path / "e.jsonl")).prepare()
    assert f"{tmp_path / 'e.jsonl'}:2: row 2 gives no 'topic' (read by prompt 'outline')" in str(
        info.value
    )
    # audience comes from the config; expected is read by a check; _notes is a note
    write(tmp_path / "ok.csv", "topic,expected,_notes\ncats,meow,why not\n")
    batch = Batch(workspace, Dataset(tmp_path / "ok.csv"))
    batch.prepare()
    assert batch.total_rows == 1 and batch.steps == ["outline", "draft"]


def test_datasets_named_in_the_config_are_found_relative_to_it(tmp_path):
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "q.csv", "topic,expected\na,b\n")
    config = load(_config(tmp_path, datasets={"questions": "data/q.csv"}))
    assert find_dataset(config, None).path == tmp_path / "data" / "q.csv"
    assert find_dataset(config, "questions").name == "questions"
    with pytest.raises(DatasetError, match="did you mean 'questions'"):
        find_dataset(config, "question")
    # kept on save as an unknown key
    config.save()
    assert load(tmp_path / "c.json").metadata["datasets"] == {"questions": "data/q.csv"}

from tests.helpers import REPO


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    command = [line for line in ci if line.startswith("python -m pytest")][-1].strip()
    readme = (REPO / "README.md").read_text()
    assert command in readme


def test_readme_python_api_example_prints_one_prompt_only(tmp_path, monkeypatch, capsys):
    """The example's output is the itinerary alone, not its dependencies' streams interleaved."""
    import re
    import shutil

    readme = (REPO / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S)
    assert block is not None
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    (tmp_path / "sample_configs").mkdir()
    shutil.copy(REPO / "sample_configs" / "travel_chain.aiconfig.json", tmp_path / "sample_configs")
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), "README.md", "exec"), {})  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out
    from tui_app.core.config import load

    final = load(tmp_path / "sample_configs" / "travel_chain.aiconfig.json").prompt("itinerary")
    assert printed.strip() == (final.output_text or "").strip()
    assert "Porto" in printed

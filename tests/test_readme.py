from tests.helpers import REPO


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    command = [line for line in ci if line.startswith("python -m pytest")][-1].strip()
    readme = (REPO / "README.md").read_text()
    assert command in readme

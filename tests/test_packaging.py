from __future__ import annotations

import tomllib

from tests.helpers import REPO


def test_every_package_is_listed_for_the_wheel():
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "tui_app").rglob("__init__.py")
    }
    assert on_disk | {"tui_app.themes", "tui_app.sample_configs"} == listed
    assert list((REPO / "themes").glob("*.yaml")), "themes ship from the top-level themes/ folder"


def test_every_sample_file_ships_in_the_wheel():
    """A sample's dataset (.csv) ships beside it: package-data names every extension used."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["tui_app.sample_configs"]
    for path in (REPO / "sample_configs").iterdir():
        if path.is_file() and not path.name.startswith("."):
            assert any(path.match(p) for p in patterns), f"{path.name} would not ship"

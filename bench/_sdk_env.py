"""The AIConfig SDK's own Python, for the benches' SDK rows: made once, cached outside the repo.

``sdk_python()`` returns a Python that can ``import aiconfig``: a virtual environment with the
pinned SDK (python-aiconfig and the google-generativeai it was released with, from PyPI through
pip), built the first time under the bench cache directory and reused afterwards. The cache
directory is ``$PROMPT_TUI_BENCH_CACHE``, else ``$XDG_CACHE_HOME/prompt-tui-bench``, else
``~/.cache/prompt-tui-bench``. A build that fails leaves nothing behind (it is made in a
temporary directory and renamed into place once ``import aiconfig`` works), so the next call
tries again.

    python bench/_sdk_env.py     # build (or find) it and print its Python
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

PACKAGES = ("python-aiconfig==1.1.34", "google-generativeai==0.3.2")
NAME = "aiconfig-sdk-1.1.34"


def cache_dir() -> Path:
    explicit = os.environ.get("PROMPT_TUI_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prompt-tui-bench"


def _python_of(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _imports_aiconfig(python: Path) -> bool:
    probe = subprocess.run(
        [str(python), "-c", "import aiconfig"],
        capture_output=True,
        cwd=tempfile.gettempdir(),  # not the repo: nothing of ours on the path
        check=False,
    )
    return probe.returncode == 0


def sdk_python(log: bool = True) -> tuple[str | None, str]:
    """(the cached SDK Python, "") or (None, why it could not be made)."""
    root = cache_dir()
    final = root / NAME
    python = _python_of(final)
    if python.exists() and _imports_aiconfig(python):
        return str(python), ""
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{NAME}.building-", dir=root))
    if log:
        print(f"[sdk] making {final} with {' '.join(PACKAGES)} (once)", file=sys.stderr, flush=True)
    try:
        # Made at its final path's sibling and renamed: a venv's python finds its packages
        # through pyvenv.cfg next to it, so the rename keeps it working.
        venv.EnvBuilder(with_pip=True, clear=True).create(building)
        pip = subprocess.run(
            [str(_python_of(building)), "-m", "pip", "install", "-q", *PACKAGES],
            capture_output=True,
            text=True,
            check=False,
        )
        if pip.returncode != 0:
            tail = (pip.stderr.strip().splitlines() or ["no output"])[-1][:200]
            return None, f"pip install {' '.join(PACKAGES)} failed: {tail}"
        if not _imports_aiconfig(_python_of(building)):
            return None, "installed, but `import aiconfig` fails in the new environment"
        if final.exists():
            shutil.rmtree(final)
        building.rename(final)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return str(_python_of(final)), ""


if __name__ == "__main__":
    found, why = sdk_python()
    print(found or f"no SDK Python: {why}")
    sys.exit(0 if found else 1)

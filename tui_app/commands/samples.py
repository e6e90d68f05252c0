"""`prompt-tui samples DIR`: copy the shipped sample configs into DIR, to open and edit there.

The samples ship inside the package (a wheel's ``tui_app/sample_configs``), which is never
written to: opening them in place would save, export and keep conflict copies in site-packages.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..core.display import plural
from ..core.paths import in_package, samples_dir

SUFFIXES = (".json", ".yaml", ".yml")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "samples", help="copy the sample configs into a directory, to open and edit there"
    )
    parser.add_argument("dir", help="where to put them (created when missing)")
    parser.set_defaults(func=run)


def shipped() -> list[Path]:
    """The sample configs and the files they read (tool results, datasets), as shipped."""
    source = samples_dir()
    if source is None:
        return []
    return sorted(
        p
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc")
    )


def is_config(path: Path) -> bool:
    return path.suffix in SUFFIXES and ".aiconfig." in path.name


def run(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    files = shipped()
    if not files:
        print("prompt-tui: samples: this installation has no samples", file=sys.stderr)
        return 1
    if in_package(target):
        print(f"prompt-tui: samples: {target} is inside the installed package", file=sys.stderr)
        return 2
    if target.exists() and not target.is_dir():
        print(f"prompt-tui: samples: {target} is a file, not a directory", file=sys.stderr)
        return 2
    target.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    root = samples_dir()
    assert root is not None
    for source in files:
        destination = target / source.relative_to(root)
        if destination.exists():  # the user's copy may hold their edits
            kept.append(destination)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        copied.append(destination)
    for path in copied:
        print(path)
    for path in kept:
        print(f"prompt-tui: samples: kept {path} (it exists)", file=sys.stderr)
    configs = [p for p in copied if is_config(p)]
    first = configs[0] if configs else next((p for p in kept if is_config(p)), None)
    print(
        f"{plural(len(configs), 'sample')} copied to {target}"
        + (f"; open one with: prompt-tui {first}" if first else ""),
        file=sys.stderr,
    )
    return 0

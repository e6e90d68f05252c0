"""Options for runs tied to git and labelled by the user: ``--ref REV``, ``--tag``, ``--meta``.

Shared by ``run``, ``compare`` and ``status`` (each registers what makes sense for it)."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.history import RunOrigin
from ..core.workspace import Workspace
from .options import UsageError

MAX_TAG = 100  # characters; a tag is a label, not a document


def add_ref_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ref",
        metavar="REV",
        help="use CONFIG as it was at this git revision (git show; the file is not touched)",
    )


def add_label_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="NAME",
        help="label the run in the history (repeatable; `history --tag NAME` finds it)",
    )
    parser.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a key=value note stored with the run (repeatable)",
    )


def open_workspace(config: str, ref: str | None, **kwargs: Any) -> Workspace:
    """``Workspace.open`` on the working file, or on the file as it was at ``ref``."""
    if ref is None:
        return Workspace.open(config, **kwargs)
    return Workspace.open_at(config, ref, **kwargs)


def origin_from(args: argparse.Namespace) -> RunOrigin:
    """The tags and metadata a run is labelled with (its git facts are added as it starts)."""
    tags: list[str] = []
    for tag in getattr(args, "tag", []) or []:
        tag = tag.strip()
        if not tag or len(tag) > MAX_TAG or not tag.isprintable():
            raise UsageError(f"--tag '{tag}': a tag is 1-{MAX_TAG} printable characters")
        if tag not in tags:
            tags.append(tag)
    meta: dict[str, str] = {}
    for item in getattr(args, "meta", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--meta expects KEY=VALUE, got '{item}'")
        meta[key.strip()] = value
    return RunOrigin(run_id="", config_path="", tags=tuple(tags), meta=meta)

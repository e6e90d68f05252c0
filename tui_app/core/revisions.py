"""Git as the version store of a config file: where a run's config came from, and any revision of
it read without a checkout.

Everything goes through ``git`` in a subprocess with a timeout: no git library, nothing that
changes the work tree or the index (``git show REV:path`` reads a revision; the working file is
never touched). Outside a work tree, without git, or when git hangs, :func:`facts` says "unknown"
(None) and a run goes on; :func:`read_at` raises :class:`RevisionError` with words a user can act
on (a mistyped ref, a file that did not exist then, a shallow clone missing that history).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import AIConfig, loads
from .errors import PromptTuiError, did_you_mean
from .fileio import format_of
from .history import RunOrigin

if TYPE_CHECKING:
    from .runs import Run
    from .workspace import Workspace

GIT_TIMEOUT = 5.0  # seconds for one git command (a network filesystem can be slow, never hang)
SHORT = 10  # characters of a commit shown to people


class RevisionError(PromptTuiError):
    """A revision of a config cannot be read (bad ref, file absent then, no git...)."""


@dataclass(frozen=True)
class GitFacts:
    """Where a run's config came from. ``commit``: the commit the config was read at (HEAD for
    the working file, the resolved REV for ``--ref``); ``dirty``: the config run differed from
    that commit's version (edited on disk or in the TUI, or not committed at all); ``ref``: the
    revision the user asked for (None: the working file); ``last_commit``: the newest commit
    that changed the file (a baseline older than it is out of date)."""

    commit: str | None
    dirty: bool
    ref: str | None = None
    path: str = ""  # the file's path inside the repository
    last_commit: str | None = None
    last_commit_time: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "dirty": self.dirty,
            "ref": self.ref,
            "path": self.path,
            "last_commit": self.last_commit,
            "last_commit_time": self.last_commit_time,
        }


@dataclass(frozen=True)
class _Located:
    root: Path
    rel: str  # posix, relative to root


def _git(
    cwd: Path, *args: str, check: bool = False, input_: bytes | None = None
) -> subprocess.CompletedProcess[bytes] | None:
    """Run git; None when it is not installed or did not answer in time."""
    if shutil.which("git") is None:
        return None
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env=env,
            input=input_,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if check and done.returncode != 0:
        return None
    return done


def _out(done: subprocess.CompletedProcess[bytes] | None) -> str | None:
    if done is None or done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip()


def _locate(path: Path) -> _Located | None:
    path = path.expanduser().resolve()
    root = _out(_git(path.parent, "rev-parse", "--show-toplevel"))
    if not root:
        return None
    root_path = Path(root).resolve()
    try:
        rel = path.relative_to(root_path).as_posix()
    except ValueError:
        return None
    return _Located(root_path, rel)


def facts(path: str | os.PathLike[str], *, edited: bool = False) -> GitFacts | None:
    """The git facts of the working file (None: not in a work tree, or no git). ``edited``: the
    config being run has changes not on disk (the TUI's unsaved edits)."""
    found = _locate(Path(path))
    if found is None:
        return None
    head = _out(_git(found.root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"))
    status = _out(_git(found.root, "status", "--porcelain", "--", found.rel))
    changed = bool(status) if status is not None else True
    last, when = _last_commit(found)
    return GitFacts(
        commit=head or None,
        dirty=changed or edited or last is None,  # never committed: nothing to be equal to
        path=found.rel,
        last_commit=last,
        last_commit_time=when,
    )


def _last_commit(found: _Located, rev: str = "HEAD") -> tuple[str | None, float | None]:
    line = _out(_git(found.root, "log", "-1", "--format=%H %ct", rev, "--", found.rel))
    if not line:
        return None, None
    sha, _, stamp = line.partition(" ")
    try:
        return sha, float(stamp)
    except ValueError:
        return sha, None


def last_commit(path: str | os.PathLike[str]) -> tuple[str | None, float | None]:
    """The newest commit that changed the file, and its time (None: unknown)."""
    found = _locate(Path(path))
    return _last_commit(found) if found is not None else (None, None)


@dataclass(frozen=True)
class Revision:
    """A config as it was at a revision: its text, and where it was read from."""

    text: str
    facts: GitFacts
    path_then: str  # the file's name at that revision (differs when it was renamed since)


def read_at(path: str | os.PathLike[str], rev: str) -> Revision:
    """The config file ``path`` as it was at ``rev`` (``git show``; the work tree is untouched)."""
    where = Path(path)
    if shutil.which("git") is None:
        raise RevisionError(f"{where}: --ref needs git, and git is not installed")
    if not rev or rev.startswith("-"):
        raise RevisionError(f"'{rev}' is not a revision (e.g. HEAD~1, a branch, a tag, a commit)")
    if not where.expanduser().resolve().parent.is_dir():
        raise RevisionError(f"{where}: no such directory")
    found = _locate(where)
    if found is None:
        raise RevisionError(f"{where}: not inside a git work tree, so there is no revision {rev}")
    sha = _out(_git(found.root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"))
    if not sha:
        raise RevisionError(_unknown_ref(found, rev, where))
    rel = found.rel
    shown = _git(found.root, "show", f"{sha}:{rel}")
    if shown is None:
        raise RevisionError(f"{where}: git did not answer within {GIT_TIMEOUT:.0f} s")
    if shown.returncode != 0:
        renamed = _name_at(found, sha)
        if renamed is None:
            raise RevisionError(
                f"{where}: the file did not exist at {rev} (commit {sha[:SHORT]}); "
                f"`git log --follow -- {rel}` lists the revisions that have it"
            )
        rel = renamed
        shown = _git(found.root, "show", f"{sha}:{rel}", check=True)
        if shown is None:
            raise RevisionError(f"{where}: cannot read {rel} at {rev} (commit {sha[:SHORT]})")
    try:
        text = shown.stdout.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RevisionError(f"{where}@{rev}: not UTF-8 text") from None
    last, when = _last_commit(_Located(found.root, rel), sha)
    return Revision(
        text,
        GitFacts(
            commit=sha,
            dirty=False,
            ref=rev,
            path=found.rel,
            last_commit=last,
            last_commit_time=when,
        ),
        rel,
    )


def _unknown_ref(found: _Located, rev: str, where: Path) -> str:
    shallow = _out(_git(found.root, "rev-parse", "--is-shallow-repository")) == "true"
    if shallow:
        return (
            f"{where}: revision '{rev}' is not in this shallow clone "
            "(`git fetch --unshallow` brings the rest of the history)"
        )
    if _out(_git(found.root, "rev-parse", "--verify", "--quiet", "HEAD")) is None:
        return f"{where}: the repository has no commits yet, so there is no revision '{rev}'"
    names = (_out(_git(found.root, "for-each-ref", "--format=%(refname:short)")) or "").split()
    hint = did_you_mean(rev, names, n=1) if names else ""
    return f"{where}: no revision '{rev}' in this repository" + (f" ({hint})" if hint else "")


def _name_at(found: _Located, sha: str) -> str | None:
    """The file's name at commit ``sha`` when it was renamed between then and HEAD."""
    done = _git(found.root, "diff", "--name-status", "-M", "-z", sha, "HEAD")
    if done is None or done.returncode != 0:
        return None
    fields = done.stdout.decode("utf-8", "replace").split("\0")
    index = 0
    while index < len(fields) - 1:
        status = fields[index]
        if status.startswith(("R", "C")) and index + 2 < len(fields):
            old, new = fields[index + 1], fields[index + 2]
            if new == found.rel:
                return old
            index += 3
        else:
            index += 2
    return None


def load_at(path: str | os.PathLike[str], rev: str) -> tuple[AIConfig, GitFacts]:
    """The config document at ``rev``: parsed like the working file, its ``path`` the working
    file's (runs are recorded against the one config), and never to be saved."""
    where = Path(path)
    revision = read_at(where, rev)
    fmt = format_of(Path(revision.path_then))
    document = loads(revision.text, fmt, source=f"{where}@{rev}")
    document.path = where
    return document, revision.facts


def origin_of(workspace: Workspace, run: Run) -> RunOrigin:
    """The run's origin with its git facts filled in: the revision the workspace's document was
    read at, else the working file's commit and whether it differed. Calls git: in a thread."""
    origin = run.origin or RunOrigin(run_id=run.id, config_path="")
    path = workspace.document.path
    origin.run_id = run.id
    origin.config_path = str(path) if path is not None else ""
    found = workspace.at_revision
    if found is None and path is not None:
        found = facts(path, edited=workspace.unsaved_edits)
    if found is not None:
        origin.commit, origin.dirty, origin.ref = found.commit, found.dirty, found.ref
        origin.git_path = found.path
    return origin


def note_origin(workspace: Workspace, run: Run) -> None:
    """Work out where the run's config came from, once, before it starts (off the prompts'
    clocks), and store it with the run's tags in the history. Never stops the run. Without a
    history nothing would keep the facts: git is not asked."""
    history = workspace.history
    if history is None:
        run.origin = run.origin or RunOrigin(run_id=run.id, config_path="")
        return
    try:
        run.origin = origin_of(workspace, run)
    except Exception as exc:  # git facts are a nicety: a run must not fail for them
        workspace.warn(f"git facts unavailable: {exc}")
        return
    if not run.origin.config_path:
        return
    try:
        history.record_origin(run.origin)
    except PromptTuiError as exc:
        workspace.warn(str(exc))

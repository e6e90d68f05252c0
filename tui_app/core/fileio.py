"""Reading and writing config files: parsing JSON/YAML with error positions, atomic saves.

Parsing uses the fast C parsers. Positions of values (for shape errors) are only computed when an
error needs one, by :func:`locate`, so loading a valid file pays nothing for them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat as stat_module
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import limits
from .errors import ConfigError, PromptTuiError
from .paths import in_package

JSON_SUFFIXES = {".json"}
YAML_SUFFIXES = {".yaml", ".yml"}


def _yaml() -> Any:
    """PyYAML, imported on first use (~20-35 ms): loading a JSON config never pays for it."""
    import yaml

    return yaml


def _yaml_loader() -> type:
    """The C-accelerated safe loader (~10x faster; pure Python when libyaml is missing), noting
    keys written twice in a mapping (YAML keeps the last one silently)."""
    global _loader_class
    if _loader_class is None:
        yaml = _yaml()
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            duplicates = False

            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                mapping = super().construct_mapping(node, deep=deep)
                if len(mapping) != len(node.value):
                    own = [
                        k.value
                        for k, _ in node.value
                        if node.start_mark.index <= k.start_mark.index < node.end_mark.index
                    ]
                    if len(own) != len(set(own)):  # not merely a key a merge (<<) overrode
                        self.duplicates = True
                return mapping

        _loader_class = Loader
    return _loader_class


_loader_class: type | None = None


def format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix in JSON_SUFFIXES:
        return "json"
    raise ConfigError(
        f"unsupported file type '{suffix or '(none)'}': use .json, .yaml or .yml", source=str(path)
    )


def parse_text(text: str, fmt: str, source: str, warnings: list[ConfigError] | None = None) -> Any:
    """Parse ``text`` as ``fmt`` ("json" or "yaml"); syntax errors become ConfigError with line:col.

    Hostile input is refused with a located message (see :mod:`limits`); keys written twice in
    one mapping are added to ``warnings`` (with both positions) when a list is given.
    """
    if not text.strip():
        raise ConfigError("empty file", source=source)
    duplicates = False
    if fmt == "json":

        def pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            nonlocal duplicates
            result = dict(pairs)
            if len(result) != len(pairs):
                duplicates = True
            return result

        try:
            data = json.loads(text, object_pairs_hook=pairs_to_dict)
        except json.JSONDecodeError as exc:
            message = exc.msg
            if not text[exc.pos :].strip():  # the parser wanted more: the file is cut short
                message = f"unexpected end of file (the file is cut short? {exc.msg})"
            raise ConfigError(
                f"invalid JSON: {message}", source=source, line=exc.lineno, col=exc.colno
            ) from None
        except ValueError:  # Python's 4,300-digit limit on integers
            raise limits.huge_number_error(text, source) from None
        except RecursionError:
            raise ConfigError("invalid JSON: nested too deeply", source=source) from None
    else:
        data, duplicates = _parse_yaml(text, source)
        if data is None:
            raise ConfigError("empty file: no YAML document (only comments)", source=source)
        limits.check_expansion(data, text, source)
        limits.check_big_integers(data, text, source, lambda path: locate(text, fmt, path))
    limits.check_value_sizes(data, text, source, lambda path: locate(text, fmt, path))
    if duplicates and warnings is not None:
        warnings += duplicate_key_warnings(text, fmt, source)
    return data


def _parse_yaml(text: str, source: str) -> tuple[Any, bool]:
    yaml = _yaml()
    loader = _yaml_loader()(text)
    try:
        return loader.get_single_data(), loader.duplicates
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "syntax error"
        opened, found = exc.context_mark, exc.problem_mark
        if "flow" in (exc.context or "") and opened and found and opened.line != found.line:
            # an unclosed [ or {: the parser notices lines later; point at the bracket itself
            mark = opened
            what = (
                f"this '{text[opened.index : opened.index + 1]}' is not closed"
                f" ({what} at line {found.line + 1}:{found.column + 1})"
            )
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = limits.yaml_problem(what, text, line)
        raise ConfigError(f"invalid YAML: {problem}", source=source, line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    except ValueError:  # Python's 4,300-digit limit on integers
        raise limits.huge_number_error(text, source) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", source=source) from None
    finally:
        loader.dispose()


def duplicate_key_warnings(text: str, fmt: str, source: str) -> list[ConfigError]:
    """One warning per key written twice in a mapping: where, and where it was first written."""
    from .schema import format_path
    from .spans import duplicate_keys

    out = []
    for key, path, first, again in duplicate_keys(text, fmt):
        line, col = _line_col(text, again)
        first_line, first_col = _line_col(text, first)
        out.append(
            ConfigError(
                f"duplicate key '{key}': also at line {first_line}:{first_col};"
                " the last one is used",
                source=source,
                line=line,
                col=col,
                location=format_path(path) if path else None,
            )
        )
    return out


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def dump_text(data: Any, fmt: str) -> str:
    """A whole document in the default style (JSON: 2-space indent; YAML: ``|`` for multi-line
    text), for a file that has no text yet. Saving an existing file edits its text instead
    (:func:`tui_app.core.roundtrip.update_text`)."""
    from .roundtrip import render_document

    return render_document(data, fmt)


# --- reading -----------------------------------------------------------------------------------


class NotRegularFile(OSError):
    """A path that is not a plain file (a FIFO, a device such as /dev/zero, a socket): reading
    it could block forever or never end, so it is refused before any read."""


class FileTooLarge(OSError):
    """A file over the size a reader accepts (checked on the open file, not only by stat)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"too large: over {limit:,} bytes")
        self.size = size
        self.limit = limit


_KINDS = (
    (stat_module.S_ISFIFO, "a named pipe (FIFO)"),
    (stat_module.S_ISCHR, "a character device"),
    (stat_module.S_ISBLK, "a block device"),
    (stat_module.S_ISSOCK, "a socket"),
)


def read_bytes(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them: every file
    prompt-tui loads is read here.

    The file is opened without blocking (a FIFO's open would wait for a writer) and checked on
    the open descriptor, so a symlink to ``/dev/zero`` or a FIFO named ``x.json`` is refused
    (:class:`NotRegularFile`), a directory raises IsADirectoryError, and a file that grows past
    ``limit`` while being read raises :class:`FileTooLarge` instead of filling memory.
    """
    limit = limits.MAX_FILE_BYTES if limit is None else limit
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat_module.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
        if not stat_module.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a plain file")
            raise NotRegularFile(errno.EINVAL, f"not a regular file: {kind}", str(path))
        if info.st_size > limit:
            raise FileTooLarge(info.st_size, limit)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], limit: int | None = None) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a leading BOM dropped); UnicodeDecodeError as is."""
    return read_bytes(path, limit).decode("utf-8-sig")


# Temp files are named ``.<name>.<pid>.<random>.tmp``: the pid tells a later save whether the
# writer is still alive, so leftovers of a killed save are removed and a running save is not.
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
_in_progress: set[str] = set()


def atomic_write(path: Path, text: str | Iterable[str]) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    ``text`` may be pieces (a generator): a large report is streamed, never held whole.

    A symlink is written through: its target is replaced and the link stays a link. A temp file
    in the target's directory is written, fsynced and renamed over the target; the target's
    permission bits and (where the OS allows) owner and group are kept. Temp files left by an
    earlier save that was killed are removed. Returns the path actually written.
    """
    path = Path(os.path.realpath(path))
    directory = path.parent
    if in_package(path):  # an installed sample opened in place: its save, export or copy
        raise PromptTuiError(
            f"{path}: this file belongs to the installed prompt-tui package and is never "
            "written to; copy the samples out with `prompt-tui samples DIR` and open them there"
        )
    _remove_stale_temps(directory, path.name)
    try:
        stat: os.stat_result | None = path.stat()
    except FileNotFoundError:
        stat = None
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory
    )
    _in_progress.add(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
        if stat is not None:
            os.chmod(tmp_name, stat.st_mode & 0o7777)
            if hasattr(os, "chown") and (stat.st_uid, stat.st_gid) != _owner(tmp_name):
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.chown(tmp_name, stat.st_uid, stat.st_gid)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    finally:
        _in_progress.discard(tmp_name)
    _fsync_directory(directory)
    return path


def _owner(name: str) -> tuple[int, int]:
    stat = os.stat(name)
    return stat.st_uid, stat.st_gid


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove_stale_temps(directory: Path, name: str) -> None:
    """Delete ``.<name>.<pid>.*.tmp`` files whose writer is gone (a save killed midway)."""
    try:
        candidates = [e for e in os.scandir(directory) if e.name.startswith(f".{name}.")]
    except OSError:
        return
    for entry in candidates:
        match = _TEMP.match(entry.name)
        if match is None or match.group("name") != name or entry.path in _in_progress:
            continue
        if _alive(int(match.group("pid"))) and int(match.group("pid")) != os.getpid():
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


# --- positions -------------------------------------------------------------------------------

PathPart = str | int


def locate(text: str, fmt: str, path: Sequence[PathPart]) -> tuple[int, int] | None:
    """1-based (line, col) of the value at ``path`` in ``text``, or of its nearest ancestor."""
    try:
        offset = _locate_yaml(text, path) if fmt == "yaml" else _locate_json(text, path)
    except Exception:  # positions are a nicety: never let them mask the real error
        return None
    if offset is None:
        return None
    if isinstance(offset, tuple):
        return offset
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _locate_yaml(text: str, path: Sequence[PathPart]) -> tuple[int, int] | None:
    yaml = _yaml()
    node = yaml.compose(text, Loader=_yaml_loader())
    best = node
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = best = child
    if best is None:
        return None
    return best.start_mark.line + 1, best.start_mark.column + 1


def _locate_json(text: str, path: Sequence[PathPart]) -> int | None:
    """Walk ``text`` (known to be valid JSON) down ``path``; the nearest ancestor when a part
    is missing."""
    from .spans import json_spans

    node = json_spans(text)
    for part in path:
        child = None
        if node.kind == "map" and isinstance(part, str):
            found = node.entry(part)
            child = found[1] if found else None
        elif node.kind == "seq" and isinstance(part, int) and part < len(node.items):
            child = node.items[part]
        if child is None:
            break
        node = child
    return node.start

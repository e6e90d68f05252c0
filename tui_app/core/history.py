"""The run log: one SQLite row per prompt run (done, cached, failed, cancelled or blocked).

Schema changes are a list of migration functions applied in order (simonw/llm style); the number
applied is the database's ``PRAGMA user_version``. Each migration runs in its own
``BEGIN IMMEDIATE`` transaction that re-reads the version first, so several processes opening a
fresh file at once apply each migration exactly once. Append new migrations; never edit old ones.

Concurrency: WAL mode (readers never block the writer) and a busy timeout (a writer waits for
another instead of failing with "database is locked"). Every write is a single autocommit
statement, so no transaction ever upgrades from read to write (that upgrade is the one case where
SQLite returns BUSY without waiting).

No secret is ever stored: model settings go through :func:`.secrets.scrub_settings` (drops ``api_key``,
``Authorization`` headers, ``*_token`` strings..., keeps numeric settings such as ``max_tokens``)
and every text field is scrubbed of the literal secrets the caller passes to :meth:`History.record`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .errors import PromptTuiError
from .runs import PromptStatus
from .secrets import scrub_json, scrub_settings, scrub_text

if TYPE_CHECKING:
    from .runs import PromptResult, Run

# A row is written when a prompt's run ends: its status is one of the terminal PromptStatus words,
# the same the tree, `run`, `status` and `--json` use (migration 3 renamed "finished" to "done").
STATUSES = tuple(
    s.value
    for s in (
        PromptStatus.DONE,
        PromptStatus.CACHED,
        PromptStatus.FAILED,
        PromptStatus.CANCELLED,
        PromptStatus.BLOCKED,
    )
)


class HistoryError(PromptTuiError):
    """The history database cannot be opened or written."""


# -- records ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class RunRecord:
    """One prompt run. Times are unix seconds; ``ttft``/``latency`` are durations in seconds."""

    run_id: str
    config_path: str  # stored as config_key(path): absolute, resolved
    prompt: str
    status: str  # one of STATUSES
    group_id: str | None = None  # e.g. a model-comparison group
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # model settings sent (scrubbed)
    messages: list[Any] = field(default_factory=list)  # request messages sent
    output_text: str | None = None
    output: dict[str, Any] | None = None  # the stored AIConfig execute_result
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None  # None: unknown
    ttft: float | None = None
    latency: float | None = None
    attempts: int = 1
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    cache_key: str | None = None
    offline: bool = False
    # what the request was built from (core.staleness.Provenance): says why an output went stale
    provenance: dict[str, Any] | None = None
    id: int | None = None

    @classmethod
    def from_result(
        cls, run: Run, prompt: str, result: PromptResult, *, config_path: str
    ) -> RunRecord:
        """The row of one prompt of a run, made from the run's record of it."""
        request = result.request
        usage = result.usage
        return cls(
            run_id=run.id,
            group_id=run.group_id,
            config_path=config_path,
            prompt=prompt,
            model=result.model or (request.model if request else None),
            settings=request.settings if request else {},
            messages=request.messages if request else [],
            output_text=result.text,
            output=result.output,
            status=result.status.value,
            error=result.error or result.reason,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
            cost=result.cost,
            ttft=result.ttft,
            latency=result.latency,
            attempts=result.attempts,
            started_at=result.started_at or result.ended_at or time.time(),
            ended_at=result.ended_at or time.time(),
            cache_key=request.cache_key if request else None,
            offline=result.offline,
            provenance=result.provenance.to_json() if result.provenance is not None else None,
        )

    def to_result(self) -> PromptResult:
        """The run's record of this prompt as it was recorded (a comparison read back)."""
        from .events import Usage
        from .runs import PromptResult

        usage = None
        if self.tokens_in is not None or self.tokens_out is not None:
            total = (self.tokens_in or 0) + (self.tokens_out or 0)
            usage = Usage(self.tokens_in, self.tokens_out, total)
        failed = self.status == PromptStatus.FAILED
        return PromptResult(
            status=self.prompt_status,
            text=self.output_text or "",
            output=self.output,
            model=self.model or "",
            usage=usage,
            cost=self.cost,
            ttft=self.ttft,
            latency=self.latency,
            attempts=self.attempts,
            error=self.error if failed else None,
            reason=None if failed else self.error,
            offline=self.offline,
            started_at=self.started_at,
            ended_at=self.ended_at,
        )

    @property
    def cached(self) -> bool:
        """True when this run reused a stored answer instead of calling the model."""
        return self.status == PromptStatus.CACHED

    @property
    def prompt_status(self) -> PromptStatus:
        return PromptStatus(self.status)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = [f.name for f in fields(RunRecord) if f.name != "id"]
_JSON_COLUMNS = {"settings", "messages", "output", "provenance"}


def config_key(path: str | os.PathLike[str]) -> str:
    """The form of a config path stored in and matched against the history: absolute, resolved.

    :class:`History` applies it to every ``config_path`` it stores or matches, so a run recorded
    as ``chain.json`` from one directory is found as ``./chain.json`` or ``/abs/chain.json``.
    ``""`` (a config that has no file) stays ``""``.
    """
    if not os.fspath(path):
        return ""
    return str(Path(path).expanduser().resolve())


PRIVATE_FILE_MODE = 0o600


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it: SQLite would create it 0644, and it
    creates the -wal and -shm files with the database file's permissions, so all three are
    private from the first byte."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


# -- migrations -------------------------------------------------------------------------------


def _m001_runs(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            group_id TEXT,
            config_path TEXT NOT NULL,
            prompt TEXT NOT NULL,
            model TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            messages TEXT NOT NULL DEFAULT '[]',
            output_text TEXT,
            output TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('finished', 'failed', 'cancelled', 'cached', 'blocked')),
            error TEXT,
            tokens_in INTEGER,
            tokens_out INTEGER,
            cost REAL,
            ttft REAL,
            latency REAL,
            attempts INTEGER NOT NULL DEFAULT 1,
            started_at REAL NOT NULL,
            ended_at REAL,
            cache_key TEXT,
            offline INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    conn.execute("CREATE INDEX runs_cache_key ON runs (cache_key, status, id)")
    conn.execute("CREATE INDEX runs_config_prompt ON runs (config_path, prompt, id)")
    conn.execute("CREATE INDEX runs_run_id ON runs (run_id)")
    conn.execute("CREATE INDEX runs_group_id ON runs (group_id) WHERE group_id IS NOT NULL")


def _m002_provenance(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs ADD COLUMN provenance TEXT")


def _m003_status_words(conn: sqlite3.Connection) -> None:
    """Rows say what the rest of the app says: "finished" becomes "done". SQLite cannot change a
    CHECK constraint in place, so the table is rebuilt (same columns, same indexes)."""
    conn.execute("ALTER TABLE runs RENAME TO runs_v2")
    for index in ("runs_cache_key", "runs_config_prompt", "runs_run_id", "runs_group_id"):
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    conn.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            group_id TEXT,
            config_path TEXT NOT NULL,
            prompt TEXT NOT NULL,
            model TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            messages TEXT NOT NULL DEFAULT '[]',
            output_text TEXT,
            output TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('done', 'cached', 'failed', 'cancelled', 'blocked')),
            error TEXT,
            tokens_in INTEGER,
            tokens_out INTEGER,
            cost REAL,
            ttft REAL,
            latency REAL,
            attempts INTEGER NOT NULL DEFAULT 1,
            started_at REAL NOT NULL,
            ended_at REAL,
            cache_key TEXT,
            offline INTEGER NOT NULL DEFAULT 0,
            provenance TEXT
        )
        """
    )
    columns = [row[1] for row in conn.execute("PRAGMA table_info(runs_v2)")]
    names = ", ".join(columns)
    picked = ", ".join(
        "CASE status WHEN 'finished' THEN 'done' ELSE status END" if c == "status" else c
        for c in columns
    )
    conn.execute(f"INSERT INTO runs ({names}) SELECT {picked} FROM runs_v2")
    conn.execute("DROP TABLE runs_v2")
    conn.execute("CREATE INDEX runs_cache_key ON runs (cache_key, status, id)")
    conn.execute("CREATE INDEX runs_config_prompt ON runs (config_path, prompt, id)")
    conn.execute("CREATE INDEX runs_run_id ON runs (run_id)")
    conn.execute("CREATE INDEX runs_group_id ON runs (group_id) WHERE group_id IS NOT NULL")


Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = [_m001_runs, _m002_provenance, _m003_status_words]


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: list[Migration] | None = None) -> int:
    """Apply the migrations this database has not seen yet; returns the resulting version.

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    steps = MIGRATIONS if migrations is None else migrations
    while True:
        if _user_version(conn) >= len(steps):
            break
        conn.execute("BEGIN IMMEDIATE")  # waits (busy timeout) for any other migrator
        try:
            version = _user_version(conn)  # re-read under the write lock
            if version < len(steps):
                steps[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    version = _user_version(conn)
    if version > len(steps):
        raise HistoryError(
            f"history database schema version {version} is newer than this prompt-tui "
            f"understands ({len(steps)}); upgrade prompt-tui or move the file away"
        )
    return version


# -- the store --------------------------------------------------------------------------------


class History:
    """The run log in one SQLite file.

    Thread model: one connection opened with ``check_same_thread=False`` and guarded by a lock,
    rather than a connection per thread. Writes are a single small INSERT per prompt run, so the
    lock never waits long; a shared connection can be closed deterministically from any thread
    (per-thread connections can only be closed by their own thread, so worker threads that end
    would leak open handles); and concurrency between *processes*, the case that needs it, is
    handled by WAL + the busy timeout either way. After a fork the child opens its own connection
    (an inherited SQLite handle must not be used).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        migrations: list[Migration] | None = None,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._migrations = migrations
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._closed = False
        try:
            paths.make_private_dir(self.path.parent)
            _create_private(self.path)
        except OSError as exc:
            raise HistoryError(f"{self.path}: cannot create: {exc.strerror or exc}") from None
        with self._lock:
            self._connection()

    # -- connection ----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise HistoryError(f"{self.path}: history is closed")
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot open history database: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; no fsync per commit
            migrate(conn, self._migrations)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise HistoryError(f"{self.path}: not a usable history database: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a fresh file to WAL needs a brief exclusive lock; with several processes
        # opening the same new file at once it can report "locked" even with a busy timeout.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._closed = True

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return _user_version(self._connection())

    # -- writing -------------------------------------------------------------------------------

    def record(self, rec: RunRecord, *, secrets: Iterable[str | None] = ()) -> int:
        """Store one run; returns its row id. ``secrets`` (e.g. the API key used) are masked
        wherever they appear; secret-looking settings are dropped regardless."""
        if rec.status not in STATUSES:
            raise ValueError(f"unknown run status {rec.status!r} (expected one of {STATUSES})")
        known = [s for s in secrets if s]
        row: dict[str, Any] = {}
        for name in _COLUMNS:
            value = getattr(rec, name)
            if name == "config_path":
                value = config_key(value or "")
            elif name == "settings":
                value = scrub_settings(value or {}, known)
            elif name in _JSON_COLUMNS:
                value = scrub_json(value, known)
            elif name == "error" and isinstance(value, str):
                value = scrub_text(value, known)
            elif name == "output_text" and isinstance(value, str):
                value = scrub_text(value, known, patterns=False)
            if name in _JSON_COLUMNS:
                if value is None and name in ("settings", "messages"):
                    value = {} if name == "settings" else []
                value = (
                    None
                    if value is None
                    else json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)
                )
            elif name == "offline":
                value = 1 if value else 0
            row[name] = value
        columns = ", ".join(_COLUMNS)
        marks = ", ".join(f":{c}" for c in _COLUMNS)
        sql = f"INSERT INTO runs ({columns}) VALUES ({marks})"
        with self._lock:
            try:
                cursor = self._connection().execute(sql, row)
            except sqlite3.Error as exc:
                raise HistoryError(f"{self.path}: cannot record run: {exc}") from None
            return int(cursor.lastrowid or 0)

    # -- reading -------------------------------------------------------------------------------

    def _select(self, where: str, params: list[Any], limit: int | None) -> list[RunRecord]:
        sql = "SELECT * FROM runs"
        if where:
            sql += f" WHERE {where}"
        sql += " ORDER BY id DESC"
        if limit is not None and limit > 0:
            sql += " LIMIT ?"
            params = [*params, int(limit)]
        with self._lock:
            try:
                cursor = self._connection().execute(sql, params)
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"{self.path}: cannot read history: {exc}") from None
        return [_to_record(dict(zip(names, r, strict=True))) for r in rows]

    def cached(self, cache_key: str) -> RunRecord | None:
        """The latest finished run with this cache key (a reusable answer), or None."""
        found = self._select("cache_key = ? AND status = 'done'", [cache_key], 1)
        return found[0] if found else None

    def latest_for(self, config_path: str, prompt: str) -> RunRecord | None:
        """The latest finished or failed run of a prompt (for 'stale' detection and browsing)."""
        found = self._select(
            "config_path = ? AND prompt = ? AND status IN ('done', 'failed')",
            [config_key(config_path), prompt],
            1,
        )
        return found[0] if found else None

    def runs(
        self,
        *,
        config_path: str | None = None,
        prompt: str | None = None,
        run_id: str | None = None,
        group_id: str | None = None,
        limit: int | None = 50,
    ) -> list[RunRecord]:
        """Recorded runs, newest first; ``limit`` None or <= 0 for all."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("config_path", None if config_path is None else config_key(config_path)),
            ("prompt", prompt),
            ("run_id", run_id),
            ("group_id", group_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return self._select(" AND ".join(clauses), params, limit)

    def count(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM runs").fetchone()[0])


def _to_record(row: dict[str, Any]) -> RunRecord:
    for name in _JSON_COLUMNS:
        raw = row.get(name)
        if raw is not None:
            try:
                row[name] = json.loads(raw)
            except ValueError:
                row[name] = raw
    if row.get("settings") is None:
        row["settings"] = {}
    if row.get("messages") is None:
        row["messages"] = []
    row["offline"] = bool(row.get("offline"))
    known = {f.name for f in fields(RunRecord)}
    return RunRecord(**{k: v for k, v in row.items() if k in known})

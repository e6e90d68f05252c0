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

import contextlib
import hashlib
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
    # a run with another model or settings (or a comparison's column): its answers never became
    # the file's, so its status says nothing about the prompt's own (migration 8)
    experiment: bool = False
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
            experiment=not run.is_plain,
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
    private from the first byte. A file found readable by others (made by an older version, or
    copied in) is tightened to 0600, its -wal and -shm files too: the history holds prompts,
    answers and settings."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                mode = os.stat(name).st_mode
            except FileNotFoundError:
                continue
            if mode & 0o077:
                os.chmod(name, PRIVATE_FILE_MODE)
        return
    os.close(fd)


def _check_usable(
    conn: sqlite3.Connection, path: Path, *, pages: bool = True, schema: bool = True
) -> None:
    """Refuse, at open, a database that would fail later: damaged pages (SQLite only notices
    when it reads them, so a run would silently record nothing) or a ``runs`` table that another
    program made (every record would fail with "no such column")."""
    problems = (
        [row[0] for row in conn.execute("PRAGMA quick_check(3)").fetchall()] if pages else ["ok"]
    )
    if problems != ["ok"]:
        raise HistoryError(
            f"{path}: the history database is damaged ({'; '.join(problems)[:200]}): move it "
            "away to start a new one; runs go on without history until then"
        )
    if not schema:
        return
    found = {row[1] for row in conn.execute("PRAGMA table_info(runs)").fetchall()}
    missing = [c for c in _COLUMNS if c not in found]
    if missing:
        what = (
            "has no runs table" if not found else f"has a runs table without {', '.join(missing)}"
        )
        raise HistoryError(
            f"{path}: not a prompt-tui history database (it {what}): move it away to start a "
            "new one; runs go on without history until then"
        )


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


def _answer_digest(output_text: str | None, output: str | None) -> str:
    """The content key of a stored answer: its text and its stored output (JSON text)."""
    body = json.dumps([output_text, output], ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _m004_answers_by_content(conn: sqlite3.Connection) -> None:
    """Answers stored once by content: a re-run, a cached reuse or a comparison column that got
    the same answer again points at it instead of holding another copy (a long answer run a
    hundred times was a hundred copies). Existing rows are moved over."""
    conn.execute(
        """
        CREATE TABLE answers (
            digest TEXT PRIMARY KEY,
            output_text TEXT,
            output TEXT,
            size INTEGER NOT NULL
        )
        """
    )
    conn.execute("ALTER TABLE runs ADD COLUMN answer TEXT")
    rows = conn.execute(
        "SELECT id, output_text, output FROM runs"
        " WHERE output_text IS NOT NULL OR output IS NOT NULL"
    ).fetchall()
    for row_id, output_text, output in rows:
        digest = _answer_digest(output_text, output)
        conn.execute(
            "INSERT OR IGNORE INTO answers (digest, output_text, output, size) VALUES (?, ?, ?, ?)",
            (digest, output_text, output, len(output_text or "") + len(output or "")),
        )
        conn.execute(
            "UPDATE runs SET answer = ?, output_text = NULL, output = NULL WHERE id = ?",
            (digest, row_id),
        )
    conn.execute("CREATE INDEX runs_answer ON runs (answer) WHERE answer IS NOT NULL")


def _m005_run_origins(conn: sqlite3.Connection) -> None:
    """Where a run's config came from (git commit, edited or not, the ref asked for) and the
    user's tags and metadata: one row per run id, written when the run starts."""
    conn.execute(
        """
        CREATE TABLE run_origins (
            run_id TEXT PRIMARY KEY,
            config_path TEXT NOT NULL,
            git_commit TEXT,
            git_dirty INTEGER,
            git_ref TEXT,
            git_path TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            meta TEXT NOT NULL DEFAULT '{}',
            recorded_at REAL NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX run_origins_config ON run_origins (config_path, recorded_at)")


def _m006_ratings(conn: sqlite3.Connection) -> None:
    """A person's judgement of a prompt's answer in a run: the latest one per (run, prompt)."""
    conn.execute(
        """
        CREATE TABLE ratings (
            run_id TEXT NOT NULL,
            prompt TEXT NOT NULL,
            score REAL CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
            comment TEXT,
            expected TEXT,
            rated_at REAL NOT NULL,
            PRIMARY KEY (run_id, prompt)
        )
        """
    )


def _m007_baselines(conn: sqlite3.Connection) -> None:
    """The run a config's later runs are compared with by default (one per config)."""
    conn.execute(
        """
        CREATE TABLE baselines (
            config_path TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            set_at REAL NOT NULL
        )
        """
    )


def _m008_experiments(conn: sqlite3.Connection) -> None:
    """Rows say whether their run was an experiment (another model or settings, a comparison):
    a prompt's last run is its last plain one. Older rows were recorded as plain."""
    conn.execute("ALTER TABLE runs ADD COLUMN experiment INTEGER NOT NULL DEFAULT 0")


Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = [
    _m001_runs,
    _m002_provenance,
    _m003_status_words,
    _m004_answers_by_content,
    _m005_run_origins,
    _m006_ratings,
    _m007_baselines,
    _m008_experiments,
]

# The history's size budget: over it, the bulky part (request messages, answers) of old runs is
# dropped, newest first kept (see History.prune). The rows themselves (what ran, when, its status,
# tokens and cost) stay.
MAX_HISTORY_BYTES = 256 * 1024 * 1024
KEEP_FULL_RUNS = 20  # per config and prompt, the newest runs keep their messages and answer


@dataclass(frozen=True)
class PruneResult:
    orphans: int  # answers no run pointed at any more
    cleared: int  # old runs whose messages and answer were dropped
    size_before: int  # bytes of the database file (and its WAL)
    size_after: int


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
        # Where a failure to record is said (a workspace's warnings: stderr, a notification).
        # With it set, a run whose row cannot be written goes on and the failure is said once;
        # without it, record() raises.
        self.on_error: Callable[[str], None] | None = None
        self._error_said = False
        try:
            paths.make_private_dir(self.path.parent)
            _create_private(self.path)
        except OSError as exc:
            raise HistoryError(f"{self.path}: cannot create: {exc.strerror or exc}") from None
        with self._lock:
            self._connection()
        if migrations is None and self.size() > MAX_HISTORY_BYTES:
            # over its budget: old runs' payloads go (their space is reused; no slow rewrite)
            self.prune(vacuum=False)

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
            if self._migrations is None:  # checked before anything is written to the file
                current = _user_version(conn) >= len(MIGRATIONS)
                _check_usable(conn, self.path, schema=current)
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; no fsync per commit
            migrate(conn, self._migrations)
            if self._migrations is None:  # a test's own migrations make their own schema
                _check_usable(conn, self.path, pages=False)
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
            elif name in ("offline", "experiment"):
                value = 1 if value else 0
            row[name] = value
        columns = ", ".join(_COLUMNS)
        marks = ", ".join(f":{c}" for c in _COLUMNS)
        sql = f"INSERT INTO runs ({columns}, answer) VALUES ({marks}, :answer)"
        # the answer is stored once by content; the row points at it
        output_text, output = row["output_text"], row["output"]
        answer = None
        if output_text is not None or output is not None:
            answer = _answer_digest(output_text, output)
            row["output_text"] = row["output"] = None
        row["answer"] = answer
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")  # the answer and its row, or neither
                try:
                    if answer is not None:
                        conn.execute(
                            "INSERT OR IGNORE INTO answers (digest, output_text, output, size)"
                            " VALUES (?, ?, ?, ?)",
                            (
                                answer,
                                output_text,
                                output,
                                len(output_text or "") + len(output or ""),
                            ),
                        )
                    cursor = conn.execute(sql, row)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                message = f"{self.path}: cannot record run: {exc}"
                if self.on_error is None:
                    raise HistoryError(message) from None
                if not self._error_said:
                    self._error_said = True
                    self.on_error(f"{message}; runs go on without history")
                return 0
            return int(cursor.lastrowid or 0)

    # -- size ----------------------------------------------------------------------------------

    def size(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        total = 0
        for name in (self.path, Path(f"{self.path}-wal")):
            with contextlib.suppress(OSError):
                total += name.stat().st_size
        return total

    def prune(
        self,
        max_bytes: int | None = None,
        *,
        keep: int = KEEP_FULL_RUNS,
        vacuum: bool = True,
    ) -> PruneResult:
        """Keep the history within ``max_bytes`` (default :data:`MAX_HISTORY_BYTES`).

        Answers no run points at are deleted. While the stored messages and answers are over
        the budget, the oldest runs beyond the newest ``keep`` of each config and prompt lose
        them (their rows stay: what ran, when, how it ended, tokens, cost); an answer the
        cache can still reuse is kept as long as a newer run points at it. ``vacuum`` gives the
        space back to the file system (a full rewrite of the file: `history prune` does it,
        the automatic prune at open does not).
        """
        budget = MAX_HISTORY_BYTES if max_bytes is None else max_bytes
        before = self.size()
        cleared = 0
        with self._lock:
            conn = self._connection()
            try:
                while self._payload_bytes(conn) > budget:
                    ids = [
                        r[0]
                        for r in conn.execute(
                            """
                            SELECT id FROM (
                                SELECT id, (messages != '[]' OR answer IS NOT NULL) AS bulky,
                                       ROW_NUMBER() OVER (
                                           PARTITION BY config_path, prompt ORDER BY id DESC
                                       ) AS newer
                                FROM runs
                            ) WHERE bulky AND newer > ? ORDER BY id LIMIT 500
                            """,
                            (keep,),
                        )
                    ]
                    if not ids:
                        break  # only the newest runs are left: the budget is theirs
                    marks = ", ".join("?" * len(ids))
                    conn.execute(
                        f"UPDATE runs SET messages = '[]', answer = NULL WHERE id IN ({marks})",
                        ids,
                    )
                    cleared += len(ids)
                    self._delete_orphans(conn)
                orphans = self._delete_orphans(conn)
                if vacuum:
                    conn.execute("VACUUM")
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise HistoryError(f"{self.path}: cannot prune history: {exc}") from None
        return PruneResult(orphans, cleared, before, self.size())

    @staticmethod
    def _payload_bytes(conn: sqlite3.Connection) -> int:
        answers = conn.execute("SELECT coalesce(sum(size), 0) FROM answers").fetchone()[0]
        messages = conn.execute("SELECT coalesce(sum(length(messages)), 0) FROM runs").fetchone()
        return int(answers) + int(messages[0])

    @staticmethod
    def _delete_orphans(conn: sqlite3.Connection) -> int:
        cursor = conn.execute(
            "DELETE FROM answers WHERE NOT EXISTS"
            " (SELECT 1 FROM runs WHERE runs.answer = answers.digest)"
        )
        return max(cursor.rowcount, 0)

    # -- reading -------------------------------------------------------------------------------

    def _select(self, where: str, params: list[Any], limit: int | None) -> list[RunRecord]:
        sql = (
            "SELECT runs.*, answers.output_text AS answer_text, answers.output AS answer_output"
            " FROM runs LEFT JOIN answers ON answers.digest = runs.answer"
        )
        if where:
            sql += f" WHERE {where}"
        sql += " ORDER BY runs.id DESC"
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
        """The latest finished or failed run of a prompt (for browsing)."""
        found = self._select(
            "config_path = ? AND prompt = ? AND status IN ('done', 'failed')",
            [config_key(config_path), prompt],
            1,
        )
        return found[0] if found else None

    def produced(self, config_path: str, prompt: str, output_text: str) -> RunRecord | None:
        """The latest run of a prompt whose answer is ``output_text`` and that knows what its
        request was built from: where that output came from. An answer from the cache counts:
        its run sent nothing, but the request it answered is as known as a sent one's."""
        found = self._select(
            "config_path = ? AND prompt = ? AND status IN ('done', 'cached')"
            " AND provenance IS NOT NULL"
            " AND COALESCE(answers.output_text, runs.output_text) = ?",
            [config_key(config_path), prompt, output_text],
            1,
        )
        return found[0] if found else None

    def last_plain_runs(self, config_path: str) -> dict[str, RunRecord]:
        """Each prompt's latest row of a plain run (any status), by prompt name."""
        key = config_key(config_path)
        rows = self._select(
            "runs.id IN (SELECT MAX(id) FROM runs WHERE config_path = ? AND experiment = 0"
            " AND group_id IS NULL GROUP BY prompt)",
            [key],
            None,
        )
        return {row.prompt: row for row in rows}

    def answer_lengths(self, config_path: str, *, per_prompt: int = 20) -> dict[str, list[int]]:
        """Output tokens of each prompt's latest answers (newest first, at most ``per_prompt``
        each) in one query: the likely length of its next answer (estimates)."""
        sql = (
            "SELECT prompt, tokens_out FROM runs WHERE config_path = ?"
            " AND status = 'done' AND tokens_out IS NOT NULL ORDER BY id DESC"
        )
        out: dict[str, list[int]] = {}
        with self._lock:
            try:
                rows = self._connection().execute(sql, [config_key(config_path)]).fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"{self.path}: cannot read history: {exc}") from None
        for prompt, tokens in rows:
            seen = out.setdefault(prompt, [])
            if len(seen) < per_prompt:
                seen.append(int(tokens))
        return out

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

    # -- run origins, ratings, baselines (issue 22) --------------------------------------------

    def _execute(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = self._connection().execute(sql, params)
                return list(cursor.fetchall())
            except sqlite3.Error as exc:
                raise HistoryError(f"{self.path}: {exc}") from None

    def record_origin(self, origin: RunOrigin) -> None:
        """Store where a run came from (once per run id; a second call replaces it)."""
        self._execute(
            "INSERT OR REPLACE INTO run_origins (run_id, config_path, git_commit, git_dirty, "
            "git_ref, git_path, tags, meta, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                origin.run_id,
                config_key(origin.config_path or ""),
                origin.commit,
                None if origin.dirty is None else int(origin.dirty),
                origin.ref,
                origin.git_path,
                # labels the user typed: a credential pasted into one is masked like any text
                json.dumps([scrub_text(t) for t in origin.tags], ensure_ascii=False),
                json.dumps(scrub_json(dict(origin.meta), patterns=True), ensure_ascii=False),
                origin.recorded_at,
            ),
        )

    def origins(self, run_ids: Iterable[str]) -> dict[str, RunOrigin]:
        ids = list(dict.fromkeys(run_ids))
        out: dict[str, RunOrigin] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._execute(
                "SELECT run_id, config_path, git_commit, git_dirty, git_ref, git_path, tags, "
                f"meta, recorded_at FROM run_origins WHERE run_id IN ({marks})",
                chunk,
            )
            for row in rows:
                out[row[0]] = RunOrigin(
                    run_id=row[0],
                    config_path=row[1],
                    commit=row[2],
                    dirty=None if row[3] is None else bool(row[3]),
                    ref=row[4],
                    git_path=row[5],
                    tags=tuple(_json_or(row[6], [])),
                    meta=dict(_json_or(row[7], {})),
                    recorded_at=row[8],
                )
        return out

    def run_ids_matching(
        self,
        *,
        config_path: str | None = None,
        tag: str | None = None,
        ref: str | None = None,
        clean: bool = False,
    ) -> list[str]:
        """Run ids (newest first) with this tag and/or recorded at this ref (a ref as typed,
        or a commit id or its start). ``clean``: only runs of the file exactly as committed."""
        clauses, params = [], []
        if config_path is not None:
            clauses.append("config_path = ?")
            params.append(config_key(config_path))
        if tag is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(run_origins.tags) WHERE value = ?)")
            params.append(tag)
        if ref is not None:
            clauses.append("(git_ref = ? OR git_commit LIKE ? || '%')")
            params += [ref, ref]
        if clean:
            clauses.append("git_dirty = 0")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._execute(
            f"SELECT run_id FROM run_origins{where} ORDER BY recorded_at DESC", params
        )
        return [row[0] for row in rows]

    def run_ids(self, config_path: str, *, limit: int | None = None) -> list[str]:
        """The config's runs, newest first (by their latest row); a comparison's runs are
        experiments, not "the last run": left out."""
        sql = (
            "SELECT run_id, max(id) AS last FROM runs WHERE config_path = ? AND group_id IS NULL "
            "GROUP BY run_id ORDER BY last DESC"
        )
        params: list[Any] = [config_key(config_path)]
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [row[0] for row in self._execute(sql, params)]

    def run_id_prefix(self, start: str) -> list[str]:
        """The run ids that are ``start`` or begin with it (at most a few)."""
        if not start:
            return []
        rows = self._execute(
            "SELECT DISTINCT run_id FROM runs WHERE run_id = ? OR substr(run_id, 1, ?) = ? LIMIT 5",
            (start, len(start), start),
        )
        exact = [row[0] for row in rows if row[0] == start]
        return exact or [row[0] for row in rows]

    def rate(self, rating: Rating) -> None:
        """Attach a rating to a prompt's result in a run (replacing an earlier one)."""
        self._execute(
            "INSERT OR REPLACE INTO ratings (run_id, prompt, score, comment, expected, rated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                rating.run_id,
                rating.prompt,
                rating.score,
                None if rating.comment is None else scrub_text(rating.comment),
                None if rating.expected is None else scrub_text(rating.expected, patterns=False),
                rating.rated_at,
            ),
        )

    def ratings(self, run_ids: Iterable[str]) -> dict[tuple[str, str], Rating]:
        ids = list(dict.fromkeys(run_ids))
        out: dict[tuple[str, str], Rating] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._execute(
                "SELECT run_id, prompt, score, comment, expected, rated_at FROM ratings "
                f"WHERE run_id IN ({marks})",
                chunk,
            )
            for row in rows:
                out[(row[0], row[1])] = Rating(
                    run_id=row[0],
                    prompt=row[1],
                    score=row[2],
                    comment=row[3],
                    expected=row[4],
                    rated_at=row[5],
                )
        return out

    def set_baseline(self, config_path: str, run_id: str) -> None:
        self._execute(
            "INSERT OR REPLACE INTO baselines (config_path, run_id, set_at) VALUES (?, ?, ?)",
            (config_key(config_path), run_id, time.time()),
        )

    def baseline(self, config_path: str) -> tuple[str, float] | None:
        """The config's baseline run id and when it was set, or None."""
        rows = self._execute(
            "SELECT run_id, set_at FROM baselines WHERE config_path = ?",
            (config_key(config_path),),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def clear_baseline(self, config_path: str) -> bool:
        had = self.baseline(config_path) is not None
        self._execute("DELETE FROM baselines WHERE config_path = ?", (config_key(config_path),))
        return had


def _json_or(raw: str | None, default: Any) -> Any:
    if raw is None:
        return default
    try:
        value = json.loads(raw)
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


@dataclass(kw_only=True)
class RunOrigin:
    """Where one run's config came from, and how its user labelled it."""

    run_id: str
    config_path: str
    commit: str | None = None  # None: not in git (or unknown)
    dirty: bool | None = None  # the config run differed from ``commit``'s version
    ref: str | None = None  # the revision asked for with --ref (None: the working file)
    git_path: str | None = None  # the file inside its repository
    tags: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)
    recorded_at: float = field(default_factory=time.time)

    @property
    def revision(self) -> str:
        """The revision words people see: ``abc1234567``, ``abc1234567+`` (edited),
        ``HEAD~1 (abc1234567)``, ``not in git``."""
        if self.commit is None:
            return "not in git" if self.dirty is None else "uncommitted"
        text = self.commit[:10] + ("+" if self.dirty else "")
        if self.ref and not self.commit.startswith(self.ref):
            return f"{self.ref} ({text})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "dirty": self.dirty,
            "ref": self.ref,
            "git_path": self.git_path,
            "tags": list(self.tags),
            "meta": dict(self.meta),
        }


@dataclass(kw_only=True)
class Rating:
    """A person's judgement of one prompt's answer in one run. ``score`` 0..1 (👎 0, 👍 1)."""

    run_id: str
    prompt: str
    score: float | None = None
    comment: str | None = None
    expected: str | None = None
    rated_at: float = field(default_factory=time.time)

    @property
    def thumb(self) -> str:
        if self.score is None:
            return ""
        if self.score >= 1:
            return "👍"
        if self.score <= 0:
            return "👎"
        return f"{self.score:.2f}"

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "comment": self.comment,
            "expected": self.expected,
            "rated_at": self.rated_at,
        }


def _to_record(row: dict[str, Any]) -> RunRecord:
    if row.get("answer") is not None:  # stored once by content (see _m004_answers_by_content)
        row["output_text"] = row.get("answer_text")
        row["output"] = row.get("answer_output")
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
    row["experiment"] = bool(row.get("experiment"))
    known = {f.name for f in fields(RunRecord)}
    return RunRecord(**{k: v for k, v in row.items() if k in known})

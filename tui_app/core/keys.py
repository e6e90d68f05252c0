"""Provider API keys: explicit > OS keyring > environment variable.

Keys live in the OS keyring under service ``prompt-tui`` with the provider name (``openai``) as the
user name. When there is no usable keyring (headless Linux without a Secret Service, a configured
backend that cannot load) the lookup says so plainly through :meth:`KeyStore.backend_status` and
falls back to environment variables.

A key never appears in a ``repr``/``str``, a log line or an exception message: everything shown
is :func:`mask`-ed, and errors raised by a keyring backend are re-raised with the secret scrubbed
and without the original exception chained.

Every keyring call (loading the backend included) runs in a daemon thread and is waited for at
most :data:`KEYRING_TIMEOUT_S`: a backend that never answers (a dead D-Bus peer, a keyring
waiting on an unlock prompt nobody sees) is reported as such, never hangs a command, and never
keeps the process alive after Ctrl+C. When the environment variable holds the key, the keyring
is given only :data:`ENV_GRACE_S` to answer (a healthy Secret Service answers its first read in
~0.3 s, later ones in tens of ms), so the documented order (keyring first) holds while a hung
keyring costs a run at most that once.

``keyring`` is imported lazily (it costs ~130 ms, backend discovery ~100 ms more), so importing
this module is cheap and has no side effects.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .errors import PromptTuiError
from .secrets import mask, scrub_text

if TYPE_CHECKING:  # pragma: no cover
    from keyring.backend import KeyringBackend

SERVICE = "prompt-tui"

KEYRING_TIMEOUT_S = 3.0  # longest wait for any keyring call
ENV_GRACE_S = 0.5  # longest wait for the keyring when the environment holds the key

Source = Literal["explicit", "keyring", "environment"]

# Provider name (the keyring user name, litellm's provider prefix) -> environment variable.
PROVIDER_ENV_VARS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "huggingface": "HUGGINGFACE_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
}

# Backends that import fine but cannot hold a key.
_NO_STORAGE_BACKENDS = {
    "keyring.backends.fail.Keyring": "no OS keyring available",
    "keyring.backends.null.Keyring": "the OS keyring is disabled",
}


class KeyStoreError(PromptTuiError):
    """A key could not be stored, read or deleted. The message never contains the key."""


class NoKeyringError(KeyStoreError):
    """There is no usable OS keyring to store a key in."""


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as an API key (it goes into an HTTP header, which holds one
    line of ASCII), in words that never quote it; None for a usable key."""
    if any(c in value for c in "\r\n"):
        return "it contains a line break"
    if not value.isascii():
        return "it contains a non-ASCII character (a key is plain ASCII: pasted quotes or spaces?)"
    if not value.isprintable() or any(c.isspace() for c in value):
        return "it contains a space or a control character"
    return None


def normalize_provider(provider: str) -> str:
    name = provider.strip().lower()
    if not name or any(c.isspace() for c in name):
        raise KeyStoreError(f"invalid provider name {provider!r}")
    return name


def env_var_for(provider: str, table: Mapping[str, str] | None = None) -> str | None:
    """The environment variable holding ``provider``'s key, or None for an unknown provider."""
    return (PROVIDER_ENV_VARS if table is None else table).get(provider.strip().lower())


@dataclass(frozen=True)
class KeyLookup:
    """Where a provider's key came from. ``value`` is None when no source has one.

    ``keyring_error`` says why the keyring could not be read for this provider (locked, D-Bus
    error...), in which case the lookup fell through to the environment.
    """

    provider: str
    value: str | None
    source: Source | None
    env_var: str | None
    keyring_error: str | None = None
    # The keyring entry (user name under service ``prompt-tui``) that was read: the provider, or
    # the entry a model's settings name (``api_key_keyring``); None when the keyring is not asked.
    entry: str | None = field(default=None, compare=False)
    # Why a key that was found cannot be used (a line break, a non-ASCII character): the key is
    # then not used, and this says where it was and what is wrong, never the key itself.
    problem: str | None = field(default=None, compare=False)

    def where(self) -> str:
        """Where the key came from, in words: "the OS keyring (entry 'openai')",
        "the environment variable OPENAI_API_KEY"; "" when no key was found."""
        if self.source == "keyring":
            return f"the OS keyring (entry '{self.entry or self.provider}')"
        if self.source == "environment":
            return f"the environment variable {self.env_var}"
        if self.source == "explicit":
            return "a key given to prompt-tui directly"
        return ""

    @property
    def found(self) -> bool:
        return self.value is not None

    def masked(self) -> str:
        return mask(self.value) if self.value else ""

    def __repr__(self) -> str:
        return (
            f"KeyLookup(provider={self.provider!r}, value={self.masked()!r}, "
            f"source={self.source!r}, env_var={self.env_var!r})"
        )

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.provider}: no key"
        where: str = self.source or "?"
        if self.source == "environment" and self.env_var:
            where = f"environment ({self.env_var})"
        return f"{self.provider}: {self.masked()} from {where}"


@dataclass(frozen=True)
class BackendStatus:
    usable: bool
    name: str  # the backend's class path, e.g. keyring.backends.SecretService.Keyring
    message: str  # one line for people
    # False when a keyring exists but could not be read (locked, D-Bus error): unlocking it
    # helps, installing one does not.
    read_failed: bool = False

    def __str__(self) -> str:
        return self.message


def _class_path(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _short_name(class_path: str) -> str:
    """``keyring.backends.fail.Keyring`` -> ``fail``; other classes keep their class path."""
    prefix = "keyring.backends."
    if class_path.startswith(prefix):
        module, _, cls = class_path[len(prefix) :].rpartition(".")
        if cls == "Keyring" and module:
            return module
        return class_path[len(prefix) :]
    return class_path


def _describe(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    text = scrub_text(text, secrets, patterns=False)
    return f"{name}: {text}" if text else name


_FALLBACK = "keys are read from environment variables"


class _Call:
    """One keyring call in a daemon thread: waited for with a timeout, and never a reason for
    the interpreter to stay alive (a hung backend call is abandoned at exit)."""

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None
        self.expired = False  # a waiter gave up on it once: later waiters do not wait again
        worker = threading.Thread(
            target=self._run, args=(fn, args), name="prompt-tui-keyring", daemon=True
        )
        worker.start()

    def _run(self, fn: Callable[..., object], args: tuple[object, ...]) -> None:
        try:
            self.value = fn(*args)
        except BaseException as exc:  # handed to the waiter, scrubbed there
            self.error = exc
        finally:
            self.done.set()

    def wait(self, timeout: float) -> bool:
        if self.expired and not self.done.is_set():
            return False
        if not self.done.wait(timeout):
            self.expired = True
            return False
        return True


def _seconds(value: float) -> str:
    return f"{value:g} s"


class KeyringTimeout(Exception):
    """A keyring call did not answer in time (its words are shown; never holds a secret)."""


def _call(fn: Callable[..., object], *args: object, timeout: float = KEYRING_TIMEOUT_S) -> object:
    """``fn(*args)`` in a daemon thread, waited for at most ``timeout`` seconds."""
    call = _Call(fn, *args)
    if not call.wait(timeout):
        raise KeyringTimeout(f"the OS keyring did not answer within {_seconds(timeout)}")
    if call.error is not None:
        raise call.error
    return call.value


class KeyStore:
    """Looks up, stores and deletes provider keys.

    ``environ`` defaults to ``os.environ`` (read at lookup time); ``backend`` defaults to
    ``keyring.get_keyring()`` (resolved on first use); ``explicit`` holds keys given directly
    (e.g. on the command line of a test harness) and wins over everything.

    Keyring reads are cached per provider for the life of the instance (a Secret Service round
    trip costs tens of milliseconds, the first one ~0.3 s); :meth:`set`, :meth:`delete` and
    :meth:`refresh` invalidate it. Safe to share between threads.
    """

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        backend: KeyringBackend | None = None,
        explicit: Mapping[str, str] | None = None,
        env_vars: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = environ
        self._explicit = {normalize_provider(k): v for k, v in (explicit or {}).items() if v}
        self._env_vars = dict(PROVIDER_ENV_VARS if env_vars is None else env_vars)
        self._backend = backend
        self._backend_error: str | None = None  # why the backend could not be loaded
        self._read_error: str | None = None  # why the last keyring read failed
        self._backend_resolved = backend is not None
        self._lock = threading.RLock()
        # provider -> (value or None, error message or None)
        self._cache: dict[str, tuple[str | None, str | None]] = {}
        self._pending: dict[str, _Call] = {}  # keyring reads in flight (one per entry)

    # -- backend -------------------------------------------------------------------------------

    def _get_backend(self) -> KeyringBackend | None:
        with self._lock:
            if not self._backend_resolved:
                try:
                    self._backend = _call(_load_backend)  # type: ignore[assignment]
                except KeyringTimeout as exc:  # backend discovery itself can hang on D-Bus
                    self._backend = None
                    self._backend_error = str(exc)
                except Exception as exc:  # a configured backend that cannot load
                    self._backend = None
                    self._backend_error = _describe(exc)
                self._backend_resolved = True
            return self._backend

    def backend_status(self) -> BackendStatus:
        backend = self._get_backend()
        if backend is None:
            return BackendStatus(
                usable=False,
                name="",
                message=(
                    f"the configured keyring backend cannot be loaded ({self._backend_error}): "
                    f"{_FALLBACK}"
                ),
            )
        path = _class_path(backend)
        why = _NO_STORAGE_BACKENDS.get(path)
        if why is not None:
            return BackendStatus(
                usable=False,
                name=path,
                message=f"{why} (keyring backend '{_short_name(path)}'): {_FALLBACK}",
            )
        if self._read_error is not None:
            return BackendStatus(
                usable=False,
                name=path,
                message=(
                    f"the OS keyring (keyring backend '{_short_name(path)}') could not be read "
                    f"({self._read_error}): {_FALLBACK}"
                ),
                read_failed=True,
            )
        return BackendStatus(
            usable=True,
            name=path,
            message=f"keys are stored in the OS keyring (keyring backend '{_short_name(path)}')",
        )

    def _usable_backend(self) -> KeyringBackend:
        status = self.backend_status()
        if not status.usable:
            raise NoKeyringError(status.message)
        backend = self._backend
        assert backend is not None
        return backend

    # -- lookup --------------------------------------------------------------------------------

    @property
    def providers(self) -> list[str]:
        """Known providers: the env var table plus any explicit ones, in table order."""
        names = list(self._env_vars)
        names += [p for p in self._explicit if p not in self._env_vars]
        return names

    def env_var_for(self, provider: str) -> str | None:
        return self._env_vars.get(normalize_provider(provider))

    def _from_keyring(
        self, provider: str, wait: float = KEYRING_TIMEOUT_S
    ) -> tuple[str | None, str | None]:
        """(value, error) for a keyring entry, waiting at most ``wait`` seconds for it."""
        with self._lock:
            if provider in self._cache:
                return self._cache[provider]
            if self._read_error is not None:
                # One failed read is enough: a locked collection would prompt again and a dead
                # D-Bus peer costs a 25 s timeout per call. refresh() tries again.
                return None, self._read_error
            if not self.backend_status().usable:
                self._cache[provider] = (None, None)
                return None, None
            call = self._pending.get(provider)
            if call is None:
                backend = self._backend
                assert backend is not None
                call = self._pending[provider] = _Call(backend.get_password, SERVICE, provider)
        # Waited for outside the lock: other lookups (an explicit key, the environment) go on.
        if not call.wait(wait):
            why = f"the OS keyring did not answer within {_seconds(wait)}"
            if wait >= KEYRING_TIMEOUT_S:
                with self._lock:  # hung: later lookups do not wait for it again
                    self._read_error = why
            return None, why
        with self._lock:
            self._pending.pop(provider, None)
            if call.error is not None:  # locked collection, D-Bus failure...
                self._read_error = _describe(call.error)
                return None, self._read_error
            value = call.value if isinstance(call.value, str) else None
            self._cache[provider] = result = (value or None, None)
            return result

    def lookup(self, provider: str, *, env_var: str | None = None) -> KeyLookup:
        """Explicit key, else the keyring's, else the environment variable's (``env_var`` when
        given, e.g. from a larger provider table, else this store's table)."""
        name = normalize_provider(provider)
        return self._lookup(name, name, env_var or self._env_vars.get(name))

    def lookup_named(self, label: str, *, entry: str | None, env_var: str | None) -> KeyLookup:
        """The key a model's settings point at: keyring ``entry`` (when given), else the
        environment variable ``env_var`` (when given); never the provider's own key.
        ``label`` names the result (the entry, else the variable)."""
        return self._lookup(label, normalize_provider(entry) if entry else None, env_var)

    def _lookup(self, label: str, entry: str | None, env_var: str | None) -> KeyLookup:
        error: str | None = None
        problems: list[str] = []
        environ = os.environ if self._environ is None else self._environ
        env_value = environ.get(env_var) if env_var else None
        if env_value and (why := key_problem(env_value)):
            problems.append(f"the key in {env_var} is not usable: {why}")
            env_value = None
        if entry is not None:
            explicit = self._explicit.get(entry)
            if explicit:
                return KeyLookup(label, explicit, "explicit", env_var, entry=entry)
            # With the key in the environment, a keyring that does not answer at once is not
            # waited for: the environment's key is used and the lookup says why.
            value, error = self._from_keyring(
                entry, ENV_GRACE_S if env_value else KEYRING_TIMEOUT_S
            )
            if value and (why := key_problem(value)):
                problems.insert(
                    0, f"the key in the OS keyring (entry '{entry}') is not usable: {why}"
                )
                value = None
            if value:
                return KeyLookup(label, value, "keyring", env_var, entry=entry)
        problem = "; ".join(problems) or None
        if env_value:
            return KeyLookup(
                label,
                env_value,
                "environment",
                env_var,
                keyring_error=error,
                entry=entry,
                problem=problem,
            )
        return KeyLookup(
            label, None, None, env_var, keyring_error=error, entry=entry, problem=problem
        )

    def lookup_all(self, providers: Iterable[str] | None = None) -> list[KeyLookup]:
        """One lookup per provider (default: every known provider), found or not."""
        return [self.lookup(p) for p in (self.providers if providers is None else providers)]

    def providers_with_keys(self, providers: Iterable[str] | None = None) -> list[KeyLookup]:
        """The lookups that found a key, among ``providers`` (default: every known provider)."""
        return [hit for hit in self.lookup_all(providers) if hit.found]

    def refresh(self) -> None:
        """Forget cached keyring reads and read errors (the keyring may have changed)."""
        with self._lock:
            self._cache.clear()
            self._pending.clear()
            self._read_error = None

    # -- changes -------------------------------------------------------------------------------

    def set(self, provider: str, value: str) -> None:
        """Store ``value`` as ``provider``'s key in the OS keyring."""
        name = normalize_provider(provider)
        secret = (value or "").strip()
        if not secret:
            raise KeyStoreError(f"refusing to store an empty key for {name}")
        why = key_problem(secret)
        if why is not None:
            raise KeyStoreError(f"the key for {name} was not stored: {why}")
        with self._lock:
            backend = self._usable_backend()
            self._cache.pop(name, None)
            failure: str | None = None
            try:
                _call(backend.set_password, SERVICE, name, secret)
            except KeyringTimeout as exc:
                failure = str(exc)
            except Exception as exc:
                failure = _describe(exc, (secret, value))
            # Raised outside the except block so the backend's exception (whose text, arguments
            # or traceback locals could hold the key) is neither chained nor kept as __context__.
            if failure is not None:
                raise KeyStoreError(
                    f"could not store the key for {name} in the OS keyring: {failure}"
                )

    def delete(self, provider: str) -> bool:
        """Remove ``provider``'s key from the keyring. False when there was none there."""
        name = normalize_provider(provider)
        with self._lock:
            backend = self._usable_backend()
            self._cache.pop(name, None)
            from keyring.errors import PasswordDeleteError

            current: str | None = None
            failure: str | None = None
            try:
                found = _call(backend.get_password, SERVICE, name)
                current = found if isinstance(found, str) else None
                if current is None:
                    return False
                _call(backend.delete_password, SERVICE, name)
            except PasswordDeleteError:
                return False
            except KeyringTimeout as exc:
                failure = str(exc)
            except Exception as exc:
                failure = _describe(exc, (current,))
            if failure is not None:  # outside the except block: see set()
                raise KeyStoreError(
                    f"could not delete the key for {name} from the OS keyring: {failure}"
                )
            return True


def _load_backend() -> KeyringBackend:
    import keyring

    return keyring.get_keyring()


# -- words for people ---------------------------------------------------------------------------

_BACKEND_WORDS = {
    "SecretService": "the Secret Service on the D-Bus session bus (GNOME Keyring, KWallet or "
    "KeePassXC), which keeps keys encrypted in your login keyring",
    "kwallet": "KWallet, KDE's password store",
    "macOS": "the macOS Keychain",
    "Windows": "the Windows Credential Locker",
    "libsecret": "libsecret (the GNOME Keyring or another Secret Service)",
    "chainer": "the first of several configured keyrings that has the key",
}

NO_KEYRING_HELP = (
    "Without an OS keyring prompt-tui cannot store keys; it reads each provider's key from its "
    "environment variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...). To get a keyring on Linux, "
    "run a Secret Service in your D-Bus session: install gnome-keyring (or use KWallet) and log "
    "in to a desktop session, or on a headless machine start one with `dbus-run-session` and "
    "`gnome-keyring-daemon --unlock`. The macOS Keychain and the Windows Credential Locker work "
    "out of the box."
)


def backend_in_words(status: BackendStatus) -> str:
    """What the keyring backend is and what that means, in a sentence or three."""
    if status.read_failed:
        return (
            f"{status.message}.\nUnlock the keyring (log in to your desktop session, or run "
            "`gnome-keyring-daemon --unlock`), then try again."
        )
    if not status.usable:
        return f"{status.message}.\n{NO_KEYRING_HELP}"
    short = _short_name(status.name)
    what = _BACKEND_WORDS.get(short)
    where = f": {what}" if what else ""
    return (
        f"{status.message}{where}. Keys stored with `prompt-tui keys set` live there and are "
        "read before environment variables."
    )

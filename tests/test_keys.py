"""Key lookup: explicit > OS keyring > environment; masking; secrets never shown."""

from __future__ import annotations

import logging
import threading
import traceback

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import pytest
from keyring.errors import PasswordDeleteError

from tui_app.core.keys import (
    PROVIDER_ENV_VARS,
    SERVICE,
    KeyLookup,
    KeyStore,
    KeyStoreError,
    NoKeyringError,
    env_var_for,
    mask,
)

SECRET = "sk-test-6f1d0c2b9a8e7d6c5b4a-KEEPME"
OTHER = "sk-other-0123456789abcdef-zzzz"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring in a dict. Priority below the fail backend: keyring's discovery never picks it."""

    priority = -1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.gets = 0
        self.lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self.lock:
            self.gets += 1
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


class LeakyKeyring(MemoryKeyring):
    """A backend whose errors quote the password: the store must not pass that on."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"refused to store {password!r} for {username}")

    def delete_password(self, service: str, username: str) -> None:
        secret = self.items[(service, username)]
        raise RuntimeError(f"D-Bus error while deleting {secret}")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        self.gets += 1
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


@pytest.fixture
def backend() -> MemoryKeyring:
    return MemoryKeyring()


# -- masking -----------------------------------------------------------------------------------


def test_mask_keeps_last_four_behind_fixed_dots():
    assert mask(SECRET) == "••••EPME"
    assert mask("sk-abcd1234") == "••••1234"
    assert mask("") == ""
    # the number of dots does not reveal the length
    assert len(mask("x" * 10)) == len(mask("x" * 100))


def test_mask_hides_short_secrets_entirely():
    assert mask("abc") == "••••"
    assert mask("abcdefg") == "••••"
    assert mask("abcdefgh") == "••••efgh"


def test_env_var_table():
    assert env_var_for("openai") == "OPENAI_API_KEY"
    assert env_var_for(" OpenAI ") == "OPENAI_API_KEY"
    assert env_var_for("together_ai") == "TOGETHERAI_API_KEY"
    assert env_var_for("fireworks_ai") == "FIREWORKS_AI_API_KEY"
    assert env_var_for("nope") is None
    assert env_var_for("mine", {"mine": "MINE_KEY"}) == "MINE_KEY"
    assert len(PROVIDER_ENV_VARS) == 13


# -- precedence --------------------------------------------------------------------------------


def test_explicit_beats_keyring_beats_environment(backend):
    backend.set_password(SERVICE, "openai", "sk-from-keyring-1111")
    env = {"OPENAI_API_KEY": "sk-from-env-2222"}

    store = KeyStore(environ=env, backend=backend, explicit={"openai": "sk-explicit-3333"})
    hit = store.lookup("openai")
    assert (hit.value, hit.source, hit.env_var) == (
        "sk-explicit-3333",
        "explicit",
        "OPENAI_API_KEY",
    )
    assert backend.gets == 0  # an explicit key never pays for a keyring round trip

    hit = KeyStore(environ=env, backend=backend).lookup("openai")
    assert (hit.value, hit.source) == ("sk-from-keyring-1111", "keyring")

    hit = KeyStore(environ=env, backend=MemoryKeyring()).lookup("openai")
    assert (hit.value, hit.source) == ("sk-from-env-2222", "environment")


def test_no_key_anywhere(backend):
    hit = KeyStore(environ={}, backend=backend).lookup("anthropic")
    assert hit == KeyLookup("anthropic", None, None, "ANTHROPIC_API_KEY")
    assert not hit.found
    assert hit.masked() == ""
    assert str(hit) == "anthropic: no key"


def test_empty_environment_variable_counts_as_unset(backend):
    hit = KeyStore(environ={"GROQ_API_KEY": ""}, backend=backend).lookup("groq")
    assert hit.source is None


def test_provider_names_are_normalized(backend):
    backend.set_password(SERVICE, "openai", SECRET)
    hit = KeyStore(environ={}, backend=backend).lookup("  OpenAI")
    assert (hit.provider, hit.source) == ("openai", "keyring")
    with pytest.raises(KeyStoreError):
        KeyStore(environ={}, backend=backend).lookup("   ")


def test_unknown_provider_has_no_env_var_but_keyring_works(backend):
    backend.set_password(SERVICE, "my-gateway", SECRET)
    hit = KeyStore(environ={}, backend=backend).lookup("my-gateway")
    assert (hit.source, hit.env_var) == ("keyring", None)


def test_env_var_given_at_lookup_time(backend):
    # providers outside the table (routing knows more): the caller names the variable
    store = KeyStore(environ={"PERPLEXITYAI_API_KEY": OTHER}, backend=backend)
    assert store.lookup("perplexity").source is None
    hit = store.lookup("perplexity", env_var="PERPLEXITYAI_API_KEY")
    assert (hit.source, hit.env_var) == ("environment", "PERPLEXITYAI_API_KEY")
    backend.set_password(SERVICE, "perplexity", SECRET)
    store.refresh()
    assert store.lookup("perplexity", env_var="PERPLEXITYAI_API_KEY").source == "keyring"


def test_custom_env_var_table(backend):
    store = KeyStore(environ={"GW_TOKEN": SECRET}, backend=backend, env_vars={"gw": "GW_TOKEN"})
    assert store.providers == ["gw"]
    assert store.lookup("gw").source == "environment"


def test_lookup_all_and_providers_with_keys(backend):
    backend.set_password(SERVICE, "openai", SECRET)
    store = KeyStore(
        environ={"MISTRAL_API_KEY": OTHER}, backend=backend, explicit={"local": "x" * 9}
    )
    every = store.lookup_all()
    assert [h.provider for h in every] == [*PROVIDER_ENV_VARS, "local"]
    found = {h.provider: h.source for h in store.providers_with_keys()}
    assert found == {"openai": "keyring", "mistral": "environment", "local": "explicit"}


# -- secrets never shown -----------------------------------------------------------------------


def test_repr_and_str_never_show_the_value(backend):
    backend.set_password(SERVICE, "openai", SECRET)
    store = KeyStore(
        environ={"ANTHROPIC_API_KEY": OTHER}, backend=backend, explicit={"groq": SECRET + "g"}
    )
    hits = store.lookup_all()
    text = " ".join([repr(hits), str(hits), *map(str, hits), *(f"{h!r} {h}" for h in hits)])
    assert SECRET not in text and OTHER not in text
    assert "••••EPME" in text  # the mask is what shows
    assert "environment (ANTHROPIC_API_KEY)" in str(store.lookup("anthropic"))


def test_store_errors_never_contain_the_key():
    store = KeyStore(environ={}, backend=LeakyKeyring())
    with pytest.raises(KeyStoreError) as info:
        store.set("openai", SECRET)
    exc = info.value
    rendered = "".join(traceback.format_exception(exc))
    assert SECRET not in str(exc) and SECRET not in rendered and SECRET not in repr(exc.args)
    assert "••••EPME" in str(exc)  # the backend's message, scrubbed
    assert exc.__cause__ is None and exc.__context__ is None


def test_delete_errors_never_contain_the_key():
    leaky = LeakyKeyring()
    leaky.items[(SERVICE, "openai")] = SECRET
    with pytest.raises(KeyStoreError) as info:
        KeyStore(environ={}, backend=leaky).delete("openai")
    rendered = "".join(traceback.format_exception(info.value))
    assert SECRET not in rendered
    assert info.value.__context__ is None


def test_rejected_keys_are_not_echoed(backend):
    store = KeyStore(environ={}, backend=backend)
    with pytest.raises(KeyStoreError) as info:
        store.set("openai", "sk-first-line\nsk-second-line")
    assert "sk-first" not in str(info.value) and "sk-second" not in str(info.value)
    with pytest.raises(KeyStoreError):
        store.set("openai", "   ")
    assert backend.items == {}


def test_nothing_is_logged_with_the_secret(backend, caplog):
    caplog.set_level(logging.DEBUG)
    store = KeyStore(environ={"OPENAI_API_KEY": OTHER}, backend=backend)
    store.set("openai", SECRET)
    store.lookup_all()
    store.delete("openai")
    store.lookup("openai")
    KeyStore(environ={}, backend=LeakyKeyring())
    assert SECRET not in caplog.text and OTHER not in caplog.text


# -- set / delete / cache ----------------------------------------------------------------------


def test_set_then_lookup_then_delete(backend):
    store = KeyStore(environ={}, backend=backend)
    store.set("openai", f"  {SECRET}\n")  # pasted with a newline: stored stripped
    assert backend.items[(SERVICE, "openai")] == SECRET
    assert store.lookup("openai").source == "keyring"
    assert store.delete("openai") is True
    assert store.lookup("openai").source is None
    assert store.delete("openai") is False


def test_keyring_reads_are_cached_and_invalidated(backend):
    backend.set_password(SERVICE, "openai", SECRET)
    store = KeyStore(environ={}, backend=backend)
    for _ in range(5):
        assert store.lookup("openai").value == SECRET
    assert backend.gets == 1

    backend.set_password(SERVICE, "openai", OTHER)  # changed behind our back
    assert store.lookup("openai").value == SECRET  # still cached...
    store.refresh()
    assert store.lookup("openai").value == OTHER  # ...until refreshed

    store.set("openai", SECRET)
    assert store.lookup("openai").value == SECRET  # set invalidates
    store.delete("openai")
    assert store.lookup("openai").value is None  # delete invalidates


def test_concurrent_lookups_hit_the_keyring_once(backend):
    backend.set_password(SERVICE, "openai", SECRET)
    store = KeyStore(environ={}, backend=backend)
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.lookup("openai").value))
        for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [SECRET] * 16
    assert backend.gets == 1


def test_keyring_read_error_falls_back_to_environment_and_is_not_retried():
    locked = LockedKeyring()
    store = KeyStore(environ={"OPENAI_API_KEY": OTHER}, backend=locked)
    hit = store.lookup("openai")
    assert (hit.value, hit.source) == (OTHER, "environment")
    assert "KeyringLocked" in (hit.keyring_error or "")
    # a locked collection would prompt again, a dead D-Bus peer costs 25 s: one try per store
    assert [h.source for h in store.lookup_all()].count(None) == 12
    assert locked.gets == 1
    status = store.backend_status()
    assert not status.usable
    assert status.message.startswith("the OS keyring (keyring backend")
    assert "could not be read (KeyringLocked: Failed to unlock the collection!)" in status.message
    assert status.message.endswith("keys are read from environment variables")
    store.refresh()
    store.lookup("openai")
    assert locked.gets == 2


# -- no keyring --------------------------------------------------------------------------------


def test_fail_backend_falls_back_to_environment_and_says_so():
    store = KeyStore(environ={"OPENAI_API_KEY": OTHER}, backend=keyring.backends.fail.Keyring())
    status = store.backend_status()
    assert not status.usable
    assert status.name == "keyring.backends.fail.Keyring"
    assert status.message == (
        "no OS keyring available (keyring backend 'fail'): keys are read from environment variables"
    )
    hit = store.lookup("openai")
    assert (hit.value, hit.source, hit.keyring_error) == (OTHER, "environment", None)

    with pytest.raises(NoKeyringError) as info:
        store.set("openai", SECRET)
    assert str(info.value) == status.message
    with pytest.raises(NoKeyringError):
        store.delete("openai")


def test_null_backend_is_not_usable():
    status = KeyStore(environ={}, backend=keyring.backends.null.Keyring()).backend_status()
    assert not status.usable
    assert "disabled" in status.message and "'null'" in status.message


def test_default_backend_comes_from_keyring(monkeypatch, backend):
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    store = KeyStore(environ={})
    status = store.backend_status()
    assert status.usable
    assert status.name.endswith("test_keys.MemoryKeyring")
    store.set("openai", SECRET)
    assert backend.items[(SERVICE, "openai")] == SECRET


def test_broken_configured_backend_is_reported_plainly(monkeypatch):
    def broken() -> None:
        raise RuntimeError(
            "Unable to initialize SecretService: Environment variable DBUS_SESSION_BUS_ADDRESS is unset"
        )

    monkeypatch.setattr(keyring, "get_keyring", broken)
    store = KeyStore(environ={"XAI_API_KEY": OTHER})
    status = store.backend_status()
    assert not status.usable
    assert status.message.startswith(
        "the configured keyring backend cannot be loaded (RuntimeError:"
    )
    assert "DBUS_SESSION_BUS_ADDRESS" in status.message
    assert status.message.endswith("keys are read from environment variables")
    assert store.lookup("xai").source == "environment"
    with pytest.raises(NoKeyringError, match="cannot be loaded"):
        store.set("xai", SECRET)

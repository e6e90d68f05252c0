"""A keyring backend that never answers (a dead D-Bus peer, an unlock prompt nobody sees), for
tests: select it with ``PYTHON_KEYRING_BACKEND=tests.support.hanging_keyring.Keyring``."""

from __future__ import annotations

import threading

import keyring.backend

_never = threading.Event()


class Keyring(keyring.backend.KeyringBackend):
    priority = -1  # type: ignore[assignment]  # keyring's own discovery never picks it

    def get_password(self, service: str, username: str) -> str | None:
        _never.wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        _never.wait()

    def delete_password(self, service: str, username: str) -> None:
        _never.wait()

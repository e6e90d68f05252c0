"""An OS keyring in a dict, for tests: a real ``keyring`` backend class, no D-Bus, no disk."""

from __future__ import annotations

import threading

import keyring.backend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Priority below the fail backend: keyring's own discovery never picks it.

    ``calls`` records (operation, thread name) so tests can check keyring calls stay off the
    event loop's thread.
    """

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _note(self, operation: str) -> None:
        with self._lock:
            self.calls.append((operation, threading.current_thread().name))

    def get_password(self, service: str, username: str) -> str | None:
        self._note("get")
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._note("set")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._note("delete")
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]

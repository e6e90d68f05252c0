"""A keymap entry in the settings file whose binding id names no binding did nothing, silently:
say which, with the id meant."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from textual.binding import Binding

from ..core.errors import did_you_mean
from .help_text import KEY_MAP_SOURCES

# Bindings with an id that the key map does not list (dialogs opened from these panes).
EXTRA_SOURCES = (("tui_app.ui.screens.load_error", "LoadErrorScreen"),)


def binding_ids() -> set[str]:
    """Every binding id the user can remap."""
    ids: set[str] = set()
    sources = [(module, name) for _, module, name in KEY_MAP_SOURCES] + list(EXTRA_SOURCES)
    for module_name, class_name in sources:
        cls = getattr(importlib.import_module(module_name), class_name)
        ids |= {b.id for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
    return ids


def keymap_problem(keymap: Mapping[str, str], where: str) -> str | None:
    """One line naming every unknown binding id of ``keymap`` (None when all are known)."""
    known = binding_ids()
    unknown = [name for name in keymap if name not in known]
    if not unknown:
        return None
    parts = []
    for name in unknown:
        meant = did_you_mean(name, sorted(known), n=1)
        parts.append(f"'{name}'" + (f" ({meant})" if meant else ""))
    return (
        f"{where}: keymap: no binding has the id {', '.join(parts)}; "
        "the key map (?) lists the ids, ignored until fixed"
    )

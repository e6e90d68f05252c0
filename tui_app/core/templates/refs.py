"""What a template reads: :class:`Reference`, shared by the AST analysis and the quick scan.

Kept apart from :mod:`.analysis` (which walks Jinja2's AST) so that code needing only the type
or the quick scan (:mod:`.quick`) does not import Jinja2.
"""

from __future__ import annotations

from dataclasses import dataclass

from .syntax import _RUN


@dataclass(frozen=True)
class Reference:
    """A top-level value a template reads.

    ``root`` is a parameter or prompt name in its original spelling (``step-one``, ``my prompt``);
    ``attr`` the first attribute read from it (``output`` in ``{{p.output}}``) or None;
    ``text`` a canonical spelling of the two (``step-one.output``, ``[my prompt].output``).
    """

    root: str
    attr: str | None
    text: str


def _ref_text(root: str, attr: str | None) -> str:
    head = root if _RUN.fullmatch(root) else f"[{root}]"
    return f"{head}.{attr}" if attr is not None else head

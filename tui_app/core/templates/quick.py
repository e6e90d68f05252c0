"""What a template of text and plain ``{{paths}}`` reads, found without Jinja2.

The first frame shows the selected prompt's parameters, which come from its template's
references; building them through the engine imports Jinja2 (~20 ms, bench/startup.py) before
anything is painted. For the common template (text, comments and ``{{name}}``, ``{{a.b.c}}``,
``{{step-one.output}}``, ``{{[my prompt].output}}``: no blocks, no Jinja syntax, no ``../``,
``@root`` or ``@index``) the analysis's answer follows from the translator's pieces alone: each
path reads its root with its first segment as the attribute, nothing is guarded, nothing is bound.
Anything else answers None and the caller asks the engine. ``tests/test_templates.py`` holds this
scan equal to the engine's analysis on generated templates and the cookbook's.
"""

from __future__ import annotations

from collections.abc import Set

from .refs import Reference, _ref_text
from .syntax import _candidates, _CompileError
from .translate import _Translator


def quick_references(source: str, prompt_names: Set[str]) -> tuple[Reference, ...] | None:
    """The references the engine would find in ``source`` (in order, unique, none guarded), or
    None when the source is not text and plain paths (or does not compile)."""
    special = (
        frozenset(c for c in _candidates(source) if c in prompt_names)
        if "{" in source
        else frozenset()
    )
    translator = _Translator(source, special)
    try:
        translator.run()
    except _CompileError:
        return None  # the engine says what is wrong
    if not translator.simple:
        return None
    found: dict[tuple[str, str | None], Reference] = {}
    for piece in translator.pieces:
        if piece.kind in ("text", "lit", "comment"):
            continue
        if piece.kind != "expr" or piece.path is None:
            return None
        ident, segments = piece.path
        meaning = translator.symbols.get(ident)
        if meaning is None:
            root = ident
        elif meaning[0] == "name":  # a prompt name that is not an identifier (step-one)
            root = meaning[1]
        else:  # ../x, @root.x, @index: scoping the AST analysis resolves
            return None
        attr = segments[0] if segments and isinstance(segments[0], str) else None
        found.setdefault((root, attr), Reference(root, attr, _ref_text(root, attr)))
    return tuple(found.values())

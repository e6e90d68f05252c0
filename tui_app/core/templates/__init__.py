"""Templates: Jinja2 in a sandbox, after translating the Handlebars subset AIConfig files use.

One parse serves both questions a template answers: *what does it read* (``references``, which
drives the dependency graph and the parameter form) and *what does it say* (``render``). The
source is translated to Jinja (or, for the common "text and ``{{paths}}``" case, straight to a
Jinja AST), the AST is walked once to resolve Handlebars scoping and collect references, and that
same AST is compiled to render.

Handlebars supported: ``{{name}}``, ``{{a.b}}``, ``{{{raw}}}``, ``{{&raw}}``, prompt names with
hyphens or dots (``{{step-one.output}}``, ``{{gpt3.5-run.output}}`` when such a prompt exists),
``{{[any name].output}}``, ``{{#if}}/{{#unless}}`` with ``{{else}}``/``{{else if x}}``,
``{{#each xs}}`` (``this``, bare item fields, ``@index @key @first @last``, ``../x``,
``@root.x``, ``as |item i|``), comments, ``~`` whitespace control, and pybars' removal of lines
holding only a block tag. Real Jinja (filters, ``{% for %}``, ``{% if %}``...) passes through.

Rules worth knowing:
- a name with ``-`` or ``.`` is a prompt reference only when that exact prompt exists;
  ``{{x-y}}`` without a prompt ``x-y`` is Jinja subtraction (it reads ``x`` and ``y``);
- inside ``{{#each}}`` a bare name is a field of the item (Handlebars): use ``../name`` or
  ``@root.name`` for outer values; names bound by Jinja (``{% set %}``, loop variables) win;
- values are never HTML-escaped; a missing value or ``None`` is an error unless the caller
  asks for AIConfig's behaviour (``missing_ok=True``: rendered as "").
"""

# One module per stage: syntax (shared vocabulary) -> translate + handlebars_paths (source to
# pieces) -> direct_ast or Jinja's parser (pieces to AST) -> analysis (scoping, references)
# -> engine (cache, compile, render in the sandbox). Only the public API is exported here.
#
# Importing the package does not import Jinja2 (~20 ms): the engine module loads with the first
# engine, so the TUI's first frame (which needs the selected prompt's references: `reads`, via
# the quick scan of `.quick`) is painted without it (tests/ui/test_structure.py).

import sys
from collections.abc import Iterable, Set
from typing import TYPE_CHECKING, Any

from .quick import quick_references
from .refs import Reference

if TYPE_CHECKING:
    from .engine import CompiledTemplate, TemplateEngine

__all__ = [
    "CompiledTemplate",
    "Reference",
    "TemplateEngine",
    "default_engine",
    "reads",
    "references",
]

_ENGINE_MODULE = __name__ + ".engine"
_NO_GUARDS: frozenset[Reference] = frozenset()


def default_engine() -> "TemplateEngine":
    """The process-wide engine (created on first use, never at import)."""
    from . import engine  # Jinja2 loads here, with the first engine (see above)

    return engine.default_engine()


def references(source: str, prompt_names: Iterable[str] = ()) -> tuple[Reference, ...]:
    """What ``source`` reads, using the default engine."""
    return default_engine().compile(source, prompt_names).references


def reads(
    source: str, prompt_names: Set[str], *, prompt: str | None = None
) -> tuple[tuple[Reference, ...], frozenset[Reference]]:
    """(references, guarded references) of ``source``: the default engine's answer. Before any
    engine exists (the TUI's first frame) a template of text and plain paths is answered by the
    quick scan, which gives the same answer without importing Jinja2."""
    if _ENGINE_MODULE not in sys.modules:
        quick = quick_references(source, prompt_names)
        if quick is not None:
            return quick, _NO_GUARDS
    compiled = default_engine().compile(source, prompt_names, prompt=prompt)
    return compiled.references, compiled.guarded


def __getattr__(name: str) -> Any:
    # The engine's classes and its `_default` (rebound on first use) load the engine module on
    # first access; a test checks that importing the package creates no engine.
    if name in ("CompiledTemplate", "TemplateEngine", "_default"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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

from typing import Any

from . import engine as _engine
from .analysis import Reference
from .engine import CompiledTemplate, TemplateEngine, default_engine, references

__all__ = [
    "CompiledTemplate",
    "Reference",
    "TemplateEngine",
    "default_engine",
    "references",
]


def __getattr__(name: str) -> Any:
    # `_default` is rebound in .engine on first use; forward reads so they see the live value
    # (a test checks that importing the package creates no engine).
    if name == "_default":
        return _engine._default
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

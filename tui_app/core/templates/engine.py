"""The public engine: compile (cached) and render; ``CompiledTemplate`` holds one parse.

Compiling runs the stages in order: ``_Translator`` scans the source, the AST is built directly
(Handlebars-only sources) or parsed by Jinja from the translated text, ``_Analyzer`` resolves
scoping and collects references, and Jinja compiles that same AST to render. The cache is keyed
by source and by the prompt names that change its meaning, so one config's many prompts share
compiled templates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Set
from typing import Any

from jinja2 import ChainableUndefined, nodes
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from ..errors import MissingReferenceError, TemplateError
from .analysis import Reference, _Analyzer
from .direct_ast import _direct_ast
from .sandbox import _Environment, _make_environment, _NoneValue
from .syntax import _candidates, _CompileError
from .translate import _Translator


def _error_line(exc: BaseException) -> int | None:
    """The template line of the innermost template frame in the traceback."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class CompiledTemplate:
    """A parsed template: what it reads (``references``) and how to render it."""

    def __init__(
        self,
        engine: TemplateEngine,
        source: str,
        ast: nodes.Template,
        analyzer: _Analyzer,
    ) -> None:
        self.source = source
        self.references: tuple[Reference, ...] = tuple(analyzer.refs.values())
        # References read only under `is defined` / `| default(...)`: absent is not an error.
        self.guarded: frozenset[Reference] = frozenset(
            ref for key, ref in analyzer.refs.items() if key not in analyzer.required
        )
        self._roots: tuple[tuple[str, str], ...] = tuple(analyzer.idents.items())
        # Reads two or more levels deep from a reference (`p.output.city`): (root, keys).
        root_of = {ident: root for root, ident in analyzer.idents.items()}
        self.field_paths: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
            (root_of[ident], keys) for ident, keys in analyzer.paths if ident in root_of
        )
        required_roots = {root for root, _ in analyzer.required}
        self._optional_roots = frozenset(analyzer.idents) - required_roots
        self._engine = engine
        self._ast: nodes.Template | None = ast
        self._code: Any = None
        self._strict: Any = None
        self._lenient: Any = None

    def __repr__(self) -> str:
        shown = self.source if len(self.source) <= 40 else self.source[:37] + "..."
        return f"CompiledTemplate({shown!r})"

    def missing(self, context: Mapping[str, Any]) -> list[str]:
        """Names the template needs that ``context`` lacks (or holds as None), in order.

        A missing root is listed by its name (``topic``, ``step-one``); a root that is there
        but whose attribute is absent or None is listed as ``root.attr`` (``step-one.output``).
        """
        out: list[str] = []
        missing_roots: set[str] = set()
        for ref in self.references:
            if ref in self.guarded or ref.root in missing_roots:
                continue
            value = context.get(ref.root)
            if value is None:
                missing_roots.add(ref.root)
                out.append(ref.root)
            elif (
                ref.attr is not None
                and isinstance(value, Mapping)
                and value.get(ref.attr) is None
                and f"{ref.root}.{ref.attr}" not in out
            ):
                out.append(f"{ref.root}.{ref.attr}")
        return out

    def render(
        self, context: Mapping[str, Any], *, prompt: str | None = None, missing_ok: bool = False
    ) -> str:
        """Render with ``context`` keyed by original names (``step-one``, ``my prompt``).

        Raises MissingReferenceError naming every missing reference, or TemplateError for a
        sandbox refusal or any other error while rendering. With ``missing_ok`` (AIConfig's
        behaviour), missing and None values render as "".
        """
        if not missing_ok:
            missing = self.missing(context)
            if missing:
                raise MissingReferenceError(prompt or "template", missing)
        values: dict[str, Any] = {}
        for root, ident in self._roots:
            value = context.get(root)
            if value is None:
                if root in self._optional_roots:
                    # Read only under `is defined` / `default`: let those see it as undefined.
                    values[ident] = ChainableUndefined(name=root)
                continue
            if isinstance(value, Mapping) and any(v is None for v in value.values()):
                value = {k: v for k, v in value.items() if v is not None}
            values[ident] = value
        template = self._template(missing_ok, prompt)
        try:
            return template.render(values)
        except SecurityError as exc:
            raise TemplateError(
                f"refused by the sandbox: {exc}", prompt=prompt, line=_error_line(exc)
            ) from None
        except UndefinedError as exc:
            absent = [
                r.root for r in self.references if r in self.guarded and context.get(r.root) is None
            ]
            if absent:
                raise MissingReferenceError(
                    prompt or "template", list(dict.fromkeys(absent))
                ) from None
            raise TemplateError(
                f"undefined value: {exc.message}", prompt=prompt, line=_error_line(exc)
            ) from None
        except _NoneValue as exc:
            raise TemplateError(str(exc), prompt=prompt, line=_error_line(exc)) from None
        except JinjaTemplateError as exc:
            raise TemplateError(
                exc.message or type(exc).__name__, prompt=prompt, line=_error_line(exc)
            ) from None
        except Exception as exc:  # the template's own errors: 1/0, "a" + 1, deep recursion...
            raise TemplateError(
                f"{type(exc).__name__}: {exc}", prompt=prompt, line=_error_line(exc)
            ) from None

    def _compile(self, prompt: str | None) -> Any:
        with self._engine._lock:
            if self._code is None:
                assert self._ast is not None
                self._ast.set_environment(self._engine._env)
                try:
                    self._code = self._engine._env.compile(self._ast)
                except TemplateSyntaxError as exc:
                    raise TemplateError(
                        exc.message or "invalid template", prompt=prompt, line=exc.lineno
                    ) from None
                except (SyntaxError, RecursionError) as exc:  # Python's own nesting limits
                    raise TemplateError("the template is nested too deeply", prompt=prompt) from exc
                self._ast = None
            return self._code

    def _template(self, lenient: bool, prompt: str | None) -> Any:
        cached = self._lenient if lenient else self._strict
        if cached is not None:
            return cached
        code = self._compile(prompt)
        env = self._engine._lenient_env() if lenient else self._engine._env
        template = env.template_class.from_code(env, code, env.make_globals(None))
        if lenient:
            self._lenient = template
        else:
            self._strict = template
        return template


class _SourceEntry:
    __slots__ = ("candidates", "compiled")

    def __init__(self, candidates: frozenset[str]) -> None:
        self.candidates = candidates
        self.compiled: dict[frozenset[str], CompiledTemplate] = {}


_EMPTY: frozenset[str] = frozenset()


class TemplateEngine:
    """Compiles templates once per distinct (source, relevant prompt names) and renders them."""

    def __init__(self, *, cache_size: int = 20_000) -> None:
        self._env = _make_environment(lenient=False)
        self._lenient: _Environment | None = None
        self._cache: OrderedDict[str, _SourceEntry] = OrderedDict()
        self._cache_size = cache_size
        self._names: OrderedDict[tuple[str, ...], frozenset[str]] = OrderedDict()
        self._lock = threading.RLock()
        # Build Handlebars-only templates' AST directly (tests turn it off to compare with the
        # AST Jinja's parser builds from the translated text).
        self._direct = True

    def _name_set(self, prompt_names: Iterable[str]) -> Set[str]:
        """The names as a set; lists are remembered by content (a tuple is ~20x cheaper to
        hash than a set is to build, and callers pass the same names over and over)."""
        if isinstance(prompt_names, set | frozenset):
            return prompt_names
        key = prompt_names if isinstance(prompt_names, tuple) else tuple(prompt_names)
        with self._lock:
            found = self._names.get(key)
            if found is None:
                found = frozenset(key)
                self._names[key] = found
                if len(self._names) > 8:
                    self._names.popitem(last=False)
            return found

    def _lenient_env(self) -> _Environment:
        if self._lenient is None:
            self._lenient = _make_environment(lenient=True)
        return self._lenient

    def compile(
        self, source: str, prompt_names: Iterable[str] = (), *, prompt: str | None = None
    ) -> CompiledTemplate:
        """Parse ``source`` (cached). Syntax errors raise TemplateError naming prompt and line.

        ``prompt_names`` are the config's prompt names: a name with a hyphen or a dot is read as
        one name only when it is one of these. Passing a set or frozenset is fastest.
        """
        if not isinstance(source, str):
            raise TypeError(f"a template is text, not {type(source).__name__}")
        with self._lock:
            entry = self._cache.get(source)
            if entry is None:
                entry = _SourceEntry(_candidates(source) if "{" in source else _EMPTY)
                self._cache[source] = entry
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(source)
        relevant = _EMPTY
        if entry.candidates:
            names = self._name_set(prompt_names)
            relevant = frozenset(c for c in entry.candidates if c in names)
        compiled = entry.compiled.get(relevant)
        if compiled is None:
            compiled = self._build(source, relevant, prompt)
            with self._lock:
                compiled = entry.compiled.setdefault(relevant, compiled)
        return compiled

    def render(
        self,
        source: str,
        context: Mapping[str, Any],
        prompt_names: Iterable[str] = (),
        *,
        prompt: str | None = None,
        missing_ok: bool = False,
    ) -> str:
        compiled = self.compile(source, prompt_names, prompt=prompt)
        return compiled.render(context, prompt=prompt, missing_ok=missing_ok)

    def _build(self, source: str, special: frozenset[str], prompt: str | None) -> CompiledTemplate:
        translator = _Translator(source, special)
        try:
            translator.run()
            if translator.simple and self._direct:
                ast = _direct_ast(translator.pieces)
            else:
                ast = self._env.parse(translator.jinja_source())
            analyzer = _Analyzer(self._env, translator.symbols)
            analyzer.run(ast)
        except _CompileError as exc:
            raise TemplateError(exc.message, prompt=prompt, line=exc.line) from None
        except TemplateSyntaxError as exc:
            raise TemplateError(
                exc.message or "invalid template", prompt=prompt, line=exc.lineno
            ) from None
        except RecursionError:
            raise TemplateError("the template is nested too deeply", prompt=prompt) from None
        compiled = CompiledTemplate(self, source, ast, analyzer)
        if not translator.simple:
            compiled._compile(prompt)  # report Jinja's compile-time errors now, not at render
        return compiled


_default: TemplateEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> TemplateEngine:
    """The process-wide engine (created on first use, never at import)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = TemplateEngine()
    return _default


def references(source: str, prompt_names: Iterable[str] = ()) -> tuple[Reference, ...]:
    """What ``source`` reads, using the default engine."""
    return default_engine().compile(source, prompt_names).references

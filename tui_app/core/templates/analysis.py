"""Reference extraction: one walk of the Jinja AST resolves Handlebars scoping and finds reads.

Inside ``{{#each}}`` a bare name is a field of the item, ``../x`` climbs out, ``@index`` is a
loop variable: the walk rewrites those names into reads of the loop frame, and every other
top-level read becomes a ``Reference`` (by its original spelling, e.g. ``step-one.output``).
Reads guarded by ``is defined`` or ``| default`` are recorded as optional.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import nodes

from .refs import Reference, _ref_text
from .sandbox import _Environment
from .syntax import _FRAME_RE, _CompileError

_GUARD_FILTERS = frozenset({"default", "d"})
_GUARD_TESTS = frozenset({"defined", "undefined"})


class _Scope:
    __slots__ = ("bound", "frames")

    def __init__(self, bound: set[str], frames: tuple[str, ...]) -> None:
        self.bound = bound
        self.frames = frames

    def child(self, extra: Iterable[str] = (), frame: str | None = None) -> _Scope:
        frames = self.frames + (frame,) if frame else self.frames
        return _Scope(self.bound | set(extra), frames)


def _target_names(node: nodes.Node) -> set[str]:
    return {n.name for n in node.find_all(nodes.Name)} | (
        {node.name} if isinstance(node, nodes.Name) else set()
    )


class _Analyzer:
    def __init__(self, env: _Environment, symbols: Mapping[str, tuple[Any, ...]]) -> None:
        self.env = env
        self.symbols = symbols
        self.refs: dict[tuple[str, str | None], Reference] = {}
        self.required: set[tuple[str, str | None]] = set()
        self.idents: dict[str, str] = {}  # original root name -> identifier in the template
        self.guards: list[frozenset[str]] = []  # roots tested with `is defined` around here
        # (identifier, attribute chain) of reads two or more levels deep (`p.output.city`):
        # fields of a JSON answer, checked before sending (resolve.py)
        self.paths: dict[tuple[str, tuple[str, ...]], None] = {}

    def run(self, template: nodes.Template) -> None:
        scope = _Scope(set(), ())
        template.body = [self.visit(n, scope) for n in template.body]

    # -- generic
    # visit/expr/body return Any: a rewritten node goes back into Jinja's typed fields
    # (Expr, Stmt, Keyword...), and the rewrite keeps each node's kind.
    def visit(self, node: nodes.Node, scope: _Scope) -> Any:
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is not None:
            return method(node, scope)
        self.generic(node, scope)
        return node

    def generic(self, node: nodes.Node, scope: _Scope) -> None:
        for field in node.fields:
            value = getattr(node, field, None)
            if isinstance(value, nodes.Node):
                setattr(node, field, self.visit(value, scope))
            elif isinstance(value, list):
                value[:] = [self.visit(v, scope) if isinstance(v, nodes.Node) else v for v in value]

    def body(self, items: list[nodes.Node], scope: _Scope) -> Any:
        return [self.visit(n, scope) for n in items]

    # -- expressions
    def expr(
        self, node: nodes.Node, scope: _Scope, *, called: bool = False, guarded: bool = False
    ) -> Any:
        if isinstance(node, nodes.Name):
            return self.name(node, scope, None, called, guarded)
        if isinstance(node, nodes.Getattr):
            return self.v_Getattr(node, scope, called=called, guarded=guarded)
        if isinstance(node, nodes.Getitem):
            return self.v_Getitem(node, scope, guarded=guarded)
        return self.visit(node, scope)

    def v_Name(self, node: nodes.Name, scope: _Scope) -> nodes.Node:
        return self.name(node, scope, None, False, False)

    def chain(self, node: nodes.Getattr | nodes.Getitem, scope: _Scope) -> None:
        """Record a constant read two or more levels deep from a top-level name."""
        keys: list[str] = []
        target: nodes.Node = node
        while isinstance(target, nodes.Getattr | nodes.Getitem):
            if isinstance(target, nodes.Getattr):
                keys.append(target.attr)
            elif isinstance(target.arg, nodes.Const) and isinstance(target.arg.value, str | int):
                keys.append(str(target.arg.value))
            else:
                return
            target = target.node
        if (
            len(keys) >= 2
            and isinstance(target, nodes.Name)
            and not scope.frames
            and target.name not in scope.bound
        ):
            self.paths[(target.name, tuple(reversed(keys)))] = None

    def v_Getattr(
        self, node: nodes.Getattr, scope: _Scope, *, called: bool = False, guarded: bool = False
    ) -> nodes.Node:
        self.chain(node, scope)
        if isinstance(node.node, nodes.Name):
            attr = None if called else node.attr
            node.node = self.name(node.node, scope, attr, False, guarded)
        else:
            node.node = self.expr(node.node, scope, guarded=guarded)
        return node

    def v_Getitem(self, node: nodes.Getitem, scope: _Scope, *, guarded: bool = False) -> nodes.Node:
        self.chain(node, scope)
        if isinstance(node.node, nodes.Name):
            arg = node.arg
            attr = (
                arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None
            )
            node.node = self.name(node.node, scope, attr, False, guarded)
        else:
            node.node = self.expr(node.node, scope, guarded=guarded)
        node.arg = self.visit(node.arg, scope)
        return node

    def v_Call(self, node: nodes.Call, scope: _Scope) -> nodes.Node:
        node.node = self.expr(node.node, scope, called=True)
        node.args = [self.visit(a, scope) for a in node.args]
        node.kwargs = [self.visit(a, scope) for a in node.kwargs]
        if node.dyn_args is not None:
            node.dyn_args = self.visit(node.dyn_args, scope)
        if node.dyn_kwargs is not None:
            node.dyn_kwargs = self.visit(node.dyn_kwargs, scope)
        return node

    def v_Filter(self, node: nodes.Filter, scope: _Scope) -> nodes.Node:
        if node.name not in self.env.filters:
            raise _CompileError(f"no filter named '{node.name}'", node.lineno)
        if node.node is not None:
            node.node = self.expr(node.node, scope, guarded=node.name in _GUARD_FILTERS)
        self.call_args(node, scope)
        return node

    def v_Test(self, node: nodes.Test, scope: _Scope) -> nodes.Node:
        if node.name not in self.env.tests:
            raise _CompileError(f"no test named '{node.name}'", node.lineno)
        node.node = self.expr(node.node, scope, guarded=node.name in _GUARD_TESTS)
        self.call_args(node, scope)
        return node

    def call_args(self, node: nodes.Filter | nodes.Test, scope: _Scope) -> None:
        node.args = [self.visit(a, scope) for a in node.args]
        node.kwargs = [self.visit(a, scope) for a in node.kwargs]
        if node.dyn_args is not None:
            node.dyn_args = self.visit(node.dyn_args, scope)
        if node.dyn_kwargs is not None:
            node.dyn_kwargs = self.visit(node.dyn_kwargs, scope)

    def v_CondExpr(self, node: nodes.CondExpr, scope: _Scope) -> nodes.Node:
        self.guards.append(self.guard_roots(node.test))
        node.expr1 = self.visit(node.expr1, scope)  # source order: a if test else b
        node.test = self.visit(node.test, scope)
        if node.expr2 is not None:
            node.expr2 = self.visit(node.expr2, scope)
        self.guards.pop()
        return node

    def v_If(self, node: nodes.If, scope: _Scope) -> nodes.Node:
        # `{% if x is defined %}...{{ x }}...{% endif %}`: x is optional throughout the block.
        self.guards.append(self.guard_roots(node.test))
        self.generic(node, scope)
        self.guards.pop()
        return node

    def guard_roots(self, test: nodes.Node) -> frozenset[str]:
        roots: set[str] = set()
        tests = [test] if isinstance(test, nodes.Test) else []
        for t in [*tests, *test.find_all(nodes.Test)]:
            if t.name in _GUARD_TESTS:
                target = t.node
                while isinstance(target, nodes.Getattr | nodes.Getitem):
                    target = target.node
                if isinstance(target, nodes.Name):
                    meaning = self.symbols.get(target.name)
                    if meaning is None:
                        roots.add(target.name)
                    elif meaning[0] == "name":
                        roots.add(meaning[1])
                    elif meaning[0] in ("up", "root") and meaning[-2] is not None:
                        roots.add(meaning[-2])
        return frozenset(roots)

    # -- statements that bind names
    def v_For(self, node: nodes.For, scope: _Scope) -> nodes.Node:
        node.iter = self.visit(node.iter, scope)
        names = _target_names(node.target)
        frame = None
        if isinstance(node.target, nodes.Name) and _FRAME_RE.match(node.target.name):
            frame = node.target.name
        inner = scope.child(names | {"loop"}, frame)
        if node.test is not None:
            node.test = self.visit(node.test, inner)
        node.body = self.body(node.body, inner)
        node.else_ = self.body(node.else_, scope.child())
        return node

    def v_Assign(self, node: nodes.Assign, scope: _Scope) -> nodes.Node:
        node.node = self.visit(node.node, scope)
        if not isinstance(node.target, nodes.NSRef):
            scope.bound |= _target_names(node.target)
        return node

    def v_AssignBlock(self, node: nodes.AssignBlock, scope: _Scope) -> nodes.Node:
        node.body = self.body(node.body, scope.child())
        if node.filter is not None:
            node.filter = self.visit(node.filter, scope)
        if not isinstance(node.target, nodes.NSRef):
            scope.bound |= _target_names(node.target)
        return node

    def v_Macro(self, node: nodes.Macro, scope: _Scope) -> nodes.Node:
        scope.bound.add(node.name)
        node.defaults = [self.visit(d, scope) for d in node.defaults]
        names = {a.name for a in node.args} | {"varargs", "kwargs", "caller"}
        node.body = self.body(node.body, scope.child(names))
        return node

    def v_CallBlock(self, node: nodes.CallBlock, scope: _Scope) -> nodes.Node:
        node.call = self.visit(node.call, scope)
        node.defaults = [self.visit(d, scope) for d in node.defaults]
        names = {a.name for a in node.args} | {"varargs", "kwargs", "caller"}
        node.body = self.body(node.body, scope.child(names))
        return node

    def v_With(self, node: nodes.With, scope: _Scope) -> nodes.Node:
        node.values = [self.visit(v, scope) for v in node.values]
        names: set[str] = set()
        for target in node.targets:
            names |= _target_names(target)
        node.body = self.body(node.body, scope.child(names))
        return node

    def no_loading(self, node: nodes.Node, scope: _Scope) -> nodes.Node:
        tags: dict[type[nodes.Node], str] = {
            nodes.Extends: "extends",
            nodes.Include: "include",
            nodes.Import: "import",
        }
        tag = tags.get(type(node), "from ... import")
        raise _CompileError(
            f"{{% {tag} %}} is not available: a prompt template cannot load other templates",
            node.lineno,
        )

    v_Extends = v_Include = v_Import = v_FromImport = no_loading

    # -- names
    def name(
        self, node: nodes.Name, scope: _Scope, attr: str | None, called: bool, guarded: bool
    ) -> nodes.Expr:
        if node.ctx != "load":
            scope.bound.add(node.name)
            return node
        ident = node.name
        meaning = self.symbols.get(ident)
        kind = meaning[0] if meaning else "plain"
        if kind in ("plain", "name"):
            root = meaning[1] if meaning else ident
            if ident in scope.bound:
                return node
            if called and kind == "plain" and ident in self.env.globals:
                return node
            if scope.frames:
                if ident == "this" and kind == "plain":
                    return self.frame_attr(scope.frames[-1], "this", node)
                return self.item(scope.frames[-1], root, node)
            self.reference(root, ident, attr, guarded)
            return node
        assert meaning is not None  # only plain names have no recorded meaning
        if kind == "at":
            if not scope.frames:
                raise _CompileError(
                    f"@{meaning[1]} is only valid inside {{{{#each}}}}", node.lineno
                )
            return self.frame_attr(scope.frames[-1], meaning[1], node)
        if kind == "up":
            _, ups, root, root_ident = meaning
            target = len(scope.frames) - ups
            if target >= 1:
                frame = scope.frames[target - 1]
                if root is None:
                    return self.frame_attr(frame, "this", node)
                return self.item(frame, root, node)
            if root is None:
                root, root_ident = "this", "this"
        else:  # root
            _, root, root_ident = meaning
        self.reference(root, root_ident, attr, guarded)
        return nodes.Name(root_ident, "load", lineno=node.lineno)

    def reference(self, root: str, ident: str, attr: str | None, guarded: bool) -> None:
        key = (root, attr)
        if key not in self.refs:
            self.refs[key] = Reference(root, attr, _ref_text(root, attr))
        if not guarded and not any(root in g for g in self.guards):
            self.required.add(key)
        self.idents.setdefault(root, ident)

    @staticmethod
    def frame_attr(frame: str, attr: str, node: nodes.Node) -> nodes.Expr:
        lookup = nodes.Getattr(nodes.Name(frame, "load"), attr, "load")
        lookup.set_lineno(node.lineno)
        return lookup

    @staticmethod
    def item(frame: str, key: str, node: nodes.Node) -> nodes.Expr:
        this = nodes.Getattr(nodes.Name(frame, "load"), "this", "load")
        lookup = nodes.Getitem(this, nodes.Const(key), "load")
        lookup.set_lineno(node.lineno)
        return lookup

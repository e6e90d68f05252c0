"""A JSON answer as a folded, navigable tree (Textual's Tree): keys, types, values, JSON paths.

Bounded whatever the answer: children are added when a node is first expanded (a value nested
10,000 deep costs one node per level the user opens, never a recursion), at most
:data:`MAX_CHILDREN` children per node are listed (then a "… N more" line), and a label shows at
most :data:`LABEL_CHARS` characters of a string. Model text is inert (rich markup in a value is
shown as typed). ``enter``/``space`` fold and unfold; the highlighted node's JSON path is in
:attr:`JsonTree.path_of_cursor` (the output pane shows it).
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ...core.inert import visible_name
from ...core.jsondiff import path_join

__all__ = ["LABEL_CHARS", "MAX_CHILDREN", "JsonTree"]

MAX_CHILDREN = 200
LABEL_CHARS = 120
OPEN_LEVELS = 2  # levels unfolded when a value is shown


class _Entry:
    """What a node stands for: its value, its JSON path, and whether its children are added."""

    __slots__ = ("filled", "path", "value")

    def __init__(self, value: Any, path: str) -> None:
        self.value = value
        self.path = path
        self.filled = False


def _scalar(value: Any) -> Text:
    if isinstance(value, str):
        shown = value if len(value) <= LABEL_CHARS else value[: LABEL_CHARS - 1] + "…"
        # json.dumps escapes control characters (ESC is \u001b): the text stays inert
        return Text(visible_name(json.dumps(shown, ensure_ascii=False)), style="green")
    if isinstance(value, bool) or value is None:
        return Text(json.dumps(value), style="italic magenta")
    return Text(str(value), style="cyan")


def _summary(value: Any) -> Text:
    if isinstance(value, dict):
        return Text(f"{{}} {len(value)} key{'s' if len(value) != 1 else ''}", style="dim")
    return Text(f"[] {len(value)} item{'s' if len(value) != 1 else ''}", style="dim")


def _label(key: str | int | None, value: Any) -> Text:
    label = Text()
    if key is not None:
        shown = str(key) if len(str(key)) <= LABEL_CHARS else str(key)[: LABEL_CHARS - 1] + "…"
        label.append(visible_name(shown), style="bold")
        label.append(": ")
    label.append(_summary(value) if isinstance(value, dict | list) else _scalar(value))
    return label


class JsonTree(Tree[_Entry]):
    """A JSON value, folded below :data:`OPEN_LEVELS`."""

    DEFAULT_CSS = """
    JsonTree { height: 1fr; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("JSON"), data=_Entry(None, "$"), id=id)
        self.show_root = True
        self.guide_depth = 2

    def show_value(self, value: Any, title: str = "JSON") -> None:
        """Replace the tree with ``value`` (folded past the first levels)."""
        self.clear()
        self.root.set_label(_label(None, value) if not title else Text(title, style="bold"))
        self.root.data = _Entry(value, "$")
        self._fill(self.root)
        self._open(self.root, OPEN_LEVELS)
        self.root.expand()
        self.move_cursor(self.root)

    def _open(self, node: TreeNode[_Entry], levels: int) -> None:
        """Unfold ``levels`` levels below ``node`` (iteratively; each level is bounded)."""
        frontier = [node]
        for _ in range(levels):
            next_frontier: list[TreeNode[_Entry]] = []
            for item in frontier:
                for child in item.children:
                    if child.allow_expand:
                        self._fill(child)
                        child.expand()
                        next_frontier.append(child)
            frontier = next_frontier

    def _fill(self, node: TreeNode[_Entry]) -> None:
        entry = node.data
        if entry is None or entry.filled:
            return
        entry.filled = True
        value = entry.value
        if isinstance(value, dict):
            items: list[tuple[str | int, Any]] = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            return
        for key, item in items[:MAX_CHILDREN]:
            child_entry = _Entry(item, path_join(entry.path, key))
            label = _label(key, item)
            if isinstance(item, dict | list) and item:
                node.add(label, data=child_entry)
            else:
                child_entry.filled = True
                node.add_leaf(label, data=child_entry)
        if len(items) > MAX_CHILDREN:
            node.add_leaf(Text(f"… {len(items) - MAX_CHILDREN} more (raw text: v)", style="dim"))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[_Entry]) -> None:
        self._fill(event.node)

    @property
    def path_of_cursor(self) -> str:
        node = self.cursor_node
        return node.data.path if node is not None and node.data is not None else "$"

"""The prompt tree: prompts in file order, each expanding to the prompts it depends on."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ...core.inert import visible_name
from ..colors import theme_style
from ..messages import PromptSelected

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ICONS = {
    "idle": "·",
    "queued": "…",
    "running": SPINNER[0],
    "done": "✓",
    "cached": "≡",
    "stale": "~",
    "failed": "✗",
    "blocked": "⊘",
    "cancelled": "■",
}


class PromptTree(Tree[str]):
    """Each node's data is a prompt name; the same prompt may appear under several parents."""

    HELP = """\
### Prompt tree

Prompts in file order. Expand one (`→`/`space`) to see the prompts it depends on: the outputs it
reads, and earlier same-model prompts it gets chat context from (*chat context: runs after*).

Chat context is AIConfig's default (`remember_chat_context: true`): a prompt's request holds every
earlier same-model prompt's input and answer, so it runs after them even when it reads none of
their outputs. That is why a fan-out of same-model prompts runs one at a time. To run a prompt in
parallel, set `"remember_chat_context": false` in its metadata (`prompt-tui validate` lists them).

Status: `·` idle, `…` queued, spinner running, `✓` done, `≡` cached, `~` stale (its request changed
since its output), `✗` failed, `⊘` blocked, `■` cancelled.
"""

    BINDINGS = [
        Binding("right", "expand_node", "Expand", show=False),
        Binding("left", "collapse_node", "Collapse", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            Text("prompts"), id=id
        )  # a Text: a str label would load Rich's emoji table
        self.show_root = False
        self.guide_depth = 2
        self._status: Callable[[str], str] = lambda name: "idle"
        self._model: Callable[[str], str] = lambda name: ""
        self._deps: Callable[[str], list[tuple[str, bool]]] = lambda name: []
        self._frame = 0
        self.marks: frozenset[str] = frozenset()  # outputs that differ from the baseline's
        self._prompt_nodes: dict[str, list[TreeNode[str]]] = {}
        self.widest_label = 0  # cells the widest top-level label needs (the pane follows it)
        self._widest_name = 0  # cells of the widest prompt name
        # The model column's room, set when the file is first drawn: a model picked later
        # (`m`) or written in by an editor is cut to the room its line has, so the pane and
        # everything beside it keep their place (a long id made the layout jump).
        self.model_cells: int | None = None
        # Cells a top-level label has in the pane as laid out (fit_labels): fewer than
        # widest_label when the pane is capped at its share of a small screen.
        self.label_cells: int | None = None
        self._cut: set[str] = set()  # prompts whose model is cut for label_cells

    def configure(
        self,
        status: Callable[[str], str],
        model: Callable[[str], str],
        deps: Callable[[str], list[tuple[str, bool]]],
    ) -> None:
        """Where labels come from: a prompt's status, its model, its (name, is_context) deps."""
        self._status, self._model, self._deps = status, model, deps

    # --- building -----------------------------------------------------------------------------
    def rebuild(self, names: list[str], select: str | None = None) -> None:
        """The prompts as top-level nodes. Cheapest before the tree is mounted (each node added
        to a mounted tree schedules a layout): the main screen builds it in compose."""
        self.clear()
        self._prompt_nodes = {}
        self._widest_name = max((cell_len(visible_name(name)) for name in names), default=0)
        if self.model_cells is None:
            self.model_cells = max(
                (cell_len(short_model(visible_name(self._model(name)))) for name in names),
                default=0,
            )
        model = 2 + self.model_cells if self.model_cells else 0
        # icon, name, model, the longest status word, the arrow
        self.widest_label = 2 + self._widest_name + model + STATUS_CELLS + 2
        for name in names:
            self._add(self.root, name, context=False)
        if select is not None:
            self.select_prompt(select)

    def refresh_expandable(self) -> None:
        """After the dependency graph is built: prompts with dependencies can expand (no
        rebuild: the cursor and the nodes stay)."""
        for name, nodes in self._prompt_nodes.items():
            expandable = bool(self._deps(name))
            for node in nodes:
                if node.parent is self.root and node.allow_expand != expandable:
                    node.allow_expand = expandable
                    node.refresh()  # the arrow is drawn now, not at the next repaint

    def _add(self, parent: TreeNode[str], name: str, *, context: bool) -> TreeNode[str]:
        has_deps = bool(self._deps(name))
        node = parent.add(self.label_for(name, context), data=name, allow_expand=has_deps)
        self._prompt_nodes.setdefault(name, []).append(node)
        return node

    def rebuild_keeping(self, names: list[str], select: str | None = None) -> None:
        """Rebuild after the document changed, keeping what the user opened and the scroll."""
        expanded = [path for path in self._expanded_paths(self.root, ()) if path]
        scroll_y = self.scroll_y
        self.rebuild(names)
        for path in expanded:
            node: TreeNode[str] | None = self.root
            for name in path:
                node = next((c for c in node.children if c.data == name), None) if node else None
            if node is not None and node.allow_expand:
                self._fill(node)
                node.expand()
        if select is not None:
            self.select_prompt(select)
        self.call_after_refresh(self.scroll_to, y=scroll_y, animate=False)

    def _expanded_paths(self, node: TreeNode[str], path: tuple[str, ...]) -> list[tuple[str, ...]]:
        out = []
        for child in node.children:
            if child.is_expanded and child.data is not None:
                here = (*path, child.data)
                out.append(here)
                out += self._expanded_paths(child, here)
        return out

    @on(Tree.NodeExpanded)
    def _populate(self, event: Tree.NodeExpanded[str]) -> None:
        self._fill(event.node)

    def _fill(self, node: TreeNode[str]) -> None:
        """Add a node's dependencies as its children (once)."""
        if node.data is None or node.children:
            return
        ancestors = {n.data for n in _ancestors(node)}
        for dep, context in self._deps(node.data):
            child = self._add(node, dep, context=context)
            if dep in ancestors:  # a cycle: show it, never expand it forever
                child.allow_expand = False

    # --- labels -------------------------------------------------------------------------------
    def _model_room(self, name: str, suffix: int) -> int:
        """Cells a prompt's line has for its model: what the pane as laid out leaves (its width
        never follows a model picked later), else what it was sized for."""
        if self.label_cells is not None:  # the arrow, the icon, the name, the gap before it
            return self.label_cells - 2 - 2 - cell_len(name) - 2 - suffix
        if self.model_cells is None:
            return MODEL_CELLS
        sized_for = self.model_cells if self.model_cells else -2  # no model: no gap before it
        return self._widest_name - cell_len(name) + sized_for + STATUS_CELLS - suffix

    def fit_labels(self, cells: int) -> None:
        """The pane as laid out gives a label ``cells``: lines that do not fit cut their model
        with "…" (they ran under the border), and lines cut for a smaller pane get it back.
        Only those lines are redrawn (a 1,000-prompt file fits at once)."""
        if cells == self.label_cells:
            return
        self.label_cells = cells
        again = set(self._cut)
        self._cut = set()
        for name, nodes in self._prompt_nodes.items():
            label = nodes[0].label
            if isinstance(label, Text) and label.cell_len + 2 > cells:  # with the arrow
                again.add(name)
        for name in again:
            self.refresh_prompt(name)

    def label_for(self, name: str, context: bool = False) -> Text:
        status = self._status(name)
        color = theme_style(self.app, f"status-{status}", "foreground")  # parsed once
        icon = (
            SPINNER[self._frame % len(SPINNER)] if status == "running" else ICONS.get(status, "?")
        )
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append(icon + " ", color)
        shown = visible_name(name)  # a control character must not break the layout
        label.append(shown)
        suffix = Text()
        if context:
            suffix.append(" (chat context: runs after)", Style(dim=True, italic=True))
        if status in ("failed", "blocked"):
            suffix.append(f" {status}", color)
        if name in self.marks:
            suffix.append(" ≠base", Style(italic=True))  # changed since the baseline run
        whole = visible_name(self._model(name))
        room = self._model_room(shown, len(suffix))
        model = short_model(whole, room)
        if self.label_cells is not None and model != short_model(whole):
            self._cut.add(name)
        if model:
            label.append(f"  {model}", Style(dim=True))
        label.append_text(suffix)
        return label

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if not node.allow_expand:  # line leaves up with the names of expandable nodes
            label = Text.assemble(("  ", base_style), label)
        return label

    def get_label_width(self, node: TreeNode[str]) -> int:
        """render_label's width without rendering it (Textual asks for every line's width on
        each rebuild: 1,000 prompts rendered 1,000 labels): two cells of arrow or indent."""
        label = node.label
        return (label.cell_len if isinstance(label, Text) else cell_len(label)) + 2

    def refresh_prompt(self, name: str) -> None:
        for node in self._prompt_nodes.get(name, []):
            context = bool(node.parent and node.parent.data and _is_context(self, node))
            node.set_label(self.label_for(name, context))

    def set_marks(self, names: set[str] | frozenset[str]) -> None:
        """Mark the prompts whose latest output differs from the baseline's (redraws those
        whose mark changed)."""
        new = frozenset(names)
        changed, self.marks = new ^ self.marks, new
        for name in changed:
            self.refresh_prompt(name)

    def refresh_all(self) -> None:
        for name in self._prompt_nodes:
            self.refresh_prompt(name)

    def tick(self, running: list[str]) -> None:
        """Advance the spinner of running prompts."""
        self._frame += 1
        for name in running:
            self.refresh_prompt(name)

    # --- selection ----------------------------------------------------------------------------
    def select_prompt(self, name: str) -> None:
        nodes = self._prompt_nodes.get(name)
        if not nodes:
            return
        top = next((n for n in nodes if n.parent is self.root), nodes[0])
        if top.line < 0:
            # Just added (a rebuild): a node has a line only once the tree has laid its lines
            # out; moving to line -1 would leave the cursor on the first prompt.
            self.get_node_at_line(0)
        self.move_cursor(top)

    @property
    def selected_prompt(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None

    @on(Tree.NodeHighlighted)
    def _node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(PromptSelected(event.node.data, from_tree=True))

    @on(Tree.NodeSelected)
    def _node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.expand()

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)


def _ancestors(node: TreeNode[str]) -> list[TreeNode[str]]:
    out = []
    current: TreeNode[str] | None = node
    while current is not None:
        out.append(current)
        current = current.parent
    return out


def _is_context(tree: PromptTree, node: TreeNode[str]) -> bool:
    parent = node.parent
    if parent is None or parent.data is None or node.data is None:
        return False
    return any(dep == node.data and context for dep, context in tree._deps(parent.data))


MODEL_CELLS = 18  # a model id in the tree at most; the form and Info show it whole
STATUS_CELLS = len(" blocked")  # the longest status word a line shows


def short_model(model: str, room: int = MODEL_CELLS) -> str:
    """A model id as the tree shows it: its name without the provider path, cut with "…" to
    ``room`` cells (at most MODEL_CELLS); nothing when fewer than 4 cells are left."""
    name = model.rsplit("/", 1)[-1]
    room = min(room, MODEL_CELLS)
    if cell_len(name) <= room:
        return name
    if room < 4:
        return ""
    return set_cell_size(name, room - 1) + "…"

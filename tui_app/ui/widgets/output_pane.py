"""The output pane: the selected prompt's stream or output, its request, JSON, run info, history.

Streams go into a StreamView (O(new text) appends, soft wrap, virtual rendering). Markdown is rendered only for a
finished output of moderate size: its cost grows with the blocks, so a long document would freeze the
app (DESIGN.md, "Markdown is slow for long documents").
"""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...core import display
from ...core.inert import visible_name
from ...core.message_view import elide, message_text
from ...core.runs import PromptResult
from ...core.structured import parse_json
from ...core.toolcalls import describe_calls
from ..markup import plain
from ..messages import HistoryDiffClosed, HistoryRunChosen
from .stream_view import StreamView

# Above this many characters a finished output stays raw (Markdown would take ~0.3 s or more).
MARKDOWN_LIMIT = 8_000
TABS = ("output", "request", "json", "info", "history")
TAB_TITLES = {
    "output": "Output",
    "request": "Request",
    "json": "JSON",
    "info": "Info",
    "history": "History",
}


SHORT_TAB_TITLES = {
    "output": "Out",
    "request": "Req",
    "json": "JSON",
    "info": "Info",
    "history": "Hist",
}


def tab_strip(active: str, width: int = 0) -> str:
    """The view names with their keys, as much of them as fits ``width`` cells (0: unknown, all
    of it); a click on one switches to it. At 120 columns the output pane is ~46 cells wide and
    the full strip (52) lost "History"; keys alone are the last resort."""
    # the tightest before keys alone still names each view ("1Out 2Req ..."): at 60 columns
    # the strip was numbers only
    variants = [
        (TAB_TITLES, " ", " {i} {t} "),
        (TAB_TITLES, "", " {i} {t} "),
        (SHORT_TAB_TITLES, "", " {i} {t} "),
        (SHORT_TAB_TITLES, " ", "{i} {t}"),
        (SHORT_TAB_TITLES, " ", "{i}{t}"),
        (None, "", " {i} "),
    ]
    for titles, joiner, shape in variants:
        names = [
            shape.format(i=index, t=titles[name] if titles else "")
            for index, name in enumerate(TABS, start=1)
        ]
        if not width or sum(map(len, names)) + len(joiner) * (len(names) - 1) <= width:
            break
    parts = []
    for name, title in zip(TABS, names, strict=True):
        if name == active:
            parts.append(f"[reverse bold]{title}[/]")
        else:
            parts.append(f"[@click=screen.tab('{name}')]{title}[/]")
    return joiner.join(parts)


def chat_markdown_parser() -> Any:
    """Markdown as chat tools render a model's answer: a single line break stays a line break
    (CommonMark joins the lines of a paragraph, which merged an answer's lines into one).
    markdown-it's ``breaks`` option acts when rendering HTML only; Textual draws the tokens, so
    the soft breaks become hard ones after parsing."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("gfm-like")
    parser.core.ruler.push("line_breaks_stay", _hard_breaks)
    return parser


def _hard_breaks(state: Any) -> None:
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "softbreak":
                child.type = "hardbreak"


class TabStrip(Static):
    """The strip of view names above the output; shortened to fit when the pane is narrow."""

    def __init__(self, *, id: str | None = None, width: int = 0) -> None:
        """``width``: the cells it will have, when known before it is laid out."""
        self.active = "output"
        self._strip = tab_strip(self.active, width)
        super().__init__(self._strip, id=id)

    def show(self, active: str) -> None:
        self.active = active
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        strip = tab_strip(self.active, self.size.width)
        if strip != self._strip:  # a resize that keeps the same strip costs no repaint
            self._strip = strip
            self.update(strip)


class OutputPane(Vertical):
    HELP = """\
### Output

The selected prompt's answer: live while it runs, then the stored output.

- `1` output, `2` resolved request (the exact messages), `3` request JSON, `4` run info
  (model, ttft, latency, tokens, cost, attempts, error), `5` earlier runs from the history.
- `v` toggles raw text / rendered Markdown (long outputs always stay raw: rendering is slow).
- A JSON answer is shown as a folded tree (`enter` folds and unfolds, the JSON path of the
  highlighted node is under the pane); `v` shows its raw text.
- A tool call is shown as the function's name and its arguments; `T` answers it (type the
  result or name a file) and continues the prompt's conversation.
- In the history view (`5` puts the cursor in its list), `enter` shows that run's word diff
  against the current output (`escape` goes back to the list), `b` makes
  that run the config's baseline, `+` / `-` rate its answer.
- `+` / `-` rate the shown output 👍 / 👎, `*` opens a rating with a comment and the expected text.
- `escape` goes back to the tree.
"""

    BINDINGS = [Binding("escape", "leave", "Back", show=False)]

    def __init__(
        self, *, id: str | None = None, classes: str | None = None, width: int = 0
    ) -> None:
        """``width``: the pane's width when known before it is laid out (the first frame's tab
        strip is then the one that fits)."""
        super().__init__(id=id, classes=classes)
        self._width = width
        self.prompt: str | None = None
        self.rendered_wanted = True
        # Markdown is slow to import: not before the first frame (the app turns this on).
        self.markdown_allowed = False
        self._markdown: Any = None
        self._md_scroll: Any = None
        self._markdown_text: str | None = None
        self._mode = "raw"
        self._history: list[Any] = []
        self._views: dict[str, Any] = {}
        self._tab = "output"  # the view shown; each view is a container, the others hidden
        self._tree: Any = None  # the JSON tree, built the first time a JSON answer is shown
        self._parsed: tuple[str, tuple[str, Any] | None] | None = None  # (text, its data)
        self._focus_history = False  # `5` asked for the list before its rows were read
        # the prompt whose earlier run's diff the output view shows (part of the history view:
        # leaving it shows the current output again)
        self._diff_of: str | None = None

    def compose(self) -> ComposeResult:
        yield TabStrip(id="view-tabs", width=max(0, self._width - 2))  # inside the borders
        with Vertical(id="view-output", classes="view"):
            yield Static("", id="output-note", markup=False)
            yield StreamView(id="stream")
            # The other views are built when first shown: fewer widgets before the first frame.

    def on_mount(self) -> None:
        self.query_one("#output-note").display = False

    def _container(self, name: str) -> Vertical:
        """The container of a view, created (hidden) the first time it is needed."""
        found = self.query(f"#view-{name}")
        if found:
            return found.first(Vertical)
        container = Vertical(id=f"view-{name}", classes="view")
        container.display = False
        self.mount(container)
        return container

    def _view(self, widget_id: str) -> Any:
        """A view widget of a lazily built tab, creating the tab's widgets the first time.

        Widgets are kept by reference: a child passed to a container is only queryable once the
        container has mounted it, which is later than the first use here.
        """
        if widget_id in self._views:
            return self._views[widget_id]
        from textual.widgets import TextArea  # the request views are built on first use

        view: Widget
        if widget_id == "request-view":
            view = TextArea("", read_only=True, soft_wrap=True, id="request-view")
            self._container("request").mount(view)
            self._views[widget_id] = view
        elif widget_id == "json-view":
            # wrapped: the message text is one long JSON string (cut at the pane edge otherwise)
            view = TextArea("", read_only=True, soft_wrap=True, id="json-view")
            self._container("json").mount(view)
            self._views[widget_id] = view
        elif widget_id == "info-view":
            view = Static("", id="info-view", markup=False)
            estimate = Static("", id="estimate-view", markup=False)
            self._container("info").mount(VerticalScroll(view, estimate))
            self._views[widget_id] = view
            self._views["estimate-view"] = estimate
        elif widget_id in ("history-table", "history-note"):
            from .run_history import RunHistoryTable  # DataTable: imported when first shown

            table = RunHistoryTable(id="history-table")
            note = Static("", id="history-note", markup=False)
            self._container("history").mount(note, table)
            self._views.update({"history-table": table, "history-note": note})
        return self._views[widget_id]

    # --- views ------------------------------------------------------------------------------
    @property
    def active_tab(self) -> str:
        return self._tab

    def show_tab(self, name: str) -> None:
        if name not in TABS:
            return
        if self._diff_of is not None:  # another view's key leaves the diff
            prompt, self._diff_of = self._diff_of, None
            self.post_message(HistoryDiffClosed(prompt, name))
            return
        shown = self._container(name)
        focused = self.screen.focused
        for view in self.query(".view").results(Vertical):
            if view is not shown and focused is not None and view in focused.ancestors:
                self.action_leave()  # the focus would vanish with its view (enter in history)
            view.display = view is shown
        self._tab = name
        self.query_one("#view-tabs", TabStrip).show(name)

    # --- output -------------------------------------------------------------------------------
    @property
    def stream(self) -> StreamView:
        return self.query_one("#stream", StreamView)

    def set_note(self, note: str, severity: str = "") -> None:
        widget = self.query_one("#output-note", Static)
        widget.update(note)
        widget.display = bool(note)
        widget.set_classes(f"note-{severity}" if severity else "")

    def show_output(
        self,
        prompt: str,
        text: str,
        *,
        live: bool,
        note: str = "",
        severity: str = "",
        keep_raw: bool = False,
    ) -> None:
        """Replace the view with a prompt's text. ``live``: more will arrive via :meth:`append`.
        ``keep_raw``: show it as plain text even when it could be rendered (a stream that just
        ended: no reflow)."""
        self.prompt = prompt
        if self._diff_of is not None:  # the current output replaces an earlier run's diff
            self._diff_of = None
            self.query_one("#view-tabs", TabStrip).show(self._tab)
        if not text and not live and not note:
            note = "No output yet: r runs this prompt, R runs it with its dependencies."
        self.set_note(note, severity)
        data = None if live or not text else self._data_of(text)
        if data is not None:
            self._show_data(data, text, note, severity)
            return
        if (
            not live
            and not keep_raw
            and self.rendered_wanted
            and text
            and len(text) <= MARKDOWN_LIMIT
            and self.markdown_allowed
        ):
            self._show_markdown(text)
        else:
            if not live and self.rendered_wanted and len(text) > MARKDOWN_LIMIT:
                extra = f"long output ({len(text):,} characters) shown as raw text"
                self.set_note(f"{note}  ·  {extra}" if note else extra, severity)
            self._show_raw(text)

    def append(self, text: str) -> None:
        if self._mode != "raw":
            self._show_raw("")
        self.stream.append(text)

    # --- JSON answers and tool calls ----------------------------------------------------------
    def _data_of(self, text: str) -> tuple[str, Any] | None:
        """("tool", calls) for a tool-call answer, ("json", value) for a JSON answer, else None
        (remembered for the last text: selection changes re-show the same answer)."""
        if self._parsed is not None and self._parsed[0] == text:
            return self._parsed[1]
        found: tuple[str, Any] | None = None
        if text.lstrip()[:1] in ("{", "[", "`"):
            try:
                value = parse_json(text)
            except ValueError:
                value = None
            if _is_tool_calls(value):
                found = ("tool", value)
            elif isinstance(value, dict | list):
                found = ("json", value)
        self._parsed = (text, found)
        return found

    def _show_data(self, data: tuple[str, Any], text: str, note: str, severity: str) -> None:
        kind, value = data
        if kind == "tool":
            hint = "tool call: T answers it and continues the conversation · v raw JSON"
            self.set_note(f"{note}  ·  {hint}" if note else hint, severity)
            if self.rendered_wanted:
                self._show_raw(
                    describe_calls(
                        {
                            "output_type": "execute_result",
                            "data": {"kind": "tool_calls", "value": value},
                        }
                    )
                )
            else:
                self._show_raw(text)
            return
        hint = "JSON: enter folds · v raw text"
        self.set_note(f"{note}  ·  {hint}" if note else hint, severity)
        if self.rendered_wanted:
            self._show_tree(value)
        else:
            self._show_raw(text)

    def _show_tree(self, value: Any) -> None:
        self._mode = "tree"
        self.stream.display = False
        if self._markdown is not None:
            self._md_scroll.display = False
        if self._tree is None:
            from .json_tree import JsonTree

            view = self.query_one("#view-output")
            if not view.is_attached:
                return
            self._tree = JsonTree(id="json-tree")
            view.mount(self._tree)
        self._tree.display = True
        self._tree.show_value(value, title="JSON answer")

    def on_tree_node_highlighted(self, event: Any) -> None:  # from the JSON tree
        if self._tree is not None and event.control is self._tree:
            event.stop()
            self.border_subtitle = plain(self._tree.path_of_cursor)  # keys of the model's JSON

    def _show_raw(self, text: str) -> None:
        self._mode = "raw"
        stream = self.stream
        stream.display = True
        stream.set_text(text)
        if self._markdown is not None:
            self._md_scroll.display = False
        if self._tree is not None:
            self._tree.display = False
            self.border_subtitle = ""

    def _show_markdown(self, text: str) -> None:
        self._mode = "rendered"
        self.stream.display = False
        if self._tree is not None:
            self._tree.display = False
        self.stream.set_text(text)  # kept in sync so `v` flips instantly
        if self._markdown is None:
            from textual.widgets import Markdown  # slow to import: never before the first frame

            # The first document goes in the constructor: Markdown renders it when mounted
            # (an update() before that would be overwritten).
            view = self.query_one("#view-output")
            if not view.is_attached:  # the app is closing (a quit right at the first frame)
                return
            self._markdown = Markdown(text, id="rendered", parser_factory=chat_markdown_parser)
            self._markdown_text = text
            self._md_scroll = VerticalScroll(self._markdown, id="rendered-scroll")
            view.mount(self._md_scroll)
            return
        self._md_scroll.display = True
        self._md_scroll.scroll_home(animate=False)
        if text != self._markdown_text:
            self._markdown_text = text
            self.run_worker(
                self._render_markdown(text),
                group="markdown",
                exclusive=True,
                description="render Markdown",
            )

    async def _render_markdown(self, text: str) -> None:
        """Awaited in a worker: a newer document cancels an older one still rendering."""
        await self._markdown.update(text)

    def toggle_rendered(self, text: str, live: bool) -> None:
        self.rendered_wanted = self._mode == "raw"  # flips what is shown now
        if live:
            return
        data = self._data_of(text) if text else None
        if data is not None:
            self._show_data(data, text, "", "")
            return
        if self.rendered_wanted and text and len(text) <= MARKDOWN_LIMIT:
            self._show_markdown(text)
        else:
            self._show_raw(text)

    @property
    def mode(self) -> str:
        return self._mode

    # --- request, json, info ------------------------------------------------------------------
    def show_request(self, request: Any, error: str | None = None) -> None:
        view = self._view("request-view")
        json_view = self._view("json-view")
        if request is None:
            view.load_text(error or "")
            json_view.load_text(error or "")
            return
        lines: list[str] = [f"model: {request.model}  (config model name: {request.model_name})"]
        if request.settings:
            settings = ", ".join(f"{k}={v!r}" for k, v in request.settings.items())
            lines.append(f"settings: {settings}")
        if getattr(request, "missing", None):
            lines.append("missing (rendered empty in this preview): " + ", ".join(request.missing))
        lines += [f"note: {note}" for note in getattr(request, "notes", ())]  # what is left out
        for message in request.messages:
            lines.append("")
            lines.append(f"── {message.get('role', '?')} " + "─" * 30)
            lines.append(message_text(message))  # attachments named, never their bytes
        view.load_text("\n".join(lines))
        # No syntax highlighting on purpose: with tree-sitter 0.26.1 + tree-sitter-json 0.24.8,
        # TextArea(language="json") segfaults the interpreter (measured); plain text is safe.
        json_view.load_text(json.dumps(elide(request.to_json()), indent=2, ensure_ascii=False))

    def show_info(self, result: PromptResult | None, attachments: list[str] | None = None) -> None:
        """The run facts of the prompt's latest run, from the run's own record; ``attachments``:
        the prompt's, one line each (name, type, size)."""
        view = self._view("info-view")
        attached = "".join(f"\nattachment  {visible_name(line)}" for line in attachments or [])
        if result is None:
            view.update("No run in this session yet." + ("\n" + attached if attached else ""))
            return
        facts = result.facts()
        width = max(len(k) for k, _ in facts)
        view.update("\n".join(f"{k:<{width}}  {visible_name(v)}" for k, v in facts) + attached)

    def show_estimate(self, text: str) -> None:
        """Below the run's facts: estimate vs actual, and what the next run would cost."""
        self._view("info-view")  # builds the tab's widgets
        self._views["estimate-view"].update(("\n" + text) if text else "")

    # --- history ------------------------------------------------------------------------------
    def show_history(
        self,
        prompt: str,
        records: list[Any],
        note: str = "",
        labels: list[tuple[str, str, str]] | None = None,
    ) -> None:
        """``labels``: each record's (revision, tags, score)."""
        self._history = records
        table = self._view("history-table")
        from .run_history import row_cells

        # the same prompt's list read again (a rating, a new run): the cursor stays on its row
        keep = table.cursor_row if table.prompt == prompt and table.row_count else 0
        table.clear()
        table.prompt = prompt
        for index, record in enumerate(records):
            extra = labels[index] if labels is not None and index < len(labels) else ("", "", "")
            table.add_row(*row_cells(_history_row(record), extra), key=str(index))
        if 0 < keep < table.row_count:
            table.move_cursor(row=keep)
        if self._focus_history and records and self._tab == "history":
            self._focus_history = False
            table.focus()
        note_widget = self._view("history-note")
        note_widget.update(
            note
            or (
                f"{len(records)} earlier run{'' if len(records) == 1 else 's'} of {prompt}"
                " (↑/↓ in the list; enter: its diff with the current output, b: baseline,"
                " +/-: rate; escape goes back)"
                if records
                else f"No recorded runs of {prompt} yet."
            )
        )

    def focus_history(self) -> None:
        """`5`: the cursor goes into the list of earlier runs (enter shows one); it was reachable
        only by walking the form with tab, where enter re-runs the prompt."""
        table = self._views.get("history-table")
        if table is not None and table.row_count:
            table.focus()
        else:
            self._focus_history = True  # once its rows are read

    def show_history_diff(self, prompt: str, text: str, note: str) -> None:
        """An earlier run's answer diffed against the current output: drawn in the output view
        but part of the history (its tab stays lit; escape goes back to the list)."""
        self._diff_of = None
        self.show_tab("output")
        self.show_output(prompt, text, live=False, note=note, keep_raw=True)
        self._diff_of = prompt
        self.query_one("#view-tabs", TabStrip).show("history")
        shown = self._container("output")
        view = next((w for w in shown.query("*") if w.focusable), None)
        if view is not None:
            view.focus()  # escape is the pane's, not the tree's (a cancel there)

    def action_leave(self) -> None:
        """escape: back to the tree (never a cancel: that is the tree's escape); from an
        earlier run's diff, back to the list of runs."""
        if self._diff_of is not None:
            prompt, self._diff_of = self._diff_of, None
            self.post_message(HistoryDiffClosed(prompt, "history"))
            return
        screen: Any = self.screen
        if hasattr(screen, "action_focus_tree"):
            screen.action_focus_tree()

    def on_data_table_row_selected(self, event: Any) -> None:  # DataTable is imported lazily
        if getattr(event.data_table, "id", None) != "history-table":
            return
        event.stop()
        if self.prompt is not None and event.row_key.value is not None:
            self.post_message(HistoryRunChosen(self.prompt, int(event.row_key.value)))

    def history_record(self, index: int) -> Any:
        return self._history[index] if 0 <= index < len(self._history) else None


def _history_row(record: Any) -> tuple[str, ...]:
    """One history row: a run of today shows its time only, an older one its date and minute;
    a failed run shows its error where the output would be."""
    import time

    started = getattr(record, "started_at", None)
    if not started:
        when = display.NONE
    else:
        today = time.localtime()[:3]
        at = time.localtime(started)
        when = time.strftime("%H:%M:%S" if at[:3] == today else "%m-%d %H:%M", at)
    latency = getattr(record, "latency", None)
    tokens_out = getattr(record, "tokens_out", None)
    error = getattr(record, "error", None)
    text = record_text(record) or (f"error: {error}" if error else "")
    model = str(getattr(record, "model", "") or "")
    return (
        when,
        record.prompt_status.value,
        model.rsplit("/", 1)[-1][:18],  # "openai/gpt-4o-mini": the name is what differs
        text.replace("\n", " ")[:32],
        display.seconds(latency),
        display.count(tokens_out),
    )


def record_text(record: Any) -> str | None:
    for attr in ("output_text", "text", "output"):
        value = getattr(record, attr, None)
        if isinstance(value, str):
            return value
    return None


def _is_tool_calls(value: Any) -> bool:
    """The JSON text of a tool-call answer: a list of ``{type: "function", function: {name}}``."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(c, dict)
            and c.get("type") == "function"
            and isinstance(c.get("function"), dict)
            and isinstance(c["function"].get("name"), str)
            for c in value
        )
    )

"""Batch reports: JUnit XML for CI, JSON, and a self-contained HTML page.

Cells arrive in completion order and may be many; :class:`CellSpool` keeps them on disk (a
temporary SQLite file) so a report streams them back in row order without holding them all.

- JUnit: one ``<testsuite>`` per column (model), one ``<testcase>`` per row x prompt; a failed
  check is a ``<failure>`` whose message says what was expected and what was seen; a prompt
  that failed (or a check that could not be applied) is an ``<error>``.
- JSON: ``{"batch": ..., "columns": {...}, "cells": [...]}``, each cell as ``Cell.to_json``.
- HTML: one file, no network (inline CSS and JS): pass rates, a cost and latency chart per
  model (inline SVG), and the matrix (rows x columns), each cell opening its chain's answers
  and check results. Every text from a model or a dataset is escaped.
"""

from __future__ import annotations

import html
import json
import math
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from . import display
from .fileio import atomic_write
from .secrets import scrub_text

SHOWN_TEXT = 4_000  # characters of an answer a report shows per prompt


class CellSpool:
    """Cells on disk, read back in (row, column) order. Closing deletes the file."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self._dir = tempfile.TemporaryDirectory(prefix="prompt-tui-batch-")
        self._db = sqlite3.connect(str(Path(self._dir.name) / "cells.sqlite3"))
        self._db.execute("CREATE TABLE cells (row INTEGER, col INTEGER, data TEXT)")
        self._db.execute("CREATE UNIQUE INDEX cells_at ON cells (row, col)")
        self.count = 0

    def add(self, cell: Mapping[str, Any]) -> None:
        col = self.columns.index(cell["column"])
        self._db.execute(
            "INSERT OR REPLACE INTO cells VALUES (?, ?, ?)",
            (cell["row"], col, json.dumps(cell, ensure_ascii=False, default=str)),
        )
        self.count += 1
        if self.count % 500 == 0:
            self._db.commit()

    def cells(self, *, by_column: bool = False) -> Iterator[dict[str, Any]]:
        self._db.commit()
        order = "col, row" if by_column else "row, col"
        for (data,) in self._db.execute(f"SELECT data FROM cells ORDER BY {order}"):
            yield json.loads(data)

    def rows(self) -> Iterator[tuple[int, dict[str, dict[str, Any]]]]:
        """(row number, {column: cell}) in row order."""
        current: int | None = None
        group: dict[str, dict[str, Any]] = {}
        for cell in self.cells():
            if cell["row"] != current and current is not None:
                yield current, group
                group = {}
            current = cell["row"]
            group[cell["column"]] = cell
        if current is not None:
            yield current, group

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


def _clean(text: Any) -> str:
    """Text for a report: secrets masked, control characters that XML forbids dropped."""
    value = scrub_text(str(text))
    return "".join(
        ch for ch in value if ch in "\t\n\r" or (ord(ch) >= 0x20 and ch not in "\ufffe\uffff")
    )


# --- JUnit ------------------------------------------------------------------------------------


def write_junit(path: str | Path, spool: CellSpool, meta: Mapping[str, Any]) -> Path:
    """One testsuite per column, one testcase per row x prompt (two passes over the spool:
    the counts, then the cases; nothing is held whole)."""
    return _write(path, _junit_pieces(spool, meta))


def _junit_cases(
    spool: CellSpool, steps: list[str]
) -> Iterator[tuple[str, Mapping[str, Any], str, tuple[str, str, str] | None]]:
    """(column, cell, prompt, problem) for every testcase, column by column."""
    for cell in spool.cells(by_column=True):
        for prompt in steps:
            result = cell["prompts"].get(prompt)
            checks = [c for c in cell["checks"] if c["prompt"] == prompt]
            yield str(cell["column"]), cell, prompt, _junit_problem(cell, result, checks)


def _junit_pieces(spool: CellSpool, meta: Mapping[str, Any]) -> Iterator[str]:
    steps: list[str] = meta["steps"]
    name = str(meta.get("config", "prompt-tui"))
    counts: dict[str, dict[str, int]] = {}
    for column, _, _, problem in _junit_cases(spool, steps):
        count = counts.setdefault(column, {"tests": 0, "failure": 0, "error": 0})
        count["tests"] += 1
        if problem is not None:
            count[problem[0]] += 1
    total = {k: sum(c[k] for c in counts.values()) for k in ("tests", "failure", "error")}
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        f'<testsuites name={quoteattr(_clean(name))} tests="{total["tests"]}"'
        f' failures="{total["failure"]}" errors="{total["error"]}">\n'
    )
    current: str | None = None
    for column, cell, prompt, problem in _junit_cases(spool, steps):
        if column != current:
            if current is not None:
                yield "  </testsuite>\n"
            current, count = column, counts[column]
            yield (
                f'  <testsuite name={quoteattr(_clean(column))} tests="{count["tests"]}"'
                f' failures="{count["failure"]}" errors="{count["error"]}">\n'
            )
        latency = (cell["prompts"].get(prompt) or {}).get("latency") or 0
        case = f"row {cell['row']} · {prompt}"
        yield (
            f"    <testcase classname={quoteattr(_clean(f'{name}.{column}'))}"
            f" name={quoteattr(_clean(case))}"
            f' time="{latency:.3f}"'
        )
        if problem is None:
            yield "/>\n"
            continue
        tag, message, detail = problem
        yield (
            f">\n      <{tag} message={quoteattr(_clean(message))}>"
            f"{html.escape(_clean(detail), quote=False)}</{tag}>\n    </testcase>\n"
        )
    if current is not None:
        yield "  </testsuite>\n"
    yield "</testsuites>\n"


def _junit_problem(
    cell: Mapping[str, Any], result: Mapping[str, Any] | None, checks: list[Mapping[str, Any]]
) -> tuple[str, str, str] | None:
    params = json.dumps(cell.get("params", {}), ensure_ascii=False, default=str)
    if result is None:
        return "error", cell.get("error") or "not run", f"row {cell['row']} {params}"
    if result["status"] not in ("done", "cached"):
        why = result.get("error") or result["status"]
        return "error", f"{result['status']}: {why}", f"row {cell['row']} {params}"
    bad = [c for c in checks if c["verdict"] != "pass"]
    if not bad:
        return None
    tag = "error" if any(c["verdict"] == "error" for c in bad) else "failure"
    message = "; ".join(f"{c['check']}: expected {c['expected']}, saw {c['seen']}" for c in bad)
    detail = "\n".join(
        f"{c['check']} ({c['verdict']})\n  expected: {c['expected']}\n  seen: {c['seen']}"
        for c in bad
    )
    return tag, message, f"{detail}\nrow {cell['row']} {params}"


# --- JSON -------------------------------------------------------------------------------------


def write_json(path: str | Path, spool: CellSpool, meta: Mapping[str, Any]) -> Path:
    return _write(path, _json_pieces(spool, meta))


def _json_pieces(spool: CellSpool, meta: Mapping[str, Any]) -> Iterator[str]:
    yield '{"batch": '
    yield json.dumps(_clean_meta(meta), ensure_ascii=False, default=str)
    yield ', "cells": ['
    for i, cell in enumerate(spool.cells()):
        yield ",\n" if i else "\n"
        yield scrub_text(json.dumps(cell, ensure_ascii=False, default=str))
    yield "\n]}\n"


def _write(path: str | Path, pieces: Iterator[str]) -> Path:
    """The one atomic writer (core/fileio), fed piece by piece: a report is never held whole."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, pieces)


def _clean_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(scrub_text(json.dumps(meta, ensure_ascii=False, default=str)))


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--error:#9a6700;--bg:#fff;--fg:#1f2328;--muted:#656d76;
--line:#d0d7de}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;
margin:0;padding:16px 24px;color:var(--fg);background:var(--bg)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.muted{color:var(--muted)}table{border-collapse:collapse}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.num{text-align:right;font-variant-numeric:tabular-nums}
td.v{cursor:pointer;font-weight:600;white-space:nowrap}
td.pass{color:var(--pass)}td.fail{color:var(--fail);background:#ffebe9}
td.error{color:var(--error);background:#fff8c5}
tr.sel td{outline:2px solid #0969da}
#detail{margin-top:16px;border:1px solid var(--line);padding:12px;display:none}
#detail pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:8px;margin:4px 0}
.bar{fill:#0969da}.bar2{fill:#8250df}.axis{font-size:11px;fill:var(--muted)}
.params{font-family:ui-monospace,monospace;font-size:12px;max-width:40ch;overflow:hidden;
text-overflow:ellipsis;white-space:nowrap}
"""

_JS = """
(function(){
  var detail=document.getElementById('detail');
  function el(tag,text,cls){var e=document.createElement(tag);if(text!==undefined)
    e.textContent=text;if(cls)e.className=cls;return e;}
  function show(td){
    var c=JSON.parse(td.dataset.detail);detail.replaceChildren();detail.style.display='block';
    detail.appendChild(el('h2','Row '+c.row+' \\u00b7 '+c.column+' \\u00b7 '+c.verdict));
    if(c.error)detail.appendChild(el('p',c.error,'muted'));
    detail.appendChild(el('pre',JSON.stringify(c.params,null,2)));
    Object.keys(c.prompts).forEach(function(name){
      var p=c.prompts[name];
      detail.appendChild(el('h3',name+' \\u00b7 '+p.status+' \\u00b7 '+p.model));
      detail.appendChild(el('pre',p.text||p.error||''));
    });
    if(c.checks.length){var t=el('table');var h=el('tr');
      ['prompt','check','verdict','expected','seen'].forEach(function(x){h.appendChild(el('th',x));});
      t.appendChild(h);
      c.checks.forEach(function(k){var r=el('tr');r.appendChild(el('td',k.prompt));
        r.appendChild(el('td',k.check));r.appendChild(el('td',k.verdict,'v '+k.verdict));
        r.appendChild(el('td',k.expected));r.appendChild(el('td',k.seen));t.appendChild(r);});
      detail.appendChild(t);}
  }
  document.getElementById('matrix').addEventListener('click',function(ev){
    var td=ev.target.closest('td.v');if(!td)return;
    document.querySelectorAll('tr.sel').forEach(function(r){r.classList.remove('sel');});
    td.parentElement.classList.add('sel');show(td);
  });
  var only=document.getElementById('failures-only');
  only.addEventListener('change',function(){
    document.querySelectorAll('#matrix tbody tr').forEach(function(r){
      r.hidden=only.checked&&r.dataset.ok==='1';});
  });
  // report.html#first-failure opens the first failed cell (a link a CI summary can give)
  if(location.hash==='#first-failure'){
    var first=document.querySelector('td.v.fail,td.v.error');if(first)first.click();}
  document.body.dataset.ready='1';
})();
"""


def _svg_chart(meta: Mapping[str, Any]) -> str:
    """Cost and mean latency per column, as two bar groups (inline SVG, no script needed)."""
    stats: Mapping[str, Mapping[str, Any]] = meta["columns"]
    names = list(stats)
    width, bar_h, gap, label_w = 640, 16, 6, 180
    height = (bar_h * 2 + gap * 2) * len(names) + 30
    costs = [s.get("cost") or 0.0 for s in stats.values()]
    lats = [s.get("mean_latency") or 0.0 for s in stats.values()]
    max_cost = max(costs) or 1.0
    max_lat = max(lats) or 1.0
    span = width - label_w - 120
    out = [
        f'<svg id="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    y = 10
    for name, s, cost, lat in zip(names, stats.values(), costs, lats, strict=True):
        out.append(f'<text class="axis" x="0" y="{y + bar_h}">{html.escape(_clean(name))}</text>')
        cw = 0 if not math.isfinite(cost) else span * cost / max_cost
        lw = 0 if not math.isfinite(lat) else span * lat / max_lat
        out.append(
            f'<rect class="bar" x="{label_w}" y="{y}" width="{max(cw, 1):.1f}" height="{bar_h}"/>'
        )
        out.append(
            f'<text class="axis" x="{label_w + max(cw, 1) + 4:.1f}" y="{y + bar_h - 4}">'
            f"cost {html.escape(str(s.get('cost_text', '')))}</text>"
        )
        y += bar_h + gap
        out.append(
            f'<rect class="bar2" x="{label_w}" y="{y}" width="{max(lw, 1):.1f}" height="{bar_h}"/>'
        )
        out.append(
            f'<text class="axis" x="{label_w + max(lw, 1) + 4:.1f}" y="{y + bar_h - 4}">'
            f"latency {html.escape(str(s.get('latency_text', '')))}</text>"
        )
        y += bar_h + gap * 2
    out.append("</svg>")
    return "".join(out)


def write_html(path: str | Path, spool: CellSpool, meta: Mapping[str, Any]) -> Path:
    return _write(path, _html_pieces(spool, meta))


def _html_pieces(spool: CellSpool, meta: Mapping[str, Any]) -> Iterator[str]:
    stats: Mapping[str, Mapping[str, Any]] = meta["columns"]
    columns = list(stats)
    e = html.escape
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{e(_clean(meta.get('config', 'batch')))} · prompt-tui batch</title>"
        f"<style>{_CSS}</style></head><body>\n"
    )
    yield f"<h1>{e(_clean(meta.get('config', '')))}</h1>\n"
    yield (
        f'<p class="muted">batch {e(_clean(meta.get("id", "")))} · dataset '
        f"{e(_clean(meta.get('dataset', '')))} · {e(str(meta.get('rows', 0)))} rows · "
        f"prompts {e(', '.join(meta.get('steps', [])))}</p>\n"
    )
    yield (
        '<h2>Pass rates</h2>\n<table id="rates"><tr><th>model</th><th>pass rate</th>'
        "<th>passed</th><th>failed</th><th>errors</th><th>cost</th>"
        "<th>mean latency</th></tr>\n"
    )
    for name, s in stats.items():
        yield (
            f"<tr><td>{e(_clean(name))}</td>"
            f'<td class="num">{e(_rate(s))}</td><td class="num">{s["passed"]}</td>'
            f'<td class="num">{s["failed"]}</td><td class="num">{s["errors"]}</td>'
            f'<td class="num">{e(str(s["cost_text"]))}</td>'
            f'<td class="num">{e(str(s["latency_text"]))}</td></tr>\n'
        )
    yield "</table>\n<h2>Cost and latency per model</h2>\n"
    yield _svg_chart(meta)
    yield (
        '\n<h2>Matrix</h2>\n<label><input type="checkbox" id="failures-only"> '
        "failures only</label>\n"
        '<table id="matrix"><thead><tr><th>row</th><th>parameters</th>'
    )
    for name in columns:
        yield f"<th>{e(_clean(name))}</th>"
    yield "</tr></thead><tbody>\n"
    for number, group in spool.rows():
        ok = all(c["verdict"] == "pass" for c in group.values())
        params = next(iter(group.values())).get("params", {})
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        yield (
            f'<tr data-ok="{1 if ok else 0}"><td class="num">{number}</td>'
            f'<td class="params" title="{e(_clean(shown))}">{e(_clean(shown))}</td>'
        )
        for name in columns:
            cell = group.get(name)
            if cell is None:
                yield "<td></td>"
                continue
            detail = json.dumps(_detail(cell), ensure_ascii=False, default=str)
            yield (
                f'<td class="v {cell["verdict"]}" data-detail="{e(detail)}" '
                f'title="{e(_clean(cell.get("error") or cell["verdict"]))}">'
                f"{cell['verdict']}</td>"
            )
        yield "</tr>\n"
    yield '</tbody></table>\n<div id="detail"></div>\n'
    yield f"<script>{_JS}</script>\n</body></html>\n"


def _rate(s: Mapping[str, Any]) -> str:
    rate = s.get("pass_rate")
    return display.NONE if rate is None else f"{rate * 100:.0f}%"


def _detail(cell: Mapping[str, Any]) -> dict[str, Any]:
    """What the HTML shows when a cell is clicked (texts cut to SHOWN_TEXT, secrets masked)."""
    prompts = {}
    for name, p in cell["prompts"].items():
        text = p.get("output") or ""
        if len(text) > SHOWN_TEXT:
            text = text[:SHOWN_TEXT] + f"… ({len(text):,} characters)"
        prompts[name] = {
            "status": p["status"],
            "model": _clean(p.get("model") or ""),
            "text": _clean(text),
            "error": _clean(p.get("error") or ""),
        }
    return {
        "row": cell["row"],
        "column": _clean(cell["column"]),
        "verdict": cell["verdict"],
        "error": _clean(cell.get("error") or ""),
        "params": json.loads(_clean(json.dumps(cell.get("params", {}), default=str))),
        "prompts": prompts,
        "checks": [
            {k: _clean(v) if isinstance(v, str) else v for k, v in c.items()}
            for c in cell["checks"]
        ],
    }

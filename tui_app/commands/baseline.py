"""`prompt-tui baseline set RUN [CONFIG]` / `show [CONFIG]` / `clear CONFIG`: the run a config's
later runs are compared with by default (`diff`, the TUI's compare and its tree mark)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..core import paths
from ..core.errors import PromptTuiError
from ..core.history import History
from ..core.inert import json_text
from ..core.rundiff import RunSide, load_side, resolve_run

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baseline", help="mark the run later runs of a config are compared with"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    set_ = actions.add_parser("set", help="make RUN its config's baseline")
    set_.add_argument("run", metavar="RUN", help="a run id (or its start), last or previous")
    set_.add_argument("config", nargs="?", help="the config (for last/previous)")
    show = actions.add_parser("show", help="the config's baseline")
    show.add_argument("config")
    show.add_argument("--json", action="store_true")
    clear = actions.add_parser("clear", help="forget the config's baseline")
    clear.add_argument("config")
    parser.set_defaults(func=run)


def baseline_warning(side: RunSide, set_at: float) -> str | None:
    """Say so when the file was committed since the baseline run was made."""
    from ..core.revisions import last_commit

    if not side.config_path:
        return None
    sha, when = last_commit(side.config_path)
    made = side.started_at or set_at
    if sha is None or when is None or when <= made:
        return None
    if side.origin is not None and side.origin.commit == sha and not side.origin.dirty:
        return None
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
    return (
        f"baseline {side.run_id} is older than the file's last commit {sha[:10]} ({stamp}): "
        "`prompt-tui baseline set last CONFIG` moves it"
    )


def _history() -> History:
    path = paths.history_path()
    if not path.exists():
        raise PromptTuiError(f"no runs recorded yet ({path}): run a config first")
    return History(path)


def run(args: argparse.Namespace) -> int:
    with _history() as history:
        if args.action == "set":
            run_id = resolve_run(history, args.run, args.config)
            side = load_side(history, run_id)
            history.set_baseline(side.config_path, run_id)
            print(f"baseline of {side.config_path}: {side.label}")
            return EXIT_OK
        if args.action == "clear":
            had = history.clear_baseline(args.config)
            print(f"{args.config}: " + ("baseline cleared" if had else "had no baseline"))
            return EXIT_OK
        found = history.baseline(args.config)
        if found is None:
            if args.json:
                print(json.dumps({"config": args.config, "baseline": None}))
            else:
                print(f"{args.config} has no baseline", file=sys.stderr)
            return EXIT_OK
        side = load_side(history, found[0], "baseline")
    warning = baseline_warning(side, found[1])
    if args.json:
        data = {"config": side.config_path, "baseline": side.to_json(), "set_at": found[1]}
        data["warning"] = warning
        print(json_text(data))
        return EXIT_OK
    print(side.label)
    if warning:
        print(f"prompt-tui: warning: {warning}", file=sys.stderr)
    return EXIT_OK

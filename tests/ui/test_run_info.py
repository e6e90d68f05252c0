from tui_app.ui.state import RunInfo


def test_offline_runs_are_labelled_in_run_info():
    rows = dict(RunInfo(model="echo", status="done", cost=0.0, offline=True).rows())
    assert rows["model"] == "echo (offline, built-in)" and rows["cost"] == "$0 (offline model)"
    rows = dict(RunInfo(model="gpt-4o-mini", status="done", cost=None).rows())
    assert rows["model"] == "gpt-4o-mini" and rows["cost"] == "unknown"

"""The OS keyring for real: a private D-Bus session with gnome-keyring's Secret Service.

Runs a child in ``dbus-run-session`` with its own HOME and XDG dirs (nothing touches the user's
keyring): KeyStore stores, reads back (source "keyring") and deletes a key through keyring's
SecretService backend, and the `prompt-tui keys` CLI sets, lists (masked) and deletes one.

Skipped when dbus-run-session or gnome-keyring-daemon is missing, except in CI (CI=true), where
missing tools fail the test: Debian packages gnome-keyring and dbus-daemon (dbus-x11 provides
the session bus gnome-keyring depends on without pulling in systemd).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    r"""
    import json, os, subprocess, sys, time

    t0 = time.perf_counter()
    timings = {}

    def lap(name):
        timings[name] = round(time.perf_counter() - t0, 3)

    from tui_app.core.keys import SERVICE, KeyStore

    secret = os.environ.pop("PTUI_TEST_SECRET")
    second = os.environ.pop("PTUI_TEST_SECOND")
    store = KeyStore(environ={})
    status = store.backend_status()
    lap("backend")
    assert status.usable, status.message
    assert status.name == "keyring.backends.SecretService.Keyring", status.name

    store.set("openai", secret)
    lap("set")
    fresh = KeyStore(environ={})  # no cache: a real read from the Secret Service
    hit = fresh.lookup("openai")
    lap("lookup")
    assert (hit.source, hit.value == secret) == ("keyring", True), repr(hit)

    def cli(*args, stdin=""):
        done = subprocess.run([sys.executable, "-m", "tui_app.cli", *args], input=stdin,
                              capture_output=True, text=True, timeout=60)
        assert secret not in done.stdout + done.stderr
        assert second not in done.stdout + done.stderr
        return {"rc": done.returncode, "out": done.stdout, "err": done.stderr}

    results = {"list": cli("keys", "list")}
    lap("cli list")
    results["path"] = cli("keys", "path")
    results["set"] = cli("keys", "set", "anthropic", stdin=second + "\n")
    lap("cli set")
    results["list2"] = cli("keys", "list")
    results["delete"] = cli("keys", "delete", "anthropic")
    lap("cli delete")

    import keyring
    other = keyring.get_password(SERVICE, "anthropic")
    assert fresh.delete("openai") is True
    lap("delete")
    after = KeyStore(environ={}).lookup("openai")
    assert after.source is None and after.value is None, repr(after)
    assert KeyStore(environ={}).delete("openai") is False
    lap("done")
    print(json.dumps({"timings": timings, "masked": hit.masked(), "cli": results,
                      "anthropic_after_delete": other}))
    """
)


def _tools() -> tuple[str, str]:
    run_session = shutil.which("dbus-run-session")
    daemon = shutil.which("gnome-keyring-daemon")
    if run_session and daemon:
        return run_session, daemon
    missing = [
        n for n, p in (("dbus-run-session", run_session), ("gnome-keyring-daemon", daemon)) if not p
    ]
    message = (
        f"real keyring test needs {', '.join(missing)} (apt: gnome-keyring dbus-daemon dbus-x11)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


def test_secret_service_round_trip(tmp_path):
    run_session, _ = _tools()
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    for d in (home, runtime):
        d.mkdir(mode=0o700)
    (tmp_path / "child.py").write_text(CHILD)
    secret = "sk-real-" + secrets.token_urlsafe(24) + "-Q9x7"
    second = "sk-ant-" + secrets.token_urlsafe(24) + "-W3v5"
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PROMPT_TUI_HOME=str(tmp_path / "pt"),
        PYTHONPATH=str(ROOT),
        PTUI_TEST_SECRET=secret,
        PTUI_TEST_SECOND=second,
    )
    script = (
        'eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"; '
        f'exec "{sys.executable}" child.py'
    )
    started = time.perf_counter()
    done = subprocess.run(
        [run_session, "--", "sh", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert secret not in done.stdout + done.stderr and second not in done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"real keyring: {elapsed:.2f}s total; child timings {report['timings']}")

    assert report["masked"] == "••••" + secret[-4:]
    cli = report["cli"]
    assert cli["list"]["rc"] == 0
    lines = cli["list"]["out"].splitlines()
    assert "keyring backend 'SecretService'" in lines[0]
    openai = next(line for line in lines if line.startswith("openai "))
    assert openai.split()[1] == "keyring" and openai.endswith("••••" + secret[-4:])
    assert (cli["path"]["rc"], cli["path"]["out"].strip()) == (
        0,
        "keyring.backends.SecretService.Keyring",
    )
    assert cli["set"]["rc"] == 0, cli["set"]["err"]
    anthropic = next(
        line for line in cli["list2"]["out"].splitlines() if line.startswith("anthropic")
    )
    assert anthropic.split()[1] == "keyring" and anthropic.endswith("••••" + second[-4:])
    assert cli["delete"]["rc"] == 0, cli["delete"]["err"]
    assert report["anthropic_after_delete"] is None
    # nothing was written where the user's own files live
    assert not (tmp_path / "pt").exists()

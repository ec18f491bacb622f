"""`python -m inspector`, run as a user runs it: a subprocess against the example apps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parent.parent.parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}


def start_serve(*extra: str, signal_handlers: bool = True) -> tuple[subprocess.Popen, int, str]:
    """Start `serve` on a free port; return the process, the port, and what it printed.

    Without `signal_handlers`, the loop cannot install any, as on Windows.
    """
    wrapper = (
        [] if signal_handlers else [str(ROOT / "tests" / "apps" / "without_signal_handlers.py")]
    )
    process = subprocess.Popen(
        [
            sys.executable,
            *wrapper,
            "-m",
            "inspector",
            "serve",
            "examples/demo_app.py:make_app",
            "--port",
            "0",
            *extra,
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
    )
    deadline = time.monotonic() + 15
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
        if found:
            return process, int(found.group(1)), "".join(lines)
    process.kill()
    raise AssertionError("serve did not start: " + "".join(lines) + process.stderr.read())


def test_serve_prints_a_plain_log_naming_every_stage_and_hook(tmp_path):
    record = tmp_path / "session.jsonl"
    process, port, before = start_serve("--record", str(record))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert client.get("/users/1").status_code == 200
        assert client.get("/admin").status_code == 401
        assert client.delete("/users/1").status_code == 405
    process.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = process.communicate(timeout=15)
    out = before + out
    assert process.returncode == 0, err
    for expected in (
        "hook on_startup load_users",
        "GET /users/1 -> 200 in",
        "on_message_begin",
        "on_url  /users/1",
        "on_header  Host:",
        "on_headers_complete",
        "on_message_complete",
        "/users/{id:\\d+}  match",
        "middleware log_requests",
        "middleware require_token",
        "handler get_user",
        "short-circuit: answered without the layers inside",
        "DELETE /users/1 -> 405",
        "Allow: GET,HEAD",
        "shutdown: stop accepting (1)",
        "shutdown: close idle",
        "hook on_shutdown say_goodbye",
        "shutdown: drain",
    ):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    replay = subprocess.run(
        [sys.executable, "-m", "inspector", "replay", str(record), "--view", "all"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        encoding="utf-8",
        timeout=30,
    )
    assert replay.returncode == 0, replay.stderr
    assert "GET /users/1 -> 200" in replay.stdout
    assert "routes tried for DELETE /users/1" in replay.stdout
    assert "lifecycle timeline" in replay.stdout


def test_serve_without_signal_handlers_as_on_windows_stops_gracefully_on_ctrl_c():
    process, port, before = start_serve("--plain", signal_handlers=False)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert client.get("/users/1").status_code == 200  # it serves
    process.send_signal(signal.SIGINT)  # Ctrl-C through Python's own handler
    out, err = process.communicate(timeout=15)
    out = before + out
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    assert "GET /users/1 -> 200 in" in out
    assert out.count("hook on_startup load_users") == 1
    assert out.count("hook on_shutdown say_goodbye") == 1
    assert "shutdown: drain" in out


def test_serve_says_what_is_wrong_with_the_app_argument():
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "serve", "examples/sample_app.py"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        encoding="utf-8",
        timeout=30,
    )
    assert result.returncode == 2
    assert (
        "expected FILE_OR_MODULE:APP_OR_FACTORY, like examples/sample_app.py:make_app"
        in result.stderr
    )


def test_the_demo_shows_every_view_in_seconds():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "demo"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        encoding="utf-8",
        timeout=60,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    for expected in (
        "a match",
        "a 404: no route matches",
        "a 405: the path matches, the method does not",
        "a chunked POST in two reads",
        "a handler that raises",
        "a middleware short-circuit",
        "routes tried for",
        "end of a read",
        "onion for",
        "lifecycle timeline",
        "latest 10 requests",
    ):
        assert expected in result.stdout, expected
    assert took < 20

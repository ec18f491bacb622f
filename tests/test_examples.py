"""The examples run as their docstrings say."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx

EXAMPLES = Path(__file__).parent.parent / "examples"


async def test_the_sample_app_answers_as_the_guide_shows_and_stops_on_ctrl_c():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "sample_app.py"),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        port = int(re.search(rb"Running on http://127\.0\.0\.1:(\d+)", line).group(1))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            users = await client.get("/users")
            one = await client.get("/users/1")
            missing = await client.get("/users/42")
            created = await client.post("/users", json={"name": "Grace"})
            bad = await client.post("/users", content=b"not json")
            after = await client.get("/users")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert users.json() == [{"id": 1, "name": "Ada Lovelace"}, {"id": 2, "name": "Alan Turing"}]
    assert one.json() == {"id": 1, "name": "Ada Lovelace"}
    assert (missing.status_code, missing.text) == (404, "no user with id 42\n")
    assert created.status_code == 201 and created.headers["Location"] == "/users/3"
    assert bad.status_code == 400
    assert len(after.json()) == 3
    assert process.returncode == 0
    log = stderr.decode()
    assert "loaded 2 users" in log
    assert "GET /users/42 -> 404" in log  # the middleware logs errors too
    assert "shutting down: 3 users in memory" in log

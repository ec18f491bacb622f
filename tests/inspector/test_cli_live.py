"""`serve`'s live view, in-process: what it leaves on the screen when Ctrl-C stops it."""

from __future__ import annotations

import asyncio
import os
import re
import signal

from inspector import cli


async def test_ctrl_c_leaves_the_state_after_the_server_closed_and_counts_what_is_left_out(
    capsys,
):
    served = asyncio.create_task(
        cli.serve("examples/demo_app.py:make_app", "127.0.0.1", 0, None, True)
    )
    out = ""
    for _ in range(500):
        out += capsys.readouterr().out
        found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", out)
        if found:
            break
        await asyncio.sleep(0.01)
    assert found, out
    reader, writer = await asyncio.open_connection("127.0.0.1", int(found.group(1)))
    for _ in range(12):  # on one connection, left open: keep-alive
        writer.write(b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(re.search(rb"(?i)content-length: (\d+)", head).group(1)))
    await asyncio.sleep(0.3)  # a redraw with the connection open
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: serve's handler stops it
    await asyncio.wait_for(served, 10)
    writer.close()
    out += capsys.readouterr().out
    last = out[out.rindex("sketch inspector") :]  # what the screen ends with
    assert "connections 0 open, 1 total" in last, last
    assert "2 earlier requests not shown" in last


def test_the_timeline_at_ctrl_c_says_how_many_earlier_requests_it_leaves_out():
    from inspector.model import Model

    from .test_model import one_request
    from .test_views import render

    model = Model()
    for n in range(15):
        for event in one_request(conn=n + 1, t=float(n)):
            model.feed(event)
    text = render(cli._last_requests_timeline(model), width=100)
    assert "5 earlier requests not shown" in text
    assert "15.1 GET /users/bob" in text and " 5.1 GET" not in text
    few = Model()
    for event in one_request():
        few.feed(event)
    assert "not shown" not in render(cli._last_requests_timeline(few), width=100)

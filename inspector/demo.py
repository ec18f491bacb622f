"""`python -m inspector demo`: a scripted tour that shows every view in a few seconds.

It starts examples/demo_app.py on a free port with the inspector attached, sends the
requests a course would discuss (a match, a 404, a 405, a chunked POST that arrives in
two reads, a handler that raises, a middleware that answers on its own), then draws
each request with the view that explains it best, and the server's timeline.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

import sketch

from .cli import load_app
from .model import Model
from .server_views import Dashboard, Timeline
from .views import ByteRuler, Onion, RequestTree, WhyNot

DEMO_APP = Path(__file__).resolve().parent.parent / "examples" / "demo_app.py"

CHUNKED_HEAD = b"POST /upload HTTP/1.1\r\nHost: demo\r\nTransfer-Encoding: chunked\r\n\r\n"
TOUR = [
    ("a match", [b"GET /users/1 HTTP/1.1\r\nHost: demo\r\n\r\n"], RequestTree),
    ("a 404: no route matches", [b"GET /nope HTTP/1.1\r\nHost: demo\r\n\r\n"], WhyNot),
    (
        "a 405: the path matches, the method does not",
        [b"DELETE /users/1 HTTP/1.1\r\nHost: demo\r\n\r\n"],
        WhyNot,
    ),
    (
        "a chunked POST in two reads",
        [CHUNKED_HEAD + b"5\r\nhel", b"lo\r\n6\r\n world\r\n0\r\n\r\n"],
        ByteRuler,
    ),
    ("a handler that raises", [b"GET /boom HTTP/1.1\r\nHost: demo\r\n\r\n"], Onion),
    ("a middleware short-circuit", [b"GET /admin HTTP/1.1\r\nHost: demo\r\n\r\n"], Onion),
]


async def _send(port: int, pieces: list[bytes]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.05)  # so that the next piece is a separate read
    await reader.readuntil(b"\r\n\r\n")
    writer.close()
    await writer.wait_closed()


async def run_demo(console: Console | None = None) -> Model:
    console = console or Console()
    app = await load_app(f"{DEMO_APP}:make_app")
    # The failing handler is on purpose: its traceback is in the tree, not in the log.
    logging.getLogger("sketch.server").setLevel(logging.CRITICAL)
    model = Model()
    app.tracer.subscribe(model.feed_fields, safe=True, fields=True)
    server = await sketch.serve(app)
    console.print(Rule(f"sketch inspector demo: {server.url}"))
    try:
        for title, pieces, view in TOUR:
            await _send(server.port, pieces)
            await asyncio.sleep(0.02)
            trace = model.recent[-1]
            console.print(Rule(title))
            console.print(RequestTree(trace, headers=False))
            if view is not RequestTree:
                console.print(view(trace))
    finally:
        await server.close()
    console.print(Rule("the server's life"))
    console.print(Timeline(model.server, model.recent))
    console.print(Dashboard(model))
    return model

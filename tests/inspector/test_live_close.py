"""A closed live view's last state is the server's last: after it closed."""

from __future__ import annotations

import asyncio
import re
from html import unescape

import sketch
from inspector.notebook import LiveView
from sketch import web


class Handle:
    """Stands in for IPython's display handle: keeps what the view drew last."""

    def __init__(self) -> None:
        self.html = ""

    def update(self, html) -> None:
        self.html = unescape(re.sub(r"<[^>]+>", "", html.data))


async def test_a_live_view_closed_before_its_server_ends_showing_the_server_closed():
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    live = LiveView(app, every=0.01)
    live._handle = handle = Handle()
    server = await sketch.serve(app)
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive: the connection stays
    await reader.readuntil(b"hi")
    await asyncio.sleep(0.05)
    live.close()  # as a notebook does: live.close(), then await server.close()
    assert "connections 1 open" in handle.html
    await server.close()
    for _ in range(100):
        if "connections 0 open" in handle.html:
            break
        await asyncio.sleep(0.01)
    writer.close()
    assert "connections 0 open" in handle.html, handle.html
    assert "requests 1 " in handle.html
    assert app.tracer.on is False  # it stopped listening once the server had stopped


def test_a_live_view_closed_before_any_server_started_stops_and_drops_the_reattach_note():
    app = web.Application()
    live = LiveView(app)
    live._handle = handle = Handle()
    live.close()
    assert app.tracer.on is False
    assert "page reload" not in handle.html and "requests 0" in handle.html

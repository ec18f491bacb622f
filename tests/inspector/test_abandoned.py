"""Requests whose client leaves while the handler runs: over real sockets, with sketch."""

from __future__ import annotations

import asyncio

from rich.console import Console

import sketch
from inspector.connections import connections
from inspector.model import Model
from inspector.server_views import Dashboard
from inspector.tree import RequestTree
from sketch import web

CLIENTS = 20


async def test_clients_that_leave_while_their_handler_waits_leave_nothing_in_flight():
    started = asyncio.Semaphore(0)
    never = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.release()
        await never.wait()  # cancelled when its client leaves
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_get("/slow", slow)
    model = Model()
    app.tracer.subscribe(model.feed)
    server = await sketch.serve(app)
    try:
        writers = []
        for _ in range(CLIENTS):
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            writers.append(writer)
        for _ in range(CLIENTS):
            await asyncio.wait_for(started.acquire(), 5)
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        for _ in range(200):  # until the server has seen every client leave
            if model.server.connections_open == 0:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the cancelled handlers report their end
    finally:
        await server.close()
    assert model.server.connections_open == 0
    assert model.in_flight == {}
    assert len(model.recent) == CLIENTS
    console = Console(color_system=None, width=100, file=None)
    with console.capture() as capture:
        console.print(Dashboard(model))
    shown = capture.get()
    assert "in flight 0 " in shown
    # Each says its connection closed before an answer, not a status of None.
    assert "None" not in shown and shown.count("closed") >= 10, shown
    trace = model.recent[-1]
    assert trace.cut_short and trace.label.startswith("GET /slow -> no answer, connection closed")
    with console.capture() as capture:
        console.print(RequestTree(trace))
    assert "connection closed before the answer was sent" in capture.get()
    assert "/slow no answer, connection closed" in connections(model).svg


async def test_events_after_a_request_ended_do_not_open_a_trace():
    from sketch import events as ev

    model = Model()
    model.feed(ev.ConnectionMade(1.0, 1, 0, "127.0.0.1:5000"))
    model.feed(ev.ParserCallback(1.0, 1, 1, "on_message_begin", ()))
    model.feed(ev.ConnectionLost(2.0, 1, 1, "closed"))
    model.feed(ev.HandlerEnd(2.1, 1, 1, "slow", 1.1, None, "CancelledError: "))
    model.feed(ev.MiddlewareExit(2.1, 1, 1, "auth", 0, 1.1, None, "CancelledError: ", True))
    model.feed(ev.ResponseEnd(2.2, 1, 1, 500, 0, False))
    assert model.in_flight == {}
    assert len(model.recent) == 1 and model.server.requests_total == 1

"""Where a request waited, over real sockets: the handler's Task, 100 Continue,
back-pressure on either side, and answers held for the loop's next turn."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import sketch
from inspector.model import Model, RequestTrace
from inspector.tree import RequestTree
from sketch import events as ev
from sketch import web
from tests.conftest import exchange, parse_responses

from .test_views import render

EAGER = sys.version_info >= (3, 12)  # handler Tasks start at once (answer.start_task)


def traced(app: web.Application, **options: Any) -> Model:
    model = Model(**options)
    app.tracer.subscribe(model.feed)
    return model


def drawn(trace: RequestTrace) -> str:
    return render(RequestTree(trace), width=120)


def waits(trace: RequestTrace, cls: type) -> list:
    return [event for event in trace.waits if isinstance(event, cls)]


async def answer(request: web.Request) -> web.Response:
    return web.Response(text="at once")


async def awaits(request: web.Request) -> web.Response:
    await asyncio.sleep(0)
    return web.Response(text="after a turn of the loop")


async def test_a_handler_that_awaits_is_shown_waiting_and_one_that_does_not_is_not():
    app = web.Application()
    app.router.add_get("/now", answer)
    app.router.add_get("/later", awaits)
    model = traced(app)
    async with await sketch.serve(app) as server:
        both = b"GET /now HTTP/1.1\r\nHost: x\r\n\r\nGET /later HTTP/1.1\r\nHost: x\r\n\r\n"
        await exchange(server.port, both, until_closed=False, expect=2)
    now, later = model.find("GET", "/now"), model.find("GET", "/later")
    assert len(waits(later, ev.HandlerWaited)) == 1
    assert "the handler awaited" in drawn(later)
    # On 3.12+ a handler that never awaits is done before its Task is even scheduled.
    assert len(waits(now, ev.HandlerWaited)) == (0 if EAGER else 1)


async def test_100_continue_is_shown_when_the_handler_asks_for_the_body():
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app = web.Application()
    app.router.add_post("/echo", echo)
    model = traced(app)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        received = b""
        while not parse_responses(received):
            received += await asyncio.wait_for(reader.read(65536), 5)
        writer.close()
    [response] = parse_responses(received)
    assert response.body == b"hello"
    trace = model.find("POST", "/echo")
    [sent] = waits(trace, ev.ContinueSent)
    assert trace.handler_start.t < sent.t < trace.handler_end.t
    assert "100 Continue sent" in drawn(trace)


async def test_a_client_that_pipelines_faster_than_we_answer_is_paused_then_resumed():
    app = web.Application()
    app.router.add_get("/later", awaits)
    # The protocol parses a read in slices of 4 KiB, and stops reading once 16 requests
    # wait for their answers: 300 requests are three slices.
    count = 300
    model = traced(app, keep=count)  # every request stays in `recent`
    async with await sketch.serve(app) as server:
        many = b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n" * count
        received = await exchange(server.port, many, until_closed=False, expect=count)
    assert len(parse_responses(received)) == count
    flow = [e for trace in model.recent for e in waits(trace, ev.FlowControl)]
    assert [(e.side, e.paused) for e in flow][:2] == [("reading", True), ("reading", False)]
    paused = next(t for t in model.recent if waits(t, ev.FlowControl))
    assert "reading paused: the client sends faster than we answer" in drawn(paused)


async def test_a_client_that_reads_slower_than_we_send_pauses_writing():
    big = b"x" * (4 * 1024 * 1024)  # far more than the transport buffers before pausing

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for start in range(0, len(big), 256 * 1024):
            await response.write(big[start : start + 256 * 1024])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/big", stream)
    model = traced(app)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port, limit=2**16)
        writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await asyncio.sleep(0.3)  # read nothing for a while: the server's buffer fills
        total = 0
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            total += len(chunk)
        writer.close()
    assert total > len(big)
    trace = model.find("GET", "/big")
    flow = [(e.side, e.paused) for e in waits(trace, ev.FlowControl)]
    assert ("writing", True) in flow and ("writing", False) in flow
    assert flow.index(("writing", True)) < flow.index(("writing", False))
    assert "writing paused: the client reads slower than we send" in drawn(trace)


async def test_answers_held_for_the_next_turn_are_shown_with_the_write_that_sent_them():
    app = web.Application()
    app.router.add_get("/now", answer)
    model = traced(app)
    async with await sketch.serve(app) as server:
        two = b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n" * 2
        received = await exchange(server.port, two, until_closed=False, expect=2)
    first, second = sorted(model.recent, key=lambda trace: trace.req)
    assert first.flushed is not None and second.flushed is not None
    flushes = {id(t.flushed): t.flushed for t in (first, second)}.values()
    # Every byte of both answers went out in the writes the events report.
    assert sum(flush.size for flush in flushes) == len(received)
    assert sum(flush.answers for flush in flushes) == 2
    if EAGER:  # both answered in the same turn of the loop: one write carries both
        assert first.flushed is second.flushed
        assert "with 1 other answer(s) in one write" in drawn(first)
    assert "to the loop's next turn, then written" in drawn(second)

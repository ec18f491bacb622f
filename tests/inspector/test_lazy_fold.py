"""The model keeps a request's events as they come and folds them when its trace is read:
what a reader gets is the same as if every event had been folded as it came."""

from __future__ import annotations

import asyncio
import gc

import sketch
from inspector.model import MAX_BYTES_PER_TRACE, MAX_UNFOLDED, Model
from inspector.views import ByteRuler, RequestTree
from sketch import events as ev
from sketch import web

from ..test_events import count_built
from .test_views import render

# One connection: a head split across three reads (a secret in the query and one in a
# cookie cut at the seams), then two pipelined requests in one read, one with a body.
PIECES = [
    b"GET /me?tok",
    b"en=s3cret&page=2 HTTP/1.1\r\nHost: x\r\nCookie: session=ab",
    b"c123\r\nAuthorization: Bearer xyz\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    b"GET /me?password=hunter2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]
SECRETS = ("s3cret", "abc123", "Bearer xyz", "hunter2", "sid=42")


async def recorded_events() -> list[ev.Event]:
    """The events of the requests above, served by sketch over a real socket."""

    async def me(request: web.Request) -> web.Response:
        response = web.Response(text="you")
        response.headers["Set-Cookie"] = "sid=42"
        return response

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    events: list[ev.Event] = []
    app = web.Application()
    app.router.add_get("/me", me)
    app.router.add_post("/echo", echo)
    app.tracer.subscribe(events.append)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        for piece in PIECES:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)  # each piece its own read
        await reader.read()  # to the end: the last asks to close
        writer.close()
        await writer.wait_closed()
    return events


def fed(events: list[ev.Event], *, read_as_they_come: bool, reveal: bool = False) -> Model:
    model = Model(reveal=reveal)
    for event in events:
        model.feed(event)
        if read_as_they_come:  # a dashboard that reads every trace after every event
            list(model.in_flight.values())
            list(model.recent)
    return model


async def test_a_trace_folded_when_read_equals_one_folded_as_its_events_came():
    events = await recorded_events()
    assert sum(type(e) is ev.DataReceived for e in events) >= 3  # the head came in pieces
    for reveal in (False, True):
        eager = fed(events, read_as_they_come=True, reveal=reveal)
        lazy = fed(events, read_as_they_come=False, reveal=reveal)
        assert len(lazy.recent) == 3
        assert list(lazy.recent) == list(eager.recent)
        assert [render(RequestTree(t)) for t in lazy.recent] == [
            render(RequestTree(t)) for t in eager.recent
        ]
        assert lazy.server == eager.server


async def test_a_model_fed_fields_by_the_tracer_equals_one_fed_events():
    """`fields=True`: the tracer hands the model each event's class and fields, and the
    model keeps most as they came, building them when read. Over a real socket, beside a
    subscriber of event objects: the same traces, masked the same, folded late or not."""
    events: list[ev.Event] = []
    lazy, eager = Model(), Model()
    app = web.Application()

    async def me(request: web.Request) -> web.Response:
        return web.Response(text="you")

    app.router.add_get("/me", me)
    app.router.add_post("/echo", me)
    app.tracer.subscribe(events.append)
    app.tracer.subscribe(lazy.feed_fields, safe=True, fields=True)
    app.tracer.subscribe(eager.feed_fields, safe=True, fields=True)
    app.tracer.subscribe(lambda event: list(eager.in_flight.values()))  # reads as they come
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        for piece in PIECES:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)
        await reader.read()
        writer.close()
        await writer.wait_closed()
    kept = [item for trace in lazy.recent._ring for item in trace._queue or ()]
    assert any(type(item) is tuple for item in kept)  # kept as fields, not built
    by_objects = fed(events, read_as_they_come=False)
    assert len(lazy.recent) == 3
    assert list(lazy.recent) == list(by_objects.recent) == list(eager.recent)
    assert [render(RequestTree(t)) for t in lazy.recent] == [
        render(RequestTree(t)) for t in by_objects.recent
    ]
    assert lazy.server == by_objects.server
    shown = "".join(repr(t) for t in lazy.recent)
    assert "s3cret" not in shown and "abc123" not in shown


async def test_requests_in_flight_together_are_kept_as_fields_however_they_interleave(
    monkeypatch,
):
    """Under load, requests on many connections interleave (on Python 3.11 a handler's Task
    runs a turn after its request was read): an event about another request than the one
    fed last is kept as its fields too, and so are the reads, the ends and the flushes.
    Only the connections' own events are built before somebody reads a trace."""
    both_in = asyncio.Event()
    entered = []

    async def slow(request: web.Request) -> web.Response:
        entered.append(request)
        if len(entered) == 2:
            both_in.set()
        await both_in.wait()  # the first is answered after the second came in
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", slow)
    lazy, tuples = Model(), []
    app.tracer.subscribe(lazy.feed_fields, safe=True, fields=True)
    app.tracer.subscribe(lambda *fields: tuples.append(fields), safe=True, fields=True)
    built = count_built(monkeypatch)
    async with await sketch.serve(app) as server:
        conns = [await asyncio.open_connection(server.host, server.port) for _ in range(2)]
        for _, writer in conns:
            writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)  # the second request begins after the first is in
        for reader, writer in conns:
            assert (await reader.readuntil(b"ok")).startswith(b"HTTP/1.1 200 OK")
            writer.close()
            await writer.wait_closed()
    # (A pause in reading is drawn on its connection's lane, so it is built as it comes.)
    connections = ("ConnectionMade", "ConnectionLost", "FlowControl")
    assert {name for name in built if name not in connections} <= {
        "ServerStart",
        "ShutdownPhase",
        "ServerStop",
    }, built
    by_objects = fed([fields[0](*fields[1:]) for fields in tuples], read_as_they_come=False)
    assert [t.req for t in lazy.recent] == [1, 1] and len({t.conn for t in lazy.recent}) == 2
    assert list(lazy.recent) == list(by_objects.recent)
    assert all(t.flushed is not None and t.reads for t in lazy.recent)
    assert lazy.server == by_objects.server


async def test_secrets_are_masked_in_traces_folded_late():
    lazy = fed(await recorded_events(), read_as_they_come=False)
    first, _, last = lazy.recent
    assert first.target == "/me?token=******&page=2"
    assert ("Cookie", "*" * len("session=abc123")) in first.headers
    shown = "".join(render(RequestTree(t)) + render(ByteRuler(t)) + repr(t) for t in lazy.recent)
    for secret in SECRETS:
        assert secret not in shown, secret
    assert last.target == "/me?password=*******"
    revealed = fed(await recorded_events(), read_as_they_come=False, reveal=True)
    assert "abc123" in repr(revealed.recent[0])


def one_request(req: int) -> list[ev.Event]:
    raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    return [
        ev.DataReceived(1.0, 1, 0, 0, raw),
        ev.ParserCallback(1.0, 1, req, "on_message_begin", ()),
        ev.ParserCallback(1.0, 1, req, "on_url", (b"/",), (4,)),
        ev.RequestHead(1.0, 1, req, "GET", "/", "1.1", (("Host", "x"),)),
        ev.ResponseHead(1.1, 1, req, 404 if req % 2 else 200, "", ()),
        ev.ResponseEnd(1.2, 1, req, 404 if req % 2 else 200, 40, True),
    ]


def test_counters_are_kept_per_event_and_traces_nobody_read_stay_unfolded():
    model = Model(keep=5)
    model.feed(ev.ConnectionMade(1.0, 1, 0, "127.0.0.1:5000"))
    for req in range(1, 11):
        for event in one_request(req):
            model.feed(event)
    assert model.server.requests_total == 10
    assert model.server.statuses == {200: 5, 404: 5}
    assert model.server.connections_open == 1 and len(model.finished_times) == 10
    assert all(trace._queue for trace in model.recent._ring)  # kept, not folded
    assert [t.req for t in model.recent] == [6, 7, 8, 9, 10]  # folded now, when read
    assert all(trace._queue is None for trace in model.recent._ring)
    assert model.recent[-1].status == 200 and model.recent[-2].status == 404
    assert [t.req for t in reversed(model.recent)] == [10, 9, 8, 7, 6]
    assert [t.req for t in model.recent[1:3]] == [7, 8]


def test_a_trace_nobody_reads_holds_one_list_its_events_and_gets_others_when_folded():
    # The ring frees its oldest trace at every request (cold, under load): a trace
    # nobody read holds the list of its events and no empty list per kind of event.
    model = Model(keep=5)
    for req in range(1, 4):
        for event in one_request(req):
            model.feed(event)
    for trace in model.recent._ring:
        assert [r for r in gc.get_referents(trace) if type(r) is list] == [trace._queue]
    trace = model.recent[-1]  # folded now
    assert [c.name for c in trace.parser] == ["on_message_begin", "on_url"]
    assert len(trace.reads) == 1 and trace.routes == () and trace.hooks == ()


def test_a_connection_that_ends_leaves_none_of_its_requests_in_flight():
    model = Model()
    model.feed(ev.ConnectionMade(1.0, 1, 0, "127.0.0.1:5000"))
    for event in one_request(1) + one_request(2) + one_request(3)[:3]:  # the third cut short
        model.feed(event)
    assert list(model.in_flight) == [(1, 3)]
    model.feed(ev.ConnectionLost(2.0, 1, 0, "closed"))
    assert model.in_flight == {} and model._open == {}
    assert [(t.req, t.finished) for t in model.recent] == [(1, 1.2), (2, 1.2), (3, 2.0)]


def test_a_listener_gets_the_trace_folded_and_it_stays_up_to_date():
    model = Model()
    got = []
    model.listeners.append(got.append)
    for event in one_request(2):
        model.feed(event)
    [trace] = got
    assert trace.method == "GET" and trace.status == 200 and trace.flushed is None
    flushed = ev.AnswersFlushed(1.3, 1, 0, 1, 40, 0.001)
    model.feed(flushed)
    assert trace.flushed == flushed  # folded as it came: someone has the trace


def test_a_long_upload_nobody_reads_keeps_a_bounded_number_of_events_and_bytes():
    model = Model()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"
    model.feed(ev.DataReceived(1.0, 1, 0, 0, head))
    model.feed(ev.ParserCallback(1.0, 1, 1, "on_message_begin", ()))
    at = len(head)
    for _ in range(1000):
        chunk = b"x" * 1000
        model.feed(ev.DataReceived(1.0, 1, 0, at, chunk))
        model.feed(ev.ParserCallback(1.0, 1, 1, "on_body", (chunk,), (at,)))
        at += len(chunk)
    trace = model._in_flight[(1, 1)]
    assert len(trace._queue) <= MAX_UNFOLDED + 2
    folded = model.in_flight[(1, 1)]
    assert MAX_BYTES_PER_TRACE - 1000 < folded.bytes_kept <= MAX_BYTES_PER_TRACE

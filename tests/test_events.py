"""The trace seam: the events sketch emits at every stage, and none when nobody listens."""

from __future__ import annotations

import dataclasses

import pytest

import sketch
from sketch import events, web

from .conftest import exchange, parse_responses


def build_app() -> web.Application:
    @web.middleware
    async def outer(request, handler):
        return await handler(request)

    @web.middleware
    async def guard(request, handler):
        if request.path == "/private":
            raise web.HTTPForbidden()
        return await handler(request)

    async def user(request):
        return web.Response(text=request.match_info["name"])

    async def upload(request):
        return web.Response(text=str(len(await request.read())))

    async def boom(request):
        raise ValueError("kaput")

    async def private(request):
        return web.Response(text="never")

    async def startup(app):
        pass

    async def ctx(app):
        yield

    app = web.Application(middlewares=[outer, guard])
    app.router.add_get("/users/{name}", user)
    app.router.add_post("/upload", upload)
    app.router.add_get("/boom", boom)
    app.router.add_get("/private", private)
    app.on_startup.append(startup)
    app.cleanup_ctx.append(ctx)
    return app


async def traced_run(*raw_requests: tuple[bytes, ...]) -> list[events.Event]:
    seen: list[events.Event] = []
    app = build_app()
    app.tracer.subscribe(seen.append)
    server = await sketch.serve(app)
    for pieces in raw_requests:
        await exchange(server.port, *pieces, pause=0.02)
    await server.close()
    return seen


def of(seen: list[events.Event], cls: type, req: int | None = None) -> list:
    return [e for e in seen if isinstance(e, cls) and (req is None or e.req == req)]


async def test_a_match_is_traced_from_bytes_to_response():
    seen = await traced_run((b"GET /users/bob HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",))
    assert [e.name for e in of(seen, events.ParserCallback)] == [
        "on_message_begin",
        "on_url",
        "on_header",
        "on_header",
        "on_headers_complete",
        "on_message_complete",
    ]
    assert of(seen, events.ParserCallback)[1].data == (b"/users/bob",)
    [head] = of(seen, events.RequestHead)
    assert (head.method, head.target, head.version) == ("GET", "/users/bob", "1.1")
    [tried] = of(seen, events.RouteTried)
    assert (tried.pattern, tried.outcome, tried.params) == (
        "/users/{name}",
        "match",
        (("name", "bob"),),
    )
    assert tried.regex == "/users/(?P<name>[^{}/]+)"
    [decision] = of(seen, events.RouteDecision)
    assert (decision.status, decision.handler) == (200, "user")
    layers = [
        (type(e).__name__, e.name, e.depth)
        for e in seen
        if isinstance(e, (events.MiddlewareEnter, events.MiddlewareExit))
    ]
    assert layers == [
        ("MiddlewareEnter", "outer", 0),
        ("MiddlewareEnter", "guard", 1),
        ("MiddlewareExit", "guard", 1),
        ("MiddlewareExit", "outer", 0),
    ]
    assert [(e.name, e.status) for e in of(seen, events.HandlerEnd)] == [("user", 200)]
    [response] = of(seen, events.ResponseHead)
    assert response.status == 200 and ("Connection", "close") in response.headers
    [end] = of(seen, events.ResponseEnd)
    assert end.bytes_written > 0 and end.keep_alive is False
    kinds = [type(e).__name__ for e in seen]
    assert (
        kinds.index("ConnectionMade") < kinds.index("DataReceived") < kinds.index("ConnectionLost")
    )


async def test_misses_are_traced_with_the_decision():
    seen = await traced_run(
        (b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",),
        (b"DELETE /users/bob HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",),
    )
    decisions = [(d.status, d.allowed, d.handler) for d in of(seen, events.RouteDecision)]
    assert decisions == [
        (404, (), "raise HTTPNotFound"),
        (405, ("GET", "HEAD"), "raise HTTPMethodNotAllowed"),
    ]
    assert [t.outcome for t in of(seen, events.RouteTried)] == ["method miss"]


async def test_a_short_circuit_and_an_exception_are_visible():
    seen = await traced_run(
        (b"GET /private HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",),
        (b"GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",),
    )
    exits = [(e.name, e.status, e.called_next, e.error) for e in of(seen, events.MiddlewareExit)]
    assert exits[:2] == [
        ("guard", 403, False, "HTTPForbidden: Forbidden"),
        ("outer", 403, True, "HTTPForbidden: Forbidden"),
    ]
    [boom] = of(seen, events.HandlerEnd)
    assert (boom.name, boom.status, boom.error) == ("boom", None, "ValueError: kaput")
    assert [r.status for r in of(seen, events.ResponseHead)] == [403, 500]


async def test_an_http_exception_raised_with_a_text_is_reported_with_that_text():
    from rich.console import Console

    from inspector.model import Model
    from inspector.views import RequestTree

    async def no_user(request):
        raise web.HTTPNotFound(text="no user with id 42")

    app = web.Application()
    app.router.add_get("/users/42", no_user)
    model = Model()
    app.tracer.subscribe(model.feed)
    server = await sketch.serve(app)
    await exchange(server.port, b"GET /users/42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await server.close()
    [trace] = model.recent
    assert trace.handler_end.error == "HTTPNotFound: no user with id 42"
    console = Console(color_system=None, width=100, file=None)
    with console.capture() as capture:
        console.print(RequestTree(trace))
    assert "raised HTTPNotFound: no user with id 42" in capture.get()


async def test_a_chunked_body_in_two_reads_shows_each_read_and_chunk():
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    head = (
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
    )
    seen = await traced_run((head + body[:9], body[9:]))
    reads = of(seen, events.DataReceived)
    assert [r.offset for r in reads] == [0, len(head) + 9]
    names = [e.name for e in of(seen, events.ParserCallback)]
    assert names.count("on_chunk_header") == 3 and names.count("on_chunk_complete") == 3
    assert (
        b"".join(e.data[0] for e in of(seen, events.ParserCallback) if e.name == "on_body")
        == b"hello world"
    )


async def test_a_parse_error_is_traced_with_its_status_and_read_offset():
    seen = await traced_run(
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    )
    [error] = of(seen, events.ParseError)
    assert error.status == 400 and error.offset == len(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


async def test_lifecycle_hooks_and_shutdown_phases_are_traced_in_order():
    seen = await traced_run()
    lifecycle = [
        (type(e).__name__, getattr(e, "signal", getattr(e, "phase", "")))
        for e in seen
        if isinstance(
            e, (events.HookStart, events.ServerStart, events.ShutdownPhase, events.ServerStop)
        )
    ]
    assert lifecycle == [
        ("HookStart", "cleanup_ctx"),
        ("HookStart", "on_startup"),
        ("ServerStart", ""),
        ("ShutdownPhase", "stop accepting"),
        ("ShutdownPhase", "close idle"),
        ("ShutdownPhase", "drain"),
        ("ServerStop", ""),
        ("HookStart", "cleanup_ctx"),
    ]
    ends = of(seen, events.HookEnd)
    assert all(e.elapsed >= 0 and e.error == "" for e in ends)
    assert [e.callback.rsplit(".", 1)[-1] for e in ends] == ["ctx", "startup", "ctx"]


def count_built(monkeypatch) -> list[str]:
    """The names of the event objects built from now on (in this test)."""
    built: list[str] = []
    for cls in events.EVENT_TYPES.values():
        original = cls.__init__

        def counting(self, *args, _original=original, **kwargs):
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    return built


async def test_with_nobody_subscribed_no_event_object_is_built(monkeypatch):
    built = count_built(monkeypatch)
    app = build_app()
    async with await sketch.serve(app) as server:
        raw = await exchange(
            server.port, b"GET /users/bob HTTP/1.1\r\nHost: x\r\n\r\n", until_closed=False
        )
    assert parse_responses(raw)[0].text == "bob"
    assert built == []


async def test_a_failing_subscriber_is_dropped_and_the_server_keeps_serving(caplog):
    app = build_app()

    def broken(event):
        raise RuntimeError("observer bug")

    app.tracer.subscribe(broken)
    async with await sketch.serve(app) as server:
        raw = await exchange(
            server.port, b"GET /users/ada HTTP/1.1\r\nHost: x\r\n\r\n", until_closed=False
        )
    assert parse_responses(raw)[0].text == "ada"
    assert app.tracer.on is False
    assert "observer bug" in caplog.text


async def test_a_safe_subscriber_gets_every_event_alone_or_beside_others(caplog):
    """`safe=True`: called directly while alone; beside others it gets every event too,
    and a failing neighbour is dropped without the safe one missing anything."""
    app = build_app()
    alone: list[events.Event] = []
    app.tracer.subscribe(alone.append, safe=True)
    async with await sketch.serve(app) as server:
        await exchange(server.port, GET_BOB, until_closed=False)
        beside: list[events.Event] = []

        def broken(event):
            raise RuntimeError("observer bug")

        app.tracer.subscribe(beside.append)
        app.tracer.subscribe(broken)
        before = len(alone)
        await exchange(server.port, GET_BOB, until_closed=False)
    assert "observer bug" in caplog.text
    assert app.tracer.on is True  # the safe one and `beside` still listen
    kinds = [type(e).__name__ for e in alone[:before]]
    assert "ConnectionMade" in kinds and "ResponseEnd" in kinds
    assert beside and alone[before:] == beside  # the second request's, in the same order


async def test_a_subscriber_of_fields_gets_each_event_unbuilt_and_alone_is_emit_itself(
    monkeypatch,
):
    """`fields=True`: called `subscriber(EventClass, t, conn, req, ...)`, no event object
    built for it; beside a subscriber of events, the event is built once, from the same
    fields."""
    built = count_built(monkeypatch)
    app = build_app()
    got: list[tuple] = []

    def keep(*fields):
        got.append(fields)

    app.tracer.subscribe(keep, safe=True, fields=True)
    assert app.tracer.emit is keep  # alone and safe: nothing between the emitter and it
    async with await sketch.serve(app) as server:
        await exchange(server.port, GET_BOB, until_closed=False)
        assert built == []
        kinds = [fields[0].__name__ for fields in got]
        assert "ConnectionMade" in kinds and "RouteDecision" in kinds and "ResponseEnd" in kinds
        beside: list[events.Event] = []
        app.tracer.subscribe(beside.append)
        before = len(got)
        await exchange(server.port, GET_BOB, until_closed=False)
    assert len(built) == len(beside) == len(got) - before
    assert [cls(*fields) for cls, *fields in got[before:]] == beside


def test_the_model_logs_its_own_failure_instead_of_raising_into_the_server(caplog):
    from inspector.model import Model

    model = Model()
    model.feed(events.ConnectionMade(0.0, 1, 0, "127.0.0.1:1"))
    model.feed(events.DataReceived(0.1, 1, 0, 0, None))  # type: ignore[arg-type]  # no bytes
    assert "the inspector's model failed on DataReceived" in caplog.text
    model.feed(events.ConnectionLost(0.2, 1, 0, "closed"))  # and it goes on
    assert model.server.connections_open == 0


@pytest.mark.parametrize("cls", list(events.EVENT_TYPES.values()))
def test_events_are_dataclasses_that_begin_with_time_connection_and_request(cls):
    # Not slotted (events.py says why); the fields every event carries come first, so an
    # observer can read them on any event, and a changed event is a new one.
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:3] == ["t", "conn", "req"]
    event = cls(*range(len(names)))
    moved = dataclasses.replace(event, t=99)
    assert (moved.t, event.t, moved.conn) == (99, 0, event.conn)


GET_BOB = b"GET /users/bob HTTP/1.1\r\nHost: x\r\n\r\n"
CHUNKED_POST = (
    b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n1\r\n0\r\n\r\n"
)


@pytest.mark.parametrize("bytewise", [False, True], ids=["one read", "byte by byte"])
async def test_parser_events_say_where_their_bytes_are_on_the_connection(bytewise):
    sent = GET_BOB + CHUNKED_POST  # two requests, pipelined
    pieces = [sent[i : i + 1] for i in range(len(sent))] if bytewise else [sent]
    seen = await traced_run(tuple(pieces))
    parsed = [e for e in seen if isinstance(e, events.ParserCallback) and e.data]
    assert parsed, "no parser events with data"
    for event in parsed:
        for part, offset in zip(event.data, event.offsets, strict=True):
            if part and not bytewise:
                assert sent[offset : offset + len(part)] == part, (event.name, part, offset)
            elif part and offset >= 0:  # one byte at a time, only the last byte is here
                assert sent[offset : offset + len(part)] == part, (event.name, part, offset)
    bodies = [(e.offsets[0], e.data[0]) for e in parsed if e.name == "on_body"]
    start = len(GET_BOB) + CHUNKED_POST.index(b"hello")
    if not bytewise:
        assert bodies == [(start, b"hello"), (len(sent) - len(b"\r\n0\r\n\r\n") - 1, b"1")]


async def test_the_ruler_of_the_second_of_two_identical_pipelined_requests_marks_its_own_bytes():
    from inspector.model import Model
    from inspector.views import ByteRuler

    model = Model()
    app = build_app()
    app.tracer.subscribe(model.feed)
    server = await sketch.serve(app)
    await exchange(server.port, GET_BOB + GET_BOB, until_closed=False, expect=2)
    await server.close()
    first, second = sorted(model.recent, key=lambda trace: trace.req)[:2]
    assert first.raw == second.raw == GET_BOB + GET_BOB  # both came in the one read
    [(start, end, name), *_] = ByteRuler(second).spans()
    assert name == "on_url"
    assert (start, end) == (len(GET_BOB) + 4, len(GET_BOB) + 4 + len(b"/users/bob"))

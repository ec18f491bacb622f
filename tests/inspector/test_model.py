"""The model, fed plain lists of events: no server, no socket."""

from __future__ import annotations

from inspector.model import MAX_BYTES_PER_TRACE, Model
from inspector.refusal import error_offset
from sketch import events as ev

RAW = b"GET /users/bob HTTP/1.1\r\nHost: x\r\n\r\n"


def one_request(conn: int = 1, req: int = 1, t: float = 10.0, status: int = 200) -> list:
    return [
        ev.ConnectionMade(t, conn, 0, "127.0.0.1:5000"),
        ev.DataReceived(t, conn, 0, 0, RAW),
        ev.ParserCallback(t + 0.0001, conn, req, "on_message_begin", ()),
        ev.ParserCallback(t + 0.0001, conn, req, "on_url", (b"/users/bob",)),
        ev.ParserCallback(t + 0.0001, conn, req, "on_header", (b"Host", b"x")),
        ev.ParserCallback(t + 0.0001, conn, req, "on_headers_complete", ()),
        ev.RequestHead(t + 0.0001, conn, req, "GET", "/users/bob", "1.1", (("Host", "x"),)),
        ev.ParserCallback(t + 0.0001, conn, req, "on_message_complete", ()),
        ev.RouteTried(
            t + 0.0002,
            conn,
            req,
            "GET",
            "/users/{name}",
            "/users/(?P<name>[^{}/]+)",
            "match",
            ("GET", "HEAD"),
            (("name", "bob"),),
        ),
        ev.RouteDecision(t + 0.0002, conn, req, status, "user", (("name", "bob"),), ()),
        ev.MiddlewareEnter(t + 0.0002, conn, req, "auth", 0),
        ev.HandlerStart(t + 0.0003, conn, req, "user"),
        ev.HandlerEnd(t + 0.0004, conn, req, "user", 0.0001, status, ""),
        ev.MiddlewareExit(t + 0.0004, conn, req, "auth", 0, 0.0002, status, "", True),
        ev.ResponseHead(t + 0.0004, conn, req, status, "OK", (("Content-Length", "3"),)),
        ev.ResponseEnd(t + 0.0005, conn, req, status, 120, True),
    ]


def test_events_fold_into_one_request_trace():
    model = Model()
    for event in one_request():
        model.feed(event)
    [trace] = model.recent
    assert trace.label == "GET /users/bob -> 200 in 0.40 ms"
    assert [c.name for c in trace.parser][:2] == ["on_message_begin", "on_url"]
    assert trace.raw == RAW
    assert trace.decision.handler == "user"
    assert trace.handler_end.status == 200
    assert model.in_flight == {}
    assert model.server.requests_total == 1 and model.server.statuses[200] == 1


def test_the_ring_keeps_only_the_most_recent_requests():
    model = Model(keep=3)
    for n in range(10):
        for event in one_request(conn=n + 1, t=float(n)):
            model.feed(event)
    assert [t.conn for t in model.recent] == [8, 9, 10]
    assert model.server.requests_total == 10


def test_a_trace_keeps_a_bounded_number_of_bytes():
    model = Model()
    events = one_request()
    big = [ev.DataReceived(10.0, 1, 1, i * 60000, b"x" * 60000) for i in range(5)]
    body = [ev.ParserCallback(10.0, 1, 1, "on_body", (b"x",)) for _ in range(5)]
    interleaved = [e for pair in zip(big, body, strict=True) for e in pair]
    for event in events[:8] + interleaved + events[8:]:
        model.feed(event)
    assert model.recent[-1].bytes_kept <= MAX_BYTES_PER_TRACE


def test_a_lost_connection_ends_its_unfinished_request():
    model = Model()
    for event in one_request()[:8]:
        model.feed(event)
    model.feed(ev.ConnectionLost(11.0, 1, 1, "closed"))
    [trace] = model.recent
    assert trace.status is None and trace.finished == 11.0
    assert model.server.connections_open == 0


def test_hooks_pair_their_start_and_end():
    model = Model()
    model.feed(ev.HookStart(1.0, 0, 0, "on_startup", "connect_db"))
    model.feed(ev.HookEnd(1.5, 0, 0, "on_startup", "connect_db", 0.5, ""))
    [hook] = model.server.hooks
    assert (hook.signal, hook.callback, hook.elapsed) == ("on_startup", "connect_db", 0.5)


def test_a_parse_error_is_located_to_the_byte():
    raw = b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"
    model = Model()
    model.feed(ev.DataReceived(1.0, 1, 0, 0, raw))
    model.feed(ev.ParserCallback(1.0, 1, 1, "on_message_begin", ()))
    model.feed(ev.ParseError(1.0, 1, 1, 400, "Invalid header token", 0))
    [trace] = model.recent
    assert error_offset(trace) == raw.index(b" Header")  # the space a name cannot hold

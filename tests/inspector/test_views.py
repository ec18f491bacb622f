"""Views rendered to a colourless console and compared as text."""

from __future__ import annotations

from rich.console import Console

from inspector.model import Model
from inspector.server_views import Dashboard, Timeline
from inspector.views import ByteRuler, Onion, RequestTree, WhyNot, view_of
from sketch import events as ev

from .test_model import RAW, one_request


def render(view: object, width: int = 80) -> str:
    console = Console(color_system=None, width=width, record=True, file=None)
    with console.capture() as capture:
        console.print(view)
    return capture.get()


def trace_of(events: list) -> object:
    model = Model()
    for event in events:
        model.feed(event)
    return model.recent[-1]


def test_the_request_tree_has_every_stage_as_a_branch():
    text = render(RequestTree(trace_of(one_request())))
    assert text.splitlines()[0] == "GET /users/bob -> 200 in 0.40 ms"
    for expected in (
        "parser  5 callbacks, 1 read(s)",
        "on_url  /users/bob",
        "on_header  Host: x",
        "dispatcher  match",
        "/users/{name}  match",
        "params {'name': 'bob'}",
        "middleware auth  total 0.20 ms, self 0.10 ms -> 200",
        "handler user  0.10 ms -> 200",
        "response 200 OK, 120 bytes, keep-alive",
        "Content-Length: 3",
    ):
        assert expected in text, expected


def test_the_byte_ruler_shows_the_bytes_and_the_end_of_each_read():
    text = render(ByteRuler(trace_of(one_request())))
    assert f"{len(RAW)} bytes in 1 read(s)" in text
    assert "GET /users/bob HTTP/1.1\\r\\n\nHost: x\\r\\n\n\\r\\n\n|" in text


def test_the_byte_ruler_finds_each_callbacks_span():
    ruler = ByteRuler(trace_of(one_request()))
    spans = [(RAW[a:b], name) for a, b, name in ruler.spans()]
    assert spans == [(b"/users/bob", "on_url"), (b"Host", "on_header"), (b"x", "on_header")]


def test_the_why_not_table_explains_each_route():
    events = one_request(status=405)
    events[8] = ev.RouteTried(
        10.0, 1, 1, "GET", "/users/{name}", "/users/(?P<name>[^{}/]+)", "method miss", ("POST",), ()
    )
    events[9] = ev.RouteDecision(10.0, 1, 1, 405, "raise HTTPMethodNotAllowed", (), ("POST",))
    text = render(WhyNot(trace_of(events)), width=120)
    assert "the path matches, GET is not routed" in text
    assert "decision: 405, Allow: POST" in text


def test_the_onion_marks_a_short_circuit():
    events = one_request(status=401)
    events = [e for e in events if not isinstance(e, (ev.HandlerStart, ev.HandlerEnd))]
    events = [
        ev.MiddlewareExit(
            e.t, 1, 1, "auth", 0, 0.0002, 401, "HTTPUnauthorized: Unauthorized", False
        )
        if isinstance(e, ev.MiddlewareExit)
        else e
        for e in events
    ]
    text = render(Onion(trace_of(events)), width=120)
    assert "short-circuit: answered without the layers inside" in text
    assert "handler" not in text


def test_the_timeline_draws_hooks_requests_and_shutdown():
    model = Model()
    model.feed(ev.HookStart(9.0, 0, 0, "on_startup", "connect"))
    model.feed(ev.HookEnd(9.5, 0, 0, "on_startup", "connect", 0.5, ""))
    for event in one_request():
        model.feed(event)
    model.feed(ev.ShutdownPhase(11.0, 0, 0, "drain", 1))
    text = render(Timeline(model.server, model.recent), width=80)
    lines = [line.rstrip() for line in text.splitlines()]
    assert any(line.startswith(" on_startup connect") for line in lines)
    assert any("1.1 GET /users/bob" in line for line in lines)
    assert any("shutdown: drain (1)" in line for line in lines)
    assert "0 … 2000.0 ms" in text


def test_the_dashboard_counts_and_lists_the_latest():
    model = Model()
    for n in range(3):
        for event in one_request(conn=n + 1, t=10.0 + n):
            model.feed(event)
    text = render(Dashboard(model, now=12.0))
    assert "requests 3  rate 0.6/s" in text
    assert "statuses 200: 3" in text
    assert "3.1" in text and "GET /users/bob" in text


def test_view_of_names_the_choices_when_the_name_is_wrong():
    try:
        view_of(trace_of(one_request()), "graph")
    except ValueError as exc:
        assert "choose from ['onion', 'ruler', 'tree', 'websocket', 'whynot']" in str(exc)
    else:
        raise AssertionError("expected a ValueError")


BAD_HEADER = b"GET /users/42?x=1 HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"


def a_bad_header() -> list:
    """What sketch reports for a head with a space in a header name (seen over a socket)."""
    return [
        ev.ConnectionMade(1.0, 1, 0, "127.0.0.1:5000"),
        ev.DataReceived(1.0, 1, 0, 0, BAD_HEADER),
        ev.ParserCallback(1.0001, 1, 1, "on_message_begin", (), ()),
        ev.ParserCallback(1.0001, 1, 1, "on_url", (b"/users/42?x=1",), (4,)),
        ev.ParseError(1.0002, 1, 1, 400, "Invalid header token", 0),
    ]


def test_a_refused_head_shows_what_was_parsed_the_refusal_and_where_parsing_stopped():
    text = render(RequestTree(trace_of(a_bad_header())), width=100)
    assert text.splitlines()[0] == "GET /users/42?x=1 -> 400 in 0.10 ms"
    assert "response 400 Bad Request (refused: Invalid header token), then close" in text
    at = BAD_HEADER.index(b" Header")
    assert f"parsing stopped at byte {at} of {len(BAD_HEADER)}: Bad[ ]Header: y" in text


def test_the_dashboard_lists_a_refused_request_by_what_was_parsed():
    model = Model()
    for event in a_bad_header():
        model.feed(event)
    text = render(Dashboard(model), width=100)
    assert "GET /users/42?x=1" in text and "in flight 0 " in text


def test_a_refusal_before_any_byte_says_so():
    events = [
        ev.ConnectionMade(1.0, 1, 0, "127.0.0.1:5000"),
        ev.ParseError(1.0, 1, 0, 503, "more than 2 connections are open, try again later", 0),
    ]
    text = render(RequestTree(trace_of(events)), width=100)
    assert text.splitlines()[0] == "(unparsed request) -> 503 in 0.00 ms"
    assert "response 503 Service Unavailable (refused: more than 2 connections" in text
    assert "refused before any byte of a request was parsed" in text

"""The reader on its own: bytes in, Requests and refusals out, no socket and no loop."""

from __future__ import annotations

import doctest

import httptools
import pytest

import sketch.reader
from sketch.events import ParserCallback, Tracer
from sketch.exceptions import HTTPRequestEntityTooLarge
from sketch.framing import Limits, Refusal
from sketch.reader import ReaderState, RequestReader
from sketch.request import Request

GET = b"GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (
    b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
)
CLOSE = b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def feed_all(data: bytes, *, bytewise: bool, reader: RequestReader | None = None) -> list:
    reader = reader or RequestReader(Limits())
    pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    results = []
    for piece in pieces:
        results += reader.feed(piece)
    return results


def traced_reader() -> tuple[RequestReader, list]:
    """A reader with a subscriber that keeps its trace events."""
    reader = RequestReader(Limits())
    events: list = []
    reader.tracer.subscribe(events.append)
    return reader, events


def callbacks(events: list, name: str) -> list[ParserCallback]:
    """The parser callback events named `name`, in order."""
    return [e for e in events if isinstance(e, ParserCallback) and e.name == name]


def test_the_module_docstring_example_runs():
    failures, tried = doctest.testmod(sketch.reader)
    assert tried > 0 and failures == 0


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "byte by byte"])
async def test_pipelined_requests_come_out_in_order_with_their_bodies(bytewise):
    results = feed_all(GET + POST + CHUNKED, bytewise=bytewise)
    assert [type(r) for r in results] == [Request, Request, Request]
    assert [(r.method, r.raw_path, r.number) for r in results] == [
        ("GET", "/a?x=1", 1),
        ("POST", "/b", 2),
        ("POST", "/c", 3),
    ]
    assert all(r.body_complete for r in results)
    assert [await r.read() for r in results] == [b"", b"hello", b"hello"]


def test_a_request_is_handed_out_at_the_end_of_its_head_before_its_body():
    reader = RequestReader(Limits())
    [request] = reader.feed(POST[:-3])
    assert not request.body_complete
    assert reader.state is ReaderState.BODY and reader.receiving is request
    assert reader.feed(b"llo") == []
    assert request.body_complete and reader.receiving is None
    assert reader.state is ReaderState.IDLE


def test_a_split_head_leaves_the_reader_in_a_head():
    reader = RequestReader(Limits())
    assert reader.feed(GET[:10]) == []
    assert reader.state is ReaderState.HEAD
    [request] = reader.feed(GET[10:])
    assert request.raw_path == "/a?x=1"


def test_nothing_after_a_closing_request_is_read():
    reader = RequestReader(Limits())
    [request] = reader.feed(CLOSE + GET)
    assert request.raw_path == "/d" and not request.keep_alive
    assert reader.state is ReaderState.STOPPED
    assert reader.feed(GET) == []


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "Invalid header"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0 is not supported"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "exactly one Host header"),
        (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501, "the method BREW is not implemented"),
        (b"GET /" + b"a" * 8190 + b" HTTP/1.1\r\n\r\n", 414, "longer than 8190 bytes"),
    ],
    ids=["bad header", "http/2", "no host", "unknown method", "long target"],
)
def test_what_cannot_be_served_is_a_refusal_with_its_status_and_reason(raw, status, reason):
    reader = RequestReader(Limits())
    [served] = reader.feed(GET)  # the request before it is served
    [refusal] = reader.feed(raw + GET)  # and nothing after it
    assert isinstance(served, Request) and isinstance(refusal, Refusal)
    results = [refusal]
    assert results[-1].status == status
    assert reason in results[-1].reason
    assert reader.state is ReaderState.STOPPED


def test_a_fault_in_a_body_already_handed_out_goes_to_that_request():
    reader = RequestReader(Limits())
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    [request] = reader.feed(head)
    assert reader.feed(b"zz\r\n") == []  # not a chunk size
    assert reader.state is ReaderState.STOPPED
    error = request.content.exception()
    assert error is not None and error.status == 400
    assert not request.keep_alive


def test_a_big_read_is_parsed_from_a_memoryview_without_copies():
    reader = RequestReader(Limits())
    data = memoryview(GET * 3)
    results = reader.feed(data[: len(GET) * 2]) + reader.feed(data[len(GET) * 2 :])
    assert [r.number for r in results] == [1, 2, 3]


def test_traced_callbacks_carry_the_offsets_of_their_bytes():
    reader, events = traced_reader()
    reader.feed(GET + GET)
    urls = callbacks(events, "on_url")
    assert [e.offsets for e in urls] == [(4,), (len(GET) + 4,)]
    headers = callbacks(events, "on_header")
    second = GET.index(b"Host") + len(GET)
    assert headers[1].offsets == (second, second + len(b"Host: "))


def test_the_reader_s_states_read_as_words():
    assert [state.value for state in ReaderState] == [
        "between requests",
        "in a head",
        "in a body",
        "stopped",
    ]


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize(("extra", "too_large"), [(0, False), (1, True)], ids=["1 MiB", "one more"])
async def test_a_body_of_one_mib_is_read_by_default_one_byte_more_is_too_large(
    extra, too_large, framing
):
    size = 1024**2 + extra  # aiohttp's client_max_size
    if framing == "length":  # read() refuses it from its Content-Length, before reading
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size
        body = b"x" * size
    else:  # no length to go by: read() counts as it reads
        head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (size, b"x" * size)
    [request] = RequestReader(Limits()).feed(head + body)
    assert request.body_complete
    if too_large:
        with pytest.raises(HTTPRequestEntityTooLarge):
            await request.read()
        assert request.keep_alive is False  # the rest is not read: the connection closes
    else:
        assert len(await request.read()) == size


def test_trace_events_carry_the_connection_s_number_zero_when_none_is_given():
    for conn, expected in [({}, 0), ({"conn": 7}, 7)]:
        reader = RequestReader(Limits(), **conn)
        events = []
        reader.tracer.subscribe(events.append)
        reader.feed(GET)
        assert events and {e.conn for e in events} == {expected}


def test_an_unknown_method_after_a_request_in_the_same_read_is_a_bad_request():
    # Rule 3's note: the method is only read back when the failing request is the
    # first in the bytes fed; after another one it is no method at all, so 400.
    served, refusal = RequestReader(Limits()).feed(GET + b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(served, Request)
    assert (refusal.status, refusal.reason) == (400, "Invalid method encountered")


def test_once_refused_mid_head_the_rest_of_the_head_makes_no_request():
    reader = RequestReader(Limits())
    assert reader.feed(GET[:10]) == []
    assert reader.refuse(408, "the request head did not arrive in time") == Refusal(
        408, "the request head did not arrive in time"
    )
    assert reader.feed(GET[10:] + GET) == []
    assert reader.refuse(400, "again") is None  # refused once, and only once


def test_a_request_asking_for_an_upgrade_is_the_last_one_read_and_closes():
    upgrade = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    reader = RequestReader(Limits())
    [request] = reader.feed(upgrade + GET)
    assert not request.keep_alive
    assert reader.state is ReaderState.STOPPED
    assert reader.feed(GET) == []


def test_a_header_at_the_very_start_of_a_read_is_located():
    reader, events = traced_reader()
    start = b"GET / HTTP/1.1\r\n"
    reader.feed(start)
    reader.feed(b"Host: x\r\n\r\n")
    [header] = callbacks(events, "on_header")
    assert header.offsets == (len(start), len(start) + len(b"Host: "))


def _broken_tracer() -> Tracer:
    """A tracer whose only subscriber promised not to raise (`safe=True`, and it takes
    fields, so nothing guards the call) and raises: a bug in a parser callback."""

    def broken(cls, *fields) -> None:
        raise RuntimeError("a bug in a callback")

    tracer = Tracer()
    tracer.subscribe(broken, safe=True, fields=True)
    return tracer


def test_an_error_in_a_callback_is_raised_not_taken_for_bad_bytes():
    reader = RequestReader(Limits(), tracer=_broken_tracer())
    with pytest.raises(httptools.HttpParserCallbackError) as raised:
        reader.feed(GET)
    assert isinstance(raised.value.__context__, RuntimeError)


def test_a_refusal_made_between_feeds_is_not_added_to_what_a_feed_returned():
    reader = RequestReader(Limits())
    returned = reader.feed(GET[:10])
    refusal = reader.refuse(408, "the request head did not arrive in time")
    assert returned == [] and refusal.status == 408


def test_a_stopped_reader_reads_nothing_more():
    reader = RequestReader(Limits())
    reader.stop()
    assert reader.feed(GET) == []
    assert reader.state is ReaderState.STOPPED and reader.requests == 0


def test_nothing_is_read_after_a_request_told_to_close_while_its_body_arrives():
    reader = RequestReader(Limits())
    [request] = reader.feed(POST[:-3])
    request.keep_alive = False  # as the connection does when the server shuts down
    assert reader.feed(POST[-3:] + GET) == []
    assert request.body_complete
    assert reader.state is ReaderState.STOPPED and reader.requests == 1


def test_max_head_bounds_each_head_at_its_edge_not_the_connection_s_heads_together():
    reader = RequestReader(Limits(max_head=8))
    start, end = b"GET / HTTP/1.1\r\n", b"\n\r\n"
    for number in (1, 2):
        assert reader.feed(start) == []
        assert reader.feed(b"Host: x\r") == []  # 8 unfinished bytes of head: the limit
        [request] = reader.feed(end)
        assert request.number == number
    assert reader.feed(start) == []
    [refusal] = reader.feed(b"Host: xy\r")  # one more
    assert refusal == Refusal(431, "the request head is too large")


@pytest.mark.parametrize(
    ("limits", "raw", "refusal"),
    [
        (
            Limits(max_target=8),
            b"GET /12345678 HTTP/1.1\r\nHost: x\r\n\r\n",
            Refusal(414, "the request target is longer than 8 bytes"),
        ),
        (
            Limits(max_headers=1),
            b"GET / HTTP/1.1\r\nHost: x\r\nX: y\r\n\r\n",
            Refusal(431, "more than 1 header fields"),
        ),
        (
            Limits(max_field=5),
            b"GET / HTTP/1.1\r\nHost: x\r\nX: yyyyy\r\n\r\n",
            Refusal(431, "a header field is longer than 5 bytes"),
        ),
    ],
    ids=["target", "fields", "field"],
)
def test_a_head_over_a_limit_is_refused_and_no_request_is_made_of_it(limits, raw, refusal):
    reader = RequestReader(limits)
    assert reader.feed(raw + GET) == [refusal]
    assert reader.requests == 1


def test_a_header_whose_name_began_in_an_earlier_read_has_unknown_offsets():
    reader, events = traced_reader()
    reader.feed(b"GET / HTTP/1.1\r\nHo")
    reader.feed(b"st: x\r\n\r\n")
    [header] = callbacks(events, "on_header")
    assert header.data == (b"Host", b"x") and header.offsets == (-1, -1)


def test_a_header_value_that_is_not_utf8_keeps_its_bytes():
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n"
    [request] = RequestReader(Limits()).feed(raw)
    assert request.headers["X-Name"].encode("utf-8", "surrogateescape") == b"caf\xe9"


def test_a_traced_body_is_located_after_its_head_even_when_the_head_holds_the_same_bytes():
    reader, events = traced_reader()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n"
    reader.feed(head + b"\r\n")  # a body that looks like the end of a head
    [body] = callbacks(events, "on_body")
    assert body.offsets == (len(head),)


def test_traced_chunks_are_located_whatever_line_breaks_their_data_holds():
    reader, events = traced_reader()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    data = b"XX\nXX"
    reader.feed(head + b"5\r\n" + data + b"\r\n5\r\n" + data + b"\r\n0\r\n\r\n")
    bodies = callbacks(events, "on_body")
    first = len(head) + len(b"5\r\n")
    second = first + len(data + b"\r\n5\r\n")
    assert [e.offsets for e in bodies] == [(first,), (second,)]


def test_an_empty_header_value_has_no_offset_and_does_not_move_the_search():
    reader, events = traced_reader()
    raw = b"GET / HTTP/1.1\r\nX-Empty:\r\nHost: x\r\n\r\n"
    reader.feed(raw)
    empty, host = callbacks(events, "on_header")
    assert empty.offsets == (raw.index(b"X-Empty"), -1)
    assert host.offsets == (raw.index(b"Host"), raw.index(b"Host") + len(b"Host: "))


@pytest.mark.parametrize(
    ("first", "second", "body"),
    [
        (b"Content-Length: 2", b"\r\n\r\n", b"\r\n"),  # the head's whole end in the second
        (b"Content-Length: 1\r\n", b"\r\n", b"\n"),  # only its last CRLF
    ],
    ids=["whole end", "last line break"],
)
def test_a_traced_body_is_located_after_a_head_whose_end_came_in_a_later_read(first, second, body):
    reader, events = traced_reader()
    start = b"POST / HTTP/1.1\r\nHost: x\r\n" + first
    reader.feed(start)
    reader.feed(second + body)
    [on_body] = callbacks(events, "on_body")
    assert on_body.offsets == (len(start + second),)

"""The protocol fed raw bytes, whole and one byte at a time, with no socket."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from sketch import web
from sketch.server import Server

from .conftest import MemoryTransport, parse_responses, settle

GET = b"GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n\r\n"
GET_10 = b"GET /hello HTTP/1.0\r\n\r\n"
GET_10_KEEP = b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
GET_CLOSE = b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
POST_LENGTH = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
POST_CHUNKED = (
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
)
BAD = b"GET / HTTP/1.1\r\nHost x\r\n\r\n"  # a header line without a colon


async def echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.Response(text=f"{request.method} {request.path} {body.decode()}")


def connect(handler=echo, **kwargs) -> tuple:
    server = Server(handler, **kwargs)
    protocol = server()
    transport = MemoryTransport()
    protocol.connection_made(transport)
    return protocol, transport, server


async def feed(protocol, data: bytes, *, bytewise: bool = False) -> None:
    pieces = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for piece in pieces:
        protocol.data_received(piece)
        await asyncio.sleep(0)
    await settle(protocol)


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "byte-by-byte"])
async def test_a_request_is_answered_the_same_whole_or_one_byte_at_a_time(bytewise):
    protocol, transport, _ = connect()
    await feed(protocol, GET, bytewise=bytewise)
    [response] = parse_responses(bytes(transport.written))
    assert (response.status, response.text) == (200, "GET /hello ")
    assert response.header("Content-Length") == str(len("GET /hello ")) == "11"
    assert not transport.closed  # HTTP/1.1 keeps the connection open


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("request_bytes", [POST_LENGTH, POST_CHUNKED], ids=["length", "chunked"])
async def test_a_body_in_either_framing_reaches_read_whole(request_bytes, bytewise):
    protocol, transport, _ = connect()
    await feed(protocol, request_bytes, bytewise=bytewise)
    [response] = parse_responses(bytes(transport.written))
    assert response.text == "POST /echo hello world"


async def test_the_response_head_uses_crlf_and_carries_date_and_server():
    protocol, transport, _ = connect()
    await feed(protocol, GET)
    head, _, body = bytes(transport.written).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert all(b"\n" not in line for line in lines)
    names = {line.split(b":")[0].lower() for line in lines[1:]}
    assert {b"date", b"server", b"content-length", b"content-type"} <= names


async def test_content_length_counts_bytes_not_characters():
    async def unicode(request):
        return web.Response(text="héllo wörld ✓")

    protocol, transport, _ = connect(unicode)
    await feed(protocol, GET)
    [response] = parse_responses(bytes(transport.written))
    assert int(response.header("Content-Length")) == len("héllo wörld ✓".encode()) == 17
    assert response.body.decode() == "héllo wörld ✓"


async def test_pipelined_requests_are_answered_in_order_even_when_the_first_is_slow():
    async def slow_first(request):
        if request.path == "/1":
            await asyncio.sleep(0.05)
        return web.Response(text=request.path)

    protocol, transport, _ = connect(slow_first)
    data = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in (1, 2, 3))
    protocol.data_received(data)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(parse_responses(bytes(transport.written))) == 3:
            break
    assert [r.text for r in parse_responses(bytes(transport.written))] == ["/1", "/2", "/3"]


class CountingTransport(MemoryTransport):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


def two_counting_connections() -> list[tuple]:
    """Two connections to one server whose handler answers with the path."""

    async def hello(request):
        return web.Response(text=request.path)

    server = Server(hello)
    connections = []
    for _ in range(2):
        protocol, transport = server(), CountingTransport()
        protocol.connection_made(transport)
        connections.append((protocol, transport))
    return connections


async def test_answers_to_two_connections_leave_together_at_the_next_turn():
    connections = two_counting_connections()
    for protocol, _ in connections:  # one turn of the loop: two reads
        protocol.data_received(GET)
    if sys.version_info < (3, 12):
        await asyncio.sleep(0)  # no eager Tasks: the handlers run at the next turn
    assert [t.writes for _, t in connections] == [0, 0]  # answered, not yet sent
    await asyncio.sleep(0)
    assert [t.writes for _, t in connections] == [1, 1]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="handler Tasks start eagerly on 3.12+")
async def test_answers_made_in_one_loop_turn_leave_together_at_the_next():
    connections = two_counting_connections()
    pipelined = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in (1, 2, 3))
    for protocol, _ in connections:  # one turn of the loop: two reads
        protocol.data_received(pipelined)
    assert [t.writes for _, t in connections] == [0, 0]  # answered, not yet sent
    await asyncio.sleep(0)  # the next turn
    for _, transport in connections:
        assert transport.writes == 1  # three answers, one send
        texts = [r.text for r in parse_responses(bytes(transport.written))]
        assert texts == ["/1", "/2", "/3"]


class BrokenTransport(MemoryTransport):
    def write(self, data: bytes) -> None:
        raise RuntimeError("this transport cannot write")


async def test_a_connection_that_fails_to_send_does_not_hold_back_the_others(caplog):
    async def hello(request):
        return web.Response(text="hi")

    server = Server(hello)
    broken, healthy = server(), server()
    broken.connection_made(BrokenTransport())
    transport = MemoryTransport()
    healthy.connection_made(transport)
    broken.data_received(GET)  # answered first, so sent first
    healthy.data_received(GET)
    with caplog.at_level(logging.ERROR, logger="sketch.server"):
        await settle(healthy)
    assert [r.text for r in parse_responses(bytes(transport.written))] == ["hi"]
    assert "cannot write" in caplog.text


async def test_held_answers_are_sent_before_the_connection_closes():
    protocol, transport, _ = connect()
    protocol.data_received(GET + GET_CLOSE)  # the second closes the connection
    await settle(protocol)
    assert transport.closed
    assert [r.status for r in parse_responses(bytes(transport.written))] == [200, 200]


async def test_http_10_closes_after_the_response_unless_asked_to_keep_alive():
    protocol, transport, _ = connect()
    await feed(protocol, GET_10)
    [response] = parse_responses(bytes(transport.written))
    assert response.version == "1.0" or response.status == 200
    assert transport.closed

    protocol, transport, _ = connect()
    await feed(protocol, GET_10_KEEP)
    [response] = parse_responses(bytes(transport.written))
    assert response.header("Connection") == "keep-alive"
    assert not transport.closed


async def test_http_10_stream_without_length_is_delimited_by_close_not_chunked():
    async def stream(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"abc")
        return response

    protocol, transport, _ = connect(stream)
    await feed(protocol, GET_10_KEEP)
    written = bytes(transport.written)
    assert b"Transfer-Encoding" not in written
    assert written.endswith(b"\r\n\r\nabc")
    assert transport.closed  # the end of the body is the end of the connection


async def test_connection_close_is_answered_and_the_bytes_after_it_are_ignored():
    protocol, transport, _ = connect()
    await feed(protocol, GET_CLOSE + GET)
    responses = parse_responses(bytes(transport.written))
    assert len(responses) == 1
    assert responses[0].header("Connection") == "close"
    assert transport.closed


async def test_a_malformed_request_gets_400_after_the_answers_before_it_and_closes():
    protocol, transport, _ = connect()
    await feed(protocol, GET + BAD + GET)
    statuses = [r.status for r in parse_responses(bytes(transport.written))]
    assert statuses == [200, 400]
    assert transport.closed


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.2"])
async def test_http_versions_other_than_10_and_11_get_505(version):
    protocol, transport, _ = connect()
    await feed(protocol, b"GET / " + version + b"\r\nHost: x\r\n\r\n")
    [response] = parse_responses(bytes(transport.written))
    assert response.status == 505
    assert transport.closed


@pytest.mark.parametrize(
    "expect",
    [b"Expect: teapot", b"Expect: 100-continue\r\nExpect: teapot", b"Expect: 100-continue, x"],
    ids=["unknown", "a second field", "in a list"],
)
async def test_an_unknown_expectation_gets_417(expect):
    # RFC 9110 10.1.1: Expect is a list, and every expectation in it must be met.
    protocol, transport, _ = connect()
    await feed(protocol, b"GET / HTTP/1.1\r\nHost: x\r\n" + expect + b"\r\n\r\n")
    [response] = parse_responses(bytes(transport.written))
    assert response.status == 417


async def test_a_list_of_100_continue_expectations_is_met_item_by_item():
    # The list is split at its commas and each item trimmed (RFC 9110 5.6.1), so this
    # asks only for 100-continue, twice: served, not 417.
    protocol, transport, _ = connect()
    expect = b"Expect: 100-continue,  100-Continue"
    await feed(protocol, b"GET / HTTP/1.1\r\nHost: x\r\n" + expect + b"\r\n\r\n")
    [response] = parse_responses(bytes(transport.written))
    assert response.status == 200


EXPECT_POST = b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"


async def test_100_continue_is_sent_when_the_handler_first_reads_the_body():
    protocol, transport, _ = connect()
    protocol.data_received(EXPECT_POST)
    for _ in range(5):
        await asyncio.sleep(0)
    assert bytes(transport.written) == b"HTTP/1.1 100 Continue\r\n\r\n"
    await feed(protocol, b"hello")
    assert parse_responses(bytes(transport.written))[-1].text == "POST /echo hello"


async def test_a_handler_that_never_reads_the_body_sends_no_100_continue_and_closes():
    async def not_found(request):
        raise web.HTTPNotFound()

    protocol, transport, _ = connect(not_found)
    await feed(protocol, EXPECT_POST)
    written = bytes(transport.written)
    assert b"100 Continue" not in written
    assert written.startswith(b"HTTP/1.1 404 Not Found")
    # The client may or may not send the body now: the framing is in doubt.
    assert transport.closed


@pytest.mark.parametrize("request_bytes", [POST_LENGTH, POST_CHUNKED], ids=["length", "chunked"])
async def test_a_body_over_client_max_size_gets_413_in_either_framing(request_bytes):
    protocol, transport, _ = connect(client_max_size=4)
    await feed(protocol, request_bytes)
    [response] = parse_responses(bytes(transport.written))
    assert response.status == 413
    assert response.text == "Maximum request body size 4 exceeded."


async def test_a_handler_that_returns_no_response_gets_a_500():
    async def forgot(request):
        return "hello"

    protocol, transport, _ = connect(forgot)
    await feed(protocol, GET)
    [response] = parse_responses(bytes(transport.written))
    assert response.status == 500
    assert response.header("Connection") == "close"


async def test_a_cr_or_lf_in_a_header_never_reaches_the_wire_the_client_gets_500():
    async def injected(request):
        return web.Response(text="hi", headers={"X-Name": "a\r\nSet-Cookie: evil=1"})

    protocol, transport, _ = connect(injected)
    await feed(protocol, GET)
    written = bytes(transport.written)
    assert b"evil" not in written
    assert [r.status for r in parse_responses(written)] == [500]


async def test_an_error_after_a_stream_started_closes_instead_of_appending_a_500(caplog):
    async def breaks_midway(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"partial")
        raise RuntimeError("disk on fire")

    protocol, transport, _ = connect(breaks_midway)
    with caplog.at_level(logging.ERROR, "sketch.server"):
        await feed(protocol, GET)
    written = bytes(transport.written)
    assert written.count(b"HTTP/1.1") == 1
    assert b"500" not in written
    assert transport.closed
    assert "disk on fire" in caplog.text


async def test_a_client_that_leaves_mid_request_cancels_the_handler_and_logs_nothing(caplog):
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def waits_for_body(request):
        started.set()
        try:
            await request.read()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return web.Response()

    protocol, transport, server = connect(waits_for_body)
    with caplog.at_level(logging.DEBUG, "sketch"):
        protocol.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        await asyncio.wait_for(started.wait(), 1)
        protocol.connection_lost(None)
        await asyncio.wait_for(cancelled.wait(), 1)
        await settle(protocol)
    assert caplog.records == []
    assert protocol not in server.connections


async def test_end_of_input_from_the_client_closes_the_connection():
    protocol, transport, _ = connect()
    assert protocol.eof_received() is False  # asyncio closes the transport, as aiohttp does


async def test_a_greedy_pipeliner_is_paused_until_the_queue_drains():
    gate = asyncio.Event()

    async def gated(request):
        await gate.wait()
        return web.Response(text="ok")

    protocol, transport, _ = connect(gated)
    protocol.data_received(GET * 2000)  # one read, 2000 requests
    await asyncio.sleep(0)
    assert not transport.reading
    assert len(protocol._queue) <= 16 + 16 * 1024 // len(GET)  # not 2000 Request objects
    gate.set()
    await settle(protocol, rounds=20000)
    assert transport.reading
    assert len(parse_responses(bytes(transport.written))) == 2000


async def test_an_idle_keep_alive_connection_is_closed_after_the_timeout():
    protocol, transport, _ = connect(keepalive_timeout=0.05)
    await feed(protocol, GET)
    assert not transport.closed
    await asyncio.sleep(0.1)
    assert transport.closed


async def test_a_response_the_handler_sent_itself_is_sent_once():
    async def prepared(request):
        response = web.Response(text="hi")
        if request.path == "/hello":  # allowed, as in aiohttp: send it, then return it
            await response.prepare(request)
            await response.write_eof()
        return response

    protocol, transport, _ = connect(prepared)
    await feed(protocol, GET + GET)
    responses = parse_responses(bytes(transport.written))
    assert [(r.status, r.text) for r in responses] == [(200, "hi"), (200, "hi")]
    assert bytes(transport.written).count(b"HTTP/1.1 200 OK") == 2


async def test_the_connection_moves_through_its_phases_in_order():
    from sketch.protocol import Phase

    gate = asyncio.Event()

    async def gated(request):
        await gate.wait()
        return web.Response(text="ok")

    protocol, transport, _ = connect(gated)
    assert protocol.phase is Phase.IDLE
    protocol.data_received(GET[:10])
    assert protocol.phase is Phase.READING
    protocol.data_received(GET[10:])
    assert protocol.phase is Phase.ANSWERING
    gate.set()
    await settle(protocol)
    assert protocol.phase is Phase.IDLE
    await feed(protocol, GET_CLOSE)
    assert protocol.phase is Phase.CLOSING and transport.closed
    protocol.connection_lost(None)
    assert protocol.phase is Phase.CLOSED


async def test_more_bytes_of_a_head_do_not_push_back_its_deadline():
    protocol, transport, _ = connect(head_timeout=10)
    protocol.data_received(GET[:5])
    deadline = protocol.deadline
    protocol.data_received(GET[5:10])
    assert deadline is not None and protocol.deadline == deadline


async def test_a_phase_change_the_table_does_not_allow_is_an_error():
    from sketch.protocol import Phase

    protocol, _, _ = connect()
    protocol.connection_lost(None)
    with pytest.raises(RuntimeError, match="cannot go from Phase.CLOSED to Phase.ANSWERING"):
        protocol._to(Phase.ANSWERING)

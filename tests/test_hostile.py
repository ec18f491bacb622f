"""Hostile and malformed requests: the right status, the connection closed when framing
is in doubt, and the server still serving everyone else. Over real loopback sockets."""

from __future__ import annotations

import asyncio

import pytest

import sketch
from sketch import web

from .conftest import exchange, parse_responses

H = b"Host: x\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"


def post(headers: bytes, body: bytes = b"") -> bytes:
    return b"POST /echo HTTP/1.1\r\n" + H + headers + b"\r\n" + body


# (name, raw request, expected status, must the connection close?)
CASES = [
    # request smuggling shapes: Content-Length and Transfer-Encoding disagreeing
    ("cl-and-te", post(b"Content-Length: 3\r\n" + CHUNKED, b"0\r\n\r\n"), 400, True),
    ("te-and-cl", post(CHUNKED + b"Content-Length: 3\r\n", b"0\r\n\r\n"), 400, True),
    ("duplicate-cl-same", post(b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"), 400, True),
    (
        "duplicate-cl-differ",
        post(b"Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"),
        400,
        True,
    ),
    ("cl-list", post(b"Content-Length: 3, 3\r\n", b"abc"), 400, True),
    ("cl-negative", post(b"Content-Length: -3\r\n", b"abc"), 400, True),
    ("cl-plus-sign", post(b"Content-Length: +3\r\n", b"abc"), 400, True),
    ("cl-hex", post(b"Content-Length: 0x3\r\n", b"abc"), 400, True),
    ("cl-inner-space", post(b"Content-Length: 3 3\r\n", b"abc"), 400, True),
    ("cl-overflow", post(b"Content-Length: 99999999999999999999999\r\n"), 400, True),
    ("cl-empty", post(b"Content-Length: \r\n"), 400, True),
    ("te-repeated-header", post(CHUNKED + CHUNKED, b"0\r\n\r\n"), 400, True),
    ("te-chunked-twice", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400, True),
    ("te-chunked-not-last", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"), 400, True),
    ("te-space-before-colon", post(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"), 400, True),
    ("te-vertical-tab", post(b"Transfer-Encoding: \x0bchunked\r\n", b"0\r\n\r\n"), 400, True),
    ("te-http10", b"POST /echo HTTP/1.0\r\n" + CHUNKED + b"\r\n0\r\n\r\n", 400, True),
    # transfer codings we do not implement
    ("te-gzip", post(b"Transfer-Encoding: gzip\r\n", b"abc"), 501, True),
    ("te-gzip-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501, True),
    ("te-xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), 501, True),
    ("te-identity", post(b"Transfer-Encoding: identity\r\n"), 501, True),
    ("te-deflate", post(b"Transfer-Encoding: deflate\r\n"), 501, True),
    # line endings, folding, control characters
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n", 400, True),
    ("bare-lf-everywhere", b"GET / HTTP/1.1\nHost: x\n\n", 400, True),
    ("bare-lf-in-header", b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400, True),
    ("bare-cr-in-header", b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400, True),
    ("ctl-in-value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n", 400, True),
    ("nul-in-value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400, True),
    ("del-in-value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n", 400, True),
    ("space-in-name", b"GET / HTTP/1.1\r\n" + H + b"X Y: a\r\n\r\n", 400, True),
    ("empty-name", b"GET / HTTP/1.1\r\n" + H + b": a\r\n\r\n", 400, True),
    ("colon-only-line", b"GET / HTTP/1.1\r\n" + H + b":\r\n\r\n", 400, True),
    ("no-colon", b"GET / HTTP/1.1\r\n" + H + b"X-A a\r\n\r\n", 400, True),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    # chunked bodies
    ("chunk-size-not-hex", post(CHUNKED, b"zz\r\nabc\r\n0\r\n\r\n"), 400, True),
    ("chunk-size-negative", post(CHUNKED, b"-3\r\nabc\r\n0\r\n\r\n"), 400, True),
    ("chunk-size-overflow", post(CHUNKED, b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"), 400, True),
    ("chunk-size-space", post(CHUNKED, b"3 3\r\nabc\r\n0\r\n\r\n"), 400, True),
    ("chunk-ext-control", post(CHUNKED, b"3;\x01\r\nabc\r\n0\r\n\r\n"), 400, True),
    ("chunk-data-too-long", post(CHUNKED, b"3\r\nabcX\r\n0\r\n\r\n"), 400, True),
    ("chunk-bare-lf", post(CHUNKED, b"3\nabc\n0\n\n"), 400, True),
    ("chunk-trailer-bad", post(CHUNKED, b"3\r\nabc\r\n0\r\nX T\r\n\r\n"), 400, True),
    ("chunk-trailer-fold", post(CHUNKED, b"3\r\nabc\r\n0\r\nX: a\r\n b\r\n\r\n"), 400, True),
    # Host (RFC 9112 3.2)
    ("http11-no-host", b"GET / HTTP/1.1\r\n\r\n", 400, True),
    ("http11-two-hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, True),
    # request line
    ("bad-method-char", b"G@T / HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    # RFC 9110 9.1: methods are case-sensitive tokens; one the server does not know: 501
    ("lowercase-method", b"get / HTTP/1.1\r\n" + H + b"\r\n", 501, True),
    ("unknown-method", b"FOO / HTTP/1.1\r\n" + H + b"\r\n", 501, True),
    ("space-in-target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("lowercase-version", b"GET / http/1.1\r\n" + H + b"\r\n", 400, True),
    ("relative-target", b"GET abc HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("raw-utf8-target", b"GET /\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400, True),
    ("tls-handshake", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, 400, True),
    # versions (RFC 9110 15.6.6)
    ("http2-line", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505, True),
    ("http09-line", b"GET / HTTP/0.9\r\n" + H + b"\r\n", 505, True),
    ("http12-line", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505, True),
    ("http3-line", b"GET / HTTP/3.0\r\n" + H + b"\r\n", 505, True),
    ("no-version", b"GET /\r\n" + H + b"\r\n", 505, True),
    # sizes (RFC 9110 15.5.15, RFC 6585 5)
    ("target-too-long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414, True),
    ("too-many-headers", b"GET / HTTP/1.1\r\n" + H + b"X: y\r\n" * 200 + b"\r\n", 431, True),
    ("header-too-long", b"GET / HTTP/1.1\r\n" + H + b"X: " + b"a" * 9000 + b"\r\n\r\n", 431, True),
    ("header-name-too-long", b"GET / HTTP/1.1\r\n" + H + b"X" * 9000 + b": a\r\n\r\n", 431, True),
    ("endless-header-line", b"GET / HTTP/1.1\r\n" + H + b"X: " + b"a" * 200_000, 431, True),
    ("body-over-max-size", post(b"Content-Length: 2000\r\n", b"x" * 2000), 413, True),
    (
        "chunked-over-max-size",
        post(CHUNKED, b"7d0\r\n" + b"x" * 2000 + b"\r\n0\r\n\r\n"),
        413,
        True,
    ),
    # expectations (RFC 9110 10.1.1)
    ("expect-unknown", b"GET / HTTP/1.1\r\n" + H + b"Expect: teapot\r\n\r\n", 417, True),
    # well-formed oddities that must be served, and keep the connection
    ("te-uppercase", post(b"Transfer-Encoding: CHUNKED\r\n", b"3\r\nabc\r\n0\r\n\r\n"), 200, False),
    ("te-tab-before-value", post(b"Transfer-Encoding:\tchunked\r\n", b"0\r\n\r\n"), 200, False),
    ("chunk-extension", post(CHUNKED, b"3;name=value\r\nabc\r\n0\r\n\r\n"), 200, False),
    ("chunk-trailer", post(CHUNKED, b"3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n"), 200, False),
    ("leading-empty-line", b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n", 200, False),
    ("absolute-form", b"GET http://x/ HTTP/1.1\r\n" + H + b"\r\n", 200, False),
    ("options-star", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", 404, False),
    ("http10-no-host", b"GET / HTTP/1.0\r\n\r\n", 200, True),
    (
        "upgrade-ignored",
        b"GET / HTTP/1.1\r\n" + H + b"Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
        200,
        True,
    ),
]

GOOD = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
async def hostile_server():
    async def index(request):
        return web.Response(text="fine")

    async def echo(request):
        return web.Response(body=await request.read())

    app = web.Application(client_max_size=1024)
    app.router.add_get("/", index)
    app.router.add_post("/echo", echo)
    server = await sketch.serve(app)
    yield server
    await server.close()


def test_the_table_has_at_least_60_cases():
    assert len(CASES) >= 60
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "raw", "status", "closes"), CASES, ids=[c[0] for c in CASES])
async def test_a_hostile_request_gets_its_status_and_the_server_serves_the_next_client(
    hostile_server, name, raw, status, closes
):
    port = hostile_server.port
    # The good request follows on the same connection: it must be answered only when
    # the framing of the bad one was sound.
    received = await exchange(port, raw + GOOD, until_closed=closes, expect=2, timeout=5)
    responses = parse_responses(received)
    assert responses, f"{name}: no answer at all"
    assert responses[0].status == status, f"{name}: {responses[0].status} {responses[0].body!r}"
    if closes:
        assert len(responses) == 1, f"{name}: answered past a request it refused"
        if responses[0].version == "1.1":  # HTTP/1.0 closes unless told otherwise
            assert responses[0].header("Connection") == "close"
    else:
        assert [r.status for r in responses][1:] == [200]
    # Every other client is still served.
    fresh = parse_responses(await exchange(port, GOOD, until_closed=False))
    assert [(r.status, r.body) for r in fresh] == [(200, b"fine")]


async def test_an_error_body_never_echoes_the_request(hostile_server):
    raw = b"GET /<script> HTTP/1.1\r\nHost: <script>\r\nX: \x01<script>\r\n\r\n"
    received = await exchange(hostile_server.port, raw)
    assert received.startswith(b"HTTP/1.1 400")
    assert b"<script>" not in received


async def test_bytes_after_connection_close_are_ignored(hostile_server):
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + b"GARBAGE\r\n\r\n" + GOOD
    responses = parse_responses(await exchange(hostile_server.port, raw))
    assert [(r.status, r.header("Connection")) for r in responses] == [(200, "close")]


async def test_a_request_split_at_every_byte_over_a_socket_is_served(hostile_server):
    raw = post(CHUNKED, b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    pieces = [raw[i : i + 1] for i in range(len(raw))]
    received = await exchange(hostile_server.port, *pieces, until_closed=False, timeout=10)
    assert [(r.status, r.body) for r in parse_responses(received)] == [(200, b"abcde")]


async def test_bad_clients_in_parallel_do_not_disturb_good_ones(hostile_server):
    bad = [exchange(hostile_server.port, raw) for _, raw, _, closes in CASES if closes]
    good = [exchange(hostile_server.port, GOOD, until_closed=False) for _ in range(20)]
    results = await asyncio.gather(*bad, *good)
    for received in results[len(bad) :]:
        assert parse_responses(received)[0].body == b"fine"

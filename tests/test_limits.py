"""Every size limit at its exact edge: the limit itself served, one more refused.

Over real loopback sockets, against a server started with the default Limits, so a
check that drifts from `>` to `>=` (or a default that drifts by one) fails here.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest

import sketch
from sketch import web
from sketch.framing import Limits, check_head

from .conftest import exchange, parse_responses

LIMITS = Limits()
REFUSAL_TYPE = "text/plain; charset=utf-8"


def test_the_default_limits_are_aiohttps_sizes_and_our_documented_deadlines():
    limits = Limits()
    assert limits.max_target == 8190  # aiohttp's max_line_size
    assert limits.max_field == 8190  # aiohttp's max_field_size
    assert limits.max_headers == 100  # aiohttp's max_headers
    assert limits.max_head == 65536  # 64 KiB of an unfinished head
    assert limits.head_timeout == 30.0
    assert limits.body_timeout == 30.0
    assert limits.keepalive_timeout == 75.0  # aiohttp's keepalive_timeout
    assert limits.max_connections is None  # no cap


def test_limits_and_refusals_cannot_be_changed_once_made():
    with pytest.raises(AttributeError):
        LIMITS.max_target = 1  # type: ignore[misc]
    refusal = check_head("2.0", [("Host", "x")])
    assert refusal is not None and refusal.status == 505
    with pytest.raises(AttributeError):
        refusal.status = 200  # type: ignore[misc]


@pytest.fixture
async def server():
    async def anything(request):
        return web.Response(text=f"{len(request.headers)} fields")

    running = await sketch.serve(anything)
    yield running
    await running.close()


async def answer(port: int, *pieces: bytes, pause: float = 0.0):
    """The one response to `pieces`, read until the response is whole or the server closes."""
    received = await exchange(port, *pieces, pause=pause, until_closed=False, expect=1)
    [response] = parse_responses(received, eof=True)
    return response


def head(target: bytes = b"/", fields: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n"


def assert_refused(response, status: int) -> None:
    reason = HTTPStatus(status).phrase  # 414's phrase changed in Python 3.13
    assert (response.status, response.reason) == (status, reason)
    assert response.header("Content-Type") == REFUSAL_TYPE
    assert response.header("Connection") == "close"
    assert response.text.startswith(f"{status}: {reason}: ")


async def test_a_target_of_exactly_max_target_bytes_is_served(server):
    target = b"/" + b"a" * (LIMITS.max_target - 1)
    response = await answer(server.port, head(target))
    assert response.status == 200


async def test_a_target_one_byte_over_max_target_gets_414(server):
    target = b"/" + b"a" * LIMITS.max_target
    response = await answer(server.port, head(target))
    assert_refused(response, 414)


async def test_exactly_max_headers_fields_are_served(server):
    fields = b"X: y\r\n" * (LIMITS.max_headers - 1)  # and Host
    response = await answer(server.port, head(fields=fields))
    assert (response.status, response.text) == (200, f"{LIMITS.max_headers} fields")


async def test_one_field_over_max_headers_gets_431(server):
    fields = b"X: y\r\n" * LIMITS.max_headers  # and Host
    response = await answer(server.port, head(fields=fields))
    assert_refused(response, 431)


# max_field counts the name and the value, not the colon, the spaces or the CRLF.
@pytest.mark.parametrize("name_length", [1, LIMITS.max_field // 2, LIMITS.max_field - 1])
async def test_a_field_of_exactly_max_field_bytes_is_served(server, name_length):
    field = b"X" * name_length + b": " + b"a" * (LIMITS.max_field - name_length) + b"\r\n"
    response = await answer(server.port, head(fields=field))
    assert response.status == 200


@pytest.mark.parametrize("name_length", [1, LIMITS.max_field // 2, LIMITS.max_field])
async def test_a_field_one_byte_over_max_field_gets_431(server, name_length):
    field = b"X" * name_length + b": " + b"a" * (LIMITS.max_field + 1 - name_length) + b"\r\n"
    response = await answer(server.port, head(fields=field))
    assert_refused(response, 431)


def fields_of(size: int) -> bytes:
    """Header lines of exactly `size` bytes in all, each field well within max_field."""
    lines = []
    left = size
    while left:
        line_size = min(left, 8000)
        if 0 < left - line_size < 16:  # leave enough for a last line of its own
            line_size -= 16
        name = f"X-{len(lines):03}: ".encode()
        lines.append(name + b"a" * (line_size - len(name) - 2) + b"\r\n")
        left -= line_size
    block = b"".join(lines)
    assert len(block) == size
    return block


# max_head bounds the bytes of a head still unfinished after its first read: the part
# httptools buffers while waiting for the end of a header line or of the head. So the
# head arrives in three reads: its start, max_head bytes of fields, the blank line.
async def test_a_head_whose_unfinished_part_is_exactly_max_head_bytes_is_served(server):
    start = b"GET / HTTP/1.1\r\nHost: x\r\n"
    fields = fields_of(LIMITS.max_head)
    assert len(fields) == LIMITS.max_head
    response = await answer(server.port, start, fields, b"\r\n", pause=0.1)
    assert response.status == 200


async def test_a_head_whose_unfinished_part_is_one_byte_over_max_head_gets_431(server):
    start = b"GET / HTTP/1.1\r\nHost: x\r\n"
    fields = fields_of(LIMITS.max_head + 1)
    response = await answer(server.port, start, fields, pause=0.1)
    assert_refused(response, 431)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [(b"GET / HTTP/2.0", 505), (b"GET /a b HTTP/1.1", 400), (b"FOO / HTTP/1.1", 501)],
)
async def test_a_refusal_is_plain_text_in_utf_8_and_closes(server, request_line, status):
    response = await answer(server.port, request_line + b"\r\nHost: x\r\n\r\n")
    assert_refused(response, status)


async def test_an_http11_request_without_host_gets_400_naming_the_rule(server):
    response = await answer(server.port, b"GET / HTTP/1.1\r\n\r\n")
    assert_refused(response, 400)
    assert "exactly one Host" in response.text


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (
            b"GET / HTTP/1.1\r\n\r\n",
            "400: Bad Request: an HTTP/1.1 request needs exactly one Host header",
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "400: Bad Request: Transfer-Encoding is not allowed in an HTTP/1.0 request",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            "501: Not Implemented: no transfer coding other than chunked is implemented",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n",
            "417: Expectation Failed: the only expectation supported is 100-continue",
        ),
    ],
)
async def test_a_refused_head_is_told_which_rule_it_broke(server, raw, body):
    response = await answer(server.port, raw)
    assert response.text == body


async def test_the_100_continue_expectation_is_matched_in_any_case(server):
    response = await answer(
        server.port, b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n\r\n"
    )
    assert response.status == 200

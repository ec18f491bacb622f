"""Properties of the protocol, checked by hypothesis on generated input.

- Any byte stream, cut anywhere: the protocol never raises, never answers 5xx, and
  writes only well-formed responses.
- A valid request split at arbitrary points is answered exactly as when sent whole.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketch import web

from .conftest import parse_responses
from .test_protocol import connect, settle

RUNS = 1000  # examples per property; the figures in docs/reliability.md come from these

VALID = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /items/42?x=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"DELETE /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
]


async def handler(request: web.Request) -> web.StreamResponse:
    if request.path == "/echo":
        return web.Response(body=await request.read())
    if request.path.startswith("/items/"):
        return web.json_response({"id": request.path.rsplit("/", 1)[1]})
    return web.Response(text="root")


def run(pieces: list[bytes]) -> bytes:
    """Feed the pieces to a fresh protocol, one data_received each; return what it wrote."""

    async def go() -> bytes:
        errors: list[dict] = []  # "Task exception was never retrieved" and the like
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
        protocol, transport, _ = connect(handler, client_max_size=1024)
        for piece in pieces:
            protocol.data_received(piece)
            await asyncio.sleep(0)
        await settle(protocol, rounds=2000)
        if protocol.task is not None:
            protocol.task.cancel()
        assert errors == []
        return bytes(transport.written)

    return asyncio.run(go())


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def assert_well_formed(written: bytes) -> None:
    responses = parse_responses(written)
    for response in responses:
        assert 100 <= response.status < 500 or response.status in (501, 505), response
    if written and not written.startswith(b"HTTP/1.1 100 Continue"):
        assert responses, written[:200]


def settings_for(runs: int):  # asyncio.run per example is fine; don't warn about it
    return settings(max_examples=runs, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_for(RUNS)
@given(st.binary(max_size=512), st.lists(st.integers(min_value=0), max_size=8))
def test_arbitrary_bytes_never_crash_the_protocol_nor_get_a_5xx(data, cuts):
    assert_well_formed(run(split(data, cuts)))


http_ish = st.lists(
    st.sampled_from(
        [
            b"GET ",
            b"POST ",
            b"/",
            b"a",
            b" HTTP/1.1",
            b" HTTP/1.0",
            b"\r\n",
            b"\n",
            b"Host: x",
            b"Content-Length: ",
            b"3",
            b"-1",
            b"Transfer-Encoding: chunked",
            b"0",
            b"abc",
            b":",
            b" ",
            b"\t",
            b"\x00",
            b"Expect: 100-continue",
            b"Connection: close",
            b"\xff",
            b";",
        ]
    ),
    max_size=40,
).map(b"".join)


@settings_for(RUNS)
@given(http_ish, st.lists(st.integers(min_value=0), max_size=8))
def test_near_miss_requests_never_crash_the_protocol_nor_get_a_5xx(data, cuts):
    assert_well_formed(run(split(data, cuts)))


@settings_for(RUNS)
@given(
    st.lists(st.sampled_from(VALID), min_size=1, max_size=4),
    st.lists(st.integers(min_value=0), max_size=12),
)
def test_valid_requests_split_anywhere_are_answered_as_when_sent_whole(requests, cuts):
    stream = b"".join(requests)
    whole = parse_responses(run([stream]))
    pieces = parse_responses(run(split(stream, cuts)))
    assert [(r.status, r.body) for r in pieces] == [(r.status, r.body) for r in whole]
    assert len(whole) >= 1

"""Chapter 02: the HTTP protocol, collecting each request whole."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from inspector.model import RequestTrace

from .client import read_exactly
from .serving import (
    WAIT,
    check_build,
    close_all,
    port_of,
)
from .traced import kept_which, pieces, requests, watch_server

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

# Three requests on one connection, each cut where a network may cut it.
REQUESTS = [
    (
        [
            b"POST /users/al",
            b"ice?tab=posts HTTP/1.1\r\nHost: x\r\nX-First: 1\r\nContent-Length: 11\r\n\r\nhello",
            b" world",
        ],
        ("POST", "/users/alice?tab=posts", {"host": "x", "x-first": "1"}, b"hello world"),
    ),
    (
        [
            b"POST /upload HTTP/1.1\r\nHost: x\r\nX-Second: 2\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n7\r\ngood b",
            b"y\r\n2\r\ne!\r\n0\r\n\r\n",
        ],
        ("POST", "/upload", {"host": "x", "x-second": "2"}, b"good bye!"),
    ),
    ([b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n"], ("GET", "/last", {"host": "x"}, b"")),
]


def _headers(headers: Any) -> dict[str, str]:
    try:
        pairs = list(headers.items())
    except AttributeError:
        raise Problem(f"the handler got headers={headers!r}: pass a dict of name -> value")
    if pairs and not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
        raise Problem(f"the handler got headers {dict(pairs)!r}: decode names and values to str")
    return {k.lower(): v for k, v in pairs}


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1", "replace")


def _split(what: str, callback: str, trace: RequestTrace | None, want: Any, got: Any) -> str:
    """Why the handler did not get `want` whole, from the pieces the trace saw `callback`
    given; "" when the trace did not see them all (then the answers alone speak)."""
    given = pieces(trace, callback)
    if len(given) < 2 or b"".join(given) != _bytes(want):
        return ""
    shown = ", ".join(repr(piece) for piece in given)
    said = (
        f"the {what} {want!r} came in {len(given)} pieces (the trace shows {callback} "
        f"given {shown}) and the handler got {got!r}"
    )
    which = kept_which(given, _bytes(got))
    if which:
        return f"{said}, {which}: keep every piece, add each one in {callback}"
    if not got:
        return f"{said}: none of them reached it. Collect every piece in {callback}"
    return ""


def _compare(
    number: int, got: tuple, expected: tuple, before: tuple | None, trace: RequestTrace | None
) -> None:
    method, url, headers, body = got
    want_method, want_url, want_headers, want_body = expected
    which = ("first", "second", "third")[number]
    for what, value, kind in (("method", method, str), ("url", url, str), ("body", body, bytes)):
        if not isinstance(value, kind):
            raise Problem(f"the handler got the {what} {value!r}: pass it as {kind.__name__}")
    if method != want_method:
        raise Problem(f"the {which} request was a {want_method}, the handler got {method!r}")
    if url != want_url:
        if before is not None and url.startswith(before[1]):
            raise Problem(
                f"the {which} request's URL was {want_url!r}, the handler got {url!r}: "
                "start the URL empty for each request, in on_message_begin"
            )
        split = _split("URL", "on_url", trace, want_url, url)
        if split:
            raise Problem(split)
        if want_url.endswith(url):
            raise Problem(
                f"the URL {want_url!r} came in two pieces and you kept only the last, "
                f"{url!r}: add each piece in on_url"
            )
        raise Problem(f"the {which} request's URL was {want_url!r}, the handler got {url!r}")
    headers = _headers(headers)
    if before is not None:
        stale = sorted(set(_headers(before[2])) - set(want_headers))
        carried = [name for name in stale if name in headers]
        if carried:
            raise Problem(
                f"the {which} request on the connection still carried the header "
                f"{carried[-1]!r} of the one before: start the headers empty for each "
                "request, in on_message_begin"
            )
    for name, value in want_headers.items():
        if headers.get(name) != value:
            raise Problem(
                f"the {which} request had the header {name}: {value}, the handler got "
                f"headers {headers!r}"
            )
    if body != want_body:
        if before is not None and before[3] and body.startswith(before[3]):
            raise Problem(
                f"the {which} request's body was {want_body!r}, the handler got {body!r}, "
                "the one before's included: start the body empty for each request"
            )
        split = _split("body", "on_body", trace, want_body, body)
        if split:
            raise Problem(split)
        if want_body.endswith(body):
            raise Problem(
                f"the body {want_body!r} came in pieces and you kept only the last, "
                f"{body!r}: collect every piece in on_body and join them at the end"
            )
        raise Problem(f"the {which} request's body was {want_body!r}, the handler got {body!r}")


async def _whole_requests(start_server: Callable, Server: type) -> None:
    seen: list[tuple] = []

    def handler(method: Any, url: Any, headers: Any, body: Any) -> bytes:
        copied = dict(headers) if hasattr(headers, "items") else headers
        seen.append((method, url, copied, body))
        return ANSWER

    trace = watch_server(Server)  # what httptools gave your callbacks, seen from outside
    server = await start_server(lambda: Server(handler), "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server, "start_server"))
        writers.append(writer)
        closed = Problem(
            "the connection closed after the first answer: keep it open, an "
            "HTTP/1.1 client may send its next request on it"
        )
        for number, (pieces, expected) in enumerate(REQUESTS):
            try:
                for piece in pieces:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.02)  # so that each piece is a data_received of its own
            except ConnectionError:
                raise closed
            got = await read_exactly(reader, len(ANSWER))
            if got is None:
                raise Problem(
                    f"no answer to request {number + 1} within {WAIT:g} s: on_message_complete "
                    "must call the handler and write the bytes it returns"
                )
            if got == b"" and number > 0:
                raise closed
            if got != ANSWER:
                raise Problem(
                    f"the client got {got!r} instead of the handler's answer {ANSWER!r}: "
                    "did data_received raise? (the handler takes method, url, headers, body)"
                )
            traced = [t for t in requests(trace) if t.req == number + 1]
            before = seen[number - 1] if number else None
            _compare(number, seen[number], expected, before, traced[-1] if traced else None)
    finally:
        await close_all(server, writers)


async def check_server(folder: Path | None = None) -> None:
    """Chapter 02's build: diy/server.py, Server, served by chapter 01's start_server."""
    await check_build(
        "whole requests, however they are cut, several on one connection",
        _whole_requests,
        [("01", "protocol", "start_server"), ("02", "server", "Server")],
        "02",
        folder,
    )

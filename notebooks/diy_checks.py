"""Checks of the framework you build, `diy`: real requests to your code, plain verdicts.

Each check imports your modules afresh from `diy/` in the notebook's folder, starts
them on real loopback sockets (port 0), sends requests the way clients do (in pieces,
several on one connection) and says what is wrong in words, as notebooks/checks.py
does. A part you have not written yet (the stub of the learner edition: its names are
None) gets "not yet"; a part from an earlier chapter that is missing names the chapter
to finish first.

A build cell's check, in its chapter:

    from diy_checks import check_protocol
    await check_protocol()
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from checks import FAILED, NOT_YET, Problem, check
from diy_magic import PACKAGE, forget

__all__ = ["check_protocol", "check_server", "Part"]

WAIT = 1.0  # seconds a client waits for an answer before it says there was none

Part = tuple[str, str, str]  # (chapter, module, name): ("01", "protocol", "start_server")


def _import(folder: Path, module: str) -> Any:
    """diy.<module> from `folder`, read from its file now; None if there is no file."""
    where = str(folder)
    if sys.path[:1] != [where]:
        with contextlib.suppress(ValueError):
            sys.path.remove(where)
        sys.path.insert(0, where)
    if not (folder / PACKAGE / f"{module}.py").exists():
        return None
    return importlib.import_module(f"{PACKAGE}.{module}")


async def _check_build(
    title: str,
    test: Callable[..., Awaitable[None]],
    parts: list[Part],
    chapter: str,
    folder: Path | None,
) -> None:
    """Load `parts` from diy/, then run `test(*objects)` through checks.check."""
    folder = folder or Path.cwd()
    forget()
    found = []
    for part_chapter, module, name in parts:
        where = f"{PACKAGE}/{module}.py"
        try:
            loaded = _import(folder, module)
        except Exception as exc:  # the learner's module does not even import
            print(f"{FAILED} {title}: {where} does not import: {type(exc).__name__}: {exc}")
            return
        value = getattr(loaded, name, None)
        if value is None or value is ...:
            if part_chapter == chapter:
                hint = f"write {name} in the build cell above ({where}), then run this again"
            else:
                hint = (
                    f"finish chapter {part_chapter} first: {where} has no {name} yet "
                    "(run that chapter's build cell in this same folder)"
                )
            print(f"{NOT_YET} {title}: {hint}")
            return
        found.append(value)
    await check(title, test, *found)


async def _read(reader: asyncio.StreamReader, size: int) -> bytes | None:
    """Exactly `size` bytes; b'' + what came if the connection closed; None on silence."""
    try:
        return await asyncio.wait_for(reader.readexactly(size), WAIT)
    except asyncio.IncompleteReadError as closed:
        return b"" + closed.partial
    except TimeoutError:
        return None


async def _close(server: Any, writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    if hasattr(server, "close"):
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), WAIT)


def _port(server: Any, name: str) -> int:
    if not getattr(server, "sockets", None):
        raise Problem(
            f"{name} returned {server!r}: return the server loop.create_server gives you, "
            "so that its caller can find its port and close it"
        )
    return server.sockets[0].getsockname()[1]


# Chapter 01: a protocol on asyncio's transports, one object per connection.


async def _echo_per_connection(EchoProtocol: type, start_server: Callable) -> None:
    made: list[Any] = []

    def factory() -> Any:
        protocol = EchoProtocol()
        made.append(protocol)
        return protocol

    server = await start_server(factory, "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    try:
        port = _port(server, "start_server")
        alice = await asyncio.open_connection("127.0.0.1", port)
        bob = await asyncio.open_connection("127.0.0.1", port)
        writers += [alice[1], bob[1]]
        await asyncio.sleep(0.05)  # both connected before anyone speaks
        if len(made) < 2:
            raise Problem(
                f"two clients connected and your start_server made {len(made)} protocol "
                "object: all connections share it. Give create_server the factory itself, "
                "so that it makes a new protocol per connection (not `lambda: protocol`)"
            )
        for turn in (1, 2):
            for name, (reader, writer), other in (("Alice", alice, bob), ("Bob", bob, alice)):
                sent = f"{name} says {turn}".encode()
                writer.write(sent)
                got = await _read(reader, len(sent))
                if got is None:
                    elsewhere = await _read(other[0], len(sent))
                    if elsewhere == sent:
                        raise Problem(
                            f"{name}'s message {sent!r} was echoed to the other client: the "
                            "protocols share one transport. Keep it on self in "
                            "connection_made, not on the class or in a global"
                        )
                    raise Problem(
                        f"{name} sent {sent!r} and got no answer within {WAIT:g} s: "
                        "data_received must write the data back with self.transport.write"
                    )
                if got == b"" and turn == 2:
                    raise Problem(
                        f"{name}'s connection closed after the first answer: do not close "
                        "the transport in data_received, a client may send more"
                    )
                if got == b"":
                    raise Problem(
                        f"{name}'s connection closed with no answer: did data_received "
                        "raise? (transport.write takes bytes, not str)"
                    )
                if got != sent:
                    raise Problem(f"{name} sent {sent!r} and got back {got!r}: echo it as it is")
    finally:
        await _close(server, writers)


async def check_protocol(folder: Path | None = None) -> None:
    """Chapter 01's build: diy/protocol.py, EchoProtocol and start_server."""
    await _check_build(
        "each connection gets its own protocol, and its own echo",
        _echo_per_connection,
        [("01", "protocol", "EchoProtocol"), ("01", "protocol", "start_server")],
        "01",
        folder,
    )


# Chapter 02: the HTTP protocol, collecting each request whole.

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


def _compare(number: int, got: tuple, expected: tuple, before: tuple | None) -> None:
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

    server = await start_server(lambda: Server(handler), "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(server, "start_server"))
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
            got = await _read(reader, len(ANSWER))
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
            _compare(number, seen[number], expected, seen[number - 1] if number else None)
    finally:
        await _close(server, writers)


async def check_server(folder: Path | None = None) -> None:
    """Chapter 02's build: diy/server.py, Server, served by chapter 01's start_server."""
    await _check_build(
        "whole requests, however they are cut, several on one connection",
        _whole_requests,
        [("01", "protocol", "start_server"), ("02", "server", "Server")],
        "02",
        folder,
    )

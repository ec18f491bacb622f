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
import inspect
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from checks import FAILED, NOT_YET, Problem, check
from diy_magic import PACKAGE, forget

__all__ = [
    "check_protocol",
    "check_server",
    "check_request",
    "check_response",
    "check_application",
    "check_routes",
    "check_middlewares",
    "check_hooks",
    "check_exceptions",
    "check_graceful",
    "check_sample_app",
    "Part",
]

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
    if module == "__init__":  # the package itself: `from diy import ...`
        return importlib.import_module(PACKAGE)
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
        closing = server.close()
        if inspect.isawaitable(closing):  # chapter 07's serve() returns its own server
            await closing
        if hasattr(server, "wait_closed"):
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


# Chapter 03: Request and Response, read from and written to the wire.

CAFE = (
    b"POST /caf%C3%A9/menu?tab=posts&tab=drinks HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json; charset=utf-8\r\nContent-Length: 16\r\n\r\n"
    + '{"name": "zoë"}'.encode()
)


async def _exchange(start_server: Callable, Server: type, handler: Callable, requests: list):
    """Send `requests` on one connection, one after the other; all the bytes answered."""
    server = await start_server(lambda: Server(handler), "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    received = b""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(server, "start_server"))
        writers.append(writer)
        for raw in requests:
            writer.write(raw)
            await writer.drain()
            while True:  # everything the server says until it pauses
                try:
                    more = await asyncio.wait_for(reader.read(65536), 0.2)
                except TimeoutError:
                    break
                received += more
                if not more:
                    break
    finally:
        await _close(server, writers)
    return received


async def _request_reads_the_wire(start_server: Callable, Server: type, Request: type) -> None:
    import yarl

    made: list[Any] = []

    def handler(method: str, url: str, headers: dict, body: bytes) -> bytes:
        made.append(Request(method, url, headers, body=body))
        return ANSWER

    await _exchange(start_server, Server, handler, [CAFE])
    if not made:
        raise Problem("the handler never ran: does your chapter 02 Server still pass the check?")
    request = made[0]
    if request.method != "POST":
        raise Problem(f"request.method is {request.method!r} for a POST")
    if not isinstance(request.url, yarl.URL):
        raise Problem(
            f"request.url is a {type(request.url).__name__}: make it a yarl.URL, "
            "which parses the path and the query for you"
        )
    if request.path != "/café/menu":
        raise Problem(
            f"the client asked for /caf%C3%A9/menu and request.path is {request.path!r}: "
            "give the decoded path, url.path (url.raw_path is the one still %-encoded)"
        )
    query = request.query
    tabs = query.getall("tab", None) if hasattr(query, "getall") else None
    if tabs != ["posts", "drinks"]:
        raise Problem(
            f"the query was ?tab=posts&tab=drinks and request.query is {query!r}: keep "
            "repeated keys, url.query is a MultiDict that does"
        )
    try:
        kind = request.headers["content-type"]
    except KeyError:
        raise Problem(
            "request.headers['content-type'] is missing, the client sent Content-Type: "
            "header names are case-insensitive (RFC 9110 5.1), keep them in a CIMultiDict"
        )
    if kind != "application/json; charset=utf-8":
        raise Problem(f"request.headers['content-type'] is {kind!r}")
    text = await request.text()
    if text != '{"name": "zoë"}':
        raise Problem(
            f'the body was the UTF-8 of \'{{"name": "zoë"}}\', request.text() gave {text!r}: '
            "decode it with the charset of Content-Type, UTF-8 when there is none"
        )
    data = await request.json()
    if data != {"name": "zoë"}:
        raise Problem(f"request.json() gave {data!r} for the body {text!r}")


async def check_request(folder: Path | None = None) -> None:
    """Chapter 03's first build: diy/request.py, Request, made from what the Server reads."""
    await _check_build(
        "a Request made from the wire: method, decoded path, query, headers, body",
        _request_reads_the_wire,
        [
            ("01", "protocol", "start_server"),
            ("02", "server", "Server"),
            ("03", "request", "Request"),
        ],
        "03",
        folder,
    )


class _Message:
    """A client's view of one response, from httptools' callbacks."""

    def __init__(self) -> None:
        self.body = b""
        self.headers: dict[str, str] = {}
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:  # the first response's, not the next one's
            self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


ANSWERS = [
    ("héllo wörld ✓", 201, "Created", {"X-Served-By": "diy"}),
    ("no such page", 404, "Not Found", {}),
]


def _head(raw: bytes, status: int, reason: str, text: str) -> None:
    """Say in words what is wrong with one response's head, as a strict client sees it."""
    if not raw.startswith(f"HTTP/1.1 {status} ".encode()):
        raise Problem(f"a {status} response starts {raw[:20]!r}: start with 'HTTP/1.1 {status} '")
    line = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
    if line != f"HTTP/1.1 {status} {reason}":
        raise Problem(
            f"the status line is {line!r}: the reason phrase of {status} is {reason!r} "
            "(http.HTTPStatus(status).phrase)"
        )
    if b"\r\n\r\n" not in raw or b"\n" in raw.split(b"\r\n\r\n")[0].replace(b"\r\n", b""):
        raise Problem(
            "a line of the head ends in \\n alone: every line ends in \\r\\n, and an empty "
            "line ends the head (RFC 9112 2.1)"
        )
    head = raw.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    fields = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in head)}
    length, size = fields.get("content-length"), len(text.encode())
    if length != str(size):
        raise Problem(
            f"the body {text!r} is {size} bytes in UTF-8 and Content-Length says {length}: "
            "count the bytes of the encoded body, not the characters of the text"
        )


async def _response_on_the_wire(start_server: Callable, Server: type, Response: type) -> None:
    import httptools

    wire = []
    for text, status, _, headers in ANSWERS:
        raw = Response(text, status=status, headers=dict(headers)).encode()
        if not isinstance(raw, bytes):
            raise Problem(f"Response.encode() returned a {type(raw).__name__}: return bytes")
        wire.append(raw)
    answers = iter(wire)

    def handler(method: str, url: str, headers: dict, body: bytes) -> bytes:
        return next(answers)

    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    received = await _exchange(start_server, Server, handler, [get, get])
    rest = received
    for (text, status, reason, headers), raw in zip(ANSWERS, wire, strict=True):
        _head(raw, status, reason, text)
        message = _Message()
        parser = httptools.HttpResponseParser(message)
        try:
            parser.feed_data(rest)
        except httptools.HttpParserUpgrade:  # pragma: no cover - not sent here
            pass
        except httptools.HttpParserError as exc:
            if not message.complete:
                raise Problem(f"a client cannot parse your {status} response: {exc}")
        if not message.complete or message.body != text.encode():
            raise Problem(f"the client read the body {message.body!r} for {text!r}")
        kind = message.headers.get("content-type")
        if kind != "text/plain; charset=utf-8":
            raise Problem(
                f"the {status} response's Content-Type is {kind!r}: a str body is sent as "
                "'text/plain; charset=utf-8', so that clients know how to decode it"
            )
        for name, value in headers.items():
            if message.headers.get(name.lower()) != value:
                raise Problem(
                    f"Response(..., headers={headers!r}) did not send {name}: {value}: "
                    "write the headers you were given too"
                )
        rest = rest[len(raw) :]


async def check_response(folder: Path | None = None) -> None:
    """Chapter 03's second build: diy/response.py, Response and its bytes on the wire."""
    await _check_build(
        "responses every client reads whole, two on one connection",
        _response_on_the_wire,
        [
            ("01", "protocol", "start_server"),
            ("02", "server", "Server"),
            ("03", "response", "Response"),
        ],
        "03",
        folder,
    )


# Chapters 04-06: the Application, served by your own framework, asked over real sockets.


class _Answer:
    """One response as a client reads it: status, headers (lower-case names), body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.text = body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"{self.status} {self.text!r}"


async def _ask(
    port: int, method: str, target: str, writers: list, connection: tuple | None = None
) -> _Answer | None:
    """Send one request on a new connection (or on `connection`, a (reader, writer) of an
    earlier one); its answer, or None if none came in time."""
    import httptools

    if connection is None:
        connection = await asyncio.open_connection("127.0.0.1", port)
        writers.append(connection[1])
    reader, writer = connection
    writer.write(f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    message = _Message()
    parser = httptools.HttpResponseParser(message)
    received = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not message.complete:
        left = deadline - loop.time()
        try:
            more = await asyncio.wait_for(reader.read(65536), max(left, 0.001))
        except TimeoutError:
            return None
        except ConnectionError:
            more = b""
        if not more:
            if received:
                raise Problem(
                    f"{method} {target}: the connection closed in the middle of the response "
                    f"{received[:60]!r}"
                )
            return None
        received += more
        try:
            parser.feed_data(more)
        except httptools.HttpParserError as exc:
            raise Problem(f"{method} {target}: a client cannot parse the response: {exc}")
    return _Answer(parser.get_status_code(), message.headers, message.body)


class _LoopErrors:
    """What the loop's exception handler is told while a check runs, kept to explain."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __enter__(self) -> _LoopErrors:
        import logging

        logging.disable(logging.CRITICAL)  # a traceback logged by your server is expected here
        self.loop = asyncio.get_running_loop()
        self.before = self.loop.get_exception_handler()
        self.loop.set_exception_handler(lambda loop, context: self.seen.append(context))
        return self

    def __exit__(self, *exc: object) -> None:
        import gc
        import logging

        gc.collect()  # a Task nobody kept reports its lost exception when it is collected
        self.loop.set_exception_handler(self.before)
        logging.disable(logging.NOTSET)

    def explain(self) -> str:
        """The first error the loop saw, in words, or ''."""
        import gc

        gc.collect()
        for context in self.seen:
            error = context.get("exception")
            message = context.get("message", "")
            if error is None:
                continue
            what = f"{type(error).__name__}: {error}"
            if "never retrieved" in message:
                return (
                    f"the handler's Task ended with {what}, and nobody retrieved that "
                    "exception, so the client was never answered: catch it in the Task "
                    "and answer 500"
                )
            if "data_received" in message:
                if isinstance(error, RuntimeError) and "loop" in str(error):
                    return (
                        f"data_received failed with {what}: hand_off runs inside the loop "
                        "that is already running, so it cannot run the handler to its end "
                        "(asyncio.run, run_until_complete): start a Task with "
                        "loop.create_task(...) and return at once"
                    )
                return (
                    f"data_received failed with {what}: the Server calls its handler "
                    "synchronously and writes the bytes it returns, so hand_off must start "
                    "a Task for the async handler and return b'' at once"
                )
            return f"the loop reported {message!r}: {what}"
        return ""


def _expect(answer: _Answer | None, method: str, target: str, status: int, errors: _LoopErrors):
    if answer is None:
        why = errors.explain()
        raise Problem(
            f"{method} {target} got no answer within {WAIT:g} s"
            + (f": {why}" if why else ": does the Task write the response to the transport?")
        )
    if answer.status == 400 and status != 400:
        raise Problem(
            f"{method} {target} was answered 400 Bad Request: your Server answers 400 when "
            "the parser fails, and httptools reports an exception raised in a callback as a "
            "parse error, so hand_off raised. The Server calls it synchronously, from "
            "on_message_complete: it cannot run the handler there (asyncio.run, "
            "run_until_complete refuse inside the running loop). Start a Task with "
            "loop.create_task(...) and return b'' at once"
        )
    if answer.status != status:
        raise Problem(f"{method} {target} answered {answer!r}, expected a {status}")
    return answer


async def _app_routes(Application: type, serve: Callable) -> None:
    app = Application()
    release = asyncio.Event()
    tasks: list[Any] = []

    async def index(request: Any) -> Any:
        return _response(request, "index")

    async def list_users(request: Any) -> Any:
        return _response(request, "the users")

    async def create_user(request: Any) -> Any:
        return _response(request, "created", 201)

    async def slow(request: Any) -> Any:
        tasks.append(asyncio.current_task())
        await asyncio.wait_for(release.wait(), WAIT)
        return _response(request, "slow done")

    async def fast(request: Any) -> Any:
        tasks.append(asyncio.current_task())
        release.set()
        return _response(request, "released")

    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug in a handler")

    app.router.add_route("GET", "/", index)
    app.router.add_route("GET", "/users", list_users)
    app.router.add_route("POST", "/users", create_user)
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("GET", "/release", fast)
    app.router.add_route("GET", "/broken", broken)

    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = _port(server, "serve")
            got = _expect(await _ask(port, "GET", "/", writers), "GET", "/", 200, errors)
            if got.text != "index":
                raise Problem(f"GET / answered {got!r}: the handler of GET / says 'index'")
            for method, want, status in (("GET", "the users", 200), ("POST", "created", 201)):
                got = await _ask(port, method, "/users", writers)
                if got is not None and got.status == 404:
                    raise Problem(
                        f"{method} /users got a 404, and /users is the second route added: "
                        "try every route before deciding, do not give up at the first that "
                        "does not match"
                    )
                if got is not None and got.text in ("the users", "created") and got.text != want:
                    raise Problem(
                        f"{method} /users was answered {got.text!r}, the {method} handler's is "
                        f"{want!r}: a route is a method and a path, compare both"
                    )
                _expect(got, method, "/users", status, errors)
            got = await _ask(port, "DELETE", "/users", writers)
            if got is not None and got.status == 404:
                raise Problem(
                    "DELETE /users got 404: the path exists, only the method is wrong, and "
                    "that is a 405 Method Not Allowed (RFC 9110 15.5.6)"
                )
            got = _expect(got, "DELETE", "/users", 405, errors)
            allow = got.headers.get("allow")
            if allow is None:
                raise Problem(
                    "the 405 for DELETE /users has no Allow header: a 405 must say which "
                    "methods would work (RFC 9110 15.5.6), here 'GET, POST'"
                )
            if sorted(m.strip() for m in allow.split(",")) != ["GET", "POST"]:
                raise Problem(f"the 405 for DELETE /users says Allow: {allow}, not GET, POST")
            _expect(await _ask(port, "GET", "/nope", writers), "GET", "/nope", 404, errors)
            # A handler that waits, and another request answered meanwhile.
            waiting = asyncio.ensure_future(_ask(port, "GET", "/slow", writers))
            await asyncio.sleep(0.05)
            got = await _ask(port, "GET", "/release", writers)
            _expect(got, "GET", "/release", 200, errors)
            got = _expect(await waiting, "GET", "/slow", 200, errors)
            if None in tasks or len(set(map(id, tasks))) != 2:
                raise Problem(
                    "the two handlers did not each run in a Task of their own: start one "
                    "Task per request with loop.create_task(...)"
                )
            got = await _ask(port, "GET", "/broken", writers)
            if got is None:
                why = errors.explain() or "catch it in the Task and answer 500"
                raise Problem(
                    f"GET /broken raised RuntimeError in its handler and the client got no "
                    f"answer within {WAIT:g} s: {why}"
                )
            _expect(got, "GET", "/broken", 500, errors)
            if "a bug in a handler" in got.text:
                raise Problem(
                    "the 500 tells the client the exception's text: say only "
                    "'500: Internal Server Error', and log the details on the server"
                )
        finally:
            release.set()
            await _close(server, writers)


_RESPONSE: list[type] = []


def _response(request: Any, text: str, status: int = 200) -> Any:
    """The learner's own Response, as their handlers make it."""
    return _RESPONSE[0](text, status=status)


# What every chapter from 04 on stands on: the earlier chapters' parts, by chapter.
_FOUNDATION: list[Part] = [
    ("01", "protocol", "start_server"),
    ("02", "server", "Server"),
    ("03", "request", "Request"),
    ("03", "response", "Response"),
]


def _on_app(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """test(Application, serve, *more), given the foundation's parts before them."""

    async def run(start_server: Any, Server: Any, Request: Any, Response: Any, *parts: Any):
        _RESPONSE[:] = [Response]
        await test(*parts)

    return run


async def check_application(folder: Path | None = None) -> None:
    """Chapter 04's build: diy/router.py and diy/application.py, served by your Server."""
    await _check_build(
        "a Task per request, routed by method and path, 404 and 405 with Allow",
        _on_app(lambda UrlDispatcher, Application, serve: _app_routes(Application, serve)),
        _FOUNDATION
        + [
            ("04", "router", "UrlDispatcher"),
            ("04", "application", "Application"),
            ("04", "application", "serve"),
        ],
        "04",
        folder,
    )


# Chapter 05: route parameters, anchored, decoded, with their regexes.


async def _route_params(Application: type, serve: Callable, UrlDispatcher: type) -> None:
    app = Application()

    def answer(label: str) -> Callable:
        async def handler(request: Any) -> Any:
            params = getattr(request, "match_info", None)
            if not isinstance(params, dict) and not hasattr(params, "items"):
                return _response(request, f"no match_info: {params!r}")
            text = " ".join(f"{value}" for value in dict(params).values())
            return _response(request, f"{label} {text}".strip())

        return handler

    app.router.add_route("GET", "/users/{name}", answer("user"))
    app.router.add_route("GET", r"/orders/{id:\d+}", answer("order"))
    app.router.add_route("GET", "/files/{path:.+}", answer("file"))
    app.router.add_route("GET", "/v1.0/status", answer("status"))

    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = _port(server, "serve")

            async def get(target: str, method: str = "GET") -> _Answer | None:
                return await _ask(port, method, target, writers)

            got = await get("/users/ada")
            if got is not None and got.status == 404:
                raise Problem(
                    "GET /users/ada got 404 from the route /users/{name}: compile the path to "
                    "a regex where {name} is a named group for one path segment"
                )
            got = _expect(got, "GET", "/users/ada", 200, errors)
            if got.text.startswith("no match_info"):
                raise Problem(
                    f"the handler found request.match_info = {got.text[15:]}: set it to the "
                    "dict of the named groups, {'name': 'ada'}"
                )
            if got.text != "user ada":
                raise Problem(
                    f"GET /users/ada: the handler found match_info giving {got.text!r}, "
                    "expected {'name': 'ada'}"
                )
            got = await get("/users/ada/posts")
            if got is not None and got.status == 200:
                if got.text == "user ada":
                    raise Problem(
                        "GET /users/ada/posts matched /users/{name} as name='ada': re.match "
                        "anchors only at the start of the path. Match the whole path "
                        "(pattern.fullmatch), or /users/1/delete reaches the handler of /users/1"
                    )
                raise Problem(
                    f"GET /users/ada/posts matched /users/{{name}} ({got.text!r}): {{name}} "
                    "is one path segment, [^{}/]+, never a slash"
                )
            _expect(got, "GET", "/users/ada/posts", 404, errors)
            got = await get("/users/jean-luc")
            if got is not None and got.status == 404:
                raise Problem(
                    "GET /users/jean-luc got 404: {name} matches any one path segment, "
                    "[^{}/]+, not only word characters (the guide's \\w+)"
                )
            got = _expect(got, "GET", "/users/jean-luc", 200, errors)
            got = _expect(await get("/users/b%C3%B6b"), "GET", "/users/b%C3%B6b", 200, errors)
            if got.text != "user böb":
                raise Problem(
                    f"GET /users/b%C3%B6b gave the handler {got.text[5:]!r} as name: match "
                    "against the decoded path, request.path ('/users/böb'), not "
                    "request.url.raw_path"
                )
            got = _expect(await get("/orders/42"), "GET", "/orders/42", 200, errors)
            if got.text != "order 42":
                raise Problem(f"GET /orders/42 gave {got.text!r}, expected id '42'")
            got = await get("/orders/abc")
            if got is not None and got.status == 200:
                raise Problem(
                    "GET /orders/abc matched /orders/{id:\\d+}: in {name:regex} the regex "
                    "says what the variable matches, here only digits"
                )
            _expect(got, "GET", "/orders/abc", 404, errors)
            got = await get("/files/docs/a.txt")
            if got is not None and got.status == 404:
                raise Problem(
                    "GET /files/docs/a.txt got 404 from /files/{path:.+}: use the regex "
                    "after the colon, which here lets the variable hold a slash"
                )
            got = _expect(got, "GET", "/files/docs/a.txt", 200, errors)
            if got.text != "file docs/a.txt":
                raise Problem(f"GET /files/docs/a.txt gave {got.text!r}, expected 'docs/a.txt'")
            _expect(await get("/v1.0/status"), "GET", "/v1.0/status", 200, errors)
            got = await get("/v1x0/status")
            if got is not None and got.status == 200:
                raise Problem(
                    "GET /v1x0/status matched the route /v1.0/status: the '.' went into the "
                    "regex as 'any character'. Escape the literal parts (re.escape)"
                )
            _expect(got, "GET", "/v1x0/status", 404, errors)
            got = _expect(await get("/orders/42", "DELETE"), "DELETE", "/orders/42", 405, errors)
            if got.headers.get("allow") != "GET":
                raise Problem(
                    f"the 405 for DELETE /orders/42 says Allow: {got.headers.get('allow')}, "
                    "expected GET"
                )
            _expect(await get("/orders/abc", "DELETE"), "DELETE", "/orders/abc", 404, errors)
        finally:
            await _close(server, writers)


async def check_routes(folder: Path | None = None) -> None:
    """Chapter 05's build: diy/router.py again, with {name} and {name:regex}."""
    await _check_build(
        "route parameters: whole paths, decoded values, their regexes, 404 and 405",
        _on_app(_route_params),
        _FOUNDATION
        + [
            ("04", "application", "Application"),
            ("04", "application", "serve"),
            ("05", "router", "UrlDispatcher"),
        ],
        "05",
        folder,
    )


# Chapter 06: middlewares, the first listed outermost.

ONION = ["outer: before", "inner: before", "handler", "inner: after", "outer: after"]


async def _onion(Application: type, serve: Callable, middleware: Callable) -> None:
    order: list[str] = []

    async def outer(request: Any, handler: Callable) -> Any:
        order.append("outer: before")
        response = await handler(request)
        order.append("outer: after")
        # Replace what the layers inside gave: only the chain's result says "outer".
        return _response(request, "wrapped by outer", getattr(response, "status", 200))

    async def inner(request: Any, handler: Callable) -> Any:
        order.append("inner: before")
        if request.path == "/private":
            order.append("inner: refused")
            return _response(request, "401: Unauthorized", 401)  # a short-circuit
        response = await handler(request)
        order.append("inner: after")
        return response

    async def hello(request: Any) -> Any:
        order.append("handler")
        return _response(request, "hello")

    marked = [middleware(outer), middleware(inner)]
    if marked != [outer, inner]:
        raise Problem(
            f"middleware(outer) returned {marked[0]!r}: the decorator must return the "
            "function it was given (it only marks it)"
        )
    try:
        app = Application(middlewares=[outer, inner])
    except TypeError as exc:
        raise Problem(
            f"Application(middlewares=[...]) raised TypeError: {exc}. Write the "
            "application.py build cell of this chapter, whose Application takes middlewares"
        )
    app.router.add_route("GET", "/hello", hello)
    app.router.add_route("GET", "/private", hello)

    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = _port(server, "serve")
            got = await _ask(port, "GET", "/hello", writers)
            if order == [] and got is not None and got.text == "hello":
                raise Problem(
                    "GET /hello was answered without running any middleware: call the "
                    "onion of middlewares, not the handler alone"
                )
            if order.count("handler") > 1:
                raise Problem(
                    f"the handler ran {order.count('handler')} times for one request "
                    f"({order}): call only the outermost layer; each layer calls the next, "
                    "and the innermost calls the handler"
                )
            if order[:2] == ["inner: before", "outer: before"]:
                raise Problem(
                    f"with middlewares=[outer, inner] the layers ran {order}: the onion is "
                    "inside out (the guide's loop wraps the last listed outermost). Wrap "
                    "from the last to the first, so the first listed is the outermost, as "
                    "in aiohttp"
                )
            if "inner: before" not in order:
                raise Problem(
                    f"with middlewares=[outer, inner] the layers ran {order}: inner never "
                    "ran. Each layer's handler is the next layer, not the bare handler"
                )
            if order != ONION:
                raise Problem(f"with middlewares=[outer, inner] the layers ran {order}")
            got = _expect(got, "GET", "/hello", 200, errors)
            if got.text != "wrapped by outer":
                raise Problem(
                    f"GET /hello was answered {got.text!r}, and the outermost middleware "
                    "returned 'wrapped by outer': send what the chain returns"
                )
            order.clear()
            got = _expect(
                await _ask(port, "GET", "/private", writers), "GET", "/private", 401, errors
            )
            if "handler" in order:
                raise Problem(
                    f"inner answered /private on its own and the handler ran anyway "
                    f"({order}): a middleware that does not call handler short-circuits"
                )
            order.clear()
            got = _expect(await _ask(port, "GET", "/nope", writers), "GET", "/nope", 404, errors)
            if order != ["outer: before", "inner: before", "inner: after", "outer: after"]:
                raise Problem(
                    f"GET /nope went through the layers {order}: a 404 or 405 is a handler "
                    "too, wrap it in the middlewares as any other (as aiohttp does)"
                )
        finally:
            await _close(server, writers)


async def check_middlewares(folder: Path | None = None) -> None:
    """Chapter 06's build: diy/middleware.py and diy/application.py with middlewares."""
    await _check_build(
        "the onion: the first middleware listed is the outermost, each calls the next",
        _on_app(_onion),
        _FOUNDATION
        + [
            ("06", "application", "Application"),
            ("06", "application", "serve"),
            ("06", "middleware", "middleware"),
        ],
        "06",
        folder,
    )


# Chapter 07: lifecycle hooks, in order, around serving.


async def _hooks(Application: type, serve: Callable, run_app: Callable) -> None:
    told: list[str] = []

    def hook(name: str, pause: float = 0.0) -> Callable:
        async def run(app: Any) -> None:
            if not isinstance(app, Application):
                raise Problem(f"the hook {name} was given {app!r}: call each hook with the app")
            told.append(f"{name}: start")
            await asyncio.sleep(pause)
            told.append(f"{name}: end")

        run.__name__ = name
        return run

    async def open_db(app: Any) -> None:
        app.db = {"john_doe"}  # as the guide's sample application's on_startup does

    async def welcome(request: Any) -> Any:
        told.append("request")
        db = getattr(request.app, "db", None)
        return _response(request, f"db: {sorted(db) if db else db}")

    app = Application()
    for name in ("on_startup", "on_shutdown", "on_cleanup"):
        if not isinstance(getattr(app, name, None), list):
            raise Problem(
                f"app.{name} is {getattr(app, name, None)!r}: make it a list that hooks are "
                f"appended to (app.{name}.append(hook))"
            )
    app.on_startup.append(hook("warm", 0.05))
    app.on_startup.append(hook("connect"))
    app.on_startup.append(open_db)
    app.on_shutdown.append(hook("goodbye"))
    app.on_cleanup.append(hook("disconnect"))
    app.router.add_route("GET", "/", welcome)

    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        closed = False
        try:
            port = _port(server, "serve")
            started = list(told)
            if not started:
                raise Problem(
                    "serve() returned and no on_startup hook had run: await app.startup() "
                    "in serve(), before the server listens"
                )
            if started[:3] == ["warm: start", "connect: start", "connect: end"]:
                raise Problem(
                    f"the on_startup hooks ran at the same time ({started}), as the guide's "
                    "asyncio.gather runs them: run them one after another, in the order "
                    "added, so that a hook can rely on the one before it"
                )
            if started != ["warm: start", "warm: end", "connect: start", "connect: end"]:
                raise Problem(f"serve() ran the hooks {started}: only on_startup, in order")
            got = _expect(await _ask(port, "GET", "/", writers), "GET", "/", 200, errors)
            if got.text != "db: ['john_doe']":
                raise Problem(
                    f"the handler found request.app.db {got.text[4:]}: the on_startup hook "
                    "set app.db, and request.app must be the app that was served"
                )
            if not hasattr(server, "close") or not inspect.iscoroutinefunction(server.close):
                raise Problem(
                    f"serve() returned {server!r}, whose close() is not async: return an "
                    "object whose `async def close()` stops listening, then runs "
                    "on_shutdown and on_cleanup"
                )
            del told[:]
            closed = True
            await _close(server, writers)
            if told == []:
                raise Problem(
                    "await server.close() ran no hook: after it stops listening, run "
                    "app.on_shutdown's hooks, then app.on_cleanup's"
                )
            if told != ["goodbye: start", "goodbye: end", "disconnect: start", "disconnect: end"]:
                raise Problem(
                    f"closing ran {told}: on_shutdown first (goodbye), then on_cleanup "
                    "(disconnect), as in aiohttp"
                )
        finally:
            if not closed:
                await _close(server, writers)
    try:
        coroutine_free = run_app(app, "127.0.0.1", 0)
    except Exception as exc:  # inside a running loop it must refuse, and say what to do
        if "serve" not in str(exc):
            raise Problem(
                f"run_app(app), called where a loop is already running (this notebook), "
                f"raised {type(exc).__name__}: {exc}. Check for a running loop first and "
                "name the way that works here: `await serve(app)`"
            )
    else:
        if inspect.isawaitable(coroutine_free):
            coroutine_free.close()
            raise Problem(
                "run_app(app) returned a coroutine: it is for scripts, a plain function that "
                "runs the loop itself (asyncio.run) until Ctrl-C"
            )
        raise Problem("run_app(app) returned inside a running loop: refuse, naming serve()")


async def check_hooks(folder: Path | None = None) -> None:
    """Chapter 07's build: diy/application.py with hooks, serve() and run_app()."""
    await _check_build(
        "hooks one after another: on_startup before serving, on_shutdown then on_cleanup",
        _on_app(_hooks),
        _FOUNDATION
        + [
            ("07", "application", "Application"),
            ("07", "application", "serve"),
            ("07", "application", "run_app"),
        ],
        "07",
        folder,
    )


# Chapter 08: HTTP exceptions are responses; any other exception is a 500 that tells nothing.

SECRET = "password=hunter2 <script>alert(1)</script>"


async def _http_exceptions(
    Application: type,
    serve: Callable,
    HTTPException: type,
    HTTPNotFound: type,
    HTTPFound: type,
    HTTPForbidden: type,
) -> None:
    Response = _RESPONSE[0]
    missing = HTTPNotFound()
    if not isinstance(missing, Exception):
        raise Problem("HTTPNotFound() is not an Exception: HTTPException subclasses Exception too")
    if not isinstance(missing, Response):
        raise Problem(
            "HTTPNotFound() is not a Response: make HTTPException subclass both Response and "
            "Exception, so that what a handler raises is what the framework sends"
        )

    async def guard(request: Any, handler: Callable) -> Any:
        if request.path == "/private":
            raise HTTPForbidden()  # a middleware refuses, by raising
        return await handler(request)

    async def user(request: Any) -> Any:
        if request.match_info.get("name") != "ada":
            raise HTTPNotFound()
        return _response(request, "hello ada")

    async def old(request: Any) -> Any:
        raise HTTPFound("/users/ada")

    async def broken(request: Any) -> Any:
        raise KeyError(SECRET)

    async def private(request: Any) -> Any:
        return _response(request, "the private page")

    app = Application(middlewares=[guard])
    app.router.add_route("GET", "/users/{name}", user)
    app.router.add_route("GET", "/old", old)
    app.router.add_route("GET", "/broken", broken)
    app.router.add_route("GET", "/private", private)

    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = _port(server, "serve")
            _expect(
                await _ask(port, "GET", "/users/ada", writers), "GET", "/users/ada", 200, errors
            )
            got = await _ask(port, "GET", "/users/bob", writers)
            if got is not None and got.status == 200:
                raise Problem(
                    f"the handler raised HTTPNotFound() and the client got {got!r}: give "
                    "each subclass its status (status_code = 404) and pass it to "
                    "Response.__init__ as status"
                )
            if got is not None and got.status == 500:
                raise Problem(
                    "the handler raised HTTPNotFound() and the client got a 500: catch "
                    "HTTPException in the Application and send it, it is a Response"
                )
            got = _expect(got, "GET", "/users/bob", 404, errors)
            if got.text != "404: Not Found":
                raise Problem(
                    f"HTTPNotFound() was sent with the body {got.text!r}: with no text given, "
                    "the body is the status and its phrase, '404: Not Found', as in aiohttp"
                )
            got = _expect(await _ask(port, "GET", "/old", writers), "GET", "/old", 302, errors)
            if got.headers.get("location") != "/users/ada":
                raise Problem(
                    f"HTTPFound('/users/ada') was sent with Location: "
                    f"{got.headers.get('location')}: set the Location header to its argument"
                )
            got = await _ask(port, "GET", "/private", writers)
            if got is not None and got.status == 500:
                raise Problem(
                    "a middleware raised HTTPForbidden() and the client got a 500: catch "
                    "HTTPException around the whole chain, middlewares included, not only "
                    "around the handler"
                )
            got = _expect(got, "GET", "/private", 403, errors)
            got = _expect(
                await _ask(port, "GET", "/broken", writers), "GET", "/broken", 500, errors
            )
            for leak in ("hunter2", "KeyError", "Traceback", "<script>"):
                if leak in got.text:
                    raise Problem(
                        f"the 500 for a KeyError tells the client {got.text[:80]!r}: the "
                        "exception's text and traceback may hold secrets (here a password) "
                        "or what a client sent (a script): log them, and answer only "
                        "'500: Internal Server Error'"
                    )
        finally:
            await _close(server, writers)


async def check_exceptions(folder: Path | None = None) -> None:
    """Chapter 08's build: diy/exceptions.py, and diy/application.py that sends them."""
    await _check_build(
        "HTTP exceptions raised by handlers and middlewares are the answer; a bug is a bare 500",
        _on_app(_http_exceptions),
        _FOUNDATION
        + [
            ("08", "application", "Application"),
            ("08", "application", "serve"),
            ("08", "exceptions", "HTTPException"),
            ("08", "exceptions", "HTTPNotFound"),
            ("08", "exceptions", "HTTPFound"),
            ("08", "exceptions", "HTTPForbidden"),
        ],
        "08",
        folder,
    )


# Chapter 09: graceful shutdown.

GRACE = 0.5  # the shutdown_timeout the check serves with, in seconds


async def _graceful(Application: type, serve: Callable) -> None:
    loop = asyncio.get_running_loop()
    arrived: list[str] = []
    told: list[str] = []
    release = asyncio.Event()

    async def slow(request: Any) -> Any:
        arrived.append("slow")
        await asyncio.sleep(0.3)
        told.append("slow answered")
        return _response(request, "slow done")

    async def stuck(request: Any) -> Any:
        arrived.append("stuck")
        await asyncio.wait_for(release.wait(), 5)
        return _response(request, "stuck done")

    async def goodbye(app: Any) -> None:
        told.append("on_shutdown")

    async def disconnect(app: Any) -> None:
        told.append("on_cleanup")

    app = Application()
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("GET", "/stuck", stuck)
    app.on_shutdown.append(goodbye)
    app.on_cleanup.append(disconnect)

    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors():
        try:
            server = await serve(app, "127.0.0.1", 0, shutdown_timeout=GRACE)
        except TypeError as exc:
            raise Problem(
                f"serve(app, host, port, shutdown_timeout={GRACE}) raised TypeError: {exc}. "
                "Write this chapter's application.py, whose serve() takes the grace period"
            )
        closing = None
        try:
            port = _port(server, "serve")
            idle = await asyncio.open_connection("127.0.0.1", port)  # says nothing
            writers.append(idle[1])
            slow_answer = asyncio.ensure_future(_ask(port, "GET", "/slow", writers))
            stuck_answer = asyncio.ensure_future(_ask(port, "GET", "/stuck", writers))
            for _ in range(100):  # both in flight before closing
                if len(arrived) == 2:
                    break
                await asyncio.sleep(0.01)
            started = loop.time()
            closing = asyncio.ensure_future(server.close())
            await asyncio.sleep(0.05)
            try:
                late = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                pass
            else:
                writers.append(late[1])
                raise Problem(
                    "a new connection was accepted after close() began: stop listening first"
                )
            try:
                got = await slow_answer
            except Problem:
                got = None
            if got is None or got.text != "slow done":
                raise Problem(
                    f"close() dropped the request in flight: GET /slow, 0.3 s long, got "
                    f"{'no answer' if got is None else repr(got)}. Wait for the requests' "
                    "Tasks (for at most shutdown_timeout) before closing their connections"
                )
            try:
                await asyncio.wait_for(asyncio.shield(closing), GRACE + 1.0)
            except TimeoutError:
                raise Problem(
                    f"close() was still waiting {loop.time() - started:.1f} s after it began, "
                    f"with shutdown_timeout={GRACE}: a stuck request must not hold the "
                    "shutdown forever. Wait at most shutdown_timeout "
                    "(asyncio.wait(tasks, timeout=...)), then cancel what is still running"
                )
            if "on_cleanup" not in told:
                raise Problem(f"closing ran {told}: run on_cleanup last, as in chapter 07")
            if told.index("on_cleanup") < told.index("slow answered"):
                raise Problem(
                    f"closing ran {told}: on_cleanup ran while a request was in flight, and a "
                    "handler may still use what it releases (the database). Run on_cleanup "
                    "after the grace period"
                )
            if told != ["on_shutdown", "slow answered", "on_cleanup"]:
                raise Problem(f"closing ran {told}: on_shutdown, the requests, then on_cleanup")
            got = await stuck_answer
            if got is not None:
                raise Problem(f"the stuck request was answered {got!r}: cancel it past the grace")
            quiet = await _read(idle[0], 1)
            if quiet is None:
                raise Problem(
                    "an idle connection was still open after close(): close the connections "
                    "with no request in flight when the shutdown begins"
                )
        finally:
            release.set()
            if closing is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closing, WAIT)
            await _close(server, writers)


async def check_graceful(folder: Path | None = None) -> None:
    """Chapter 09's build: diy/application.py again, closing gracefully."""
    await _check_build(
        "a graceful close: stop accepting, let requests finish within the grace, then clean up",
        _on_app(_graceful),
        _FOUNDATION + [("09", "application", "Application"), ("09", "application", "serve")],
        "09",
        folder,
    )


# Chapter 10: the guide's sample application, on your framework.

SAMPLE = "app.py"  # the guide's sample application, as chapter 10 writes it


def _load_sample(folder: Path) -> Any:
    """Run app.py as a module (not as __main__, so its run_app(app) does not run)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("diy_sample_app", folder / SAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _sample_app(Application: type, folder: Path) -> None:
    import io

    import diy

    wanted = ["Application", "HTTPNotFound", "Response", "middleware", "run_app", "serve"]
    missing = [name for name in wanted if getattr(diy, name, None) is None]
    if missing:
        raise Problem(
            f"diy has no {', '.join(missing)}: the sample app's line `from diy import "
            "Application, HTTPNotFound, Response, middleware, run_app` fails. Import them "
            "into diy/__init__.py (and serve, for the notebook)"
        )
    try:
        sample = _load_sample(folder)
    except Exception as exc:
        raise Problem(f"{SAMPLE} does not run on diy: {type(exc).__name__}: {exc}")
    printed = io.StringIO()
    writers: list[asyncio.StreamWriter] = []
    with _LoopErrors() as errors, contextlib.redirect_stdout(printed):
        server = await diy.serve(sample.app, "127.0.0.1", 0)
        try:
            port = _port(server, "serve")
            got = _expect(
                await _ask(port, "GET", "/john_doe", writers), "GET", "/john_doe", 200, errors
            )
            if got.text != "Welcome, john_doe!":
                raise Problem(f"GET /john_doe answered {got.text!r}, not 'Welcome, john_doe!'")
            if "Received request to /john_doe" not in printed.getvalue():
                raise Problem("GET /john_doe did not go through the sample's log_middleware")
            got = await _ask(port, "GET", "/bob", writers)
            if got is not None and got.status == 500:
                raise Problem(
                    "GET /bob, an unknown user, got a 500: the handler raises HTTPNotFound, "
                    "and the Application must send it (chapter 08)"
                )
            _expect(got, "GET", "/bob", 404, errors)
            got = await _ask(port, "POST", "/john_doe", writers)
            if got is not None and got.status == 404:
                raise Problem(
                    "POST /john_doe got 404: /{username} has a route, for GET only, so a "
                    "POST is a 405 Method Not Allowed (chapter 04)"
                )
            got = _expect(got, "POST", "/john_doe", 405, errors)
            connection = await asyncio.open_connection("127.0.0.1", port)
            writers.append(connection[1])
            for turn in ("first", "second"):
                got = await _ask(port, "GET", "/john_doe", writers, connection)
                if got is None:
                    raise Problem(
                        f"the {turn} request on one connection got no answer: keep the "
                        "connection open after a response, a client may send another"
                    )
                _expect(got, "GET", "/john_doe", 200, errors)
        finally:
            await _close(server, writers)


async def check_sample_app(folder: Path | None = None) -> None:
    """Chapter 10: diy/__init__.py, and the guide's sample application served by diy."""
    folder = folder or Path.cwd()
    title = "the guide's sample application, unchanged, served by your framework"
    if not (folder / SAMPLE).exists():
        print(f"{NOT_YET} {title}: run the cell above that writes {SAMPLE}")
        return

    async def test(*parts: Any) -> None:
        await _on_app(_sample_app)(*parts, folder)

    await _check_build(
        title,
        test,
        _FOUNDATION + [("10", "__init__", "Application")],
        "10",
        folder,
    )

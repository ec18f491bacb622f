"""The connection of the learner's framework, watched: its bytes, parser callbacks and writes.

Part of the inspector's watch on diy (diy.py tells how it works). The Protocol class
that serves a connection gets its asyncio and httptools callbacks wrapped on the class;
each call is reported as the event sketch reports at the same step; the transport the
learner's protocol is given is a stand-in whose write() reports the answer it carries.
on_message_complete runs with `current` set to (connection, request): the Task the
learner starts there copies it, and so knows its request.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import weakref
from contextvars import ContextVar
from time import perf_counter
from typing import Any

import httptools

from sketch import events as ev
from sketch.reader import ByteCursor

__all__ = ["DiyTracer", "current", "namespaces", "watch_connections", "watch_protocol", "wrapped",
           "TRACERS"]  # fmt: skip

# (connection, request) of the request whose code runs now.
current: ContextVar[tuple[int, int] | None] = ContextVar("diy_request", default=None)

_PARSER_CALLBACKS = ("on_message_begin", "on_url", "on_header", "on_headers_complete",
                     "on_body", "on_message_complete")  # fmt: skip
TRACERS: weakref.WeakKeyDictionary[Any, DiyTracer] = weakref.WeakKeyDictionary()
_BY_CLASS: weakref.WeakKeyDictionary[type, DiyTracer] = weakref.WeakKeyDictionary()  # last watcher


def wrapped(func: Any) -> bool:
    """Whether `func` is already one of the inspector's wrappers."""
    return getattr(func, "__inspector_wraps__", None) is not None


class _Connection:
    """What the inspector keeps about one connection: where its bytes and requests are."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.received = 0  # bytes received before the current read
        self.where = ByteCursor()  # the current read, and where callbacks' bytes lie in it
        self.req = 0  # requests begun on it
        self.answered = 0  # the latest of them whose answer began
        self.headed = 0  # the latest of them whose head was whole
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        # An answer written in parts: (req, status, bytes left, bytes so far, keep-alive).
        self.answer: tuple[int, int, int, int, bool] | None = None


class DiyTracer(ev.Tracer):
    """A sketch Tracer fed by watching a diy app; `unseen` says what it could not watch."""

    def __init__(self) -> None:
        super().__init__()
        self.unseen: list[str] = []
        self.connections: dict[int, _Connection] = {}  # by id() of the protocol object
        self.count = 0
        self.announced = False  # ServerStart sent (at the first connection)
        self.deepest: dict[tuple[int, int], int] = {}  # per request: the layer reached
        # Which protocol object each connection was given: connection number -> object
        # number (1, 2, ... as first seen). One object for two connections is the shared
        # protocol of chapter 01; events carry no object, so the tracer keeps it here.
        self.given: dict[int, int] = {}
        self._objects: dict[int, int] = {}  # id() of a protocol object -> its number

    def send(self, cls: type[ev.Event], key: tuple[int, int], *fields: Any) -> None:
        if self.on:
            self.emit(cls, perf_counter(), key[0], key[1], *fields)

    # --- the connection -------------------------------------------------------

    def opened(self, protocol: Any, transport: Any) -> _Connection:
        self.count += 1
        # id() is unique among live objects: an object holding an open connection is alive.
        number = self._objects.setdefault(id(protocol), len(self._objects) + 1)
        self.given[self.count] = number
        connection = self.connections[id(protocol)] = _Connection(self.count)
        if not self.announced:
            self.announced = True
            host, port = (transport.get_extra_info("sockname") or ("?", 0))[:2]
            self.send(ev.ServerStart, (0, 0), f"http://{host}:{port}")
        peer = transport.get_extra_info("peername")
        self.send(ev.ConnectionMade, (connection.number, 0), f"{peer[0]}:{peer[1]}" if peer else "")
        return connection

    def received(self, connection: _Connection, data: bytes) -> None:
        at = connection.received
        connection.received += len(data)
        connection.where.start(bytes(data), at)
        self.send(ev.DataReceived, (connection.number, 0), at, bytes(data))

    def parsed(self, protocol: Any, connection: _Connection, name: str, args: tuple) -> None:
        if name == "on_message_begin":
            connection.req += 1
            connection.url, connection.headers = b"", []
        key = (connection.number, connection.req)
        offsets: tuple[int, ...] = ()
        if name in ("on_url", "on_body"):
            offsets = (connection.where.locate(args[0]),)
            connection.url += args[0] if name == "on_url" else b""
        elif name == "on_header":
            where = connection.where
            offsets = (where.locate(args[0] + b":"), where.locate(args[1]))
            connection.headers.append((args[0].decode("latin-1"), args[1].decode("latin-1")))
        self.send(ev.ParserCallback, key, name, tuple(bytes(a) for a in args), offsets)
        if name == "on_headers_complete":
            connection.headed = connection.req
            connection.where.skip_past(b"\r\n\r\n")  # the body is searched for after it
            parser = next((v for v in getattr(protocol, "__dict__", {}).values()
                           if isinstance(v, httptools.HttpRequestParser)), None)  # fmt: skip
            method = parser.get_method().decode("ascii") if parser is not None else ""
            version = parser.get_http_version() if parser is not None else ""
            target = connection.url.decode("utf-8", "surrogateescape")
            self.send(ev.RequestHead, key, method, target, version, tuple(connection.headers))

    def wrote(self, connection: _Connection, data: bytes) -> None:
        """An answer's bytes: its head reported when it starts, its end when it is whole."""
        now = current.get()
        req = now[1] if now and now[0] == connection.number else connection.req
        if connection.answer is not None:  # the rest of an answer written in parts
            req, status, left, written, keep = connection.answer
            left, written = left - len(data), written + len(data)
            connection.answer = (req, status, left, written, keep) if left > 0 else None
            if left <= 0:
                self.send(ev.ResponseEnd, (connection.number, req), status, written, keep)
                self.deepest.pop((connection.number, req), None)
            return
        head, found, body = bytes(data).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/") or not found:
            return  # not the start of an answer: nothing the views draw
        lines = head.decode("latin-1").split("\r\n")
        _, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        headers = tuple(
            (n.strip(), v.strip()) for n, _, v in (ln.partition(":") for ln in lines[1:])
        )
        status = int(code) if code.isdigit() else 0
        if now is None and (req <= connection.answered or req > connection.headed):
            # Answered outside any request's handling, before a whole head: a refusal
            # (the learner's 400 for bytes httptools could not parse).
            if req <= connection.answered:  # no request had begun: it is one of its own
                connection.req = req = connection.req + 1
            connection.answered = req
            at = connection.where.at  # where the read that failed began
            self.send(ev.ParseError, (connection.number, req), status, reason, at)
            return
        connection.answered = max(connection.answered, req)
        key = (connection.number, req)
        self.send(ev.ResponseHead, key, status, reason, headers)
        keep = all(v.lower() != "close" for n, v in headers if n.lower() == "connection")
        length = next((v for n, v in headers if n.lower() == "content-length"), "")
        left = int(length) - len(body) if length.isdigit() else 0
        if left > 0:
            connection.answer = (req, status, left, len(data), keep)
        else:
            self.send(ev.ResponseEnd, key, status, len(data), keep)
            self.deepest.pop(key, None)

    def closed(self, protocol: Any, exc: BaseException | None) -> None:
        connection = self.connections.pop(id(protocol), None)
        if connection is not None:
            reason = "closed" if exc is None else ev.error_text(exc)
            self.send(ev.ConnectionLost, (connection.number, 0), reason)


class _Transport:
    """The transport the learner's protocol is given: the real one, whose writes are seen."""

    def __init__(self, transport: Any, tracer: DiyTracer, connection: _Connection) -> None:
        self._transport, self._tracer, self._connection = transport, tracer, connection

    def write(self, data: bytes) -> None:
        self._transport.write(data)  # first: a write that raises is reported by nobody
        self._tracer.wrote(self._connection, data)

    def writelines(self, parts: Any) -> None:
        self.write(b"".join(parts))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _protocol_wrapper(name: str, original: Any) -> Any:
    """`original`, one of the connection class's methods, reporting each call."""

    @functools.wraps(original)
    def watched(self: Any, *args: Any) -> Any:
        tracer = _known(getattr(self, "app", None)) or _BY_CLASS.get(type(self))
        if tracer is None:
            return original(self, *args)
        if name == "connection_made":
            connection = tracer.opened(self, args[0])
            return original(self, _Transport(args[0], tracer, connection))
        if name == "connection_lost":
            tracer.closed(self, args[0])
            return original(self, *args)
        connection = tracer.connections.get(id(self))
        if connection is None:  # a connection made before the inspector watched
            return original(self, *args)
        if name == "data_received":
            tracer.received(connection, args[0])
            return original(self, *args)
        tracer.parsed(self, connection, name, args)
        if name != "on_message_complete":
            return original(self, *args)
        token = current.set((connection.number, connection.req))  # the Task copies it
        try:
            return original(self, *args)
        finally:
            current.reset(token)

    watched.__inspector_wraps__ = original  # type: ignore[attr-defined]
    return watched


def _known(app: Any) -> DiyTracer | None:
    try:
        return TRACERS.get(app)
    except TypeError:  # None, or not weak-referenceable: not an app being watched
        return None


def namespaces(app: Any) -> list[dict[str, Any]]:
    """Where the app's framework keeps its names: first the module its class was made in.

    That one first: a notebook may hold a class from a module since re-imported, and
    its methods still see the module they were written in (`__globals__`).
    """
    made_in = [f.__globals__ for f in vars(type(app)).values() if hasattr(f, "__globals__")]
    package = type(app).__module__.partition(".")[0]
    modules = [vars(m) for n, m in list(sys.modules.items())
               if n == package or n.startswith(package + ".")]  # fmt: skip
    return made_in[:1] + modules


def watch_connections(app: Any, tracer: DiyTracer) -> None:
    package = type(app).__module__.partition(".")[0]
    # The framework's own classes only: never one it imported (sketch's, asyncio's).
    found = {cls for names in namespaces(app) for cls in list(names.values())
             if isinstance(cls, type) and issubclass(cls, asyncio.Protocol)
             and hasattr(cls, "on_message_complete")
             and cls.__module__.partition(".")[0] == package}  # fmt: skip
    leaves = [cls for cls in found if not any(o is not cls and issubclass(o, cls) for o in found)]
    if not leaves:
        tracer.unseen.append(
            f"the connection: no asyncio.Protocol with on_message_complete in {package!r} "
            "(chapter 02), so no bytes nor parser callbacks"
        )
    for cls in leaves:
        _BY_CLASS[cls] = tracer
        for name in ("connection_made", "data_received", "connection_lost", *_PARSER_CALLBACKS):
            original = getattr(cls, name, None)
            if original is None:  # httptools calls only what exists: a no-op is unchanged
                original = _nothing
            if not wrapped(original):
                setattr(cls, name, _protocol_wrapper(name, original))


def watch_protocol(cls: type, tracer: DiyTracer) -> None:
    """Watch a plain asyncio.Protocol (chapter 01's echo): connections and reads only.

    Its asyncio callbacks are wrapped as the HTTP connection's are, so ConnectionMade,
    DataReceived and ConnectionLost are reported; what it writes goes to the real
    transport unreported (no event of sketch's stands for bytes that are not an answer).
    """
    _BY_CLASS[cls] = tracer
    for name in ("connection_made", "data_received", "connection_lost"):
        original = getattr(cls, name)
        if not wrapped(original):
            setattr(cls, name, _protocol_wrapper(name, original))


def _nothing(self: Any, *args: Any) -> None:
    """What a parser callback the learner did not write does."""

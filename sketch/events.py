"""Trace events: what sketch tells an observer, one small object per step.

sketch never draws anything. At each stage of a connection, a request or the server's
life it may emit one of these to the subscribers of a Tracer; the inspector folds them
into traces and draws them. With nobody subscribed, each stage costs one attribute
check (`if tracer.on:`) and no event object is built.

Every event carries `t` (time.perf_counter(), seconds), `conn` (the connection's
number, 0 for server-wide events) and `req` (the request's number on its connection,
0 where there is none).

Events are dataclasses, immutable by convention: nobody sets a field after an event is
made (an observer that wants a changed event makes a new one with
`dataclasses.replace`). An emitter hands the Tracer (below) an event's class and fields,
and the tracer builds the event for the subscribers that take one; the inspector's model
takes the fields and builds an event only when someone reads its request. A traced
request has about eighteen, so how they are built was measured: not `frozen=True`, which
sets each field through `object.__setattr__` (`timeit`, 3.13: 1.45 µs against 0.35
slotted); and not `slots=True` either, though slots are smaller (44 bytes an event) and
cheaper on Python 3.11 (callgrind, instructions to build a ParserCallback: 2,340 against
2,540): on 3.13 only a class without slots is made by the specialized call that runs its
`__init__` directly (2,200 against 2,700).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Event",
    "ConnectionMade",
    "ConnectionLost",
    "DataReceived",
    "ParserCallback",
    "ParseError",
    "RequestHead",
    "RouteTried",
    "RouteDecision",
    "MiddlewareEnter",
    "MiddlewareExit",
    "HandlerStart",
    "HandlerEnd",
    "ResponseHead",
    "ResponseEnd",
    "HandlerWaited",
    "ContinueSent",
    "FlowControl",
    "AnswersFlushed",
    "WebSocketUpgrade",
    "WebSocketFrame",
    "WebSocketClosed",
    "HookStart",
    "HookEnd",
    "ServerStart",
    "ShutdownPhase",
    "ServerStop",
    "Tracer",
    "EVENT_TYPES",
    "error_text",
]

logger = logging.getLogger("sketch.events")


@dataclass
class Event:
    t: float
    conn: int
    req: int


# --- transport ---------------------------------------------------------------


@dataclass
class ConnectionMade(Event):
    peer: str


@dataclass
class ConnectionLost(Event):
    reason: str  # "closed" or the error that ended it


@dataclass
class DataReceived(Event):
    offset: int  # bytes received on this connection before this read
    data: bytes


# --- parser ------------------------------------------------------------------


@dataclass
class ParserCallback(Event):
    name: str  # the httptools callback: "on_url", "on_header", "on_body", ...
    data: tuple[bytes, ...]  # what it was given: (url,), (name, value), (chunk,) or ()
    offsets: tuple[int, ...] = ()  # where each of `data` starts on the connection, -1: unknown


@dataclass
class ParseError(Event):
    status: int  # the answer it got: 400, 414, 431, 505, ...
    reason: str
    offset: int  # bytes received on this connection before the read that failed


@dataclass
class RequestHead(Event):
    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]


# --- dispatcher --------------------------------------------------------------


@dataclass
class RouteTried(Event):
    method: str
    pattern: str  # the path as registered, `/users/{name}`
    regex: str  # what it compiled to, or "" for a literal path
    outcome: str  # "path miss", "method miss" or "match"
    methods: tuple[str, ...]  # the methods the resource answers
    params: tuple[tuple[str, str], ...]


@dataclass
class RouteDecision(Event):
    status: int  # 200 for a match, else 404 or 405
    handler: str
    params: tuple[tuple[str, str], ...]
    allowed: tuple[str, ...]  # for a 405


# --- middlewares and handler -------------------------------------------------


@dataclass
class MiddlewareEnter(Event):
    name: str
    depth: int  # 0 is the outermost


@dataclass
class MiddlewareExit(Event):
    name: str
    depth: int
    elapsed: float  # seconds, this layer and all inside it
    status: int | None  # the status it passed out, None when it raised
    error: str  # "" or the exception it raised, as `Type: message`
    called_next: bool  # False: it answered without the layers inside (a short-circuit)


@dataclass
class HandlerStart(Event):
    name: str


@dataclass
class HandlerEnd(Event):
    name: str
    elapsed: float
    status: int | None
    error: str


# --- response ----------------------------------------------------------------


@dataclass
class ResponseHead(Event):
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # as written, after on_response_prepare


@dataclass
class ResponseEnd(Event):
    status: int
    bytes_written: int  # head and body, framing included
    keep_alive: bool


# --- waits: where a request or a connection had to wait, and why ------------------


@dataclass
class HandlerWaited(Event):
    """The handler's Task did not finish at once: it awaited something (a body, a
    database), so the connection goes on when the loop wakes it. On Python 3.11 every
    Task starts on the loop's next turn, so every request waits."""


@dataclass
class ContinueSent(Event):
    """`100 Continue` went out: the handler asked for a body the client was holding
    back (`Expect: 100-continue`, RFC 9110 10.1.1)."""


@dataclass
class FlowControl(Event):
    """Back-pressure, paused or resumed."""

    side: str  # "reading": the client sends faster than we answer, we stop reading it;
    # "writing": the client reads slower than we send, the transport's buffer is full
    paused: bool  # True: paused; False: resumed


@dataclass
class AnswersFlushed(Event):
    """Whole answers held during a turn of the loop went to the socket in one write
    (writer.py). `req` is 0: one write may carry several requests' answers."""

    answers: int
    size: int  # bytes
    held: float  # seconds the first of them was held


# --- WebSockets (sketch/websocket/, RFC 6455) ------------------------------------


@dataclass
class WebSocketUpgrade(Event):
    """The 101 went out: from here on the connection carries frames, not HTTP."""

    key: str  # the client's Sec-WebSocket-Key
    accept: str  # our Sec-WebSocket-Accept: base64(SHA-1(key + the RFC's GUID)), 4.2.2
    protocol: str  # the subprotocol chosen, "" for none
    offset: int  # where the first frame begins on the connection


@dataclass
class WebSocketFrame(Event):
    """One frame, either way (5.2). Data frames are traced one by one, not as messages:
    a fragmented message is several frames."""

    direction: str  # "in": client to server; "out": server to client
    opcode: str  # "TEXT", "BINARY", "CONTINUATION", "CLOSE", "PING", "PONG", or "0x3"
    fin: bool
    rsv: int  # the RSV1-3 bits, 0-7: set only by a broken (or hostile) client here
    masked: bool
    length: int  # payload bytes (for a frame refused on its first 2 bytes: the 7-bit one)
    offset: int  # "in": where it begins on the connection, as DataReceived; "out": -1
    head: bytes  # its header as sent: the 2 bytes, the extended length, the masking key
    code: int = 0  # a CLOSE frame's code, 0 when it has none
    reason: str = ""  # a CLOSE frame's reason
    preview: str = ""  # the start of a TEXT payload (at most 60 characters), or a
    # BINARY/PING/PONG payload's first 16 bytes in hex


@dataclass
class WebSocketClosed(Event):
    """The WebSocket's connection is gone; how it ended (7.1.5, 7.1.7)."""

    code: int  # the close code (the one received, 7.1.5); 1006: no CLOSE frame came
    by: str  # who sent the first CLOSE: "client", "server", or "" (the connection dropped)
    error: str  # "" or what broke the rule (1002, 1007, 1009) or timed out


# --- lifecycle ---------------------------------------------------------------


@dataclass
class HookStart(Event):
    signal: str  # "on_startup", "on_shutdown", "on_cleanup", "cleanup_ctx", ...
    callback: str


@dataclass
class HookEnd(Event):
    signal: str
    callback: str
    elapsed: float
    error: str


@dataclass
class ServerStart(Event):
    url: str


@dataclass
class ShutdownPhase(Event):
    phase: str  # "stop accepting", "close idle", "close websockets", "drain", "cancel"
    count: int  # connections or requests concerned


@dataclass
class ServerStop(Event):
    cancelled: int  # requests cancelled past the grace period


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        ConnectionMade, ConnectionLost, DataReceived, ParserCallback, ParseError,
        RequestHead, RouteTried, RouteDecision, MiddlewareEnter, MiddlewareExit,
        HandlerStart, HandlerEnd, ResponseHead, ResponseEnd, HandlerWaited, ContinueSent,
        FlowControl, AnswersFlushed, WebSocketUpgrade, WebSocketFrame, WebSocketClosed,
        HookStart, HookEnd, ServerStart, ShutdownPhase,
        ServerStop,
    )
}  # fmt: skip


def error_text(exc: BaseException) -> str:
    """An exception as events carry it in their `error` field: `Type: message`."""
    return f"{type(exc).__name__}: {exc}"


class Tracer:
    """Hands events to subscribers. `on` is False while nobody listens.

    An emitter calls `tracer.emit(EventClass, t, conn, req, ...)`: the class and the
    fields, as logging takes a format and its arguments. The event object is built once,
    by the tracer, for the subscribers that take one. A subscriber made to take the class
    and fields itself (`fields=True`, as the inspector's model is) is called
    `subscriber(EventClass, t, conn, req, ...)`, and may build the event later or never:
    a traced request emits about eighteen events, and most are never read.

    A subscriber that raises is logged and unsubscribed: an observer must never break
    the server it observes. One subscribed with `safe=True` promises not to raise (it
    catches its own errors, as the model does); while it is the only one and takes
    fields, `emit` is that subscriber itself, called with no loop between.
    """

    __slots__ = ("on", "emit", "_subscribers", "_wants_events")

    def __init__(self) -> None:
        # A tuple of (subscriber, safe, fields), replaced (never changed) on (un)subscribe:
        # _fan_out can loop over it while a subscriber unsubscribes, without a copy.
        self._subscribers: tuple[tuple[Callable[..., None], bool, bool], ...] = ()
        self._rebind()

    def subscribe(
        self, subscriber: Callable[..., None], *, safe: bool = False, fields: bool = False
    ) -> Callable[[], None]:
        """Start sending events to `subscriber`; returns the function that stops it.

        `subscriber(event)`, or with `fields=True` `subscriber(EventClass, *fields)`.
        """
        self._subscribers += ((subscriber, safe, fields),)
        self._rebind()
        return lambda: self.unsubscribe(subscriber)

    def unsubscribe(self, subscriber: Callable[..., None]) -> None:
        self._subscribers = tuple(each for each in self._subscribers if each[0] is not subscriber)
        self._rebind()

    def _rebind(self) -> None:
        subscribers = self._subscribers
        self.on = bool(subscribers)
        self._wants_events = any(not fields for _, _, fields in subscribers)  # built for them
        if len(subscribers) == 1 and subscribers[0][1] and subscribers[0][2]:
            self.emit: Callable[..., None] = subscribers[0][0]
        else:
            self.emit = self._fan_out

    def _fan_out(self, cls: type[Event], *fields: Any) -> None:
        # Built before the loop, outside its guard: an emitter's wrong fields are
        # sketch's bug, to fail loudly where they are written, not a subscriber's.
        event = cls(*fields) if self._wants_events else None
        for subscriber, _, as_fields in self._subscribers:
            try:
                if as_fields:
                    subscriber(cls, *fields)
                else:
                    subscriber(event)
            except Exception:  # an observer must never break the server it observes
                logger.exception("trace subscriber %r failed; unsubscribing it", subscriber)
                self.unsubscribe(subscriber)

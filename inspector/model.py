"""Events folded into traces: one RequestTrace per request, one ServerTrace per server.

Pure data, no drawing: the views read these. Memory stays bounded under load: finished
requests go to a ring of the most recent ones, and a trace keeps at most
`MAX_BYTES_PER_TRACE` bytes of what was read for it.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field

from sketch import events as ev

from .conversation import Conversation, FoldsWebSockets
from .secrets import Masker, mask_trace

__all__ = [
    "RequestTrace",
    "HookRun",
    "ConnectionTrace",
    "ServerTrace",
    "Model",
    "MAX_BYTES_PER_TRACE",
    "mask_trace",
]

MAX_BYTES_PER_TRACE = 64 * 1024
MAX_PAUSES = 1000  # per connection: a long-lived one under back-pressure stays bounded
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2: a method is one


@dataclass(slots=True)
class RequestTrace:
    """Everything that happened to one request, in the order it happened."""

    conn: int
    req: int
    started: float
    method: str = ""
    target: str = ""
    version: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    reads: list[ev.DataReceived] = field(default_factory=list)  # reads that carried it
    parser: list[ev.ParserCallback] = field(default_factory=list)
    error: ev.ParseError | None = None
    routes: list[ev.RouteTried] = field(default_factory=list)
    decision: ev.RouteDecision | None = None
    layers: list[ev.MiddlewareEnter | ev.MiddlewareExit] = field(default_factory=list)
    handler_start: ev.HandlerStart | None = None
    handler_end: ev.HandlerEnd | None = None
    hooks: list[ev.HookEnd] = field(default_factory=list)  # on_response_prepare
    response: ev.ResponseHead | None = None
    end: ev.ResponseEnd | None = None
    # Where it waited: its handler's Task, a 100 Continue, back-pressure (in time order).
    waits: list[ev.HandlerWaited | ev.ContinueSent | ev.FlowControl] = field(default_factory=list)
    flushed: ev.AnswersFlushed | None = None  # the write that took its answer to the socket
    websocket: Conversation | None = None  # the WebSocket it upgraded to (conversation.py)
    finished: float | None = None
    bytes_kept: int = 0

    @property
    def status(self) -> int | None:
        if self.response is not None:
            return self.response.status
        return self.error.status if self.error is not None else None

    @property
    def elapsed(self) -> float | None:
        """Seconds from the first parser callback to the response's last byte."""
        return None if self.finished is None else self.finished - self.started

    @property
    def refused(self) -> bool:
        """Refused before its head was whole: no handler ran, sketch answered it."""
        return self.error is not None and self.version == ""

    @property
    def label(self) -> str:
        target = self.target
        if self.refused and len(target) > 80:  # a 414's target is thousands of bytes
            target = target[:79] + "…"
        what = f"{self.method} {target}".strip() or "(unparsed request)"
        status = self.status if self.status is not None else "…"
        took = f" in {self.elapsed * 1000:.2f} ms" if self.elapsed is not None else ""
        return f"{what} -> {status}{took}"

    @property
    def raw(self) -> bytes:
        """The bytes of the reads that carried this request (maybe more than the request)."""
        return b"".join(read.data for read in self.reads)

    def raw_index(self, offset: int) -> int | None:
        """Where a connection offset falls in `raw` (the trace's reads, joined)."""
        if offset < 0:
            return None
        start = 0
        for read in self.reads:
            if read.offset <= offset < read.offset + len(read.data):
                return start + offset - read.offset
            start += len(read.data)
        return None


@dataclass(slots=True)
class ConnectionTrace:
    """One connection's life: who, when it opened, when and why it closed."""

    conn: int
    peer: str
    opened: float
    closed: float | None = None
    reason: str = ""
    # Back-pressure on it, paused and resumed, in order (the pictures draw the spans).
    pauses: list[ev.FlowControl] = field(default_factory=list)


@dataclass
class HookRun:
    signal: str
    callback: str
    started: float
    elapsed: float | None = None
    error: str = ""


@dataclass
class ServerTrace:
    """The server's life: hooks, shutdown phases, connections, and a count of requests."""

    url: str = ""
    started: float | None = None
    stopped: float | None = None
    first_event: float | None = None
    hooks: list[HookRun] = field(default_factory=list)
    phases: list[ev.ShutdownPhase] = field(default_factory=list)
    cancelled: int = 0
    connections_open: int = 0
    connections_total: int = 0
    requests_total: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


class Model(FoldsWebSockets):
    """Feed it events, in order; read `server`, `recent`, `in_flight` and `find()`.

    Credentials are masked as events come in (secrets.py), unless `reveal`.
    """

    def __init__(self, keep: int = 200, *, reveal: bool = False) -> None:
        self.reveal = reveal
        self._mask = Masker(reveal)
        self.server = ServerTrace()
        self.recent: deque[RequestTrace] = deque(maxlen=keep)  # finished, oldest first
        self.in_flight: dict[tuple[int, int], RequestTrace] = {}
        self.connections: deque[ConnectionTrace] = deque(maxlen=keep)  # oldest first
        self._connections: dict[int, ConnectionTrace] = {}  # the open ones
        self._open: dict[int, list[int]] = {}  # per connection, its requests in flight
        self._last_read: dict[int, ev.DataReceived] = {}  # per connection
        # Per connection, answered requests whose answer is still held (writer.py): the
        # next AnswersFlushed on it took them out. Bounded: a streamed answer has none.
        self._held: dict[int, deque[RequestTrace]] = {}
        self.websockets: dict[int, Conversation] = {}  # per connection, until it closes
        self.finished_times: deque[float] = deque(maxlen=10_000)  # for rates
        self.listeners: list = []  # called with each finished RequestTrace
        # One method per event type, looked up once: feed() runs for every event.
        self._handlers = {
            cls: getattr(self, "_on_" + name)
            for name, cls in ev.EVENT_TYPES.items()
            if hasattr(self, "_on_" + name)
        }

    # --- folding -------------------------------------------------------------

    def feed(self, event: ev.Event) -> None:
        event = self._mask(event)
        server = self.server
        if server.first_event is None:
            server.first_event = event.t
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _begin(self, event: ev.Event) -> RequestTrace:
        """Open the trace of a request that begins (or is refused) with this event.

        Only these events open a trace. Any other event about a request that is not in
        flight (its client left, and the cancelled handler reports late) is dropped:
        a trace opened by it would never end.
        """
        trace = self.in_flight.get((event.conn, event.req))
        if trace is None:
            trace = RequestTrace(event.conn, event.req, event.t)
            self.in_flight[(event.conn, event.req)] = trace
            self._open.setdefault(event.conn, []).append(event.req)
        return self._attach_read(trace, event.conn)

    def _trace(self, event: ev.Event) -> RequestTrace | None:
        return self.in_flight.get((event.conn, event.req))

    def _parsed(self, event: ev.Event) -> RequestTrace | None:
        """The trace of a parser event, which also gets the read the parser was in."""
        trace = self.in_flight.get((event.conn, event.req))
        return None if trace is None else self._attach_read(trace, event.conn)

    def _attach_read(self, trace: RequestTrace, conn: int) -> RequestTrace:
        read = self._last_read.get(conn)
        if read is not None and (not trace.reads or trace.reads[-1] is not read):
            if trace.bytes_kept + len(read.data) <= MAX_BYTES_PER_TRACE:
                trace.reads.append(read)
                trace.bytes_kept += len(read.data)
        return trace

    def _finish(self, trace: RequestTrace, t: float) -> None:
        trace.finished = t
        self.in_flight.pop((trace.conn, trace.req), None)
        reqs = self._open.get(trace.conn)
        if reqs is not None:
            reqs.remove(trace.req)
            if not reqs:
                del self._open[trace.conn]
        self.recent.append(trace)
        if trace.end is not None:
            self._held.setdefault(trace.conn, deque(maxlen=64)).append(trace)
        self.finished_times.append(t)
        self.server.requests_total += 1
        if trace.status is not None:
            self.server.statuses[trace.status] += 1
        if self.listeners:
            for listener in list(self.listeners):
                listener(trace)

    def _on_ConnectionMade(self, event: ev.ConnectionMade) -> None:
        connection = ConnectionTrace(event.conn, event.peer, event.t)
        self.connections.append(connection)
        self._connections[event.conn] = connection
        self.server.connections_open += 1
        self.server.connections_total += 1

    def _on_ConnectionLost(self, event: ev.ConnectionLost) -> None:
        self.server.connections_open = max(0, self.server.connections_open - 1)
        connection = self._connections.pop(event.conn, None)
        if connection is not None:
            connection.closed, connection.reason = event.t, event.reason
        self._last_read.pop(event.conn, None)
        self._held.pop(event.conn, None)
        if event.conn in self.websockets:  # its WebSocketClosed comes next, and ends it
            self.websockets[event.conn].lost = event.t
        for req in list(self._open.get(event.conn, ())):  # this connection's only
            self._finish(self.in_flight[(event.conn, req)], event.t)  # cut short: ends here

    def _on_DataReceived(self, event: ev.DataReceived) -> None:
        self._last_read[event.conn] = event

    def _on_ParserCallback(self, event: ev.ParserCallback) -> None:
        if event.name == "on_message_begin":
            trace = self._begin(event)
        else:
            trace = self._parsed(event)
            if trace is None:
                return
            if event.name == "on_url" and trace.version == "":
                # What is parsed of the request line, shown if the head is refused
                # before it is whole (RequestHead then never comes).
                if not trace.target:
                    trace.method = _method_before(trace, event.offsets[:1])
                trace.target += event.data[0].decode("utf-8", "surrogateescape")
        trace.parser.append(event)

    def _on_ParseError(self, event: ev.ParseError) -> None:
        # A refusal may come before any byte of a request (503: too many connections;
        # 408: a head that never came): then it is the whole trace.
        trace = self._begin(event)
        trace.error = event
        if trace.version == "":  # refused before a Request existed: nothing will answer it
            self._finish(trace, event.t)

    def _on_RequestHead(self, event: ev.RequestHead) -> None:
        trace = self._parsed(event)
        if trace is None:
            return
        trace.method, trace.target = event.method, event.target
        trace.version, trace.headers = event.version, event.headers

    def _on_RouteTried(self, event: ev.RouteTried) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.routes.append(event)

    def _on_RouteDecision(self, event: ev.RouteDecision) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.decision = event

    def _on_MiddlewareEnter(self, event: ev.MiddlewareEnter) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.layers.append(event)

    def _on_MiddlewareExit(self, event: ev.MiddlewareExit) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.layers.append(event)

    def _on_HandlerStart(self, event: ev.HandlerStart) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.handler_start = event

    def _on_HandlerEnd(self, event: ev.HandlerEnd) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.handler_end = event

    def _on_ResponseHead(self, event: ev.ResponseHead) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.response = event

    def _on_ResponseEnd(self, event: ev.ResponseEnd) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.end = event
            self._finish(trace, event.t)

    def _on_HandlerWaited(self, event: ev.HandlerWaited) -> None:
        trace = self._trace(event)
        if trace is not None:
            trace.waits.append(event)

    _on_ContinueSent = _on_HandlerWaited

    def _on_FlowControl(self, event: ev.FlowControl) -> None:
        # A pause is the connection's (its lane shows it) and the request's it came in.
        connection = self._connections.get(event.conn)
        if connection is not None and len(connection.pauses) < MAX_PAUSES:
            connection.pauses.append(event)
        self._on_HandlerWaited(event)

    def _on_AnswersFlushed(self, event: ev.AnswersFlushed) -> None:
        for trace in self._held.pop(event.conn, ()):
            trace.flushed = event

    def _on_HookStart(self, event: ev.HookStart) -> None:
        if event.conn == 0:
            self.server.hooks.append(HookRun(event.signal, event.callback, event.t))

    def _on_HookEnd(self, event: ev.HookEnd) -> None:
        if event.conn:
            trace = self.in_flight.get((event.conn, event.req))
            if trace is not None:
                trace.hooks.append(event)
            return
        for run in reversed(self.server.hooks):
            if run.callback == event.callback and run.elapsed is None:
                run.elapsed, run.error = event.elapsed, event.error
                break

    def _on_ServerStart(self, event: ev.ServerStart) -> None:
        self.server.url, self.server.started = event.url, event.t

    def _on_ShutdownPhase(self, event: ev.ShutdownPhase) -> None:
        self.server.phases.append(event)

    def _on_ServerStop(self, event: ev.ServerStop) -> None:
        self.server.stopped, self.server.cancelled = event.t, event.cancelled

    # --- reading -------------------------------------------------------------

    def find(self, method: str = "", target: str = "") -> RequestTrace | None:
        """The most recent finished request with this method and target (or any)."""
        for trace in reversed(self.recent):
            if (not method or trace.method == method) and (not target or trace.target == target):
                return trace
        return None

    def rate(self, now: float, window: float = 5.0) -> float:
        """Finished requests per second over the last `window` seconds."""
        count = 0
        for t in reversed(self.finished_times):  # newest first: stop at the window's edge
            if now - t > window:
                break
            count += 1
        return count / window


def _method_before(trace: RequestTrace, url_at: tuple[int, ...]) -> str:
    """The method: the token before the target on its request line, in the raw bytes."""
    at = trace.raw_index(url_at[0]) if url_at else None
    if at is None:
        return ""
    raw = trace.raw
    line = raw[raw.rfind(b"\n", 0, at) + 1 : at].strip()
    return line.decode("latin-1") if _TOKEN.fullmatch(line) else ""

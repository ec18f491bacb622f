"""Events folded into traces: one RequestTrace per request, one ServerTrace per server.

Recording must cost little, and most traces are never looked at (under load, thousands
a second go by and the ring keeps the last `keep`). So a request's events are kept, as
they come, in a list on its trace, and folded (masked, put in their places: traces.py)
only when something reads the trace: `recent`, `in_flight`, `find()`, a listener. From
then on, its later events are folded as they come. Subscribed with `fields=True`
(`feed_fields`), the model keeps what a request is told as the tracer hands it, the
event's class and fields in a tuple, and builds events only when the trace is read.
What the dashboard counts (requests, statuses, rates, connections) is counted per event.

Memory stays bounded under load: finished requests go to a ring of the most recent
ones, and a trace keeps at most `MAX_BYTES_PER_TRACE` bytes of what was read for it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from sketch import events as ev

from .conversation import Conversation, FoldsWebSockets
from .secrets import Masker, mask_trace
from .traces import (
    MAX_BYTES_PER_TRACE,
    ConnectionTrace,
    HookRun,
    Recent,
    RequestTrace,
    ServerTrace,
    fold,
)

__all__ = [
    "RequestTrace",
    "HookRun",
    "ConnectionTrace",
    "ServerTrace",
    "Model",
    "Recent",
    "MAX_BYTES_PER_TRACE",
    "mask_trace",
]

logger = logging.getLogger("inspector.model")

MAX_PAUSES = 1000  # per connection: a long-lived one under back-pressure stays bounded
MAX_HELD = 64  # per connection: answers held, waiting for the write that sends them
MAX_UNFOLDED = 256  # events kept unfolded per request: a long upload's reads stay bounded

# Events that only join their request's trace: kept as they come, folded when read.
_JOINS = frozenset({
    ev.ParserCallback, ev.RequestHead, ev.RouteTried, ev.RouteDecision, ev.MiddlewareEnter,
    ev.MiddlewareExit, ev.HandlerStart, ev.HandlerEnd, ev.ResponseHead, ev.HandlerWaited,
    ev.ContinueSent,
})  # fmt: skip
# Masked as they come (what is masked carries over from one to the next on a connection);
# the connection's end lets its masker forget it. The rest are masked when folded. Reads
# are too, by _keep_read's callers: one a request, a call less than through here.
_MASKED_AS_THEY_COME = frozenset({ev.WebSocketFrame, ev.ConnectionLost})


def _built(kept: ev.Event | tuple) -> ev.Event:
    """An event kept on a trace: as it came, or its class and fields (feed_fields)."""
    return kept[0](*kept[1:]) if type(kept) is tuple else kept


def _kind(kept: ev.Event | tuple) -> type:
    return kept[0] if type(kept) is tuple else type(kept)


class Model(FoldsWebSockets):
    """Feed it events, in order; read `server`, `recent`, `in_flight` and `find()`.

    Credentials are masked (secrets.py) before anything can read them, unless `reveal`.
    `keep`: how many finished requests (and closed connections) `recent` holds. 50 by
    default, enough for any view: each request that finishes frees the oldest, and
    with 200 that memory had gone cold in the CPU's cache (py-spy under wrk: 8% of a
    recording server's time in `recent.append`, 2.6% with 10; docs/performance.md).
    """

    def __init__(self, keep: int = 50, *, reveal: bool = False) -> None:
        self.reveal = reveal
        self._mask = Masker(reveal)  # reads and frames, as they come (they carry state)
        self.server = ServerTrace()
        self.recent = Recent(keep, self._look)  # finished, oldest first
        self._in_flight: dict[tuple[int, int], RequestTrace] = {}
        self._latest: RequestTrace | None = None  # the in-flight trace fed last
        self.connections: deque[ConnectionTrace] = deque(maxlen=keep)  # oldest first
        self._connections: dict[int, ConnectionTrace] = {}  # the open ones
        self._open: dict[int, list[int]] = {}  # per open connection, its requests in flight
        self._last_read: dict[int, ev.DataReceived | tuple] = {}  # per connection, as kept
        # Per connection, answered requests whose answer is still held (writer.py): the
        # next AnswersFlushed on it took them out. Bounded: a streamed answer has none.
        self._held: dict[int, list[RequestTrace]] = {}
        self.websockets: dict[int, Conversation] = {}  # per connection, until it closes
        self.finished_times: deque[float] = deque(maxlen=10_000)  # for rates
        self.listeners: list = []  # called with each finished RequestTrace
        # One method per other event type, looked up once: feed() runs for every event.
        self._handlers = {
            cls: getattr(self, "_on_" + name)
            for name, cls in ev.EVENT_TYPES.items()
            if hasattr(self, "_on_" + name)
        }

    @property
    def in_flight(self) -> dict[tuple[int, int], RequestTrace]:
        """The requests begun and not finished, by (connection, request), folded."""
        return {key: self._look(trace) for key, trace in self._in_flight.items()}

    # --- keeping events ------------------------------------------------------

    def feed(self, event: ev.Event) -> None:
        """Keep `event`. Never raises: the model is subscribed with `safe=True` (the
        tracer calls it directly), so an error of its own is logged, not the server's."""
        try:
            kind = type(event)
            if kind in _JOINS:  # most events: kept on their trace, folded when it is read
                trace = self._latest  # most events are about the request the last one was
                if trace is None or trace.req != event.req or trace.conn != event.conn:
                    trace = self._latest = self._in_flight.get((event.conn, event.req))
                if trace is not None:  # _add written out: a call less per event (~2%)
                    queue = trace._queue
                    if queue is not None:
                        queue.append(event)
                    else:
                        self._fold(trace, (event,))
                    return
                if kind is ev.ParserCallback and event.name == "on_message_begin":  # type: ignore[attr-defined]
                    self._begin(event.conn, event.req, event.t, event)
                # Else about a request not in flight (its client left, and the cancelled
                # handler reports late): dropped, a trace opened by it would never end.
                return
            if self.server.first_event is None:
                self.server.first_event = event.t
            handler = self._handlers.get(kind)
            if handler is not None:
                handler(self._mask(event) if kind in _MASKED_AS_THEY_COME else event)
        except Exception:
            logger.exception("the inspector's model failed on %r", event)

    def feed_fields(self, *fields: Any) -> None:
        """`feed`, for a tracer that hands the event's class and its fields, `(cls, t, conn,
        req, ...)` (`tracer.subscribe(model.feed_fields, safe=True, fields=True)`).

        What a request in flight is told (most events, and its end) is kept on its trace as
        that tuple, and built when the trace is read; so are the reads and flushes that
        concern it. The rest is built now and fed.
        """
        try:
            kind, trace = fields[0], self._latest
            if trace is not None and trace.req == fields[3] and trace.conn == fields[2]:
                queue = trace._queue
                if queue is not None:  # nobody has read it yet: keep the fields
                    if kind in _JOINS:  # most events
                        queue.append(fields)
                        return
                    if kind is ev.ResponseEnd:  # it ends: kept, and counted
                        queue.append(fields)
                        self._finish(trace, fields[1], True, fields[4])
                        return
            if self._kept(kind, fields):
                return
            event = kind(*fields[1:])
        except Exception:
            logger.exception("the inspector's model failed on %r", fields)
            return
        self.feed(event)

    def _kept(self, kind: type, fields: tuple) -> bool:
        """Keep what feed_fields' first test did not (True), or leave it to build (False)."""
        conn, req = fields[2], fields[3]
        if kind in _JOINS or kind is ev.ResponseEnd:
            trace = self._latest
            if trace is None or trace.req != req or trace.conn != conn:
                trace = self._latest = self._in_flight.get((conn, req))
            if trace is None:
                if kind is ev.ParserCallback and fields[4] == "on_message_begin":
                    self._begin(conn, req, fields[1], fields)
                    return True
                return False  # about no request in flight: feed drops it
            if trace._queue is None:  # read already: folded as it comes, by feed
                return False
            trace._queue.append(fields)
            if kind is ev.ResponseEnd:
                self._finish(trace, fields[1], True, fields[4])
            return True
        if kind is ev.DataReceived:  # masked as it comes
            data = self._mask.read_data(conn, fields[5])
            self._keep_read(conn, fields if data is fields[5] else (*fields[:5], data))
            return True
        if kind is ev.AnswersFlushed:  # the answers held on conn went out
            for trace in self._held.pop(conn, ()):
                self._add(trace, fields)
            return True
        return False

    def _fold(self, trace: RequestTrace, events: Sequence[ev.Event | tuple]) -> None:
        if trace._masker is None and not self.reveal:
            trace._masker = Masker()
        fold(trace, [_built(event) for event in events])

    def _flush(self, trace: RequestTrace) -> RequestTrace:
        """Fold the events kept on `trace`; later ones are kept again."""
        queue = trace._queue
        if queue:
            trace._queue = []
            self._fold(trace, queue)
        return trace

    def _look(self, trace: RequestTrace) -> RequestTrace:
        """Fold `trace` for a reader: from now on its events are folded as they come."""
        queue = trace._queue
        if queue is not None:
            trace._queue = None
            if queue:
                self._fold(trace, queue)
        return trace

    def _add(self, trace: RequestTrace, event: ev.Event | tuple) -> None:
        queue = trace._queue
        if queue is not None:
            queue.append(event)
        else:
            self._fold(trace, (event,))

    def _begin(self, conn: int, req: int, t: float, begin: ev.Event | tuple) -> None:
        """A request begins: its trace opens, with `begin` (its first parser event)."""
        if self.server.first_event is None:
            self.server.first_event = t
        self._latest = trace = self._open_trace(conn, req, t)  # its next events find it
        trace._queue.append(begin)  # type: ignore[union-attr]

    def _open_trace(self, conn: int, req: int, t: float) -> RequestTrace:
        """The trace of a request that begins (or is refused) with an event at `t`.

        Only these events open a trace: any other about a request not in flight is
        dropped (feed).
        """
        key = (conn, req)
        trace = self._in_flight.get(key)
        if trace is None:
            trace = self._in_flight[key] = RequestTrace(conn, req, t)
            read = self._last_read.get(conn)  # what its first byte came in (fold keeps it)
            trace._queue = [] if read is None else [read]
            reqs = self._open.get(conn)
            if reqs is None:
                self._open[conn] = [req]
            else:
                reqs.append(req)
        return trace

    def _finish(
        self, trace: RequestTrace, t: float, answered: bool, status: int | None = None
    ) -> None:
        trace.finished = t
        self._in_flight.pop((trace.conn, trace.req), None)
        if self._latest is trace:
            self._latest = None
        reqs = self._open.get(trace.conn)
        if reqs is not None:  # the list stays: the connection's next request joins it
            reqs.remove(trace.req)
        self.recent.append(trace)
        if answered:
            held = self._held.get(trace.conn)
            if held is None:
                self._held[trace.conn] = [trace]
            else:
                held.append(trace)
                if len(held) > MAX_HELD:
                    del held[0]
        self.finished_times.append(t)
        self.server.requests_total += 1
        if status is None:  # not told by its ResponseEnd: cut short, or refused
            status = self._status(trace)
        if status is not None:
            self.server.statuses[status] += 1
        if self.listeners:
            self._look(trace)
            for listener in list(self.listeners):
                listener(trace)

    def _status(self, trace: RequestTrace) -> int | None:
        """`trace.status`, without folding it when its ResponseHead is still kept."""
        queue = trace._queue
        if queue:
            for event in reversed(queue):  # the head is near the end: just before its end
                if _kind(event) is ev.ResponseHead:
                    return _built(event).status  # type: ignore[attr-defined]
            self._flush(trace)
        return trace.status

    # --- events about connections and the server -------------------------------

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
        for req in self._open.pop(event.conn, ()):  # this connection's only
            self._finish(self._in_flight[(event.conn, req)], event.t, False)  # cut short

    def _on_DataReceived(self, event: ev.DataReceived) -> None:
        self._keep_read(event.conn, self._mask.read(event))

    def _keep_read(self, conn: int, read: ev.DataReceived | tuple) -> None:
        """A read, masked (with what came before it on the connection): the next request
        on `conn` begins in it, and those in flight may have more of their bytes in it."""
        self._last_read[conn] = read
        for req in self._open.get(conn, ()):
            trace = self._in_flight[(conn, req)]
            if trace._queue is None:
                trace._read = _built(read)
            else:
                trace._queue.append(read)
                if len(trace._queue) > MAX_UNFOLDED:
                    self._flush(trace)

    def _on_ParseError(self, event: ev.ParseError) -> None:
        # A refusal may come before any byte of a request (503: too many connections;
        # 408: a head that never came): then it is the whole trace.
        trace = self._open_trace(event.conn, event.req, event.t)
        self._add(trace, event)
        if self._flush(trace).version == "":  # refused before a Request existed: no answer
            self._finish(trace, event.t, False)

    def _on_ResponseEnd(self, event: ev.ResponseEnd) -> None:
        trace = self._in_flight.get((event.conn, event.req))
        if trace is not None:
            self._add(trace, event)
            self._finish(trace, event.t, True, event.status)

    def _on_FlowControl(self, event: ev.FlowControl) -> None:
        # A pause is the connection's (its lane shows it) and the request's it came in.
        connection = self._connections.get(event.conn)
        if connection is not None and len(connection.pauses) < MAX_PAUSES:
            connection.pauses.append(event)
        trace = self._in_flight.get((event.conn, event.req))
        if trace is not None:
            self._add(trace, event)

    def _on_AnswersFlushed(self, event: ev.AnswersFlushed) -> None:
        for trace in self._held.pop(event.conn, ()):  # the answers that write took out
            self._add(trace, event)

    def _on_HookStart(self, event: ev.HookStart) -> None:
        if event.conn == 0:
            self.server.hooks.append(HookRun(event.signal, event.callback, event.t))

    def _on_HookEnd(self, event: ev.HookEnd) -> None:
        if event.conn:
            trace = self._in_flight.get((event.conn, event.req))
            if trace is not None:
                self._add(trace, event)
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

"""The server protocol: one object per connection, requests in, responses out.

How this works:

- Rule 1: asyncio makes one HttpProtocol per accepted connection and calls
  `data_received` with whatever bytes arrived. The reader (reader.py) turns them into
  Requests, which wait in a queue for their answer.
- Rule 2: the queue is answered in order (RFC 9112 9.3.2: responses to pipelined
  requests go out in the order the requests came), each request in an asyncio Task of
  its own, with its own copy of the context, as in aiohttp. On Python 3.12+ the Task
  starts eagerly: a handler that never waits is done before `data_received` returns.
- Rule 3: after each response the connection either stays open for the next request
  (keep-alive, the HTTP/1.1 default; RFC 9112 9.3) or closes: when either side said
  `Connection: close`, when the request body was not read to its end, when the head
  could not be parsed, or when the server is shutting down.
- Rule 4: what the reader refuses gets its 4xx/5xx in its turn, after the answers to
  the requests before it, and the connection closes (RFC 9112 11.2).
- Rule 5: the connection is in one phase at a time (phase.py: IDLE, READING,
  ANSWERING, CLOSING, CLOSED), and each phase has its deadline. `_to()` makes every
  change of phase and arms its deadline. A deadline is a number on the connection; one
  sweeper per server compares them with the clock, so a request costs no timer and a
  slow client costs no task.
- Rule 6: a client that sends faster than we answer is paused: at most
  `_PIPELINE_LIMIT` requests wait in the queue, a big read is parsed in slices, and
  what is left waits until the queue drains; and a body whose handler reads it slower
  than it comes is paused once `streams.HIGH_WATER` bytes of it wait unread, until the
  handler has read them down (streams.py, Rule 3).
- Rule 7: once a WebSocket's 101 is out, HTTP ends: every byte read goes to
  `upgraded.feed()`, the end to `upgraded.lost()` (sketch/websocket/response.py).

The protocol knows nothing of applications or routing: answer.py runs
`server.handler(request)` in the request's Task and writes back the response it
returns. Writing is writer.py's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from functools import partial
from time import monotonic, perf_counter
from typing import TYPE_CHECKING

from .answer import answer, start_task
from .events import ConnectionLost, ConnectionMade, DataReceived, FlowControl, HandlerWaited
from .framing import Refusal
from .http import bare_response, reason_for
from .phase import ANSWERING, CLOSED, CLOSING, IDLE, NEXT, READING, Phase
from .reader import HEAD, STOPPED, ReaderState, RequestReader
from .request import Request
from .streams import HIGH_WATER
from .writer import Writer

if TYPE_CHECKING:
    from .server import Server
    from .websocket.response import WebSocketResponse

__all__ = ["HttpProtocol", "Phase"]

logger = logging.getLogger("sketch.server")

_LINGER = 2.0  # seconds to drain a client's unread bytes before closing (RFC 9112 9.6)
_PIPELINE_LIMIT = 16  # queued requests before we stop reading from a greedy client
_SLICE = 4096  # bytes parsed at a time when a read holds more


class HttpProtocol(asyncio.Protocol):
    """One client connection: reads requests, answers them in order."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._limits = server.limits
        self.loop = server.loop
        self.tracer = server.tracer
        self.id = server.next_connection_id()
        limits, size = server.limits, server.client_max_size
        self.reader = RequestReader(limits, client_max_size=size, tracer=self.tracer, conn=self.id)
        self.writer: Writer | None = None  # made with the transport
        self._transport: asyncio.Transport | None = None
        self.peer_address: str | None = None
        self.local_address = ""
        self.phase = IDLE
        self._queue: deque[Request | Refusal] = deque()  # read, waiting for their answer
        self.task: asyncio.Task[bool] | None = None  # the handler's Task, while it waits
        self._current: Request | None = None  # the request being answered
        self._received = 0  # bytes received so far (trace events say where a read began)
        self._backlog = b""  # Rule 6: bytes read, not yet parsed, while the queue is full
        self._reading_paused = False
        # Rule 5: the deadline in force (the server's sweeper checks it), and its action.
        self.deadline: float | None = None
        self._on_deadline: Callable[[], None] = self._close  # replaced by each _arm()
        self.upgraded: WebSocketResponse | None = None  # Rule 7: set by its prepare()

    # --- asyncio callbacks --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)
        self.writer = Writer(self._transport, self.server.batch, self.tracer, self.id)
        peer = transport.get_extra_info("peername")
        self.peer_address = peer[0] if isinstance(peer, tuple) else str(peer or "")
        local = transport.get_extra_info("sockname")
        self.local_address = f"{local[0]}:{local[1]}" if isinstance(local, tuple) else ""
        self.server.connections.add(self)
        # A new connection that says nothing is closed as a slow head would be.
        self._arm(self._limits.head_timeout, self._close)
        if self.tracer.on:
            self._emit(ConnectionMade, f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "")
        cap = self._limits.max_connections
        if cap is not None and len(self.server.connections) > cap:
            # One too many: say so and close, rather than let the file descriptors run
            # out for everyone. 503 is the status for an overload that will pass.
            self._refuse(503, f"more than {cap} connections are open, try again later")
            self._answer_next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.tracer.on:
            self._emit(ConnectionLost, "closed" if exc is None else repr(exc))
        self._transport = None
        self._to(CLOSED)
        gone = ConnectionResetError("the client closed the connection")
        if self.writer is not None:
            self.writer.lost(gone)
        receiving = self.reader.receiving
        self.reader.stop()
        if receiving is not None:
            receiving._feed_error(gone)
        self._queue.clear()
        if self.upgraded is not None:  # Rule 7: its receive() tells the handler
            self.upgraded.lost(exc)
        elif self.task is not None:  # nobody is left to read an answer: stop the handler
            self.task.cancel()

    def eof_received(self) -> bool:
        # The client closed its side: a half-close looks like leaving. Like aiohttp,
        # treat it as gone (connection_lost follows, and cancels what runs for it).
        return False

    def pause_writing(self) -> None:
        if self.writer is not None:
            self.writer.pause()
        if self.tracer.on:
            self._emit(FlowControl, "writing", True, req=self._current_number())

    def resume_writing(self) -> None:
        if self.writer is not None:
            self.writer.resume()
        if self.tracer.on:
            self._emit(FlowControl, "writing", False, req=self._current_number())

    # --- reading (Rules 1 and 6) --------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.tracer.on:
            self.tracer.emit(DataReceived, perf_counter(), self.id, self.reader.requests,
                             self._received, data)  # fmt: skip
        self._received += len(data)
        if self.reader.state is STOPPED:
            if self.upgraded is not None:
                self.upgraded.feed(data)  # Rule 7
            return  # no HTTP after a refusal, a closing request or an upgrade is read
        if self._backlog or len(self._queue) >= _PIPELINE_LIMIT:
            self._backlog += data
            self._pause_reading()
            return
        self._read(data)
        self._answer_next()  # once the whole read is parsed, not from a parser callback

    def _read(self, data: bytes) -> None:
        """Feed the reader, in slices when the read is big (Rule 6); queue what it makes.

        One read can hold thousands of tiny pipelined requests: parsing them all at once
        would queue thousands of Requests. Unparsed bytes wait in the backlog.
        """
        reader = self.reader
        # Slices of a memoryview copy nothing; a small read is one slice, itself.
        view = memoryview(data) if len(data) > _SLICE else data
        start = 0
        while start < len(view) and reader.state is not STOPPED:
            if len(self._queue) >= _PIPELINE_LIMIT:
                self._backlog = bytes(view[start:])
                self._pause_reading()
                break
            piece = view[start : start + _SLICE]
            start += len(piece)
            for item in reader.feed(piece):
                if type(item) is not Refusal:  # a Request (isinstance would ask ABCMeta)
                    item._protocol, item._writer = self, self.writer
                self._queue.append(item)
        receiving = reader.receiving
        if receiving is not None:
            stream = receiving._stream
            if stream is not None and stream.buffered > HIGH_WATER:
                self._pause_reading()  # Rule 6: until the handler reads it down
                stream.resume_when_drained(self._resume_reading)
            if self.phase is ANSWERING:
                self._arm(self._limits.body_timeout, self._body_stalled)  # it made progress
        elif reader.state is STOPPED and self.phase is not CLOSED:
            self._to(CLOSING)

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()
            if self.tracer.on:
                self._emit(FlowControl, "reading", True)

    def _resume_reading(self) -> None:
        backlog, self._backlog = self._backlog, b""
        if backlog:
            self._read(backlog)  # may fill the queue, and pause again
        if not self._backlog and self._transport is not None and self.phase is not CLOSING:
            self._reading_paused = False
            self._transport.resume_reading()
            if self.tracer.on:
                self._emit(FlowControl, "reading", False)

    # --- answering (Rules 2, 3 and 4) ---------------------------------------

    def _answer_next(self) -> None:
        """Answer the queue in order, each request in a Task; then wait or close."""
        while self.task is None and self._queue and self.phase is not CLOSED:
            item = self._queue.popleft()
            if self._reading_paused and len(self._queue) < _PIPELINE_LIMIT // 2:
                self._resume_reading()
            if isinstance(item, Refusal):  # Rule 4: its answer, then close
                text = f"{item.status}: {reason_for(item.status)}: {item.reason}"
                try:
                    self.writer.write(bare_response(item.status, text))  # type: ignore[union-attr]
                except ConnectionError:
                    pass
                self._close(linger=True)
                return
            if self.phase is not CLOSING:
                self._to(ANSWERING)
            self._current = item
            task = start_task(self.loop, answer(self, item))
            if not task.done():  # it waits for something: go on when it is done
                if self.tracer.on:
                    self._emit(HandlerWaited, req=item.number)
                self.task = task
                task.add_done_callback(partial(self._answered, item))
                return
            if not self._keep_open(item, task):
                return
        if self.task is None:
            self._rest()

    def _answered(self, request: Request, task: asyncio.Task[bool]) -> None:
        """A handler's Task that had to wait is done: on to the next request."""
        self.task = None
        if self._keep_open(request, task):
            self._answer_next()

    def _keep_open(self, request: Request, task: asyncio.Task[bool]) -> bool:
        """Rule 3, once an answer is out: True if the connection stays open."""
        self._current = None
        try:
            keep_alive = task.result()
        except asyncio.CancelledError:
            keep_alive = False
        except Exception as exc:  # the error page itself could not go out
            if not isinstance(exc, ConnectionError):
                logger.error("error answering %r", request, exc_info=exc)
            keep_alive = False
        if not keep_alive:
            # A body not read to its end would be parsed as the next request: close.
            self._close(linger=not request.body_complete)
        return keep_alive

    def _rest(self) -> None:
        """Nothing left to answer: wait for the next request, or close (Rule 5)."""
        phase, state = self.phase, self.reader.state
        if phase is CLOSING:
            self._close()
        elif state is HEAD and phase is not READING:
            self._to(READING)  # once: more bytes of the head do not extend its deadline
        elif state is ReaderState.IDLE and phase is ANSWERING:  # (IDLE here is a Phase)
            self._to(IDLE)

    def _refuse(self, status: int, reason: str) -> None:
        """Stop reading with `status`: queue the answer, or tell the body's reader."""
        refusal = self.reader.refuse(status, reason)
        if refusal is not None:
            self._queue.append(refusal)
        if self.phase is not CLOSED:
            self._to(CLOSING)

    # --- deadlines (Rule 5) -------------------------------------------------

    def _to(self, phase: Phase) -> None:
        """Move to `phase`, and arm its deadline."""
        if phase not in NEXT[self.phase]:
            raise RuntimeError(f"a connection cannot go from {self.phase} to {phase}")
        self.phase = phase
        limits = self._limits
        if phase is IDLE:
            self._arm(limits.keepalive_timeout, self._close)
        elif phase is READING:
            self._arm(limits.head_timeout, self._head_too_slow)
        elif phase is ANSWERING and self.reader.receiving is not None:
            self._arm(limits.body_timeout, self._body_stalled)
        else:
            self.deadline = None

    def _arm(self, delay: float, action: Callable[[], None]) -> None:
        # No timer per request: the server's sweeper compares `deadline` with the clock.
        # (time.monotonic, the clock of asyncio's loop.time(), called without the method.)
        self.deadline = monotonic() + delay if delay else None
        self._on_deadline = action

    def deadline_passed(self) -> None:
        """Called by the server's sweeper once `deadline` is in the past."""
        self.deadline = None
        if self._transport is not None:
            self._on_deadline()
            self._answer_next()

    def _head_too_slow(self) -> None:
        self._refuse(408, "the request head did not arrive in time")

    def _body_stalled(self) -> None:
        if self._reading_paused:  # we stopped reading it (Rule 6): not the client's stall
            self._arm(self._limits.body_timeout, self._body_stalled)
        elif self.reader.receiving is not None:
            self._refuse(408, "the request body stopped arriving")

    # --- closing ------------------------------------------------------------

    def _close(self, *, linger: bool = False) -> None:
        """Close once what is held is sent.

        With `linger`, the client may still be sending (a refused head, an unread
        body). Closing a socket with unread bytes makes the kernel answer with a reset,
        and the client may lose our response with it; so stop sending, read and drop
        what still comes for a moment, then close (RFC 9112 9.6).
        """
        self.reader.stop()
        self._backlog = b""
        if self.phase is not CLOSED:
            self._to(CLOSING)
        if self.writer is not None:
            self.writer.flush()
        transport = self._transport
        if transport is None:
            return
        if linger and transport.can_write_eof():
            transport.write_eof()
            if self._reading_paused:
                self._reading_paused = False
                transport.resume_reading()
            self.loop.call_later(_LINGER, transport.close)
        else:
            transport.close()

    # --- shutdown, driven by the Server -------------------------------------

    @property
    def idle(self) -> bool:
        return self.phase is IDLE

    @property
    def gone(self) -> bool:
        """The client has left (or the connection was closed): nobody reads an answer."""
        return self._transport is None

    def shutdown(self) -> None:
        """Finish the request in hand, answered with `Connection: close`; take no more."""
        if self.upgraded is not None:  # a WebSocket: close it with 1001, read its answer
            return self.upgraded.going_away()
        self.reader.stop()
        self._queue.clear()
        self._backlog = b""
        self._pause_reading()
        if self._current is not None:
            self._current.keep_alive = False
        if self.task is None:
            self._close()
        elif self.phase is not CLOSED:
            self._to(CLOSING)

    def abort(self) -> None:
        """Past the grace period: cancel the handler and drop the connection."""
        if self.writer is not None:
            self.writer.lost(ConnectionAbortedError("the server shut down"))
        if self.task is not None:
            self.task.cancel()
        if self._transport is not None:
            self._transport.abort()

    def _current_number(self) -> int:
        return 0 if self._current is None else self._current.number

    def _emit(self, cls: type, *fields: object, req: int | None = None) -> None:
        """Send an event about this connection. Callers check `tracer.on` first."""
        number = self.reader.requests if req is None else req
        self.tracer.emit(cls, perf_counter(), self.id, number, *fields)

    def __repr__(self) -> str:
        return f"<HttpProtocol {self.peer_address} {self.phase.value}>"

"""The server protocol: one object per connection, requests in, responses out.

How this works:

- Rule 1: asyncio makes one HttpProtocol per accepted connection and calls
  `data_received` with whatever bytes arrived. Reading them into Requests is the
  reader's work (reader.py, which HttpProtocol inherits): parsed requests wait in a
  queue, `_pipeline`, for their answer.
- Rule 2: one task answers the queue in order (RFC 9112 9.3.2: responses to pipelined
  requests go out in the order the requests came). When the queue is empty the task
  ends; the next request starts a new one. A whole response is held until the start of
  the loop's next turn and sent with the others made in this one (Server.send_soon):
  fewer sends, and fewer wake-ups of clients waiting for them. Streamed bodies, and
  anything written before a close, go out at once.
- Rule 3: after each response the connection either stays open for the next request
  (keep-alive, the HTTP/1.1 default; RFC 9112 9.3) or closes: when either side said
  `Connection: close`, when the request body was not read to its end, when the head
  could not be parsed, or when the server is shutting down. Bytes after a request that
  closes the connection are ignored.
- Rule 4: a request that cannot be parsed gets its 4xx/5xx in its turn, after the
  answers to the requests before it, and the connection closes: once framing is in
  doubt, nothing after it can be trusted (RFC 9112 11.2, request smuggling). If the
  error is in a body, the handler reading that body gets it as an HTTP exception.
- Rule 5: one deadline at a time: the head's and the body's (reader.py), or, between
  requests, the idle connection's, closed after `keepalive_timeout`. A deadline is a
  number on the connection; one sweeper per server compares them with the clock, so a
  request costs no timer and a slow client costs no task.

The protocol knows nothing of applications or routing: it calls `server.handler(request)`
and writes back the response it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

from .eager import start_eagerly
from .error_page import error_page
from .events import ConnectionLost, ConnectionMade, Event, ParseError, ResponseEnd
from .exceptions import HTTPBadRequest, HTTPException, HTTPNotImplemented, HTTPRequestTimeout
from .http import bare_response, reason_for
from .reader import _PIPELINE_LIMIT, RequestReader
from .request import Request
from .response import StreamResponse

if TYPE_CHECKING:
    from .server import Server

__all__ = ["HttpProtocol"]

logger = logging.getLogger("sketch.server")

_LINGER = 2.0  # seconds to drain a client's unread bytes before closing (RFC 9112 9.6)
_HOLD_LIMIT = 64 * 1024  # bytes of whole answers held for the loop's next turn, at most


class HttpProtocol(RequestReader, asyncio.Protocol):
    """One client connection: reads requests (reader.py), answers them in order."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._limits = server.limits
        self.loop = server.loop
        self._transport: asyncio.Transport | None = None
        self.peer_address: str | None = None
        self.local_address = ""
        super().__init__()  # the reader's state: the parser, the request being parsed
        # Requests parsed, waiting for their answer; a bytes item is a prepared error.
        self._pipeline: deque[Request | bytes] = deque()
        self._busy = False  # the answering loop is running, eagerly or in a Task
        self._answering: asyncio.Task[None] | None = None  # the Task, once it had to wait
        self._current: Request | None = None
        self._closing = False  # answer what is in hand, then close; read nothing more
        self.writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        # Rule 5: the one deadline in force (the server's sweeper checks it), and what
        # to do when it passes.
        self.deadline: float | None = None
        self._on_deadline: Callable[[], None] = _nothing
        self._sent = 0  # bytes of the current response written so far
        self._unsent: list[bytes] = []  # whole answers waiting for the loop's next turn
        self._unsent_bytes = 0
        # Tracing (events.py): who listens, this connection's number.
        self.tracer = server.tracer
        self.id = server.next_connection_id()

    # --- asyncio callbacks --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)
        peer = transport.get_extra_info("peername")
        self.peer_address = peer[0] if isinstance(peer, tuple) else str(peer or "")
        local = transport.get_extra_info("sockname")
        self.local_address = f"{local[0]}:{local[1]}" if isinstance(local, tuple) else ""
        self._server.connections.add(self)
        self._arm(self._limits.head_timeout, self._on_head_timeout)  # the first request
        if self.tracer.on:
            self.emit(ConnectionMade, 0, f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "")
        cap = self._limits.max_connections
        if cap is not None and len(self._server.connections) > cap:
            # One too many: say so and close, rather than let the file descriptors run
            # out for everyone. 503 is the status for an overload that will pass.
            self._refuse(503, f"more than {cap} connections are open, try again later")
            self._answer_soon()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        if self.tracer.on:
            self.emit(ConnectionLost, self.requests, "closed" if exc is None else repr(exc))
        self._transport = None
        self._closing = True
        self._disarm()
        self._unsent.clear()
        gone = ConnectionResetError("the client closed the connection")
        if self._receiving is not None:
            self._receiving._feed_error(gone)
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(gone)
        self._pipeline.clear()
        # Nobody is left to read an answer: stop the handler instead of letting it run on.
        if self._answering is not None:
            self._answering.cancel()

    def eof_received(self) -> bool:
        # The client closed its side. Whether it only half-closed or left for good
        # looks the same from here; like aiohttp, treat it as gone (connection_lost
        # follows, and cancels what is running for it).
        return False

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # --- answering (Rules 2 and 3) ------------------------------------------

    def _enqueue(self, item: Request | bytes) -> None:
        self._pipeline.append(item)

    def _answer_soon(self) -> None:
        """Start answering the queue, unless that is already going on.

        Not from inside a parser callback: the handler must not run before the
        parser has finished with the bytes in hand (on_message_complete may be next).
        """
        if self._pipeline and not self._busy:
            self._busy = True
            self._answering = start_eagerly(self.loop, self._answer_all())

    async def _answer_all(self) -> None:
        try:
            while self._pipeline:
                item = self._pipeline.popleft()
                if self._reading_paused and len(self._pipeline) < _PIPELINE_LIMIT // 2:
                    self._resume_reading()
                if isinstance(item, bytes):  # Rule 4: a prepared error, then close
                    self.write(item)
                    self._close(linger=True)
                    return
                if not await self._answer(item):
                    self._close(linger=not item.body_complete)
                    return
        except ConnectionError:
            self._close()
            return
        finally:
            self._busy = False
            self._answering = None
            self._current = None
        if self._closing and not self._in_head and not self._receiving:
            self._close()
        elif not self._in_head and self._receiving is None:
            self._arm(self._limits.keepalive_timeout, self._on_idle_timeout)

    async def _answer(self, request: Request) -> bool:
        """Run the handler and write its response. True if the connection stays open."""
        self._current = request
        self._sent = 0
        if self._server.shutting_down:
            request.keep_alive = False  # say so in this response
        response: StreamResponse | None = None
        try:
            try:
                response = await self._server.handler(request)
            except HTTPException as exc:
                response = exc
            if not isinstance(response, StreamResponse):
                raise TypeError(
                    f"handler for {request.method} {request.path} returned {response!r}: "
                    "a handler must return a Response (or raise an HTTPException)"
                )
            if response._send_at_once(request):  # the common case: no await needed
                if self.writing_paused:  # the client reads slower than we answer
                    await self.drain()
            else:
                await response.prepare(request)
                await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:
            if self._transport is None:
                return False  # the client left; there is nobody to tell
            logger.exception(
                "error handling %s %s from %s", request.method, request.raw_path, request.remote
            )
            if self._sent:
                return False  # the head is out: a 500 can't follow it, closing is the answer
            accept = request.headers.get("Accept", "")
            response = error_page(exc, accept=accept, debug=self._server.debug)
            await response.prepare(request)
            await response.write_eof()
        # Rule 3. A body not read to its end would be parsed as the next request.
        keep_alive = bool(response.keep_alive) and request.body_complete
        if self.tracer.on:
            self.emit(ResponseEnd, request.number, response.status, self._sent, keep_alive)
        return keep_alive

    def _refuse(self, status: int, reason: str) -> None:
        """Rule 4: answer what we could not parse or will not serve, in its turn; close."""
        self._closing = True
        self._in_head = False
        self._disarm()
        if self.tracer.on:
            self.emit(ParseError, self.requests, status, reason, self._read_start)
        text = f"{status}: {reason_for(status)}: {reason}"
        request = self._receiving
        self._receiving = None
        if request is not None:
            # The error is in a body: its handler is told when it reads.
            request.keep_alive = False
            request._feed_error(_exception_for(status, text))
            return  # the answering loop closes the connection after its answer
        self._enqueue(bare_response(status, text))

    # --- writing, used by StreamResponse ------------------------------------

    def _open_transport(self) -> asyncio.Transport:
        """The transport, or ConnectionResetError once the client is gone."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        return transport

    def write(self, data: bytes) -> None:
        """Send `data` now (a streamed body: flow control applies at once)."""
        transport = self._open_transport()
        if self._unsent:
            self.flush()  # what was written before goes first
        transport.write(data)
        self._sent += len(data)

    def write_soon(self, data: bytes) -> None:
        """Send a whole answer with the others of this loop turn (Server.send_soon)."""
        self._open_transport()
        if not self._unsent:
            self._server.send_soon(self)
        self._unsent.append(data)
        self._unsent_bytes += len(data)
        self._sent += len(data)
        if self._unsent_bytes >= _HOLD_LIMIT:
            self.flush()  # big answers go now, so that flow control sees them

    def flush(self) -> None:
        """Hand the answers held by write_soon to the transport."""
        unsent = self._unsent
        if unsent and self._transport is not None:
            self._transport.write(unsent[0] if len(unsent) == 1 else b"".join(unsent))
        unsent.clear()
        self._unsent_bytes = 0

    async def drain(self) -> None:
        """Wait while the client reads slower than we write (asyncio flow control).

        Callers check `writing_paused` first, so the common case costs no coroutine.
        """
        if self.writing_paused and self._transport is not None:
            self._drain_waiter = self.loop.create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    # --- deadlines (Rule 5) -------------------------------------------------

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        # No timer per request: the server's sweeper compares `deadline` with the clock.
        if delay:
            self.deadline = self.loop.time() + delay
            self._on_deadline = callback

    def _disarm(self) -> None:
        self.deadline = None

    def deadline_passed(self) -> None:
        """Called by the server's sweeper once `deadline` is in the past."""
        self.deadline = None
        if self._transport is not None:
            self._on_deadline()
            self._answer_soon()

    def _on_idle_timeout(self) -> None:
        if not self._busy and not self._in_head:
            self._close()

    # --- closing ------------------------------------------------------------

    def _close(self, *, linger: bool = False) -> None:
        """Close once what is buffered is sent.

        With `linger`, the client may still be sending (a refused head, an unread
        body). Closing a socket with unread bytes makes the kernel answer with a reset,
        and the client may lose our response with it; so stop sending, read and drop
        what still comes for a moment, then close (RFC 9112 9.6).
        """
        self._closing = True
        self._disarm()
        self._backlog = b""
        self.flush()
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
        return not self._busy and not self._in_head and self._receiving is None

    def shutdown(self) -> None:
        """Finish the request in hand, answered with `Connection: close`; take no more."""
        self._stop_reading()
        self._pipeline.clear()
        if self._current is not None:
            self._current.keep_alive = False
        if self.idle:
            self._close()

    def abort(self) -> None:
        """Past the grace period: cancel the handler and drop the connection."""
        self._unsent.clear()
        if self._answering is not None:
            self._answering.cancel()
        if self._transport is not None:
            self._transport.abort()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._answering

    def emit(self, cls: type[Event], req: int, *fields: object) -> None:
        """Send an event about this connection. Callers check `tracer.on` first."""
        self.tracer.emit(cls(perf_counter(), self.id, req, *fields))  # type: ignore[call-arg]

    def __repr__(self) -> str:
        return f"<HttpProtocol {self.peer_address} requests={self.requests}>"


def _nothing() -> None:
    pass


def _exception_for(status: int, text: str) -> HTTPException:
    """The error a handler gets from read() when its body could not be received."""
    cls = {408: HTTPRequestTimeout, 501: HTTPNotImplemented}.get(status, HTTPBadRequest)
    return cls(text=text)

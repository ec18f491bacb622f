"""The server protocol: one object per connection, bytes in, responses out.

How this works:

- Rule 1: asyncio makes one HttpProtocol per accepted connection and calls
  `data_received` with whatever bytes arrived. They go straight into httptools, which
  calls back `on_url`, `on_header`, `on_headers_complete`, `on_body`,
  `on_message_complete` as it recognizes each part. A request can arrive in many reads,
  and one read can hold several requests (pipelining).
- Rule 2: at `on_headers_complete` the head is known: it is checked (framing.py), a
  Request is made and queued. Its body keeps arriving through `on_body` while the
  handler already runs.
- Rule 3: one task answers the queue in order (RFC 9112 9.3.2: responses to pipelined
  requests go out in the order the requests came). When the queue is empty the task
  ends; the next request starts a new one. A whole response is held until the start of
  the loop's next turn and sent with the others made in this one (Server.send_soon):
  fewer sends, and fewer wake-ups of clients waiting for them. Streamed bodies, and
  anything written before a close, go out at once.
- Rule 4: after each response the connection either stays open for the next request
  (keep-alive, the HTTP/1.1 default; RFC 9112 9.3) or closes: when either side said
  `Connection: close`, when the request body was not read to its end, when the head
  could not be parsed, or when the server is shutting down. Bytes after a request that
  closes the connection are ignored.
- Rule 5: a request that cannot be parsed gets its 4xx/5xx in its turn, after the
  answers to the requests before it, and the connection closes: once framing is in
  doubt, nothing after it can be trusted (RFC 9112 11.2, request smuggling). If the
  error is in a body, the handler reading that body gets it as an HTTP exception.
- Rule 6: one deadline at a time. A head must arrive within `head_timeout` of its first
  byte (else 408 and close), a body may pause at most `body_timeout` between pieces
  (else the handler's read() raises 408), an idle connection is closed after
  `keepalive_timeout`. A deadline is a number on the connection; one sweeper per
  server compares them with the clock, so a request costs no timer and a slow client
  costs no task.

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

import httptools
from multidict import CIMultiDict

from .eager import start_eagerly
from .error_page import error_page
from .events import (
    ConnectionLost,
    ConnectionMade,
    DataReceived,
    Event,
    ParseError,
    ParserCallback,
    RequestHead,
    ResponseEnd,
)
from .exceptions import HTTPBadRequest, HTTPException, HTTPNotImplemented, HTTPRequestTimeout
from .framing import check_head
from .http import HttpVersion10, HttpVersion11, bare_response, reason_for
from .request import Request
from .response import StreamResponse

if TYPE_CHECKING:
    from .server import Server

__all__ = ["HttpProtocol"]

logger = logging.getLogger("sketch.server")

_VERSIONS = {"1.1": HttpVersion11, "1.0": HttpVersion10}
_PIPELINE_LIMIT = 16  # queued requests before we stop reading from a greedy client
_SLICE = 4096  # bytes parsed at a time when a read holds more
_LINGER = 2.0  # seconds to drain a client's unread bytes before closing (RFC 9112 9.6)
_HOLD_LIMIT = 64 * 1024  # bytes of whole answers held for the loop's next turn, at most


class _StopParsing(Exception):
    """Raised from a parser callback to make httptools stop at the current byte."""


class HttpProtocol(asyncio.Protocol):
    """One client connection: parses requests, answers them in order."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._limits = server.limits
        self.loop = server.loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self.peer_address: str | None = None
        self.local_address = ""
        # The request being parsed.
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._head_bytes = 0  # bytes received while a head was unfinished (Rule 5)
        self._in_head = False  # between on_message_begin and on_headers_complete
        self._receiving: Request | None = None  # its body is still arriving
        # Requests parsed, waiting for their answer; a bytes item is a prepared error.
        self._pipeline: deque[Request | bytes] = deque()
        self._busy = False  # the answering loop is running, eagerly or in a Task
        self._answering: asyncio.Task[None] | None = None  # the Task, once it had to wait
        self._current: Request | None = None
        self._closing = False  # answer what is in hand, then close; read nothing more
        self._backlog = b""  # bytes read but not yet parsed, while the queue is full
        self._reading_paused = False
        self.writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        # Rule 6: the one deadline in force (the server's sweeper checks it), what to
        # do when it passes, and when the body last made progress.
        self.deadline: float | None = None
        self._on_deadline: Callable[[], None] = _nothing
        self._body_progress = 0.0
        self._sent = 0  # bytes of the current response written so far
        self._unsent: list[bytes] = []  # whole answers waiting for the loop's next turn
        self._unsent_bytes = 0
        self.requests = 0  # requests begun on this connection; the current one's number
        # Tracing (events.py): who listens, this connection's number, bytes so far.
        self.tracer = server.tracer
        self.id = server.next_connection_id()
        self._received = 0
        self._read_start = 0

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

    def data_received(self, data: bytes) -> None:
        if self.tracer.on:
            self.emit(DataReceived, self.requests, self._received, data)
        self._read_start = self._received
        self._received += len(data)
        if self._closing:
            return  # Rule 4: nothing after a closing request is read
        if self._backlog or len(self._pipeline) >= _PIPELINE_LIMIT:
            self._backlog += data
            self._pause_reading()
            return
        self._feed(data)
        self._answer_soon()  # Rule 3: once the whole read is parsed

    def _feed(self, data: bytes) -> None:
        """Parse `data`, in slices, stopping when the queue is full (back-pressure).

        One read can hold thousands of tiny pipelined requests; parsing them all at once
        would queue thousands of Request objects. Unparsed bytes wait in the backlog.
        """
        while data:
            if len(self._pipeline) >= _PIPELINE_LIMIT:
                self._backlog = data
                self._pause_reading()
                return
            piece, data = (data[:_SLICE], data[_SLICE:]) if len(data) > _SLICE else (data, b"")
            if not self._parse(piece):
                return

    def _parse(self, data: bytes) -> bool:
        """Feed httptools. False when parsing must stop for good."""
        head_was_open = self._in_head
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _StopParsing):
                raise
            return False
        except httptools.HttpParserUpgrade:
            # Upgrades (WebSocket, CONNECT) are not spoken here: the request that asked
            # is answered normally, with `Connection: close`, and whatever the client
            # sent after it is ignored.
            last = self._pipeline[-1] if self._pipeline else self._current
            if isinstance(last, Request):
                last.keep_alive = False
            self._stop_reading()
            return False
        except httptools.HttpParserError as exc:
            status = 505 if "HTTP version" in str(exc) else 400  # llhttp's own words
            self._refuse(status, str(exc))
            return False
        if self._in_head and head_was_open:
            # httptools keeps an unfinished header line in its own buffer; bound it.
            self._head_bytes += len(data)
            if self._head_bytes > self._limits.max_head:
                self._refuse(431, "the request head is too large")
                return False
        return not self._closing

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # --- httptools callbacks (Rule 1) ---------------------------------------

    def on_message_begin(self) -> None:
        if self._closing:
            raise _StopParsing  # Rule 4: bytes after a closing request are not a request
        self._in_head = True
        self._head_bytes = 0
        self._url = b""
        self._headers = []
        self.requests += 1
        self._arm(self._limits.head_timeout, self._on_head_timeout)
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_message_begin", ())

    def on_url(self, url: bytes) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_url", (url,))
        self._url += url  # the target may come in pieces, across reads
        if len(self._url) > self._limits.max_target:
            self._refuse(414, f"the request target is longer than {self._limits.max_target} bytes")
            raise _StopParsing

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_header", (name, value))
        headers = self._headers
        if len(headers) >= self._limits.max_headers:
            self._refuse(431, f"more than {self._limits.max_headers} header fields")
            raise _StopParsing
        if len(name) + len(value) > self._limits.max_field:
            self._refuse(431, f"a header field is longer than {self._limits.max_field} bytes")
            raise _StopParsing
        headers.append((name.decode("latin-1"), value.decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_headers_complete", ())
        self._in_head = False
        self._disarm()
        parser = self._parser
        headers = CIMultiDict(self._headers)
        version = parser.get_http_version()
        refusal = check_head(version, headers)
        if refusal is not None:
            self._refuse(refusal.status, refusal.reason)
            raise _StopParsing
        request = Request(
            self,
            parser.get_method().decode("ascii"),
            self._url.decode("utf-8", "surrogateescape"),
            _VERSIONS[version],
            headers,
            parser.should_keep_alive(),
            client_max_size=self._server.client_max_size,
        )
        request.number = self.requests
        if self.tracer.on:
            self.emit(
                RequestHead, request.number, request.method, request.raw_path, version,
                tuple(self._headers),
            )  # fmt: skip
        self._receiving = request
        self._enqueue(request)
        if request.body_exists:
            self._body_progress = self.loop.time()
            self._arm(self._limits.body_timeout, self._on_body_timeout)

    def on_body(self, body: bytes) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_body", (body,))
        if self._receiving is not None:
            self._receiving._feed_body(body)
            self._body_progress = self.loop.time()  # the body timer reads this

    def on_chunk_header(self) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_chunk_header", ())

    def on_chunk_complete(self) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_chunk_complete", ())

    def on_message_complete(self) -> None:
        if self.tracer.on:
            self.emit(ParserCallback, self.requests, "on_message_complete", ())
        request = self._receiving
        if request is not None:
            self._receiving = None
            self._disarm()
            request._feed_eof()
            if not request.keep_alive:
                self._closing = True  # Rule 4: answer this one, read nothing more

    # --- answering (Rules 3 and 4) ------------------------------------------

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
                if isinstance(item, bytes):  # Rule 5: a prepared error, then close
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
        # Rule 4. A body not read to its end would be parsed as the next request.
        keep_alive = bool(response.keep_alive) and request.body_complete
        if self.tracer.on:
            self.emit(ResponseEnd, request.number, response.status, self._sent, keep_alive)
        return keep_alive

    def _refuse(self, status: int, reason: str) -> None:
        """Rule 5: answer what we could not parse or will not serve, in its turn; close."""
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

    def write(self, data: bytes) -> None:
        """Send `data` now (a streamed body: flow control applies at once)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        if self._unsent:
            self.flush()  # what was written before goes first
        transport.write(data)
        self._sent += len(data)

    def write_soon(self, data: bytes) -> None:
        """Send a whole answer with the others of this loop turn (Server.send_soon)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
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

    # --- deadlines (Rule 6) -------------------------------------------------

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

    def _on_head_timeout(self) -> None:
        if self._in_head:
            self._refuse(408, "the request head did not arrive in time")
        elif not self._busy and self._receiving is None:
            self._close()  # connected and said nothing

    def _on_body_timeout(self) -> None:
        if self._receiving is None:
            return
        waited = self.loop.time() - self._body_progress
        if waited < self._limits.body_timeout:  # progress since armed: wait the rest
            self._arm(self._limits.body_timeout - waited, self._on_body_timeout)
        else:
            self._refuse(408, "the request body stopped arriving")

    # --- closing ------------------------------------------------------------

    def _pause_reading(self) -> None:
        # Back-pressure: a client that pipelines faster than we answer waits.
        if not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        backlog, self._backlog = self._backlog, b""
        if backlog:
            self._feed(backlog)  # may fill the queue, and pause again
        if not self._backlog and not self._closing and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()

    def _stop_reading(self) -> None:
        self._closing = True
        self._backlog = b""
        self._pause_reading()

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

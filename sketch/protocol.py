"""The server protocol: one object per connection, bytes in, responses out.

How this works:

- Rule 1: asyncio makes one HttpProtocol per accepted connection and calls
  `data_received` with whatever bytes arrived. They go straight into httptools, which
  calls back `on_url`, `on_header`, `on_headers_complete`, `on_body`,
  `on_message_complete` as it recognizes each part. A request can arrive in many reads,
  and one read can hold several requests (pipelining).
- Rule 2: at `on_headers_complete` the head is known: a Request is made and queued.
  Its body keeps arriving through `on_body` while the handler already runs.
- Rule 3: one task answers the queue in order (RFC 9112 9.3.2: responses to pipelined
  requests go out in the order the requests came). When the queue is empty the task
  ends; the next request starts a new one.
- Rule 4: after each response the connection either stays open for the next request
  (keep-alive, the HTTP/1.1 default; RFC 9112 9.3) or closes: when either side said
  `Connection: close`, when the request body was not read to its end, when the head
  could not be parsed, or when the server is shutting down. Bytes after a request that
  closes the connection are ignored.
- Rule 5: a request that cannot be parsed gets its 4xx/5xx in its turn, after the
  answers to the requests before it, and the connection closes: once framing is in
  doubt, nothing after it can be trusted (RFC 9112 11.2, request smuggling).

The protocol knows nothing of applications or routing: it calls `server.handler(request)`
and writes back the response it returns.
"""

from __future__ import annotations

import asyncio
import html
import logging
import traceback
from collections import deque
from typing import TYPE_CHECKING

import httptools
from multidict import CIMultiDict

from .exceptions import HTTPException
from .http import HttpVersion10, HttpVersion11, bare_response, reason_for
from .request import Request
from .response import Response, StreamResponse

if TYPE_CHECKING:
    from .server import Server

__all__ = ["HttpProtocol"]

logger = logging.getLogger("sketch.server")

_VERSIONS = {"1.1": HttpVersion11, "1.0": HttpVersion10}
_PIPELINE_LIMIT = 16  # queued requests before we stop reading from a greedy client


class _StopParsing(Exception):
    """Raised from a parser callback to make httptools stop at the current byte."""


class HttpProtocol(asyncio.Protocol):
    """One client connection: parses requests, answers them in order."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self.loop = server.loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self.peer_address: str | None = None
        self.local_address = ""
        # The request being parsed.
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._receiving: Request | None = None
        self._in_message = False
        # Requests parsed, waiting for their answer; a bytes item is a prepared error.
        self._pipeline: deque[Request | bytes] = deque()
        self._answering: asyncio.Task[None] | None = None
        self._current: Request | None = None
        self._closing = False  # answer what is in hand, then close; read nothing more
        self._peer_done = False  # the client half-closed: answer what it sent, then close
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._sent = 0  # bytes of the current response written so far
        self.requests = 0  # requests parsed on this connection

    # --- asyncio callbacks --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer_address = peer[0] if isinstance(peer, tuple) else str(peer or "")
        local = transport.get_extra_info("sockname")
        self.local_address = f"{local[0]}:{local[1]}" if isinstance(local, tuple) else ""
        self._server.connections.add(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        self._closing = True
        self._cancel_timer()
        gone = ConnectionResetError("the client closed the connection")
        if self._receiving is not None and not self._receiving.body_complete:
            self._receiving._feed_error(gone)
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(gone)
        self._pipeline.clear()
        # Nobody is left to read an answer: stop the handler instead of letting it run on.
        if self._answering is not None:
            self._answering.cancel()

    def eof_received(self) -> bool:
        # A client may send its requests, then shut down its sending side. Keep the
        # connection half-open to answer them (return True), then close.
        self._peer_done = True
        if self._answering is None:
            self._close()
            return False
        return True

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # Rule 4: nothing after a closing request is read
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _StopParsing):
                raise
        except httptools.HttpParserUpgrade:
            # Upgrades (WebSocket, CONNECT) are not spoken here: the request that asked
            # is answered normally, and whatever the client sent after it is ignored.
            self._stop_reading()
        except httptools.HttpParserError as exc:
            status = 505 if "HTTP version" in str(exc) else 400  # llhttp's own words
            self._reject(status, f"{status}: {reason_for(status)}: {exc}")

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # --- httptools callbacks (Rule 1) ---------------------------------------

    def on_message_begin(self) -> None:
        if self._closing:
            raise _StopParsing  # Rule 4: bytes after a closing request are not a request
        self._in_message = True
        self._url = b""
        self._headers = []
        self._cancel_timer()

    def on_url(self, url: bytes) -> None:
        self._url += url  # the target may come in pieces, across reads

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        )

    def on_headers_complete(self) -> None:
        parser = self._parser
        version = _VERSIONS.get(parser.get_http_version())
        if version is None:  # RFC 9110 15.6.6; httptools parses HTTP/2.0 and 0.9 lines
            self._reject(505, "505: HTTP Version Not Supported")
            raise _StopParsing
        headers = CIMultiDict(self._headers)
        expect = headers.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            self._reject(417, f"417: Expectation Failed: unknown Expect {html.escape(expect)!r}")
            raise _StopParsing
        self.requests += 1
        request = Request(
            self,
            parser.get_method().decode("ascii"),
            self._url.decode("utf-8", "surrogateescape"),
            version,
            headers,
            parser.should_keep_alive(),
            client_max_size=self._server.client_max_size,
        )
        self._receiving = request
        self._enqueue(request)

    def on_body(self, body: bytes) -> None:
        if self._receiving is not None:
            self._receiving._feed_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        request = self._receiving
        if request is not None:
            request._feed_eof()
            self._receiving = None
            if not request.keep_alive:
                self._closing = True  # Rule 4: answer this one, read nothing more

    # --- answering (Rules 3 and 4) ------------------------------------------

    def _enqueue(self, item: Request | bytes) -> None:
        self._pipeline.append(item)
        if self._answering is None:
            self._answering = self.loop.create_task(self._answer_all())
        elif len(self._pipeline) >= _PIPELINE_LIMIT and not self._reading_paused:
            # Back-pressure: a client that pipelines faster than we answer waits.
            self._reading_paused = True
            if self._transport is not None:
                self._transport.pause_reading()

    async def _answer_all(self) -> None:
        try:
            while self._pipeline:
                item = self._pipeline.popleft()
                if self._reading_paused and len(self._pipeline) < _PIPELINE_LIMIT // 2:
                    self._reading_paused = False
                    if self._transport is not None and not self._closing:
                        self._transport.resume_reading()
                if isinstance(item, bytes):  # Rule 5: a prepared error, then close
                    self.write(item)
                    self._close()
                    return
                if not await self._answer(item):
                    self._close()
                    return
        except ConnectionError:
            self._close()
        finally:
            self._answering = None
            self._current = None
        if self._peer_done or (self._closing and not self._in_message):
            self._close()
        else:
            self._arm_idle_timer()

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
            response = self._error_page(request, exc)
            await response.prepare(request)
            await response.write_eof()
        # Rule 4. A body not read to its end would be parsed as the next request.
        return bool(response.keep_alive) and request.body_complete

    def _error_page(self, request: Request, exc: BaseException) -> Response:
        """The 500 answer, in aiohttp's words: no traceback unless debug=True, all escaped."""
        title = "500 Internal Server Error"
        detail = "Server got itself in trouble"
        trace = "".join(traceback.format_exception(exc)) if self._server.debug else None
        if "text/html" in request.headers.get("Accept", ""):
            if trace is not None:
                detail = f"<h2>Traceback:</h2>\n<pre>{html.escape(trace)}</pre>"
            body = (
                f"<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>"
                f"\n{detail}\n</body></html>\n"
            )
            response = Response(status=500, text=body, content_type="text/html")
        else:
            response = Response(status=500, text=f"{title}\n\n{trace or detail}")
        response.force_close()
        return response

    def _reject(self, status: int, text: str) -> None:
        """Rule 5: answer a request we could not parse, in its turn, and close."""
        self._closing = True
        self._in_message = False
        self._receiving = None
        self._enqueue(bare_response(status, text))

    # --- writing, used by StreamResponse ------------------------------------

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        transport.write(data)
        self._sent += len(data)

    async def drain(self) -> None:
        """Wait while the client reads slower than we write (asyncio flow control)."""
        if self._writing_paused and self._transport is not None:
            self._drain_waiter = self.loop.create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    # --- timers and closing -------------------------------------------------

    def _arm_idle_timer(self) -> None:
        self._cancel_timer()
        timeout = self._server.keepalive_timeout
        if timeout and self._transport is not None:
            self._timer = self.loop.call_later(timeout, self._on_idle_timeout)

    def _on_idle_timeout(self) -> None:
        self._timer = None
        if self._answering is None and not self._in_message:
            self._close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _stop_reading(self) -> None:
        self._closing = True
        if self._transport is not None and not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()

    def _close(self) -> None:
        self._closing = True
        self._cancel_timer()
        if self._transport is not None:
            self._transport.close()  # sends what is buffered, then closes

    # --- shutdown, driven by the Server -------------------------------------

    @property
    def idle(self) -> bool:
        return self._answering is None and not self._in_message

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
        if self._answering is not None:
            self._answering.cancel()
        if self._transport is not None:
            self._transport.abort()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._answering

    def __repr__(self) -> str:
        return f"<HttpProtocol {self.peer_address} requests={self.requests}>"

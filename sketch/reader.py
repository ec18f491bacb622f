"""Reading requests: bytes in, httptools callbacks, Requests out.

How this works:

- Rule 1: `data_received` hands whatever bytes arrived to httptools, which calls back
  `on_url`, `on_header`, `on_headers_complete`, `on_body`, `on_message_complete` as it
  recognizes each part. A request can arrive in many reads, and one read can hold
  several requests (pipelining).
- Rule 2: at `on_headers_complete` the head is known: it is checked (framing.py), a
  Request is made and queued for the connection to answer. Its body keeps arriving
  through `on_body` while the handler already runs.
- Rule 3: a client may pipeline faster than we answer, so at most `_PIPELINE_LIMIT`
  requests wait in the queue. A big read is parsed in slices; what is left waits in a
  backlog, and reading from the socket pauses until the queue drains.
- Rule 4: what cannot be parsed, or breaks a limit, is refused: the connection answers
  it in its turn and closes (protocol.py). Nothing after it is parsed, and nothing after
  a request that closes the connection either.
- Rule 5: a head must arrive within `head_timeout` of its first byte (else 408), and a
  body may pause at most `body_timeout` between pieces (else the handler's read()
  raises 408). These are deadlines on the connection (protocol.py, Rule 5 there).

RequestReader is the reading half of HttpProtocol, which inherits it. The answering
half, in protocol.py, provides what is called here but not defined: `_enqueue`,
`_refuse`, `_answer_soon`, `_arm`, `_disarm`, `_close` and `emit`.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import httptools
from multidict import CIMultiDict

from .events import DataReceived, ParserCallback, RequestHead
from .framing import Limits, check_head
from .http import HttpVersion10, HttpVersion11
from .request import Request

if TYPE_CHECKING:
    from collections import deque

    from .events import Tracer
    from .server import Server

__all__ = ["RequestReader"]

_VERSIONS = {"1.1": HttpVersion11, "1.0": HttpVersion10}
_PIPELINE_LIMIT = 16  # queued requests before we stop reading from a greedy client
_SLICE = 4096  # bytes parsed at a time when a read holds more
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2: a method is a token


class _StopParsing(Exception):
    """Raised from a parser callback to make httptools stop at the current byte."""


class RequestReader:
    """Parses a connection's bytes into queued Requests (HttpProtocol inherits this)."""

    # Set by the connection (protocol.py), which also provides the methods named in
    # this module's docstring.
    loop: asyncio.AbstractEventLoop
    tracer: Tracer
    _server: Server
    _limits: Limits
    _transport: asyncio.Transport | None
    _closing: bool  # answer what is in hand, then close; read nothing more
    _busy: bool  # the connection is answering
    _pipeline: deque[Request | bytes]  # parsed, waiting for their answer
    _current: Request | None  # the one being answered

    def __init__(self) -> None:
        self._parser = httptools.HttpRequestParser(self)
        # The request being parsed.
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._head_bytes = 0  # bytes received while a head was unfinished (Rule 4)
        self._in_head = False  # between on_message_begin and on_headers_complete
        self._receiving: Request | None = None  # its body is still arriving
        self._body_progress = 0.0  # when its body last made progress (Rule 5)
        self.requests = 0  # requests begun on this connection; the current one's number
        # Rule 3: bytes read but not yet parsed, while the queue is full.
        self._backlog = b""
        self._reading_paused = False
        # For trace events: bytes received so far, and where the latest read began.
        self._received = 0
        self._read_start = 0

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
        self._answer_soon()  # once the whole read is parsed, not from a callback

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
        starts_a_request = not head_was_open and self._receiving is None
        begun = self.requests
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
        except httptools.HttpParserInvalidMethodError as exc:
            # RFC 9110 9.1: a method the server does not recognize gets 501; bytes that
            # are no method at all, 400. llhttp knows the standard methods only, and
            # the method is readable when the failing request is the first in `data`.
            first = starts_a_request and self.requests == begun + 1
            method = data.partition(b" ")[0] if first else b""
            if _TOKEN.fullmatch(method):
                self._refuse(501, f"the method {method.decode()} is not implemented")
            else:
                self._refuse(400, str(exc))
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

    # --- httptools callbacks (Rules 1 and 2) -------------------------------

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

    # --- back-pressure (Rule 3) ---------------------------------------------

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

    # --- deadlines (Rule 5) ------------------------------------------------

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

"""Reading requests: bytes in, Requests and refusals out, and no I/O.

How this works:

- Rule 1: `feed(data)` hands the bytes to httptools, which calls back `on_url`,
  `on_header`, `on_headers_complete`, `on_body`, `on_message_complete` as it recognizes
  each part. A request can arrive in many feeds, and one feed can hold several
  requests (pipelining). `feed` returns what the bytes completed, in order: Requests,
  and at most one Refusal, last.
- Rule 2: at `on_headers_complete` the head is known: it is checked (framing.py), and a
  Request is made and returned. Its body keeps arriving behind it: later `on_body`
  calls hand it to that Request, which a handler may already be reading.
- Rule 3: what cannot be parsed, or breaks a limit, is refused with a status and a
  reason, and the reader stops: once framing is in doubt, nothing after it can be
  trusted (RFC 9112 11.2). If the fault is in a body already handed out, that
  Request's read() raises it instead. The reader also stops after a request that
  closes the connection (`Connection: close`, HTTP/1.0), and after one that asks for
  an upgrade (a WebSocket's handler takes the connection over: sketch/websocket/).
- Rule 4: traced, each callback's event says where its bytes lie on the connection,
  so two identical pipelined requests in one read are told apart.

There is no socket and no clock here: the connection (protocol.py) decides when to feed
the reader, answers what it returns, and picks its deadlines from `state`. So a reader
can be driven from a test or a notebook with plain bytes:

    >>> reader = RequestReader(Limits())
    >>> reader.feed(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /a HTT")
    [<Request GET />]
    >>> reader.state
    <ReaderState.HEAD: 'in a head'>
"""

from __future__ import annotations

import enum
import re
from time import perf_counter
from typing import Any

import httptools

from .events import Event, ParseError, ParserCallback, RequestHead, Tracer
from .exceptions import HTTPBadRequest, HTTPException, HTTPNotImplemented, HTTPRequestTimeout
from .framing import Limits, Refusal, check_head
from .http import HttpVersion10, HttpVersion11, reason_for
from .request import Request

__all__ = ["ByteCursor", "RequestReader", "ReaderState", "Refusal"]

_VERSIONS = {"1.1": HttpVersion11, "1.0": HttpVersion10}
# The standard methods' names as text, made once (RFC 9110 9.3): decoding each costs more.
_METHODS = {
    name.encode(): name
    for name in ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
}
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2: a method is a token


class ReaderState(enum.Enum):
    IDLE = "between requests"
    HEAD = "in a head"
    BODY = "in a body"  # the Request is out; its body is still arriving
    STOPPED = "stopped"  # Rule 3: nothing more is read


# Each state under its own name as well (why: sketch/phase.py, on Phase's names).
IDLE, HEAD, BODY, STOPPED = (
    ReaderState.IDLE,
    ReaderState.HEAD,
    ReaderState.BODY,
    ReaderState.STOPPED,
)


class _StopParsing(Exception):
    """Raised from a parser callback to make httptools stop at the current byte."""


class RequestReader:
    """Turns the bytes of one connection into Requests (and, at worst, one Refusal)."""

    def __init__(
        self,
        limits: Limits,
        *,
        client_max_size: int = 1024**2,
        tracer: Tracer | None = None,
        conn: int = 0,
    ) -> None:
        self.limits = limits
        self.client_max_size = client_max_size
        self.tracer = tracer or Tracer()
        self.conn = conn  # the connection's number, for trace events
        self._parser = httptools.HttpRequestParser(self)
        self.state = IDLE
        self.requests = 0  # requests begun; the current one's number
        self.receiving: Request | None = None  # the Request whose body is arriving
        self._done: list[Request | Refusal] = []  # what this feed completed
        # The head being parsed.
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._head_bytes = 0  # bytes fed while a head stayed unfinished
        self._last: Request | None = None  # the latest Request made
        self.upgrade_tail = b""  # bytes after the head of a request asking for an upgrade
        self._fed = 0  # bytes fed so far
        self._piece_at = 0  # where the bytes being parsed start on the connection
        self._where = ByteCursor()  # Rule 4, traced only: where callbacks' bytes lie

    def feed(self, data: bytes | memoryview) -> list[Request | Refusal]:
        """Parse `data`; return the Requests whose heads it completed, and a Refusal."""
        if self.state is STOPPED:
            return []
        self._done = done = []
        was = self.state
        begun = self.requests
        self._piece_at, self._fed = self._fed, self._fed + len(data)
        if self.tracer.on:
            self._where.start(bytes(data), self._piece_at)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _StopParsing):
                raise
        except httptools.HttpParserUpgrade as exc:
            # After a request that asks for an upgrade, nothing more is HTTP: its handler
            # either switches protocols (a WebSocket takes the bytes after the head, kept
            # here) or answers normally, with `Connection: close`.
            if self._last is not None:
                self._last.keep_alive = False
            self.upgrade_tail = bytes(data[exc.args[0] :])
            self.state = STOPPED
        except httptools.HttpParserInvalidMethodError as exc:
            # RFC 9110 9.1: a method the server does not recognize gets 501; bytes that
            # are no method at all, 400. llhttp knows the standard methods only, and
            # the method is readable when the failing request is the first in `data`.
            first = was is IDLE and self.requests == begun + 1
            method = bytes(data).partition(b" ")[0] if first else b""
            if _TOKEN.fullmatch(method):
                self.refuse(501, f"the method {method.decode()} is not implemented")
            else:
                self.refuse(400, str(exc))
        except httptools.HttpParserError as exc:
            status = 505 if "HTTP version" in str(exc) else 400  # llhttp's own words
            self.refuse(status, str(exc))
        else:
            if self.state is HEAD and was is HEAD:
                # httptools keeps an unfinished header line in its own buffer; bound it.
                self._head_bytes += len(data)
                if self._head_bytes > self.limits.max_head:
                    self.refuse(431, "the request head is too large")
        self._done = []
        return done

    def refuse(self, status: int, reason: str) -> Refusal | None:
        """Stop reading, with `status` (Rule 3). Also how the connection gives up on a
        slow head (408) or too many connections (503).

        Returns the Refusal for the connection to answer in its turn, or None when the
        fault is in a body already handed out: its handler hears of it from read().
        """
        if self.state is STOPPED:
            return None
        self.state = STOPPED
        if self.tracer.on:
            self._emit(ParseError, status, reason, self._piece_at)
        request, self.receiving = self.receiving, None
        if request is not None:
            request.keep_alive = False
            request._feed_error(_exception_for(status, reason))
            return None
        refusal = Refusal(status, reason)
        self._done.append(refusal)
        return refusal

    def stop(self) -> None:
        """Read nothing more (a shutdown, a connection closing)."""
        self.state = STOPPED

    # --- httptools callbacks (Rules 1 and 2) --------------------------------

    def on_message_begin(self) -> None:
        if self.state is STOPPED:
            raise _StopParsing  # Rule 3: bytes after a closing request are not a request
        self.state = HEAD
        self._head_bytes = 0
        self._url = b""
        self._headers = []
        self.requests += 1
        if self.tracer.on:
            self._callback("on_message_begin")

    def on_url(self, url: bytes) -> None:
        if self.tracer.on:
            self._callback("on_url", (url,), (self._where.locate(url),))
        self._url += url  # the target may come in pieces, across reads
        if len(self._url) > self.limits.max_target:
            self.refuse(414, f"the request target is longer than {self.limits.max_target} bytes")
            raise _StopParsing

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.tracer.on:
            at = self._where.locate(name + b":")
            offsets = (at, self._where.locate(value) if at >= 0 else -1)
            self._callback("on_header", (name, value), offsets)
        headers, limits = self._headers, self.limits
        if len(headers) >= limits.max_headers:
            self.refuse(431, f"more than {limits.max_headers} header fields")
            raise _StopParsing
        if len(name) + len(value) > limits.max_field:
            self.refuse(431, f"a header field is longer than {limits.max_field} bytes")
            raise _StopParsing
        headers.append((name.decode("latin-1"), value.decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        if self.tracer.on:
            self._where.skip_past(b"\r\n\r\n")
            self._callback("on_headers_complete")
        parser = self._parser
        version = parser.get_http_version()
        refusal = check_head(version, self._headers)
        if refusal is not None:
            self.refuse(refusal.status, refusal.reason)
            raise _StopParsing
        method = parser.get_method()
        request = Request(  # (all arguments by position: a call by keyword costs more)
            None,  # the connection that answers it sets itself here
            _METHODS.get(method) or method.decode("ascii"),
            self._url.decode("utf-8", "surrogateescape"),
            _VERSIONS[version],
            self._headers,
            parser.should_keep_alive(),
            self.client_max_size,
        )
        request.number = self.requests
        if self.tracer.on:
            self.tracer.emit(RequestHead, perf_counter(), self.conn, self.requests, request.method,
                             request.raw_path, version, tuple(self._headers))  # fmt: skip
        self.state = BODY
        self.receiving = self._last = request
        self._done.append(request)

    def on_body(self, body: bytes) -> None:
        if self.tracer.on:
            self._callback("on_body", (body,), (self._where.locate(body),))
        if self.receiving is not None:
            self.receiving._feed_body(body)

    def on_chunk_header(self) -> None:
        if self.tracer.on:
            self._where.skip_past(b"\n")  # the chunk-size line
            self._callback("on_chunk_header")

    def on_chunk_complete(self) -> None:
        if self.tracer.on:
            self._where.skip_past(b"\n")  # the CRLF after the chunk's data
            self._callback("on_chunk_complete")

    def on_message_complete(self) -> None:
        if self.tracer.on:
            self._callback("on_message_complete")
        request, self.receiving = self.receiving, None
        self.state = IDLE
        if request is not None:
            request._feed_eof()
            if not request.keep_alive:
                self.state = STOPPED  # Rule 3: nothing after it is read

    # --- trace events (Rule 4) ----------------------------------------------

    def _callback(
        self, name: str, data: tuple[bytes, ...] = (), offsets: tuple[int, ...] = ()
    ) -> None:
        """Tell the tracer that httptools called `name` with `data`, found at `offsets`."""
        self.tracer.emit(
            ParserCallback, perf_counter(), self.conn, self.requests, name, data, offsets
        )

    def _emit(self, cls: type[Event], *fields: Any) -> None:
        self.tracer.emit(cls, perf_counter(), self.conn, self.requests, *fields)


def _exception_for(status: int, reason: str) -> HTTPException:
    """The error a handler gets from read() when its body could not be received."""
    cls = {408: HTTPRequestTimeout, 501: HTTPNotImplemented}.get(status, HTTPBadRequest)
    return cls(text=f"{status}: {reason_for(status)}: {reason}")


class ByteCursor:
    """Rule 4: where the bytes a parser callback was given lie on the connection.

    httptools hands callbacks copies, not positions; but callbacks come in the order of
    their bytes, so the next match after where the last one ended is the right one.
    Also used by the inspector's watch on a learner's framework (inspector/diy_connection.py).
    """

    __slots__ = ("piece", "at", "cursor")

    def __init__(self) -> None:
        self.piece = b""  # the bytes being parsed
        self.at = 0  # where they start on the connection
        self.cursor = 0  # how far in them the callbacks have got

    def start(self, piece: bytes, at: int) -> None:
        """A new read, `piece`, that starts at byte `at` of the connection."""
        self.piece, self.at, self.cursor = piece, at, 0

    def locate(self, part: bytes) -> int:
        """The connection offset of `part`, searched from where the last callback's ended.

        -1 when `part` began in an earlier piece.
        """
        at = self.piece.find(part, self.cursor) if part else -1
        if at < 0:
            return -1
        self.cursor = at + len(part)
        return self.at + at

    def skip_past(self, delimiter: bytes) -> None:
        """Move past the end of a head or a chunk line (no callback is given those bytes)."""
        at = self.piece.find(delimiter, self.cursor)
        if at < 0 and delimiter != b"\n":  # the head's end began in an earlier piece
            delimiter = b"\n"
            at = self.piece.find(delimiter, self.cursor)
        if at >= 0:
            self.cursor = at + len(delimiter)

"""Streamed responses: a head of status and headers, then a body written piece by piece.

How this works:

- Rule 1: `prepare(request)` fixes the head. It decides the framing (Content-Length
  when the length is known, chunked when it is not and the client speaks HTTP/1.1,
  close-delimited for HTTP/1.0), adds Date, Server and Connection, runs the app's
  on_response_prepare callbacks, then serializes the head.
- Rule 2: `write(data)` sends body bytes in that framing; `write_eof()` ends the body.
- Rule 3: HEAD responses, 1xx, 204 and 304 never send body bytes (RFC 9110 6.4.1),
  whatever the handler writes. A HEAD response keeps the Content-Length a GET would get.
- A whole `Response` (response.py) is a StreamResponse whose body is known up front.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from http.cookies import SimpleCookie
from time import perf_counter
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

from .cookies import EXPIRED, update_cookie
from .events import ResponseHead
from .http import (
    CONNECTION,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    DATE,
    SERVER,
    SERVER_SOFTWARE,
    SET_COOKIE,
    TRANSFER_ENCODING,
    HttpVersion10,
    http_date,
    must_have_empty_body,
    parse_content_type,
    reason_for,
    serialize_head,
)

if TYPE_CHECKING:
    from .request import Request

__all__ = ["StreamResponse"]


class StreamResponse(MutableMapping[Any, Any]):
    """A response whose body is written piece by piece after `prepare()`.

    Also a dict for state that travels with it, as in aiohttp:
    `response[web.ResponseKey("timing", float)] = ...` in a middleware.
    """

    _send_head_immediately = True  # a stream's client should see the head at once

    def __init__(
        self,
        *,
        status: int = 200,
        reason: str | None = None,
        headers: Any = None,
    ) -> None:
        # Every attribute is set here, none left to a class-level default: Python 3.12+
        # specializes reading an attribute only when the class has none of that name,
        # and a request reads these a few dozen times.
        # (no argument at all when there are no headers: the usual case, and the cheaper call)
        self._headers: CIMultiDict[str] = CIMultiDict(headers) if headers else CIMultiDict()
        self._status = 200
        self._reason = "OK"
        self._request: Request | None = None  # set by prepare()
        self._keep_alive: bool | None = None
        self._chunked = False
        self._empty_body = False  # decided in prepare() from method and status
        self._head: bytes | None = None  # serialized but not yet sent
        self._eof_sent = False
        self.body_length = 0  # body bytes written so far, framing excluded
        self._cookies: SimpleCookie | None = None  # made by the first set_cookie()
        self._state: dict[Any, Any] | None = None  # made by the first response[key] = value
        if status != 200 or reason is not None:
            self.set_status(status, reason)

    # --- status and headers -------------------------------------------------

    @property
    def status(self) -> int:
        return self._status

    @property
    def reason(self) -> str:
        return self._reason

    def set_status(self, status: int, reason: str | None = None) -> None:
        if self._request is not None:
            raise RuntimeError("cannot change the status after prepare(): the head is sent")
        status = int(status)
        if not 100 <= status <= 999:
            raise ValueError(f"status must be a three-digit code, got {status!r}")
        self._status = status
        self._reason = reason_for(status) if reason is None else reason

    @property
    def headers(self) -> CIMultiDict[str]:
        return self._headers

    @property
    def content_type(self) -> str:
        return parse_content_type(self._headers.get(CONTENT_TYPE))[0]

    @content_type.setter
    def content_type(self, value: str) -> None:
        charset = self.charset
        self._headers[CONTENT_TYPE] = value + (f"; charset={charset}" if charset else "")

    @property
    def charset(self) -> str | None:
        return parse_content_type(self._headers.get(CONTENT_TYPE))[1].get("charset")

    @charset.setter
    def charset(self, value: str | None) -> None:
        mime = self.content_type
        if mime == "application/octet-stream" and value:
            raise RuntimeError("set content_type before charset: octet-stream has none")
        self._headers[CONTENT_TYPE] = mime + (f"; charset={value.lower()}" if value else "")

    @property
    def content_length(self) -> int | None:
        value = self._headers.get(CONTENT_LENGTH)
        return None if value is None else int(value)

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        if value is None:
            self._headers.pop(CONTENT_LENGTH, None)
            return
        if self._chunked:  # RFC 9112 6.3: a length under chunked framing desyncs the client
            raise RuntimeError("a response cannot be both chunked and of known length")
        self._headers[CONTENT_LENGTH] = str(int(value))

    # --- cookies (cookies.py) ----------------------------------------------------

    @property
    def cookies(self) -> SimpleCookie:
        """The cookies this response sets, one Set-Cookie line each, sent by prepare()."""
        if self._cookies is None:
            self._cookies = SimpleCookie()
        return self._cookies

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        expires: str | None = None,
        domain: str | None = None,
        max_age: int | str | None = None,
        path: str = "/",
        secure: bool | None = None,
        httponly: bool | None = None,
        samesite: str | None = None,
    ) -> None:
        """Set (or update) a cookie; attributes left as None keep what was set before."""
        update_cookie(
            self.cookies, name, value, expires=expires, domain=domain, max_age=max_age,
            path=path, secure=secure, httponly=httponly, samesite=samesite,
        )  # fmt: skip

    def del_cookie(
        self,
        name: str,
        *,
        domain: str | None = None,
        path: str = "/",
        secure: bool | None = None,
        httponly: bool | None = None,
        samesite: str | None = None,
    ) -> None:
        """Ask the client to drop a cookie: an empty value, already expired (RFC 6265 3.1).

        Domain and path must be the cookie's own, or the client keeps it (RFC 6265 5.3).
        """
        self.cookies.pop(name, None)
        self.set_cookie(
            name, "", max_age=0, expires=EXPIRED, domain=domain, path=path,
            secure=secure, httponly=httponly, samesite=samesite,
        )  # fmt: skip

    # --- connection ---------------------------------------------------------

    @property
    def keep_alive(self) -> bool | None:
        return self._keep_alive

    def force_close(self) -> None:
        """Close the connection once this response is sent."""
        self._keep_alive = False

    def enable_chunked_encoding(self) -> None:
        if CONTENT_LENGTH in self._headers:
            raise RuntimeError("a response cannot be both chunked and of known length")
        self._chunked = True

    @property
    def prepared(self) -> bool:
        return self._request is not None

    # --- sending ------------------------------------------------------------

    async def prepare(self, request: Request) -> None:
        """Send (or, for a Response, stage) the head. Calling it twice does nothing."""
        if self._request is not None:
            return
        self._start(request)
        app = request.app
        if app is not None and app.on_response_prepare:  # most apps have none: skip the call
            await app.on_response_prepare.send(request, self)
        head = self._serialize_head(request)
        if self._send_head_immediately:
            request._writer.write(head)
        else:
            self._head = head

    def _send_at_once(self, request: Request) -> bool:
        """Send the whole response now, without a coroutine, when that is possible.

        Only a Response (whole body known) can; see Response._send_at_once.
        """
        return False

    def _serialize_head(self, request: Request) -> bytes:
        head = serialize_head(request.version, self._status, self._reason, self._headers.items())
        protocol = request._protocol
        if protocol.tracer.on:
            headers = tuple(self._headers.items())
            protocol.tracer.emit(ResponseHead, perf_counter(), protocol.id, request.number,
                                 self._status, self._reason, headers)  # fmt: skip
        return head

    def _start(self, request: Request) -> None:
        """Rule 1 up to the hooks: this response now answers `request`, framed."""
        self._request = request
        headers = self._headers
        if self._keep_alive is None:
            self._keep_alive = request.keep_alive
        self._empty_body = must_have_empty_body(request.method, self._status)
        if self._empty_body:
            # RFC 9110 8.6: a 204 or 304 has no Content-Length describing a body;
            # a HEAD response keeps the one a GET would have had.
            if self._status in (204, 304) or self._status < 200:
                headers.pop(CONTENT_LENGTH, None)
            headers.pop(TRANSFER_ENCODING, None)
        elif CONTENT_LENGTH not in headers:
            if request.version >= (1, 1):
                self._chunked = True  # RFC 9112 7.1: length unknown -> chunked
                headers[TRANSFER_ENCODING] = "chunked"
            else:
                # RFC 9112 6.3: an HTTP/1.0 body ends at close. Chunked is HTTP/1.1's
                # (7.1): a 1.0 client would read the chunk lines as the body.
                self._chunked = False
                self._keep_alive = False
        if not self._empty_body and headers.get(CONTENT_LENGTH) != "0":
            headers.setdefault(CONTENT_TYPE, "application/octet-stream")
        headers.setdefault(DATE, http_date())
        headers.setdefault(SERVER, SERVER_SOFTWARE)
        if CONNECTION not in headers:
            if self._keep_alive and request.version == HttpVersion10:
                headers[CONNECTION] = "keep-alive"
            elif not self._keep_alive and request.version >= (1, 1):
                headers[CONNECTION] = "close"
        if self._cookies:  # RFC 6265 3: one Set-Cookie line per cookie, never folded
            for morsel in self._cookies.values():
                headers.add(SET_COOKIE, morsel.OutputString())

    def _frame(self, data: bytes) -> bytes:
        if self._empty_body or not data:
            return b""
        self.body_length += len(data)
        if self._chunked:
            return b"%x\r\n%b\r\n" % (len(data), data)  # RFC 9112 7.1
        return bytes(data)

    def _flush(self, data: bytes) -> None:
        request = self._request
        assert request is not None
        if self._head is not None:
            data, self._head = self._head + data, None
        if data:
            request._writer.write(data)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._request is None:
            raise RuntimeError("call `await response.prepare(request)` before write()")
        if self._eof_sent:
            raise RuntimeError("cannot write() after write_eof()")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, got {type(data).__name__}: encode it first")
        self._flush(self._frame(data))
        writer = self._request._writer
        if writer.paused:  # the client reads slower than we write: wait
            await writer.drain()

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof_sent:
            return
        if self._request is None:
            raise RuntimeError("call `await response.prepare(request)` before write_eof()")
        out = self._frame(data)
        if self._chunked and not self._empty_body:
            out += b"0\r\n\r\n"  # the last chunk, no trailers
        self._eof_sent = True
        self._flush(out)
        writer = self._request._writer
        if writer.paused:  # the client reads slower than we write: wait
            await writer.drain()

    # --- response["key"] storage ------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        if self._state is None:
            raise KeyError(key)
        return self._state[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._state is None:
            self._state = {}
        self._state[key] = value

    def __delitem__(self, key: Any) -> None:
        if self._state is None:
            raise KeyError(key)
        del self._state[key]

    def __len__(self) -> int:
        return 0 if self._state is None else len(self._state)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._state or ())

    def __bool__(self) -> bool:
        return True  # a response is never "empty", whatever it stores (as aiohttp)

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._status} {self._reason}>"

"""Whole responses: a Response knows its body when it is made; json_response makes one.

A Response is a StreamResponse (stream_response.py) whose head and body leave in one
write, held to the loop's next turn with the other answers of that turn (writer.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .http import CONTENT_LENGTH, CONTENT_TYPE
from .stream_response import StreamResponse

if TYPE_CHECKING:
    from .request import Request

__all__ = ["StreamResponse", "Response", "json_response"]

_TEXT_PLAIN = "text/plain; charset=utf-8"  # what `text=` alone says it is


class Response(StreamResponse):
    """A response whose whole body is known when it is made."""

    _send_head_immediately = False  # head and body leave together in one write

    def __init__(
        self,
        *,
        body: Any = None,
        status: int = 200,
        reason: str | None = None,
        text: str | None = None,
        headers: Any = None,
        content_type: str | None = None,
        charset: str | None = None,
    ) -> None:
        if body is not None and text is not None:
            raise ValueError("pass body or text, not both")
        if content_type is not None and "charset" in content_type:
            raise ValueError("put the charset in charset=, not in content_type")
        super().__init__(status=status, reason=reason, headers=headers)
        has_type = headers is not None and CONTENT_TYPE in self._headers
        if has_type and (content_type is not None or charset is not None):
            raise ValueError("pass a Content-Type header or content_type/charset, not both")
        if text is not None:
            if not isinstance(text, str):
                raise TypeError(f"text must be str, got {type(text).__name__}: use body=")
            if not has_type and content_type is None and charset is None:
                self._headers[CONTENT_TYPE] = _TEXT_PLAIN  # the usual text=: nothing to format
                charset = "utf-8"
            elif not has_type:
                charset = charset or "utf-8"
                self._headers[CONTENT_TYPE] = f"{content_type or 'text/plain'}; charset={charset}"
            self._body = text.encode(charset or self.charset or "utf-8")
            return
        if content_type is not None:
            self._headers[CONTENT_TYPE] = content_type + (f"; charset={charset}" if charset else "")
        self.body = body

    @property
    def body(self) -> bytes | None:
        return self._body

    @body.setter
    def body(self, value: Any) -> None:
        if value is None or isinstance(value, bytes):
            self._body = value
        elif isinstance(value, (bytearray, memoryview)):
            self._body = bytes(value)
        elif isinstance(value, str):
            self._headers.setdefault(CONTENT_TYPE, "text/plain; charset=utf-8")
            self._body = value.encode(self.charset or "utf-8")
        else:
            raise TypeError(
                f"body must be bytes or str, got {type(value).__name__}: "
                "use json_response() for data, or encode it first"
            )

    @property
    def text(self) -> str | None:
        return None if self._body is None else self._body.decode(self.charset or "utf-8")

    @text.setter
    def text(self, value: str) -> None:
        # Text says how it is encoded, as aiohttp's setter makes it: a type set alone
        # (content_type="text/html") gains "; charset=utf-8", and no type is text/plain.
        if self.content_type == "application/octet-stream":
            self.content_type = "text/plain"
        if self.charset is None:
            self.charset = "utf-8"
        self._body = value.encode(self.charset)

    def _start(self, request: Request) -> None:
        self._chunked = False  # the length is known
        self._headers[CONTENT_LENGTH] = str(len(self._body or b""))
        super()._start(request)

    def _send_at_once(self, request: Request) -> bool:
        """Head and body in one write, with no `await`: how most responses leave.

        It is what `await prepare(request)` then `await write_eof()` do, minus two
        coroutines each. Not possible when the app has on_response_prepare hooks (they
        are awaited) or when the handler prepared the response itself.
        """
        app = request._app
        if self._request is not None or (app is not None and app.on_response_prepare):
            return False
        self._start(request)
        head = self._serialize_head(request)
        body = b"" if self._empty_body else self._body or b""  # Rule 3
        self.body_length = len(body)
        self._eof_sent = True
        request._writer.write_soon(head + body)
        return True

    async def write_eof(self, data: bytes = b"") -> None:
        if data:
            # Its Content-Length was fixed from the body at prepare(): more bytes would
            # be read by a keep-alive client as the start of the next response.
            raise RuntimeError(
                "a Response sends its body whole: set response.body or response.text, "
                "or use a StreamResponse to write it in pieces"
            )
        if self._eof_sent:
            return
        await super().write_eof(self._body or b"")


def json_response(
    data: Any = None,
    *,
    text: str | None = None,
    body: bytes | None = None,
    status: int = 200,
    reason: str | None = None,
    headers: Any = None,
    content_type: str = "application/json",
    dumps: Callable[[Any], str] = json.dumps,
) -> Response:
    """A Response carrying `data` serialized with `dumps`."""
    if data is not None:
        if text is not None or body is not None:
            raise ValueError("pass data, text or body, only one of them")
        text = dumps(data)
    return Response(
        text=text,
        body=body,
        status=status,
        reason=reason,
        headers=headers,
        content_type=content_type,
    )

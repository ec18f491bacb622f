"""A multipart/form-data body read part by part, as it arrives (`await request.multipart()`).

How this works (RFC 2046 5.1.1, RFC 7578):

- Rule 1: the body is parts between delimiter lines, `--` + the boundary from the
  Content-Type. Each part is a head (header lines, then an empty line) and data. The
  data ends where CRLF + delimiter begins; the last delimiter has `--` after it. What
  comes before the first delimiter (a preamble) and after the last (an epilogue) is
  ignored.
- Rule 2: nothing is held whole. The reader keeps only what it has read from
  `request.content` and not yet handed out; a part's data is handed out in chunks
  (`read_chunk`), holding back just enough bytes to see a delimiter that arrives split
  across two reads. So a 1 GB upload can be written to disk piece by piece.
- Rule 3: a body that ends before its last delimiter, or a part without its empty
  line, is malformed: 400, as for any body that cannot be read.

The API is aiohttp's: `async for part in reader`, `part.name`, `part.filename`,
`part.headers`, `read_chunk()`, `read()`, `text()`, `json()`, `form()`, `release()`.
Nested multiparts (multipart/mixed inside a part) are handed out as plain parts.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from multidict import CIMultiDict, CIMultiDictProxy

from .exceptions import HTTPBadRequest
from .http import parse_content_type
from .streams import StreamReader

__all__ = ["MultipartReader", "BodyPartReader"]

_MAX_HEAD_LINE = 8190  # bytes in one header line of a part, as for the request's own


class MultipartReader:
    """The parts of a multipart body, one at a time."""

    def __init__(self, headers: CIMultiDictProxy[str], content: StreamReader) -> None:
        mimetype, params = parse_content_type(headers.get("Content-Type"))
        boundary = params.get("boundary", "")
        if not mimetype.startswith("multipart/") or not 0 < len(boundary) <= 70:
            # RFC 2046 5.1.1: a boundary is 1 to 70 characters.
            raise HTTPBadRequest(text="not a multipart body with a boundary (RFC 2046 5.1.1)")
        self.headers = headers
        self._content = content
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        # Read but not handed out. It starts with a CRLF so that a first delimiter at
        # the very start of the body is found like every other one (Rule 1).
        self._buffer = bytearray(b"\r\n")
        self._started = False
        self._finished = False
        self._part: BodyPartReader | None = None

    def __aiter__(self) -> MultipartReader:
        return self

    async def __anext__(self) -> BodyPartReader:
        part = await self.next()
        if part is None:
            raise StopAsyncIteration
        return part

    def at_eof(self) -> bool:
        return self._finished

    async def next(self) -> BodyPartReader | None:
        """The next part, its head read and its data not; None after the last."""
        if self._part is not None:
            await self._part.release()  # the unread rest of the previous part
        elif not self._started:
            await self._skip_to_delimiter()  # the preamble
        self._started = True
        if self._finished or await self._after_delimiter():
            self._finished = True
            return None
        self._part = BodyPartReader(self, await self._read_head())
        return self._part

    # --- Rule 1: delimiters and heads -------------------------------------------

    async def _skip_to_delimiter(self) -> None:
        while (at := self._buffer.find(self._delimiter)) < 0:
            del self._buffer[: max(0, len(self._buffer) - len(self._delimiter))]
            await self._fill()
        del self._buffer[: at + len(self._delimiter)]

    async def _after_delimiter(self) -> bool:
        """Read what follows a delimiter: True if it closed the body (`--`)."""
        while len(self._buffer) < 2:
            await self._fill()
        if self._buffer[:2] == b"--":
            return True
        line = await self._read_line()
        if line.strip(b" \t"):  # only transport padding may follow a delimiter
            raise HTTPBadRequest(text="malformed multipart body: text after a delimiter")
        return False

    async def _read_head(self) -> CIMultiDictProxy[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        while line := await self._read_line():
            name, colon, value = line.decode("utf-8", "surrogateescape").partition(":")
            if not colon or not name.strip():
                raise HTTPBadRequest(text=f"malformed multipart body: a bad part header {line!r}")
            headers.add(name.strip(), value.strip())
        return CIMultiDictProxy(headers)

    async def _read_line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > _MAX_HEAD_LINE:
                raise HTTPBadRequest(text="malformed multipart body: a part header too long")
            await self._fill()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    # --- Rule 2: a part's data, in chunks ------------------------------------------

    async def _read_data(self, size: int) -> tuple[bytes, bool]:
        """Up to `size` bytes of the current part's data, and whether the part ended."""
        while True:
            at = self._buffer.find(self._delimiter)
            if at >= 0:  # the part ends in the buffer
                take = min(at, size)
                data = bytes(self._buffer[:take])
                if take == at:
                    del self._buffer[: at + len(self._delimiter)]
                    return data, True
                del self._buffer[:take]
                return data, False
            # Hold back what could be the start of a delimiter cut in two.
            safe = len(self._buffer) - len(self._delimiter) + 1
            # Hand out what is safe; but first take what has already arrived, so that
            # a chunk is as large as the caller asked for when the bytes are there.
            if safe > 0 and (safe >= size or not self._content.buffered):
                take = min(safe, size)
                data = bytes(self._buffer[:take])
                del self._buffer[:take]
                return data, False
            await self._fill(size)

    async def _fill(self, size: int = 65536) -> None:
        chunk = await self._content.read(size)
        if not chunk:  # Rule 3
            raise HTTPBadRequest(text="malformed multipart body: it ends before its last boundary")
        self._buffer += chunk


class BodyPartReader:
    """One part: its headers, and its data read in chunks or whole."""

    def __init__(self, reader: MultipartReader, headers: CIMultiDictProxy[str]) -> None:
        self.headers = headers
        self._reader = reader
        self._at_eof = False
        disposition = Message()
        disposition["Content-Disposition"] = headers.get("Content-Disposition", "")
        name = disposition.get_param("name", header="content-disposition")
        self.name: str | None = name if isinstance(name, str) else None
        self.filename: str | None = disposition.get_filename()

    def at_eof(self) -> bool:
        return self._at_eof

    async def read_chunk(self, size: int = 8192) -> bytes:
        """At most `size` bytes of the data; b"" once it has all been read."""
        if size <= 0:
            raise ValueError("read_chunk() needs a size of at least one byte")
        if self._at_eof:
            return b""
        data, self._at_eof = await self._reader._read_data(size)
        return data

    async def read(self, *, decode: bool = False) -> bytes:
        """The whole data (held in memory: for small parts). `decode` is accepted for
        aiohttp's signature; Content-Transfer-Encoding is not used by form-data (RFC
        7578 4.7), so the bytes are returned as sent."""
        blocks = []
        while chunk := await self.read_chunk(65536):
            blocks.append(chunk)
        return b"".join(blocks)

    async def release(self) -> None:
        """Read the rest of the data and drop it."""
        while await self.read_chunk(65536):
            pass

    def get_charset(self, default: str) -> str:
        return parse_content_type(self.headers.get("Content-Type"))[1].get("charset", default)

    async def text(self, *, encoding: str | None = None) -> str:
        return (await self.read()).decode(encoding or self.get_charset("utf-8"))

    async def json(self, *, encoding: str | None = None) -> Any:
        data = await self.read()
        return json.loads(data.decode(encoding or self.get_charset("utf-8"))) if data else None

    async def form(self, *, encoding: str | None = None) -> list[tuple[str, str]]:
        text = await self.text(encoding=encoding)
        return parse_qsl(text, keep_blank_values=True, encoding=encoding or "utf-8")

    def __repr__(self) -> str:
        return f"<BodyPartReader name={self.name!r} filename={self.filename!r}>"

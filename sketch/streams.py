"""A request body as a stream: read it piece by piece, as it arrives (`request.content`).

How this works:

- Rule 1: the reader feeds the body's pieces in as httptools parses them
  (`feed_data`), then the end (`feed_eof`), or why it will never end (`set_exception`:
  the client left, the body was malformed or too slow).
- Rule 2: a handler takes them out with aiohttp's methods: `read(n)`, `readany()`,
  `readline()`, `readuntil()`, `readexactly(n)`, and the iterators `iter_chunked(n)`,
  `iter_any()` and `async for line in request.content`. Each waits while nothing is
  buffered; at the end they return `b""` (`readexactly` raises IncompleteReadError).
- Rule 3: back-pressure. A handler that reads slower than the client sends must not
  make the server hold the whole body: once more than `HIGH_WATER` bytes wait here,
  the connection stops reading the socket (protocol.py), so the client's sends block
  in TCP's own flow control. When the handler has taken the buffer down to half of
  that, the stream calls the connection back and reading resumes. So a body larger
  than memory can be consumed piece by piece.

`Request.read()` is this stream read to its end, within `client_max_size`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["StreamReader", "EMPTY_BODY", "HIGH_WATER"]

HIGH_WATER = 2**17  # bytes buffered before the socket is paused (aiohttp's, for 64 KiB reads)


class StreamReader:
    """The body of one request, as it arrives. aiohttp calls it the same."""

    def __init__(self) -> None:
        self._buffer: deque[bytes] = deque()
        self._size = 0  # bytes buffered, not yet read
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._on_drained: Callable[[], None] | None = None  # Rule 3: who paused, to resume
        self.total_bytes = 0  # bytes fed so far

    # --- fed by the reader (Rule 1) -------------------------------------------

    def feed_data(self, data: bytes) -> None:
        if data:
            self._buffer.append(data)
            self._size += len(data)
            self.total_bytes += len(data)
            self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def set_exception(self, exc: BaseException) -> None:
        self._error = exc
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def exception(self) -> BaseException | None:
        return self._error

    # --- back-pressure (Rule 3) -------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes fed and not yet read."""
        return self._size

    def resume_when_drained(self, resume: Callable[[], None]) -> None:
        """The connection paused reading because of this stream: call `resume` once the
        handler has read the buffer down to half of HIGH_WATER."""
        self._on_drained = resume

    def _taken(self, size: int) -> None:
        self._size -= size
        if self._on_drained is not None and self._size <= HIGH_WATER // 2:
            resume, self._on_drained = self._on_drained, None
            resume()

    # --- read by the handler (Rule 2) ---------------------------------------------

    def at_eof(self) -> bool:
        """True once the whole body has been read."""
        return self._eof and not self._buffer

    is_eof = at_eof

    async def readany(self) -> bytes:
        """The next piece, as it arrived; b"" at the end."""
        await self._wait_for_data()
        if not self._buffer:
            return b""
        data = self._buffer.popleft()
        self._taken(len(data))
        return data

    async def read(self, n: int = -1) -> bytes:
        """At most `n` bytes (fewer if fewer are buffered); with n < 0, the whole rest."""
        if n < 0:
            blocks = []
            while block := await self.readany():
                blocks.append(block)
            return b"".join(blocks)
        if n == 0:
            return b""
        await self._wait_for_data()
        return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        """Exactly `n` bytes; asyncio.IncompleteReadError if the body ends first."""
        blocks, wanted = [], n
        while wanted > 0:
            await self._wait_for_data()
            if not self._buffer:
                partial = b"".join(blocks)
                raise asyncio.IncompleteReadError(partial, n)
            block = self._take(wanted)
            blocks.append(block)
            wanted -= len(block)
        return b"".join(blocks)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Up to and including `separator`, or the rest of the body if it ends first.

        A line longer than HIGH_WATER is a ValueError: the point of a stream is not to
        hold one piece of unbounded size.
        """
        if not separator:
            raise ValueError("the separator must be at least one byte")
        line = bytearray()
        while True:
            await self._wait_for_data()
            if not self._buffer:
                return bytes(line)
            searched_from = max(0, len(line) - len(separator) + 1)
            piece = self._buffer.popleft()
            line += piece
            self._taken(len(piece))
            end = line.find(separator, searched_from)
            if end >= 0:
                end += len(separator)
                if end < len(line):  # what follows the separator stays for the next read
                    self._put_back(bytes(line[end:]))
                return bytes(line[:end])
            if len(line) > HIGH_WATER:
                self._put_back(bytes(line))
                raise ValueError(f"a line longer than {HIGH_WATER} bytes (no {separator!r})")

    async def readline(self) -> bytes:
        return await self.readuntil(b"\n")

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        """Pieces of at most `n` bytes until the end."""
        return _Pieces(lambda: self.read(n))

    def iter_any(self) -> AsyncIterator[bytes]:
        """Pieces as they arrived, until the end."""
        return _Pieces(self.readany)

    def __aiter__(self) -> AsyncIterator[bytes]:
        """`async for line in request.content`: lines, until the end."""
        return _Pieces(self.readline)

    # --- helpers ------------------------------------------------------------------

    async def _wait_for_data(self) -> None:
        """Return once something is buffered, or the body has ended; raise its error."""
        while not self._buffer and not self._eof:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._error is not None and not self._buffer:
            raise self._error

    def _take(self, n: int) -> bytes:
        """Up to `n` buffered bytes, across pieces."""
        blocks, size = [], 0
        while self._buffer and size < n:
            block = self._buffer.popleft()
            if size + len(block) > n:  # split it: the rest stays first in line
                self._buffer.appendleft(block[n - size :])
                block = block[: n - size]
            blocks.append(block)
            size += len(block)
        self._taken(size)
        return blocks[0] if len(blocks) == 1 else b"".join(blocks)

    def _put_back(self, data: bytes) -> None:
        self._buffer.appendleft(data)
        self._size += len(data)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Pieces:
    """An async iterator over what `next_piece()` returns, until it returns b""."""

    def __init__(self, next_piece: Callable[[], Awaitable[bytes]]) -> None:
        self._next_piece = next_piece

    def __aiter__(self) -> _Pieces:
        return self

    async def __anext__(self) -> bytes:
        piece = await self._next_piece()
        if not piece:
            raise StopAsyncIteration
        return piece


def _ended() -> StreamReader:
    stream = StreamReader()
    stream.feed_eof()
    return stream


EMPTY_BODY = _ended()  # the content of a request without a body (read-only: it is empty)

"""Writing answers: now, or held to the start of the loop's next turn; and flow control.

How this works:

- Rule 1: a streamed body, and anything written before a close, goes to the socket at
  once (`write`).
- Rule 2: a whole response is held (`write_soon`) and sent with the others made in the
  same turn of the event loop, at the start of the next one (`Batch`). Each send to a
  client that sleeps waiting for it wakes that client up, and under load the wake-ups
  cost more than the sends: fewer sends, fewer wake-ups, microseconds later.
- Rule 3: what is written always leaves in order: before anything is written now, what
  was held goes first; `_HOLD_LIMIT` bytes held or more go at once, so that the
  transport's flow control sees them.
- Rule 4: flow control: when the transport's buffer is full asyncio calls
  `pause_writing`; writers of big bodies then wait in `drain()` until it empties.
"""

from __future__ import annotations

import asyncio
import logging
from time import perf_counter

from .events import AnswersFlushed, Tracer

__all__ = ["Writer", "Batch"]

logger = logging.getLogger("sketch.server")

_HOLD_LIMIT = 64 * 1024  # bytes of whole answers held for the loop's next turn, at most


class Batch:
    """The writers holding answers, flushed together at the start of the next turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._writers: list[Writer] = []

    def add(self, writer: Writer) -> None:
        if not self._writers:
            self.loop.call_soon(self.flush)
        self._writers.append(writer)

    def flush(self) -> None:
        writers, self._writers = self._writers, []
        for writer in writers:
            try:
                writer.flush()
            except Exception:  # one broken connection must not keep the others' answers
                logger.exception("sending to %r failed", writer)


class Writer:
    """One connection's way out: the transport, the bytes held, and flow control."""

    def __init__(
        self, transport: asyncio.Transport, batch: Batch, tracer: Tracer, conn: int
    ) -> None:
        self.transport: asyncio.Transport | None = transport
        self._batch = batch
        self._tracer = tracer
        self._conn = conn  # the connection's number, for trace events (never 0: server-wide)
        self._held_at = 0.0  # when the first held answer came (traced only)
        self._held: list[bytes] = []
        self._held_bytes = 0
        self.sent = 0  # bytes of the current response written (or held) so far
        self.paused = False  # Rule 4: the client reads slower than we write
        self._drain_waiter: asyncio.Future[None] | None = None

    def _open(self) -> asyncio.Transport:
        """The transport, or ConnectionResetError once the client is gone."""
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        return transport

    def write(self, data: bytes) -> None:
        """Rule 1: send `data` now, after what was held (a streamed body's piece)."""
        self.write_interim(data)
        self.sent += len(data)

    def write_interim(self, data: bytes) -> None:
        """Send now, but not as part of the response: a 1xx interim answer such as
        `100 Continue` is not the final head, so a 500 may still follow it (RFC 9110 15.2)."""
        transport = self._open()
        if self._held:
            self.flush()  # Rule 3
        transport.write(data)

    def write_soon(self, data: bytes) -> None:
        """Rule 2: hold a whole answer until the start of the loop's next turn."""
        self._open()
        if not self._held:
            self._batch.add(self)
            if self._tracer.on:
                self._held_at = perf_counter()
        self._held.append(data)
        self._held_bytes += len(data)
        self.sent += len(data)
        if self._held_bytes >= _HOLD_LIMIT:
            self.flush()  # Rule 3

    def flush(self) -> None:
        """Hand what is held to the transport."""
        held = self._held
        if held and self.transport is not None:
            self.transport.write(held[0] if len(held) == 1 else b"".join(held))
            if self._tracer.on:
                now = perf_counter()
                # 0 when tracing began while these were held: when is not known.
                waited = now - self._held_at if self._held_at else 0.0
                self._tracer.emit(
                    AnswersFlushed, now, self._conn, 0, len(held), self._held_bytes, waited
                )
        held.clear()
        self._held_bytes = 0
        self._held_at = 0.0

    # --- flow control (Rule 4) ----------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    async def drain(self) -> None:
        """Wait while the client reads slower than we write.

        Callers check `paused` first, so the common case costs no coroutine.
        """
        if self.paused and self.transport is not None:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    def lost(self, exc: BaseException) -> None:
        """The connection is gone: drop what is held, wake a drain() with `exc`."""
        self.transport = None
        self._held.clear()
        self._held_bytes = 0
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(exc)

"""WebSocketResponse: aiohttp's API for a WebSocket, on one upgraded connection.

How this works:

- Rule 1: `await ws.prepare(request)` checks the handshake (handshake.py), sends the
  101, and makes itself the connection's `upgraded` receiver: from then on the
  connection (protocol.py) hands every byte it reads to `feed()`, and the end of the
  connection to `lost()`. The handler's Task is still the request's Task; the
  connection closes when it returns.
- Rule 2: `feed()` parses frames (frames.py) as they come and queues the messages
  for `receive()`. Control frames are answered there and then, not when the handler
  gets round to reading: a PING gets its PONG (autoping; RFC 6455 5.5.2 "as soon as
  practical"), a CLOSE gets its CLOSE back and the server closes the TCP connection
  (autoclose; 5.5.1, 7.1.1: the server closes first), a broken rule gets the close
  code the parser chose and the connection is closed (7.1.7, "Fail the WebSocket
  Connection").
- Rule 3: back-pressure. Reading pauses while `_HIGH` messages wait, until `_LOW`.
- Rule 4: `close()` sends a CLOSE and waits up to `timeout` for the client's; the
  close code is then the client's. A connection that ends without a CLOSE frame has
  the code 1006 (7.1.5). With `heartbeat`, a PING goes out after `heartbeat` seconds
  of silence, and no answer within half of it ends the connection with 1006, as aiohttp.

Traced (trace.py: the upgrade, each frame either way, the end) only while the
connection's tracer is on; off, each read and each frame sent costs one check.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import TYPE_CHECKING, Any

from ..response import StreamResponse
from . import trace
from .frames import Failure, FrameReader, WebSocketError, WSMessage, WSMsgType, close_payload, frame
from .handshake import WebSocketReady, accept_key, check_handshake, choose_protocol

if TYPE_CHECKING:
    from ..request import Request
    from ..writer import Writer

__all__ = ["WebSocketError", "WebSocketReady", "WebSocketResponse"]

_HIGH, _LOW = 16, 4  # Rule 3: unread messages at which reading pauses, and resumes
_CLOSED = WSMessage(WSMsgType.CLOSED, None, None)
_CLOSING = WSMessage(WSMsgType.CLOSING, None, None)


class WebSocketResponse(StreamResponse):
    """A WebSocket, server side, as aiohttp's `web.WebSocketResponse`."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        receive_timeout: float | None = None,
        autoclose: bool = True,
        autoping: bool = True,
        heartbeat: float | None = None,
        protocols: tuple[str, ...] | list[str] = (),
        compress: bool = True,
        max_msg_size: int = 4 * 1024 * 1024,
    ) -> None:
        super().__init__(status=101)
        self._protocols = tuple(protocols)
        self._timeout = timeout
        self._receive_timeout = receive_timeout
        self._autoclose, self._autoping = autoclose, autoping
        self._heartbeat = heartbeat
        self._compress = compress  # accepted for aiohttp's sake; nothing is compressed
        self._max_msg_size = max_msg_size
        self.ws_protocol: str | None = None
        self._frames: FrameReader | None = None  # made by prepare()
        self._writer: Writer | None = None
        self._messages: deque[WSMessage] = deque()
        self._waiter: asyncio.Future[None] | None = None  # a receive() waiting
        self._reply: asyncio.Future[None] | None = None  # a close() waiting for CLOSE
        self._paused = False
        # Rule 4: the closing handshake: our CLOSE sent, theirs received, the TCP end.
        self._close_sent = self._close_received = self._lost = False
        self._close_code: int | None = None
        self._exception: BaseException | None = None
        self._conn_lost = 0
        self._last_seen, self._ping_at = 0.0, None  # Rule 4: the heartbeat's clock
        self._timer: asyncio.TimerHandle | None = None
        self._by = ""  # who sent the first CLOSE, "client" or "server" (traced)

    # --- the handshake (Rule 1) ---------------------------------------------

    def can_prepare(self, request: Request) -> WebSocketReady:
        if self._frames is not None:
            raise RuntimeError("can_prepare() after prepare(): the WebSocket is open")
        checked = check_handshake(request.method, request.version, request.headers)
        if not isinstance(checked, str):
            return WebSocketReady(False, None)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        return WebSocketReady(True, choose_protocol(offered, self._protocols))

    async def prepare(self, request: Request) -> None:
        if self._frames is not None:
            return
        checked = check_handshake(request.method, request.version, request.headers)
        if not isinstance(checked, str):
            raise checked  # 400, 405 or 426: the handler's answer, with no upgrade
        headers = self.headers
        headers["Upgrade"] = "websocket"
        headers["Connection"] = "Upgrade"
        headers["Sec-WebSocket-Accept"] = accept_key(checked)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        self.ws_protocol = choose_protocol(offered, self._protocols)
        if self.ws_protocol is not None:
            headers["Sec-WebSocket-Protocol"] = self.ws_protocol
        # No Sec-WebSocket-Extensions: permessage-deflate and the rest are declined.
        self.force_close()  # after the WebSocket, the connection ends: no HTTP follows
        await super().prepare(request)
        self._frames = FrameReader(self._max_msg_size)
        self._writer = request._writer
        connection = request._protocol
        self._tracer, self._ids = connection.tracer, request.trace_ids
        # Where the frames begin on the connection: the trace's offsets count from here.
        self._frames_at = connection._received - len(connection.reader.upgrade_tail)
        self._message_opcode: int | None = None  # traced: what a CONTINUATION continues
        if self._tracer.on:
            trace.upgrade(self, checked, headers["Sec-WebSocket-Accept"], self._frames_at)
        connection.reader.stop()  # no more HTTP on this connection, ever
        connection.upgraded = self
        loop = asyncio.get_running_loop()
        self._last_seen = loop.time()
        if self._heartbeat:
            self._timer = loop.call_later(self._heartbeat, self._beat)
        if connection.reader.upgrade_tail:  # frames sent with the handshake's head
            self.feed(connection.reader.upgrade_tail)

    # --- what the connection calls (Rules 2 and 3) -------------------------

    def feed(self, data: bytes) -> None:
        """Bytes from the socket: parse them, answer control frames, queue the rest."""
        assert self._frames is not None
        if self._timer is not None:  # Rule 4: any frame counts as a sign of life
            self._last_seen = asyncio.get_running_loop().time()
        tracing = self._tracer.on
        for item in trace.frames_in(self, data) if tracing else self._frames.feed(data):
            if isinstance(item, Failure):
                self._fail(item)
            elif item.type is WSMsgType.PING and self._autoping:
                self._send_now(WSMsgType.PONG, item.data)
            elif item.type is WSMsgType.PONG and self._autoping:
                self._ping_at = None  # the heartbeat's answer
            elif item.type is WSMsgType.CLOSE:
                self._closed_by_client(item)
            elif not self._close_sent:  # closing (7.1.2): data still coming is dropped
                self._messages.append(item)
        if len(self._messages) >= _HIGH and not (self._paused or self._close_sent):
            self._paused = True
            self._pause(True)
        self._wake()

    def lost(self, exc: BaseException | None) -> None:
        """The connection is gone (Rule 4: without a CLOSE, the code is 1006)."""
        self._lost = True
        if not self._close_received and self._exception is None:
            self._close_code = 1006
            self._exception = exc
        self._stop_timer()
        self._resolve_reply()
        self._wake()
        if self._tracer.on:
            trace.closed(self, self._by)

    def going_away(self) -> None:
        """The server shuts down: close with 1001; the handler sees the client's CLOSE."""
        if not self._close_sent:
            self._send_close(1001, b"server shutdown")

    def _closed_by_client(self, message: WSMessage) -> None:
        self._close_received = True
        self._by = self._by or "client"
        self._close_code = message.data  # 7.1.5: the code is the one received
        if self._close_sent:  # the answer to our CLOSE: receive() says CLOSED, as aiohttp
            self._resolve_reply()
            self._close_transport()
            return
        self._messages.append(message)
        if self._autoclose:
            # 5.5.1: answer with a CLOSE, typically echoing the code; 1005 means
            # "no code", and is never sent (7.4.1): answer with none either.
            code = None if message.data == 1005 else message.data
            self._send_close(code, b"")
            self._close_transport()

    def _fail(self, failure: Failure) -> None:
        """7.1.7: send the close code the parser chose, then drop the connection."""
        self._exception = WebSocketError(failure.code, failure.reason)
        self._close_code = failure.code
        self._messages.append(WSMessage(WSMsgType.ERROR, self._exception, None))
        if not self._close_sent:
            self._send_close(failure.code, failure.reason.encode()[:123])
        self._resolve_reply()
        self._close_transport()

    # --- sending ------------------------------------------------------------

    def _send_now(self, opcode: int, payload: bytes) -> None:
        if self._tracer.on:
            trace.frame_out(self, opcode, payload)
        try:
            self._writer.write(frame(opcode, payload))  # type: ignore[union-attr]
        except ConnectionError:
            pass  # the client is gone; lost() tells the handler

    def _send_close(self, code: int | None, reason: bytes) -> None:
        self._close_sent = True
        self._by = self._by or "server"
        self._send_now(WSMsgType.CLOSE, close_payload(code, reason))
        self._stop_timer()
        if self._paused:  # read on, to hear the client's CLOSE (data is dropped now)
            self._paused = False
            self._pause(False)

    async def _send(self, opcode: int, payload: bytes) -> None:
        writer = self._writer
        if writer is None:
            raise RuntimeError("call `await ws.prepare(request)` before sending")
        if self._close_sent or self._lost:
            raise ConnectionResetError("cannot send on a closing WebSocket")
        if self._tracer.on:
            trace.frame_out(self, opcode, payload)
        # Held for the loop's next turn with this turn's other answers (writer.py, Rule
        # 2; order kept, Rule 3): eight echoes are one send, not eight.
        writer.write_soon(frame(opcode, payload))
        if writer.paused:  # the client reads slower than we write: wait
            await writer.drain()

    async def send_str(self, data: str, compress: int | None = None) -> None:
        if not isinstance(data, str):
            raise TypeError(f"data argument must be str ({type(data)!r})")
        await self._send(WSMsgType.TEXT, data.encode("utf-8"))

    async def send_bytes(self, data: bytes, compress: int | None = None) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be byte-ish ({type(data)!r})")
        await self._send(WSMsgType.BINARY, bytes(data))

    async def send_json(self, data: Any, compress: int | None = None, *, dumps: Any = json.dumps):
        await self.send_str(dumps(data))

    async def ping(self, message: bytes = b"") -> None:
        await self._send(WSMsgType.PING, _control(message))

    async def pong(self, message: bytes = b"") -> None:
        await self._send(WSMsgType.PONG, _control(message))

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("a WebSocket sends with send_str/send_bytes, not write()")

    async def write_eof(self) -> None:  # type: ignore[override]
        """The handler returned: close the WebSocket if it is open, as aiohttp does."""
        if self._eof_sent or self._writer is None:
            return
        await self.close()
        self._eof_sent = True

    async def close(self, *, code: int = 1000, message: bytes = b"", drain: bool = True) -> bool:
        """Rule 4: send CLOSE, wait up to `timeout` for the client's. False if closed."""
        if self._writer is None:
            raise RuntimeError("call `await ws.prepare(request)` before close()")
        if self._close_sent or self._lost:
            return False
        self._send_close(code, message)
        if self._close_code is None:
            self._close_code = code
        self._wake()  # a receive() in another task returns CLOSING
        if self._close_received:
            self._close_transport()
            return True
        self._reply = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._timeout):
                await self._reply
        except TimeoutError as exc:
            self._exception, self._close_code = exc, 1006
        finally:
            self._reply = None
        self._close_transport()
        return True

    # --- receiving ----------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> WSMessage:
        if self._frames is None:
            raise RuntimeError("call `await ws.prepare(request)` before receive()")
        if self._waiter is not None:
            raise RuntimeError("concurrent call to receive() is not allowed")
        while not self._messages:
            if self._close_sent or self._lost or self._frames.done:
                self._conn_lost += 1
                if self._conn_lost >= 5:  # as aiohttp: a loop that never stops
                    raise RuntimeError("the WebSocket connection is closed")
                return _CLOSED if (self._lost or self._close_received) else _CLOSING
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                seconds = timeout or self._receive_timeout
                if seconds:
                    async with asyncio.timeout(seconds):
                        await self._waiter
                else:
                    await self._waiter
            finally:
                self._waiter = None
        message = self._messages.popleft()
        if self._paused and len(self._messages) <= _LOW:
            self._paused = False
            self._pause(False)
        return message

    async def receive_str(self, *, timeout: float | None = None) -> str:
        message = await self.receive(timeout)
        if message.type is not WSMsgType.TEXT:
            raise TypeError(f"Received message {message.type}:{message.data!r} is not TEXT")
        return message.data

    async def receive_bytes(self, *, timeout: float | None = None) -> bytes:
        message = await self.receive(timeout)
        if message.type is not WSMsgType.BINARY:
            raise TypeError(f"Received message {message.type}:{message.data!r} is not BINARY")
        return message.data

    async def receive_json(self, *, loads: Any = json.loads, timeout: float | None = None) -> Any:
        return loads(await self.receive_str(timeout=timeout))

    def __aiter__(self) -> WebSocketResponse:
        return self

    async def __anext__(self) -> WSMessage:
        message = await self.receive()
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            raise StopAsyncIteration
        return message

    @property
    def closed(self) -> bool:
        return self._close_sent or self._lost

    @property
    def close_code(self) -> int | None:
        return self._close_code

    def exception(self) -> BaseException | None:
        return self._exception

    # --- helpers ------------------------------------------------------------

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _resolve_reply(self) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(None)

    def _pause(self, pause: bool) -> None:
        transport = self._writer.transport if self._writer is not None else None
        if transport is not None and not transport.is_closing():
            transport.pause_reading() if pause else transport.resume_reading()

    def _close_transport(self) -> None:
        transport = self._writer.transport if self._writer is not None else None
        if transport is not None:
            transport.close()  # what is written still goes out first

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _beat(self) -> None:
        """Rule 4: ping after `heartbeat` seconds of silence; 1006 if no answer."""
        loop = asyncio.get_running_loop()
        now, beat = loop.time(), self._heartbeat or 0.0
        if self._ping_at is not None and self._last_seen < self._ping_at:
            self._timer = None
            self._exception = TimeoutError(f"no PONG received after {beat / 2} seconds")
            self._close_code = 1006
            self._close_transport()
            return
        if now - self._last_seen < beat:  # heard from lately: look again later
            self._ping_at = None
            self._timer = loop.call_later(self._last_seen + beat - now, self._beat)
            return
        self._ping_at = now
        self._send_now(WSMsgType.PING, b"")
        self._timer = loop.call_later(beat / 2, self._beat)


def _control(message: bytes | str) -> bytes:
    data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    if len(data) > 125:  # RFC 6455 5.5
        raise ValueError("a ping or pong carries at most 125 bytes")
    return data

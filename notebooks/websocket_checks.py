"""12's exercise check: a chat room, tried by several WebSocket clients over real sockets.

The clients are `RawClient`s: RFC 6455 on asyncio streams, the same few lines the
chapter writes by hand, so the check needs nothing a notebook does not already have
(no `websockets` package). The check serves the learner's handler on a sketch server of
its own, port 0, and closes it, so it still works after the notebook's closing cell.

    from websocket_checks import check_chat
    await check_chat(chat)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import os
import struct
from typing import Any

from checks import Problem, check

__all__ = ["RawClient", "check_chat"]

WAIT = 1.0  # seconds a client waits for a message the room should have sent it
OPCODES = {0x1: "TEXT", 0x2: "BINARY", 0x8: "CLOSE", 0x9: "PING", 0xA: "PONG"}


class RawClient:
    """One WebSocket client: the upgrade, masked frames out, unmasked frames in."""

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.name, self.reader, self.writer = name, reader, writer

    @classmethod
    async def connect(cls, name: str, port: int, path: str = "/chat") -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()  # RFC 6455 4.1: 16 random bytes
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            raise Problem(
                f"GET {path} answered {status!r}, not 101 Switching Protocols: "
                "`await ws.prepare(request)` before anything else, and return `ws`"
            )
        return cls(name, reader, writer)

    def send_text(self, text: str) -> None:
        payload, key = text.encode(), os.urandom(4)  # a client masks every frame (5.3)
        self.writer.write(bytes([0x81]) + _length(len(payload), masked=True) + key)
        self.writer.write(bytes(b ^ key[i % 4] for i, b in enumerate(payload)))

    async def receive(self, wait: float = WAIT) -> tuple[str, bytes] | None:
        """The next frame as (opcode's name, payload), or None if none came in time."""
        try:
            async with asyncio.timeout(wait):
                first, second = await self.reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(length)  # a server never masks
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return None
        return OPCODES.get(first & 0x0F, hex(first & 0x0F)), payload

    async def leave(self) -> None:
        """The closing handshake: CLOSE 1000, then the server's CLOSE, then EOF (5.5.1)."""
        key = os.urandom(4)
        code = struct.pack("!H", 1000)
        self.writer.write(b"\x88\x82" + key + bytes(b ^ key[i] for i, b in enumerate(code)))
        for _ in range(5):  # messages still on their way, then the server's CLOSE
            frame = await self.receive()
            if frame is None or frame[0] == "CLOSE":
                break
        self.drop()

    def drop(self) -> None:
        self.writer.close()


def _length(n: int, masked: bool) -> bytes:
    mask = 0x80 if masked else 0
    if n < 126:
        return bytes([mask | n])
    if n < 1 << 16:
        return bytes([mask | 126]) + struct.pack("!H", n)
    return bytes([mask | 127]) + struct.pack("!Q", n)


async def _everyone_gets(text: str, clients: list[RawClient], raised: list[str]) -> None:
    """Each client receives `text`, one TEXT frame; else the mistake, in plain words."""
    frames = await asyncio.gather(*(c.receive() for c in clients))
    if raised:
        raise Problem(raised[0])
    sender = clients[0].name
    for client, frame in zip(clients, frames, strict=True):
        if frame is None:
            if client.name == sender:
                raise Problem(
                    f"{sender} sent {text!r} and did not get it back: in a chat room "
                    "every client sees every message, the sender's own too"
                )
            raise Problem(
                f"{sender} sent {text!r} and {client.name} received nothing: send each "
                "message to every client in the room, not only back to the sender"
            )
        kind, payload = frame
        if kind != "TEXT":
            raise Problem(
                f"{client.name} received a {kind} frame for the text {text!r}: send a "
                "text message on with `await other.send_str(msg.data)`"
            )
        if payload != text.encode():
            raise Problem(
                f"{client.name} received {payload.decode(errors='replace')!r} instead "
                f"of {text!r}: send the message's text, `msg.data`, not the message "
                "object or its frame"
            )


async def _chat_room(chat: Any) -> None:
    from sketch import serve, web

    if not inspect.iscoroutinefunction(chat):
        raise Problem(
            f"chat is {chat!r}: write a handler, `async def chat(request):`, that "
            "returns its WebSocketResponse"
        )
    raised: list[str] = []

    @web.middleware
    async def catch(request: Any, handler: Any) -> Any:
        try:
            return await handler(request)
        except Exception as exc:  # the learner's handler: said in the verdict
            raised.append(f"your handler raised {type(exc).__name__}: {exc}")
            raise

    app = web.Application(middlewares=[catch])
    app.router.add_get("/chat", chat)
    server = await serve(app)
    clients: list[RawClient] = []
    try:
        for name in ("ada", "bob", "cy", "dee"):
            clients.append(await RawClient.connect(name, server.port))
        await asyncio.sleep(0.5)  # each handler has put its client in the room (busy CI)
        ada, bob, cy, dee = clients
        ada.send_text("hello from ada")
        await _everyone_gets("hello from ada", [ada, bob, cy, dee], raised)
        bob.send_text("hi, bob here")
        await _everyone_gets("hi, bob here", [bob, ada, cy, dee], raised)
        await cy.leave()  # a closing handshake
        dee.drop()  # and a client gone without one
        await asyncio.sleep(0.5)  # their handlers have seen them go (busy CI)
        for attempt in ("cy and dee have left", "still here?"):
            ada.send_text(attempt)
            try:
                await _everyone_gets(attempt, [ada, bob], raised)
            except Problem as problem:
                raise Problem(
                    f"after two clients left (one closed, one dropped), {problem}. A client "
                    "that leaves must leave the room: remove it when its connection ends, "
                    "in a `finally:`, or sending to it raises ConnectionResetError"
                ) from None
        for client in (ada, bob):
            await client.leave()
    finally:
        for client in clients:
            client.drop()
        with contextlib.suppress(Exception):
            await server.close()


async def check_chat(chat: Any) -> None:
    """12: `chat`, a WebSocket handler; every message reaches every client in the room."""
    await check("a chat room: every message to every client, leavers removed", _chat_room, chat)

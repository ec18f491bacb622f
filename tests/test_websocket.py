"""WebSockets over real loopback sockets: sketch's server against two independent
clients (the `websockets` library, aiohttp's client), hostile frames from a raw socket,
and aiohttp's own server side by side where the two may differ.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from types import ModuleType

import aiohttp
import pytest
import websockets
from aiohttp import web as aiohttp_web

import sketch
from sketch import events
from sketch import web as sketch_web

from .test_websocket_frames import client_frame

seen: dict[str, object] = {}  # what the server's handler saw, for the test to check


def build_app(web: ModuleType, **ws_options) -> object:
    """An echo server written for aiohttp.web, as aiohttp's own example."""

    async def echo(request):
        ws = web.WebSocketResponse(**ws_options)
        seen["ready"] = ws.can_prepare(request)
        await ws.prepare(request)
        seen["ws"] = ws
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT:
                if msg.data == "close me":
                    await ws.close(code=4000, message=b"as you wish")
                elif msg.data.startswith("{"):
                    await ws.send_json({"got": msg.json()})
                else:
                    await ws.send_str(msg.data)
            elif msg.type == web.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == web.WSMsgType.ERROR:
                seen["error"] = ws.exception()
        seen["close_code"] = ws.close_code
        seen["finished"] += 1
        return ws

    async def sleepy(request):  # reads nothing for a while (back-pressure)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await asyncio.sleep(0.5)
        seen["waiting"] = len(ws._messages) if hasattr(ws, "_messages") else None
        seen["received"] = [msg.data async for msg in ws]
        seen["finished"] += 1
        return ws

    async def closer(request):  # reads nothing, then closes
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await asyncio.sleep(0.3)
        await ws.close(code=4001)
        seen["close_code"] = ws.close_code
        seen["finished"] += 1
        return ws

    async def api(request):  # the receive side of aiohttp's API, step by step
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        steps = seen["steps"] = []
        try:
            await ws.receive(timeout=0.05)
        except TimeoutError:
            steps.append("timeout")
        try:
            await ws.receive_bytes()  # the client sent text first
        except TypeError:
            steps.append("not bytes")
        steps.append(await ws.receive_str())
        steps.append(await ws.receive_bytes())
        steps.append(await ws.receive_json())
        await ws.ping(b"p")  # the client answers; autoping keeps the PONG from receive()
        await ws.send_str("ready")
        steps.append(await ws.receive_str())
        assert await ws.close(code=4002, message=b"done") is True
        assert await ws.close() is False  # once
        steps.append((ws.closed, ws.close_code))
        try:
            await ws.send_str("too late")
        except ConnectionResetError:
            steps.append("send refused")
        steps.append((await ws.receive()).type)
        seen["finished"] += 1
        return ws

    app = web.Application()
    app.router.add_get("/api", api)
    app.router.add_get("/closer", closer)
    app.router.add_get("/ws", echo)
    app.router.add_get("/sleepy", sleepy)
    return app


async def finished(count: int = 1) -> None:
    """Wait until `count` of the server's handlers have returned, since `serving` began."""
    async with asyncio.timeout(5):
        while seen["finished"] < count:
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def serving(web: ModuleType = sketch_web, **ws_options):
    seen.clear()
    seen["finished"] = 0
    app = build_app(web, **ws_options)
    if web is sketch_web:
        async with await sketch.serve(app, shutdown_timeout=5.0) as server:
            yield server.port
        return
    runner = aiohttp_web.AppRunner(app)
    await runner.setup()
    site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


# --- real clients ---------------------------------------------------------------


async def test_websockets_library_echo_subprotocol_fragments_ping_and_close():
    async with serving(protocols=("chat", "superchat")) as port:
        url = f"ws://127.0.0.1:{port}/ws"
        async with websockets.connect(url, subprotocols=["superchat", "chat"]) as client:
            # aiohttp's choice: the first of the client's offers that the server speaks.
            assert client.subprotocol == "superchat"
            await client.send("héllo")
            assert await client.recv() == "héllo"
            await client.send(b"\x00\xff" * 40000)  # a 64-bit length
            assert await client.recv() == b"\x00\xff" * 40000
            await client.send(["frag", "men", "ted"])  # three frames, one message
            assert await client.recv() == "fragmented"
            pong = await client.ping(b"are you there")
            await asyncio.wait_for(pong, 5)  # answered by autoping
        assert client.close_code == 1000
        await finished()
        assert seen["close_code"] == 1000
        assert seen["ready"] == (True, "superchat")


async def test_aiohttp_client_echo_json_and_a_close_started_by_the_server():
    async with serving() as port, aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            assert ws.protocol is None
            await ws.send_json({"a": 1})
            assert await ws.receive_json() == {"got": {"a": 1}}
            await ws.send_str("close me")
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.CLOSE
            assert (msg.data, msg.extra) == (4000, "as you wish")
        await finished()
        assert seen["close_code"] == 1000  # the code the client answered with


async def test_fifty_clients_each_echo_twenty_messages_in_order():
    async def one(port: int, n: int) -> list[str]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
            got = []
            for i in range(20):
                await client.send(f"{n}:{i}")
            for _ in range(20):
                got.append(await client.recv())
            return got

    async with serving() as port:
        results = await asyncio.gather(*(one(port, n) for n in range(50)))
    for n, got in enumerate(results):
        assert got == [f"{n}:{i}" for i in range(20)]


async def test_a_client_sending_faster_than_the_handler_reads_is_paused_and_loses_nothing():
    messages = [os.urandom(16384) for _ in range(200)]  # 3.2 MB: more than socket buffers
    async with serving() as port:
        async with websockets.connect(f"ws://127.0.0.1:{port}/sleepy") as client:
            for message in messages:
                await client.send(message)
        await finished()
    assert seen["received"] == messages
    # Reading paused at 16 unread messages (plus what one read of the socket held).
    assert seen["waiting"] is not None and seen["waiting"] < 40


async def test_close_hears_the_client_even_while_reading_is_paused():
    # The handler reads none of 200 messages: reading pauses. Its close() must still
    # hear the client's CLOSE, not wait out the 10 s timeout and call it 1006.
    async with serving() as port:
        async with websockets.connect(f"ws://127.0.0.1:{port}/closer") as client:
            with contextlib.suppress(websockets.ConnectionClosed):
                for _ in range(200):
                    await client.send(os.urandom(16384))
            await asyncio.wait_for(client.wait_closed(), 5)
        await finished()
    assert client.close_code == 4001
    assert seen["close_code"] == 4001


@pytest.mark.parametrize("web", [sketch_web, aiohttp_web], ids=["sketch", "aiohttp"])
async def test_the_receive_api_step_by_step_as_aiohttp(web):
    async with serving(web) as port, aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/api") as ws:
            await asyncio.sleep(0.1)  # past the handler's first receive timeout
            await ws.send_str("text")
            await ws.send_str("s")
            await ws.send_bytes(b"b")
            await ws.send_json({"j": 1})
            assert await ws.receive_str() == "ready"  # the PING was answered on the way
            await ws.send_str("after ping")
            msg = await ws.receive()
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4002, "done")
        await finished()
    assert seen["steps"] == [
        "timeout",
        "not bytes",
        "s",
        b"b",
        {"j": 1},
        "after ping",
        (True, 1000),  # the client's answer to our 4002
        "send refused",
        web.WSMsgType.CLOSED,
    ]


# --- raw sockets: the handshake and hostile frames -------------------------------------


def upgrade_request(key: str | None = "dGhlIHNhbXBsZSBub25jZQ==", version: str = "13") -> bytes:
    lines = ["GET /ws HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: keep-alive, Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    lines.append(f"Sec-WebSocket-Version: {version}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_raw(port: int, request: bytes | None = None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request or upgrade_request())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return reader, writer, head.decode()


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await asyncio.wait_for(reader.readexactly(2), 5)
    assert second & 0x80 == 0, "a server frame is masked"
    n = second & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(n)


async def close_code_for(port: int, data: bytes) -> int:
    """Send `data` after the handshake; the code of the server's CLOSE, then its EOF."""
    reader, writer, head = await open_raw(port)
    assert head.startswith("HTTP/1.1 101")
    writer.write(data)
    while True:
        opcode, payload = await read_frame(reader)
        if opcode == 0x8:
            break
    assert await asyncio.wait_for(reader.read(), 5) == b""  # 7.1.7: then it closes
    writer.close()
    return struct.unpack("!H", payload[:2])[0]


async def test_the_handshake_answer_is_the_rfcs_example():
    async with serving() as port:
        reader, writer, head = await open_raw(port)
        writer.close()
    # RFC 6455 1.3: this key's accept value is given in the RFC itself.
    assert head.startswith("HTTP/1.1 101 Switching Protocols\r\n")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    assert "Sec-WebSocket-Extensions" not in head and "Content-Length" not in head


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (client_frame(0x1, b"hi", key=None), 1002),
        (client_frame(0x9, b"x" * 126), 1002),
        (client_frame(0x5, b"hi"), 1002),
        (client_frame(0x1, b"caf\xc3", fin=False) + client_frame(0x0, b"\x28"), 1007),
        (client_frame(0x2, b"x" * 2000), 1009),
        (client_frame(0x8, b"\x03"), 1002),
        (client_frame(0x8, struct.pack("!H", 1006)), 1002),
        (client_frame(0x0, b"orphan"), 1002),
    ],
)
async def test_hostile_frames_are_answered_with_the_right_close_code(data, code):
    async with serving(max_msg_size=1000) as port:
        assert await close_code_for(port, data) == code
        await finished()
    assert seen["close_code"] == code
    assert getattr(seen["error"], "code", None) == code


async def test_a_close_from_the_client_is_echoed_and_an_empty_one_answered_empty():
    async with serving() as port:
        assert await close_code_for(port, client_frame(0x8, b"\x0f\xa0bye")) == 4000
        reader, writer, _ = await open_raw(port)
        writer.write(client_frame(0x8))
        assert await read_frame(reader) == (0x8, b"")  # 1005 is never sent (7.4.1)
        writer.close()
        await finished(2)
        assert seen["close_code"] == 1005


async def test_a_connection_lost_without_close_has_code_1006():
    async with serving() as port:
        reader, writer, _ = await open_raw(port)
        writer.write(client_frame(0x1, b"hi"))
        assert await read_frame(reader) == (0x1, b"hi")
        writer.transport.abort()
        writer.close()
        await finished()
        assert seen["close_code"] == 1006


async def test_frames_sent_with_the_handshake_head_are_not_lost():
    async with serving() as port:
        reader, writer, head = await open_raw(port, upgrade_request() + client_frame(0x1, b"x"))
        assert head.startswith("HTTP/1.1 101")
        assert await read_frame(reader) == (0x1, b"x")
        writer.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (upgrade_request(key=None), 400),
        (upgrade_request(key="c2hvcnQ="), 400),  # "short": not 16 bytes
        (upgrade_request(key="not base64!"), 400),
        (upgrade_request(version="8"), 426),
        (b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # no upgrade asked
    ],
)
async def test_handshake_errors(request_bytes, status):
    async with serving() as port:
        reader, writer, head = await open_raw(port, request_bytes)
        writer.close()
    assert head.startswith(f"HTTP/1.1 {status} ")
    if status == 426:
        assert "Sec-WebSocket-Version: 13\r\n" in head  # RFC 6455 4.4


async def test_heartbeat_closes_a_client_that_never_answers_pings():
    async with serving(heartbeat=0.2) as port:
        reader, writer, _ = await open_raw(port)
        assert (await read_frame(reader))[0] == 0x9  # the server's PING; no PONG sent
        assert await asyncio.wait_for(reader.read(), 5) == b""  # dropped after 0.1 s
        writer.close()
        await finished()
        assert seen["close_code"] == 1006
        assert isinstance(seen["ws"].exception(), TimeoutError)


async def test_heartbeat_keeps_a_client_that_answers():
    async with serving(heartbeat=0.1) as port:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
            await asyncio.sleep(0.5)  # the library answers the pings itself
            await client.send("still here")
            assert await client.recv() == "still here"


async def test_shutdown_closes_open_websockets_with_1001():
    traced: list[object] = []
    async with serving() as port:
        client = await websockets.connect(f"ws://127.0.0.1:{port}/ws")
        await client.send("hi")
        assert await client.recv() == "hi"
        seen["ws"]._request.app.tracer.subscribe(traced.append)
    # Leaving `serving` shut the server down: the client was told 1001, going away.
    await asyncio.wait_for(client.wait_closed(), 5)
    assert client.close_code == 1001
    assert seen["close_code"] == 1001
    phases = [(e.phase, e.count) for e in traced if isinstance(e, events.ShutdownPhase)]
    assert ("close websockets", 1) in phases  # the shutdown trace shows it


# --- side by side with aiohttp's server -------------------------------------------------


@pytest.mark.parametrize("web", [sketch_web, aiohttp_web], ids=["sketch", "aiohttp"])
async def test_the_same_as_aiohttp(web):
    async with serving(web, protocols=("b", "a")) as port:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["a", "b"]) as c:
            assert c.subprotocol == "a"
            await c.send("x")
            assert await c.recv() == "x"
        key = base64.b64encode(b"0123456789abcdef").decode()
        reader, writer, head = await open_raw(port, upgrade_request(key=key))
        assert "HTTP/1.1 101" in head
        writer.close()
        for data, code in [
            (client_frame(0x1, b"\xff"), 1007),
            (client_frame(0x3), 1002),
        ]:
            assert await close_code_for(port, data) == code


@pytest.mark.parametrize("web", [sketch_web, aiohttp_web], ids=["sketch", "aiohttp"])
async def test_where_aiohttp_departs_from_rfc_6455(web):
    """Recorded, so that the day aiohttp changes, docs/websockets.md is corrected."""
    ours = web is sketch_web
    async with serving(web) as port:
        _, writer, head = await open_raw(port, upgrade_request(version="12"))
        writer.close()
        assert head.startswith("HTTP/1.1 426" if ours else "HTTP/1.1 400")  # RFC 4.4: 426
        # aiohttp also accepts versions 7 and 8 (drafts before RFC 6455); sketch: 426.
        _, writer, head = await open_raw(port, upgrade_request(version="8"))
        writer.close()
        assert head.startswith("HTTP/1.1 426" if ours else "HTTP/1.1 101")
        # RFC 5.1: a server fails the connection on an unmasked client frame (1002);
        # aiohttp reads it, and here echoes it.
        reader, writer, _ = await open_raw(port)
        writer.write(client_frame(0x1, b"bare", key=None))
        opcode, payload = await read_frame(reader)
        if ours:
            assert (opcode, payload[:2]) == (0x8, struct.pack("!H", 1002))
        else:
            assert (opcode, payload) == (0x1, b"bare")
        writer.close()
        # RFC 7.1.5: a CLOSE frame with no code makes the close code 1005; aiohttp: 0.
        reader, writer, _ = await open_raw(port)
        writer.write(client_frame(0x8))
        await read_frame(reader)
        writer.close()
        await finished(2 if ours else 3)  # aiohttp also ran the handler for version 8
        assert seen["close_code"] == (1005 if ours else 0)

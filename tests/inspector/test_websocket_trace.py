"""WebSockets traced over real loopback sockets, the `websockets` library as the client
(hostile frames from a raw socket), folded by the model and drawn at 80 columns."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct

import websockets
from rich.console import Console

import sketch
from inspector.conversation import MAX_FRAMES
from inspector.model import Model
from inspector.record import Recorder, load
from inspector.secrets import mask_trace
from inspector.server_views import Dashboard
from inspector.views import ByteRuler, RequestTree, view_of
from sketch import events as ev
from sketch import web
from sketch.websocket.frames import FrameReader

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3


def echo_app() -> web.Application:
    async def echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT:
                await ws.send_str(msg.data)
            else:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", echo)
    return app


async def settle(seen: list, cls: type = ev.WebSocketClosed) -> None:
    async with asyncio.timeout(5):
        while not any(isinstance(e, cls) for e in seen):
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the handler's return (ResponseEnd)


async def traced_echo(*subscribers) -> list[ev.Event]:
    """An echo conversation: a text, 200 bytes, a ping, and the client's close."""
    app, seen = echo_app(), []
    app.tracer.subscribe(seen.append)
    for subscriber in subscribers:
        app.tracer.subscribe(subscriber)
    async with await sketch.serve(app) as server:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as client:
            await client.send("hello token=abc123")
            assert await client.recv() == "hello token=abc123"
            await client.send(b"\x00\x01" * 100)
            assert await client.recv() == b"\x00\x01" * 100
            await asyncio.wait_for(await client.ping(b"hi"), 5)
        await settle(seen)
    return seen


def frames(seen: list) -> list[tuple]:
    return [
        (e.direction, e.opcode, e.length, e.masked, e.fin, e.code)
        for e in seen
        if isinstance(e, ev.WebSocketFrame)
    ]


def render(view: object, width: int = 80) -> str:
    console = Console(color_system=None, width=width, record=True)
    with console.capture() as capture:
        console.print(view)
    return capture.get()


async def test_an_echo_conversation_is_traced_frame_by_frame_both_ways():
    seen = await traced_echo()
    (upgrade,) = [e for e in seen if isinstance(e, ev.WebSocketUpgrade)]
    digest = hashlib.sha1((upgrade.key + GUID).encode()).digest()
    assert upgrade.accept == base64.b64encode(digest).decode()
    assert frames(seen) == [
        ("in", "TEXT", 18, True, True, 0),
        ("out", "TEXT", 18, False, True, 0),
        ("in", "BINARY", 200, True, True, 0),
        ("out", "BINARY", 200, False, True, 0),
        ("in", "PING", 2, True, True, 0),
        ("out", "PONG", 2, False, True, 0),
        ("in", "CLOSE", 2, True, True, 1000),
        ("out", "CLOSE", 2, False, True, 1000),
    ]
    (closed,) = [e for e in seen if isinstance(e, ev.WebSocketClosed)]
    assert (closed.code, closed.by, closed.error) == (1000, "client", "")
    text = [e for e in seen if isinstance(e, ev.WebSocketFrame) and e.opcode == "TEXT"]
    assert text[0].preview == "hello token=abc123"  # the event is raw; the model masks


async def test_a_frames_offset_and_head_are_its_bytes_on_the_connection():
    seen = await traced_echo()
    stream = b"".join(e.data for e in seen if isinstance(e, ev.DataReceived))
    (upgrade,) = [e for e in seen if isinstance(e, ev.WebSocketUpgrade)]
    assert stream[: upgrade.offset].endswith(b"\r\n\r\n")  # the handshake's head, whole
    incoming = [e for e in seen if isinstance(e, ev.WebSocketFrame) and e.direction == "in"]
    assert incoming[0].offset == upgrade.offset
    for frame in incoming:
        assert stream[frame.offset : frame.offset + len(frame.head)] == frame.head
    binary = incoming[1]
    assert binary.head[1] & 0x7F == 126 and len(binary.head) == 2 + 2 + 4  # 16-bit length
    assert struct.unpack("!H", binary.head[2:4]) == (200,)


async def test_an_unmasked_frame_is_traced_and_closed_with_1002():
    app, seen = echo_app(), []
    app.tracer.subscribe(seen.append)
    model = Model()
    app.tracer.subscribe(model.feed)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"\x81\x02hi")  # 5.1: a client must mask its frames
        await asyncio.wait_for(reader.read(), 5)  # the server's CLOSE, then its EOF
        writer.close()
        await settle(seen)
    close = [e for e in seen if isinstance(e, ev.WebSocketFrame)][-1]
    assert "not masked" in close.reason
    assert frames(seen) == [
        ("in", "TEXT", 2, False, True, 0),
        ("out", "CLOSE", 2 + len(close.reason.encode()), False, True, 1002),  # 5.5.1
    ]
    (closed,) = [e for e in seen if isinstance(e, ev.WebSocketClosed)]
    assert (closed.code, closed.by) == (1002, "server")
    assert "not masked" in closed.error
    text = render(view_of(model.recent[-1], "websocket"))
    assert "unmasked" in text and "1002 protocol error" in text


async def test_the_conversation_view_fits_80_columns_and_names_close_codes():
    model = Model()
    await traced_echo(model.feed)
    trace = model.recent[-1]
    text = render(view_of(trace, "websocket"))
    assert max(len(line) for line in text.splitlines()) <= 80
    for part in ("client → server", "server → client", "PING", "PONG", "BINARY 200 B"):
        assert part in text
    assert text.count("1000 normal closure") == 3  # both CLOSE frames and the end
    assert "closed by the client" in text
    assert "token=******" in text and "abc123" not in text  # masked in the model
    tree = render(RequestTree(trace))
    assert "WebSocket 8 frames (4 in, 4 out)" in tree


async def test_the_byte_ruler_spells_out_each_frame_head():
    model = Model()
    await traced_echo(model.feed)
    text = render(ByteRuler(model.recent[-1]))
    heads = [line for line in text.splitlines() if line.startswith("byte ")]
    assert len(heads) == 4  # TEXT, BINARY, PING, CLOSE: what came in
    assert "81 FIN=1 RSV=0 op=1 TEXT" in heads[0] and "MASK=1 len=18" in heads[0]
    assert "len=126" in heads[1] and "00c8 length=200" in heads[1]
    assert "mask key" in heads[2]


async def test_revealed_previews_are_kept_and_masked_on_show():
    model = Model(reveal=True)
    await traced_echo(model.feed)
    trace = model.recent[-1]
    assert "abc123" in render(view_of(trace, "websocket"))
    assert "abc123" not in render(view_of(mask_trace(trace), "websocket"))
    assert "abc123" in render(view_of(trace, "websocket"))  # the original is untouched


async def test_a_recorded_conversation_replays_into_the_same_trace(tmp_path):
    path = tmp_path / "ws.jsonl"
    recorder, live = Recorder(path), Model()
    await traced_echo(recorder, live.feed)
    recorder.close()
    replayed = Model()
    for event in load(path):
        replayed.feed(event)
    assert replayed.recent[-1].websocket == live.recent[-1].websocket
    assert replayed.recent[-1].websocket.total == 8


async def test_with_nobody_subscribed_no_websocket_event_is_built(monkeypatch):
    built, heads = [], []
    for cls in (ev.WebSocketUpgrade, ev.WebSocketFrame, ev.WebSocketClosed):
        original = cls.__init__

        def counting(self, *args, _original=original, **kwargs):
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    original_feed = FrameReader.feed

    def feed(self, data):
        heads.append(self.heads)
        return original_feed(self, data)

    monkeypatch.setattr(FrameReader, "feed", feed)
    async with await sketch.serve(echo_app()) as server:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as client:
            await client.send("hello")
            assert await client.recv() == "hello"
    assert built == []
    assert heads and all(h is None for h in heads)  # the reader recorded nothing either


def test_a_long_conversation_keeps_the_last_frames_and_counts_all():
    model = Model()
    model.feed(ev.ParserCallback(1.0, 1, 1, "on_message_begin", ()))
    model.feed(ev.WebSocketUpgrade(1.0, 1, 1, "k", "a", "", 100))
    for i in range(1000):
        model.feed(ev.WebSocketFrame(1.0 + i, 1, 1, "in", "TEXT", True, 0, True, 1, -1, b"", 0,
                                     "", str(i)))  # fmt: skip
    talk = model.in_flight[(1, 1)].websocket
    assert len(talk.frames) == MAX_FRAMES and talk.total == 1000
    assert talk.frames[-1].preview == "999"
    text = render(view_of(model.in_flight[(1, 1)], "websocket"))
    assert f"{1000 - MAX_FRAMES} earlier frames not kept" in text
    assert "(1 WebSocket open)" in render(Dashboard(model, latest=0))
    model.feed(ev.WebSocketClosed(2000.0, 1, 1, 1001, "server", ""))
    assert "WebSocket open" not in render(Dashboard(model, latest=0))
    assert model.websockets == {}


async def test_all_views_include_the_conversation_only_for_a_websocket():
    model = Model()
    await traced_echo(model.feed)
    assert "client → server" in render(view_of(model.recent[-1], "all"))
    plain = Model()
    plain.feed(ev.ParserCallback(1.0, 1, 1, "on_message_begin", ()))
    plain.feed(ev.ResponseEnd(1.1, 1, 1, 200, 10, True))
    assert "WebSocket" not in render(view_of(plain.recent[-1], "all"))

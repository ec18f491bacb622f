"""Request bodies as streams: `request.content`, alike on aiohttp and sketch, and bounded.

The stream's own rules are tested without a socket (pieces fed by hand, as the reader
feeds them); what a handler sees is tested over real sockets beside aiohttp; and a 50 MB
upload read slowly shows the back-pressure: the server's memory stays far below it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp import web as aiohttp_web

import sketch
from sketch import events as ev
from sketch import web as sketch_web
from sketch.streams import HIGH_WATER, StreamReader

from .test_aiohttp_parity import start


def fed(*pieces: bytes, eof: bool = True) -> StreamReader:
    stream = StreamReader()
    for piece in pieces:
        stream.feed_data(piece)
    if eof:
        stream.feed_eof()
    return stream


# --- the stream's rules, without a socket ------------------------------------


async def test_read_n_takes_at_most_n_bytes_across_pieces_and_b_empty_at_the_end():
    stream = fed(b"abc", b"defg")
    assert await stream.read(2) == b"ab"
    assert await stream.read(4) == b"cdef"
    assert await stream.read(10) == b"g"
    assert stream.at_eof()
    assert await stream.read(10) == b""
    assert await fed(b"abc", b"def").read() == b"abcdef"


async def test_readline_finds_a_line_split_across_pieces_and_keeps_what_follows():
    stream = fed(b"one\ntw", b"o\nthr", b"ee")
    assert [line async for line in stream] == [b"one\n", b"two\n", b"three"]
    stream = fed(b"a\r", b"\nb")
    assert await stream.readuntil(b"\r\n") == b"a\r\n"
    assert await stream.read() == b"b"


async def test_a_line_longer_than_the_high_water_mark_is_an_error_not_a_buffer():
    stream = fed(b"x" * (HIGH_WATER + 1))
    with pytest.raises(ValueError, match="a line longer than"):
        await stream.readline()


async def test_readexactly_waits_for_enough_and_says_what_it_got_if_the_body_ends():
    stream = fed(b"12", b"345", b"6")
    assert await stream.readexactly(4) == b"1234"
    with pytest.raises(asyncio.IncompleteReadError) as raised:
        await stream.readexactly(5)
    assert raised.value.partial == b"56" and raised.value.expected == 5


async def test_iterators_yield_pieces_until_the_end():
    assert [c async for c in fed(b"abcde", b"fg").iter_chunked(3)] == [b"abc", b"def", b"g"]
    assert [c async for c in fed(b"abcde", b"fg").iter_any()] == [b"abcde", b"fg"]


async def test_a_reader_waits_for_pieces_and_hears_why_a_body_will_never_end():
    stream = StreamReader()
    waiting = asyncio.ensure_future(stream.readexactly(3))
    await asyncio.sleep(0)
    stream.feed_data(b"ab")
    await asyncio.sleep(0)
    assert not waiting.done()
    stream.feed_data(b"c")
    assert await waiting == b"abc"
    later = asyncio.ensure_future(stream.read(1))
    await asyncio.sleep(0)
    stream.set_exception(ConnectionResetError("the client closed the connection"))
    with pytest.raises(ConnectionResetError):
        await later


async def test_the_connection_is_called_back_once_the_buffer_is_read_down_to_half():
    stream = fed(b"x" * HIGH_WATER, b"y" * HIGH_WATER, eof=False)
    resumed = []
    stream.resume_when_drained(lambda: resumed.append(stream.buffered))
    await stream.read(HIGH_WATER)  # 1 high-water mark left: still too much
    assert resumed == []
    await stream.read(HIGH_WATER // 2)
    assert resumed == [HIGH_WATER // 2]
    await stream.read(10)
    assert resumed == [HIGH_WATER // 2]  # once


# --- a handler's view, beside aiohttp ---------------------------------------------


def build_stream_app(web: ModuleType) -> object:
    """Handlers written for aiohttp, reading `request.content` each their own way."""

    async def lines(request):
        return web.json_response([line.decode() async for line in request.content])

    async def chunked(request):
        pieces = [piece async for piece in request.content.iter_chunked(4)]
        whole = b"".join(pieces)
        fits = all(len(piece) <= 4 for piece in pieces)
        return web.json_response({"body": whole.decode(), "fits": fits})

    async def any_(request):
        total = hashlib.sha256()
        async for piece in request.content.iter_any():
            total.update(piece)
        return web.Response(text=total.hexdigest())

    async def exactly(request):
        first = await request.content.readexactly(3)
        try:
            rest = await request.content.readexactly(100)
        except asyncio.IncompleteReadError as exc:
            rest = b"short:" + exc.partial
        return web.Response(body=first + b"|" + rest)

    async def then_read(request):
        line = await request.content.readline()
        eof_before = request.content.at_eof()
        rest = await request.content.read()
        return web.json_response(
            [line.decode(), rest.decode(), eof_before, request.content.at_eof()]
        )

    async def no_body(request):
        data = await request.content.read()
        return web.json_response([data.decode(), request.content.at_eof()])

    app = web.Application()
    app.router.add_post("/lines", lines)
    app.router.add_post("/chunked", chunked)
    app.router.add_post("/any", any_)
    app.router.add_post("/exactly", exactly)
    app.router.add_post("/then-read", then_read)
    app.router.add_get("/no-body", no_body)
    return app


STREAM_REQUESTS = [
    ("POST", "/lines", b"one\ntwo\n\nfour"),
    ("POST", "/chunked", b"0123456789ab"),
    ("POST", "/any", bytes(range(256)) * 1000),
    ("POST", "/exactly", b"abcdefg"),
    ("POST", "/then-read", b"first line\nand the rest"),
    ("GET", "/no-body", b""),
]


async def _pieces(body: bytes):
    """A body sent in pieces with pauses: the handler reads while it arrives."""
    for at in range(0, len(body), 5):
        yield body[at : at + 5]
        await asyncio.sleep(0.001)


@pytest.mark.parametrize("sent", ["whole", "in pieces"])
async def test_request_content_reads_alike_on_aiohttp_and_on_sketch(sent):
    seen: dict[str, list] = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, port = await start(web, build_stream_app(web))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                seen[name] = []
                for method, path, body in STREAM_REQUESTS:
                    if method == "GET":
                        response = await client.get(path)
                    elif sent == "whole" or len(body) > 1000:
                        response = await client.post(path, content=body)
                    else:  # chunked transfer coding, the handler reading as it comes
                        response = await client.post(path, content=_pieces(body))
                    seen[name].append((response.status_code, response.content))
        finally:
            await runner.cleanup()
    for ours, theirs, request in zip(seen["sketch"], seen["aiohttp"], STREAM_REQUESTS, strict=True):
        assert ours == theirs, request
    # And what that is, in case both were wrong alike:
    lines, chunked, any_, exactly, then_read, no_body = seen["sketch"]
    assert json.loads(lines[1]) == ["one\n", "two\n", "\n", "four"]
    assert json.loads(chunked[1]) == {"body": "0123456789ab", "fits": True}
    assert any_[1].decode() == hashlib.sha256(bytes(range(256)) * 1000).hexdigest()
    assert exactly[1] == b"abc|short:defg"
    assert json.loads(then_read[1]) == ["first line\n", "and the rest", False, True]
    assert json.loads(no_body[1]) == ["", True]


# --- back-pressure: a body larger than the server should hold ------------------------


STATM = Path("/proc/self/statm")  # Linux: this process's memory, in pages


def _rss() -> int:
    """This process's resident memory, in bytes."""
    return int(STATM.read_text(encoding="ascii").split()[1]) * 4096


class MemoryGrowth:
    """`async with MemoryGrowth() as memory:` ... `memory.grown`: how far this process's
    resident memory rose above where it started, sampled every 5 ms while the block ran."""

    async def __aenter__(self) -> MemoryGrowth:
        self.baseline = self.peak = _rss()
        self._watcher = asyncio.ensure_future(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._watcher.cancel()

    async def _watch(self) -> None:
        while True:
            self.peak = max(self.peak, _rss())
            await asyncio.sleep(0.005)

    @property
    def grown(self) -> int:
        return self.peak - self.baseline


@pytest.mark.skipif(not STATM.exists(), reason="reads the process's memory from Linux's /proc")
async def test_a_50_mb_upload_read_slowly_keeps_the_server_s_memory_flat():
    size = 50 * 1024 * 1024
    piece = bytes(range(256)) * 4096  # 1 MiB, sent fifty times: the client holds one
    expected = hashlib.sha256()
    for _ in range(size // len(piece)):
        expected.update(piece)

    async def upload(request):
        total, digest = 0, hashlib.sha256()
        async for chunk in request.content.iter_chunked(256 * 1024):
            total += len(chunk)
            digest.update(chunk)
            await asyncio.sleep(0.002)  # slower than loopback delivers
        return sketch_web.json_response({"size": total, "sha256": digest.hexdigest()})

    app = sketch_web.Application()
    app.router.add_post("/upload", upload)
    pauses = []
    app.tracer.subscribe(
        lambda event: (
            pauses.append(event.paused)
            if isinstance(event, ev.FlowControl) and event.side == "reading"
            else None
        )
    )
    async with MemoryGrowth() as memory, await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(piece)):
            writer.write(piece)
            await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        answer = json.loads(await reader.readexactly(length))
        writer.close()
        await writer.wait_closed()
    assert head.startswith(b"HTTP/1.1 200")
    assert answer == {"size": size, "sha256": expected.hexdigest()}
    # Paused and resumed, many times over (the server pauses once more when it stops).
    assert pauses[:2] == [True, False] and pauses.count(False) >= pauses.count(True) - 1 > 10
    grown = memory.grown
    assert grown < 16 * 1024 * 1024, f"the server's memory grew by {grown / 2**20:.1f} MiB"


async def test_a_body_we_stopped_reading_is_not_taken_for_a_stalled_client():
    # body_timeout is for a client that stops sending; here the handler is slow to read
    # and the connection paused reading on purpose: no 408.
    async def late_reader(request):
        await asyncio.sleep(0.5)
        return sketch_web.Response(text=str(len(await request.read())))

    app = sketch_web.Application(client_max_size=0)
    app.router.add_post("/late", late_reader)
    body = b"x" * (HIGH_WATER * 4)
    async with await sketch.serve(app, body_timeout=0.1) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            response = await client.post("/late", content=body)
    assert response.status_code == 200 and response.text == str(len(body))

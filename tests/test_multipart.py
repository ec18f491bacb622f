"""`await request.multipart()`: parts read one at a time, beside aiohttp, never held whole."""

from __future__ import annotations

import asyncio
import hashlib
import json
from types import ModuleType

import httpx
import pytest
from aiohttp import web as aiohttp_web
from multidict import CIMultiDict, CIMultiDictProxy

import sketch
from sketch import web as sketch_web
from sketch.exceptions import HTTPBadRequest
from sketch.multipart import MultipartReader
from sketch.streams import StreamReader

from .test_aiohttp_parity import start
from .test_streams import STATM, MemoryGrowth

BOUNDARY = "xYzZY"
BODY = (
    b"a preamble, ignored\r\n"
    b"--xYzZY\r\n"
    b'Content-Disposition: form-data; name="title"\r\n'
    b"\r\n"
    b"two\r\nlines\r\n"
    b"--xYzZY  \r\n"  # transport padding after a delimiter is allowed (RFC 2046 5.1.1)
    b'Content-Disposition: form-data; name="upload"; filename="a.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n"
    b"\r\n"
    b"--xYz almost a delimiter \r\n--xYzZ and another\r\n"
    b"--xYzZY--\r\n"
    b"an epilogue, ignored\r\n"
)


def reader_over(pieces: list[bytes]) -> MultipartReader:
    stream = StreamReader()
    for piece in pieces:
        stream.feed_data(piece)
    stream.feed_eof()
    headers = CIMultiDict({"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    return MultipartReader(CIMultiDictProxy(headers), stream)


@pytest.mark.parametrize("piece", [len(BODY), 7, 1], ids=["whole", "7 bytes", "byte by byte"])
async def test_parts_come_out_whole_however_the_body_was_cut(piece):
    reader = reader_over([BODY[i : i + piece] for i in range(0, len(BODY), piece)])
    parts = []
    async for part in reader:
        chunks = []
        while chunk := await part.read_chunk(5):
            assert len(chunk) <= 5
            chunks.append(chunk)
        parts.append((part.name, part.filename, part.headers.get("Content-Type"), b"".join(chunks)))
    assert parts == [
        ("title", None, None, b"two\r\nlines"),
        ("upload", "a.bin", "application/octet-stream",
         b"--xYz almost a delimiter \r\n--xYzZ and another"),
    ]  # fmt: skip
    assert reader.at_eof() and await reader.next() is None


async def test_a_part_left_unread_is_skipped_by_the_next():
    reader = reader_over([BODY])
    first = await reader.next()
    second = await reader.next()
    assert first.name == "title" and second.filename == "a.bin"
    assert (await second.read()).startswith(b"--xYz almost")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (BODY[: BODY.index(b"--xYzZY--")], "it ends before its last boundary"),
        (b"--xYzZY\r\nno colon here\r\n\r\ndata\r\n--xYzZY--", "a bad part header"),
        (b"--xYzZY junk\r\n\r\ndata\r\n--xYzZY--", "text after a delimiter"),
    ],
    ids=["truncated", "bad header", "junk after delimiter"],
)
async def test_a_malformed_body_is_a_400_that_says_what_is_wrong(body, why):
    with pytest.raises(HTTPBadRequest) as raised:
        async for part in reader_over([body]):
            await part.release()
    assert why in raised.value.text


def build_upload_app(web: ModuleType) -> object:
    async def upload(request):
        seen = []
        async for part in await request.multipart():
            if part.filename is None:
                seen.append([part.name, await part.text()])
                continue
            digest, sizes = hashlib.sha256(), set()
            while chunk := await part.read_chunk(1000):
                digest.update(chunk)
                sizes.add(len(chunk) <= 1000)
            seen.append([part.name, part.filename, digest.hexdigest(), sizes == {True}])
        return web.json_response(seen)

    app = web.Application()
    app.router.add_post("/upload", upload)
    return app


async def test_an_upload_reads_alike_on_aiohttp_and_on_sketch():
    file_data = bytes(range(256)) * 300 + b"\r\n--not the boundary"
    seen = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, port = await start(web, build_upload_app(web))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                response = await client.post(
                    "/upload",
                    data={"title": "holiday", "note": "é and ü"},
                    files={"photo": ("beach.jpg", file_data, "image/jpeg")},
                )
                seen[name] = (response.status_code, response.content)
        finally:
            await runner.cleanup()
    assert seen["sketch"] == seen["aiohttp"]
    assert json.loads(seen["sketch"][1]) == [
        ["title", "holiday"],
        ["note", "é and ü"],
        ["photo", "beach.jpg", hashlib.sha256(file_data).hexdigest(), True],
    ]


@pytest.mark.skipif(not STATM.exists(), reason="reads the process's memory from Linux's /proc")
async def test_a_30_mb_file_in_a_multipart_upload_is_never_held_whole():
    size = 30 * 1024 * 1024
    piece = bytes(range(256)) * 4096  # 1 MiB
    head = b'--xYzZY\r\nContent-Disposition: form-data; name="big"; filename="big.bin"\r\n\r\n'
    tail = b"\r\n--xYzZY--\r\n"

    async def upload(request):
        total = 0
        async for part in await request.multipart():
            while chunk := await part.read_chunk(256 * 1024):
                total += len(chunk)
                await asyncio.sleep(0.002)  # slower than loopback delivers
        return sketch_web.Response(text=str(total))

    app = sketch_web.Application()
    app.router.add_post("/upload", upload)
    async with MemoryGrowth() as memory, await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        length = len(head) + size + len(tail)
        writer.write(
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            b"Content-Type: multipart/form-data; boundary=xYzZY\r\n\r\n" % length + head
        )
        for _ in range(size // len(piece)):
            writer.write(piece)
            await writer.drain()
        writer.write(tail)
        answer = await asyncio.wait_for(reader.read(65536), 30)
        writer.close()
        await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n%d" % size)
    grown = memory.grown
    assert grown < 16 * 1024 * 1024, f"the server's memory grew by {grown / 2**20:.1f} MiB"

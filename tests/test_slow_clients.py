"""Slow, stalled and greedy clients: cut off by their deadlines, never starving the rest.

The deadlines are short here (tenths of a second) so that the tests are quick; the
defaults a server starts with are in sketch.framing.Limits.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest

import sketch
from sketch import web
from sketch.framing import Limits

from .conftest import is_closed_by_server, parse_responses

GOOD = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


async def app_with(**limits) -> sketch.RunningServer:
    async def index(request):
        return web.Response(text="fine")

    async def upload(request):
        return web.Response(text=str(len(await request.read())))

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/upload", upload)
    return await sketch.serve(app, **limits)


def test_the_default_deadlines_are_what_a_user_would_expect():
    limits = Limits()
    assert (limits.head_timeout, limits.body_timeout, limits.keepalive_timeout) == (30, 30, 75)


def test_a_misspelled_limit_is_refused_with_the_choices():
    with pytest.raises(TypeError, match="unknown server limit 'head_timout'.*head_timeout"):
        web.ServerRunner(lambda r: None, head_timout=1)
        asyncio.run(web.ServerRunner(lambda r: None, head_timout=1).setup())


async def test_a_head_that_does_not_arrive_in_time_gets_408_and_close():
    async with await app_with(head_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        received = await asyncio.wait_for(reader.read(), 2)
        elapsed = time.monotonic() - started
        writer.close()
    assert received.startswith(b"HTTP/1.1 408 Request Timeout")
    assert 0.15 < elapsed < 1.0


async def test_a_connection_that_never_speaks_is_closed_after_the_head_timeout():
    async with await app_with(head_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await is_closed_by_server(reader, timeout=2)
        writer.close()


async def test_a_body_that_stops_arriving_gets_408_from_read():
    async with await app_with(body_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        received = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    [response] = parse_responses(received)
    assert response.status == 408
    assert response.header("Connection") == "close"


async def test_a_body_that_keeps_trickling_is_not_cut_off():
    async with await app_with(body_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n")
        for byte in b"abcdef":  # 0.6 s in all, each pause shorter than the deadline
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))
        received = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n6"), 2)
        writer.close()
    assert received.startswith(b"HTTP/1.1 200")


async def test_an_idle_keep_alive_connection_is_closed_after_its_timeout():
    async with await app_with(keepalive_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(GOOD)
        await reader.readuntil(b"fine")
        assert await is_closed_by_server(reader, timeout=2)
        writer.close()


async def test_hundreds_of_slow_clients_are_cut_off_and_a_normal_client_stays_fast():
    """300 trickling, stalled and idle connections next to one normal client."""
    async with await app_with(head_timeout=0.5, body_timeout=0.5, keepalive_timeout=0.5) as server:
        port = server.port

        async def trickler() -> bool:  # one byte of head every 0.1 s: never finishes in time
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answer = asyncio.ensure_future(reader.read())  # everything until the close
            try:
                for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                    if answer.done():
                        break
                    writer.write(bytes([byte]))
                    await asyncio.sleep(0.1)
                return (await asyncio.wait_for(answer, 3)).startswith(b"HTTP/1.1 408")
            finally:
                writer.close()

        async def staller() -> bool:  # a body that stops half-way
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
            try:
                data = await asyncio.wait_for(reader.read(), 3)
                return data.startswith(b"HTTP/1.1 408")
            finally:
                writer.close()

        async def idler() -> bool:  # connects and says nothing
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await is_closed_by_server(reader, timeout=3)
            finally:
                writer.close()

        slow = [trickler() for _ in range(100)] + [staller() for _ in range(100)]
        slow += [idler() for _ in range(100)]
        slow_tasks = [asyncio.create_task(s) for s in slow]
        await asyncio.sleep(0.1)  # let them all connect

        latencies = []
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(50):
            started = time.perf_counter()
            writer.write(GOOD)
            await reader.readuntil(b"fine")
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
        writer.close()
        cut_off = await asyncio.gather(*slow_tasks)

    latencies.sort()
    p50, worst = latencies[len(latencies) // 2], latencies[-1]
    print(f"\nnext to 300 slow clients: p50 {p50 * 1000:.2f} ms, max {worst * 1000:.2f} ms")
    assert all(cut_off), f"{cut_off.count(False)} slow connections were not cut off"
    assert p50 < 0.02 and worst < 0.2


async def test_a_client_that_never_reads_its_responses_does_not_grow_server_memory():
    """2000 pipelined requests for 64 KiB each, and the client reads nothing."""
    big = b"x" * 65536

    async def large(request):
        return web.Response(body=big)

    app = web.Application()
    app.router.add_get("/", large)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.transport.set_write_buffer_limits(high=1 << 20)
        writer.write(GOOD * 2000)
        await asyncio.sleep(0.5)
        [connection] = server.runner.server.connections
        queued = len(connection._queue)
        buffered = connection._transport.get_write_buffer_size()
        writer.transport.abort()
    print(f"\nnon-reading client: {queued} requests queued, {buffered} bytes buffered")
    assert queued <= 16 + 4096 // len(GOOD)  # the queue limit, plus one parsed slice
    assert buffered < 1 << 20  # not 2000 x 64 KiB = 125 MiB


async def test_a_client_that_disconnects_mid_request_leaves_no_errors_and_no_tasks(caplog):
    started = asyncio.Event()

    async def slow(request):
        started.set()
        await asyncio.sleep(5)
        return web.Response()

    async def upload(request):
        return web.Response(text=str(len(await request.read())))

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_post("/upload", upload)
    with caplog.at_level(logging.DEBUG):
        async with await sketch.serve(app) as server:
            before = len(asyncio.all_tasks())
            for raw in (
                b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
                b"GET /slow HTTP/1.1\r\nHo",
            ):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(raw)
                await asyncio.sleep(0.05)
                writer.transport.abort()  # RST, mid-request
            await asyncio.sleep(0.1)
            gc.collect()
            after = len(asyncio.all_tasks())
            assert not server.runner.server.connections
    assert after <= before
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_connection_past_max_connections_gets_503_and_the_others_go_on():
    async with await app_with(max_connections=2) as server:
        first = await asyncio.open_connection("127.0.0.1", server.port)
        second = await asyncio.open_connection("127.0.0.1", server.port)
        await asyncio.sleep(0.05)  # both accepted, both idle
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        refused = await asyncio.wait_for(reader.read(), 2)  # answered, then closed
        writer.close()
        first[1].write(GOOD)
        [served] = parse_responses(await asyncio.wait_for(first[0].read(200), 2))
        second[1].close()
        await asyncio.sleep(0.05)  # a place is free again
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(GOOD)
        [later] = parse_responses(await asyncio.wait_for(reader.read(200), 2))
        for w in (first[1], writer):
            w.close()
    [response] = parse_responses(refused, eof=True)
    assert response.status == 503
    assert b"more than 2 connections are open" in response.body
    assert response.header("Connection") == "close"
    assert (served.status, later.status) == (200, 200)


CHUNK = b"x" * 65536
CHUNKS = 256  # 16 MiB: more than the kernel buffers on both ends of a loopback socket


async def streaming_app(handler) -> sketch.RunningServer:
    app = web.Application()
    app.router.add_get("/", handler)
    return await sketch.serve(app)


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    return head + await reader.read()


async def test_a_stream_waits_in_write_while_the_client_reads_slower(caplog):
    written = []

    async def stream(request):
        response = web.StreamResponse()
        response.content_length = len(CHUNK) * CHUNKS
        response.force_close()
        await response.prepare(request)
        for _ in range(CHUNKS):
            await response.write(CHUNK)
            written.append(len(CHUNK))
        return response

    async with await streaming_app(stream) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(GOOD)
        await asyncio.sleep(0.5)  # the client reads nothing meanwhile
        [connection] = server.runner.server.connections
        buffered = connection._transport.get_write_buffer_size()
        stalled_at = len(written)
        raw = await read_response(reader)
        writer.close()
    assert stalled_at < CHUNKS, "write() went on while the client read nothing"
    assert len(written) == CHUNKS  # and then went on to the end
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert buffered < 1 << 20
    assert raw.endswith(b"\r\n\r\n" + CHUNK * CHUNKS)


async def test_write_eof_waits_until_the_client_has_taken_its_bytes(caplog):
    returned = asyncio.Event()

    async def stream(request):
        response = web.StreamResponse()
        response.force_close()
        await response.prepare(request)
        await response.write_eof(CHUNK * CHUNKS)
        returned.set()
        return response

    async with await streaming_app(stream) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        await asyncio.sleep(0.5)  # the client reads nothing meanwhile
        waited = not returned.is_set()
        raw = await read_response(reader)
        writer.close()
    assert waited, "write_eof() returned while its bytes were still buffered"
    assert returned.is_set()  # once they were taken
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert raw.endswith(b"\r\n\r\n" + CHUNK * CHUNKS)

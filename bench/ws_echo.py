"""WebSocket echo: messages per second, sketch against aiohttp, on the same loop.

    python bench/ws_echo.py [--duration 5] [--rounds 3] [--connections 50] [--depth 8]

Each server (bench/hello_app.py, its `/ws` route: echo every text message) runs in its
own process. The client is this process, on raw sockets so that it costs little beside
the server: each connection sends `depth` masked frames in one write (RFC 6455 5.3: a
client masks), reads their `depth` echoes, and again, until the time is up. The rounds
are interleaved, and the median is reported with the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import time

from run import HERE, ROOT, free_port, wait_until_listening

MESSAGE = b"Hello, World!"
MASK = b"\x1f\x2e\x3d\x4c"
# One client frame: FIN + text opcode, the mask bit + length, the key, the masked payload.
FRAME = (
    bytes([0x81, 0x80 | len(MESSAGE)])
    + MASK
    + bytes(byte ^ MASK[i % 4] for i, byte in enumerate(MESSAGE))
)
ECHO = bytes([0x81, len(MESSAGE)]) + MESSAGE  # the server's answer: unmasked (5.1)


async def open_websocket(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no upgrade: {head[:80]!r}")
    return reader, writer


async def echo_for(port: int, seconds: float, connections: int, depth: int) -> float:
    """Messages echoed per second over `connections` WebSockets, `depth` in flight each."""
    sockets = [await open_websocket(port) for _ in range(connections)]
    stop = time.monotonic() + seconds
    counts = [0] * connections

    async def run(i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        expected = ECHO * depth
        while time.monotonic() < stop:
            writer.write(FRAME * depth)
            if await reader.readexactly(len(expected)) != expected:
                raise RuntimeError("an echo came back wrong")
            counts[i] += depth

    started = time.monotonic()
    await asyncio.gather(*(run(i, r, w) for i, (r, w) in enumerate(sockets)))
    elapsed = time.monotonic() - started
    for _, writer in sockets:
        writer.close()
    return sum(counts) / elapsed


def measure(framework: str, seconds: float, connections: int, depth: int) -> float:
    port = free_port()
    command = [sys.executable, str(HERE / "hello_app.py"), framework, str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until_listening(port)
        asyncio.run(echo_for(port, 0.5, connections, depth))  # warm-up, not counted
        return asyncio.run(echo_for(port, seconds, connections, depth))
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--depth", type=int, default=8, help="messages in flight per connection")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"sketch": [], "aiohttp": []}
    for round_number in range(1, args.rounds + 1):
        for framework, found in rates.items():
            found.append(measure(framework, args.duration, args.connections, args.depth))
            print(f"round {round_number}: {framework:8} websocket echo {found[-1]:>10,.0f} msg/s")
    sketch, aiohttp = (statistics.median(rates[name]) for name in ("sketch", "aiohttp"))
    print(f"\nwebsocket echo: sketch {sketch:,.0f} msg/s, aiohttp {aiohttp:,.0f} msg/s")
    print(f"websocket echo: sketch / aiohttp = {sketch / aiohttp:.2f}x")


if __name__ == "__main__":
    main()

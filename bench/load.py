"""Load test: 100k requests over 100 keep-alive connections, pipelined 16 deep.

    python bench/load.py [--requests 100000] [--connections 100] [--depth 16]

Starts bench/hello_app.py on sketch in a subprocess, drives it from this process with
raw sockets, checks that every response is a 200, and reports the server's resident
memory before and after. Not part of the unit suite: `make load` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from run import free_port

HERE = Path(__file__).parent
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def rss_kib(pid: int) -> int:
    # Linux-only by nature: the resident size of a process, from /proc.
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def wait_for_server(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


async def one_response_size(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    writer.close()
    return len(head) + length  # every answer is the same size: the Date is fixed-width


async def connection(port: int, batches: int, depth: int, size: int) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = errors = 0
    for _ in range(batches):
        writer.write(REQUEST * depth)
        data = await reader.readexactly(size * depth)
        statuses = data.count(b"HTTP/1.1 200 OK\r\n")
        ok += statuses
        errors += depth - statuses
    writer.close()
    return ok, errors


async def drive(port: int, total: int, connections: int, depth: int) -> tuple[int, int, float]:
    size = await one_response_size(port)
    batches = -(-total // (connections * depth))  # at least `total` requests in all
    started = time.perf_counter()
    results = await asyncio.gather(
        *(connection(port, batches, depth, size) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument(
        "--framework", default="sketch", choices=["sketch", "sketch-recording", "aiohttp"]
    )
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "hello_app.py"), args.framework, str(port)],
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    try:
        asyncio.run(wait_for_server(port))
        before = rss_kib(server.pid)
        ok, errors, elapsed = asyncio.run(drive(port, args.requests, args.connections, args.depth))
        after = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"{args.framework}: {ok + errors} requests over {args.connections} connections, "
        f"pipelined {args.depth} deep, in {elapsed:.1f} s ({(ok + errors) / elapsed:,.0f} req/s)"
    )
    print(f"errors: {errors}")
    print(f"server memory (RSS): {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after")
    print(f"server exit code after SIGTERM: {server.returncode}")
    if errors or server.returncode != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Throughput side by side: sketch, aiohttp, Starlette, bare ASGI and the protocol ceiling.

    python bench/run.py [--duration 5] [--rounds 3] [--connections 50]

Each server runs in its own process on loopback; wrk (one thread, 50 connections)
loads it. Runs are interleaved (every server once per round, rounds repeated) so that
a slow moment of the machine hits all of them alike, and the median of the rounds is
reported, with the ratios the project's targets are stated in.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent


@dataclass
class Target:
    name: str  # what the table calls it
    command: list[str]  # how to start the server; {port} is filled in
    path: str  # what wrk asks for
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)  # milliseconds
    p99: list[float] = field(default_factory=list)


def targets(with_uvloop: bool) -> list[Target]:
    py = sys.executable
    app = str(HERE / "hello_app.py")
    found = [
        Target("ceiling (bare httptools protocol)", [py, str(HERE / "ceiling.py"), "{port}"], "/"),
        Target("sketch hello", [py, app, "sketch", "{port}"], "/"),
        Target("aiohttp hello", [py, app, "aiohttp", "{port}"], "/"),
        Target("starlette hello (uvicorn)", [py, app, "starlette", "{port}"], "/"),
        Target("bare ASGI hello (uvicorn)", [py, app, "asgi", "{port}"], "/"),
        Target("sketch routed+2 middlewares", [py, app, "sketch", "{port}"], "/users/bob"),
        Target("aiohttp routed+2 middlewares", [py, app, "aiohttp", "{port}"], "/users/bob"),
        Target("starlette routed+2 middlewares", [py, app, "starlette", "{port}"], "/users/bob"),
    ]
    found += [
        Target("sketch hello, inspector recording", [py, app, "sketch-recording", "{port}"], "/"),
        Target("sketch hello, inspector live view", [py, app, "sketch-live", "{port}"], "/"),
    ]
    if with_uvloop:
        found.append(Target("sketch hello on uvloop", [py, app, "sketch-uvloop", "{port}"], "/"))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def to_ms(text: str) -> float:
    """wrk's '512.00us', '1.20ms', '1.01s' or '2.00m', in milliseconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise ValueError(f"cannot read wrk's latency {text!r}")
    number, unit = found.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(port: int, path: str, duration: float, connections: int) -> tuple[float, float, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        encoding="utf-8",
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return rate, p50, p99


def measure(target: Target, duration: float, connections: int) -> None:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in target.command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until_listening(port)
        run_wrk(port, target.path, 1, connections)  # warm-up, not counted
        rate, p50, p99 = run_wrk(port, target.path, duration, connections)
    finally:
        server.terminate()
        server.wait(10)
    target.rates.append(rate)
    target.p50.append(p50)
    target.p99.append(p99)


def report(found: list[Target]) -> None:
    by_name = {t.name: t for t in found}

    def median(name: str) -> float:
        return statistics.median(by_name[name].rates)

    print(f"\n{'server':36} {'req/s (median)':>15} {'p50 ms':>8} {'p99 ms':>8}   runs")
    for t in found:
        runs = ", ".join(f"{r:,.0f}" for r in t.rates)
        print(
            f"{t.name:38} {statistics.median(t.rates):>15,.0f} "
            f"{statistics.median(t.p50):>8.2f} {statistics.median(t.p99):>8.2f}   {runs}"
        )
    hello = median("sketch hello") / median("aiohttp hello")
    asgi = median("sketch hello") / median("bare ASGI hello (uvicorn)")
    starlette = median("sketch hello") / median("starlette hello (uvicorn)")
    ceiling = median("sketch hello") / median("ceiling (bare httptools protocol)")
    routed = median("sketch routed+2 middlewares") / median("aiohttp routed+2 middlewares")
    routed_starlette = median("sketch routed+2 middlewares") / median(
        "starlette routed+2 middlewares"
    )
    p99 = statistics.median(by_name["sketch hello"].p99) / statistics.median(
        by_name["aiohttp hello"].p99
    )
    print(f"\nPython {sys.version.split()[0]}")
    print(f"hello:  sketch / aiohttp   = {hello:.2f}x   (target >= 1.5x)")
    print(f"hello:  sketch / bare ASGI = {asgi:.2f}x   (target >= 1.25x)")
    print(f"hello:  sketch / starlette = {starlette:.2f}x")
    print(f"hello:  sketch / ceiling   = {ceiling:.2f}x")
    print(f"routed: sketch / aiohttp   = {routed:.2f}x   (target >= 1.5x)")
    print(f"routed: sketch / starlette = {routed_starlette:.2f}x")
    print(f"p99:    sketch / aiohttp   = {p99:.2f}x   (target <= 1.0x)")
    recording = median("sketch hello, inspector recording") / median("sketch hello")
    live = median("sketch hello, inspector live view") / median("sketch hello")
    print(f"tracing: recording / untraced = {recording:.2f}x   (target >= 0.50x)")
    print(f"tracing: live view / untraced = {live:.2f}x   (target >= 0.30x)")
    if "sketch hello on uvloop" in by_name:
        uv = median("sketch hello on uvloop") / median("aiohttp hello")
        print(f"hello on uvloop: sketch / aiohttp (default loop) = {uv:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does it for you)")
    try:
        import uvloop  # noqa: F401

        with_uvloop = True
    except ImportError:
        with_uvloop = False
    found = targets(with_uvloop)
    for round_number in range(1, args.rounds + 1):
        for target in found:
            measure(target, args.duration, args.connections)
            print(f"round {round_number}: {target.name:38} {target.rates[-1]:>10,.0f} req/s")
    report(found)


if __name__ == "__main__":
    main()

"""Throughput side by side: sketch, aiohttp, Starlette, bare ASGI and the protocol ceiling.

    python bench/run.py [--duration 3] [--rounds 7] [--connections 50]

Each server runs in its own process on loopback; wrk (one thread, 50 connections)
loads one at a time. This machine's speed drifts from minute to minute (other work
shares it), so the servers are all started first and stay up, idle when not loaded,
and each round runs every server once for a few seconds, in an order that turns by one
each round. A ratio (sketch / aiohttp, ...) is taken within each round, from two runs
seconds apart, and the median of those per-round ratios is reported: drift between
rounds cancels out. Beside each rate, the server's own CPU time per request (from
/proc, Linux) says what a request costs it when it is saturated.
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
    rates: list[float] = field(default_factory=list)  # one per round
    p50: list[float] = field(default_factory=list)  # milliseconds
    p99: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU µs per request
    server: subprocess.Popen[bytes] | None = None
    port: int = 0


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


def start(target: Target) -> None:
    target.port = free_port()
    command = [part.replace("{port}", str(target.port)) for part in target.command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    target.server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: Target, duration: float, connections: int) -> None:
    assert target.server is not None
    used = cpu_seconds(target.server.pid)
    rate, p50, p99 = run_wrk(target.port, target.path, duration, connections)
    used = cpu_seconds(target.server.pid) - used
    target.rates.append(rate)
    target.p50.append(p50)
    target.p99.append(p99)
    target.cpu.append(used / (rate * duration) * 1e6 if rate else 0.0)


def paired(by_name: dict[str, Target], a: str, b: str, what: str = "rates") -> float:
    """The median over rounds of a's figure / b's figure in the same round."""
    mine, theirs = getattr(by_name[a], what), getattr(by_name[b], what)
    return statistics.median(x / y for x, y in zip(mine, theirs, strict=True) if y)


def report(found: list[Target]) -> None:
    by_name = {t.name: t for t in found}
    print(
        f"\n{'server':38} {'req/s (median)':>15} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11}"
        "   runs (req/s)"
    )
    for t in found:
        runs = ", ".join(f"{r:,.0f}" for r in t.rates)
        print(
            f"{t.name:38} {statistics.median(t.rates):>15,.0f} "
            f"{statistics.median(t.p50):>8.2f} {statistics.median(t.p99):>8.2f} "
            f"{statistics.median(t.cpu):>11.1f}   {runs}"
        )

    def line(label: str, a: str, b: str, target: str = "") -> None:
        rate = paired(by_name, a, b)
        # The same comparison in CPU per request: b's cost over a's, so >1 means a is cheaper.
        cost = paired(by_name, b, a, "cpu")
        print(f"{label:28} = {rate:.2f}x   (CPU per request: {cost:.2f}x){target}")

    print(f"\nPython {sys.version.split()[0]}; ratios are medians of per-round ratios")
    line("hello:  sketch / aiohttp", "sketch hello", "aiohttp hello", "   target >= 1.5x")
    line("hello:  sketch / bare ASGI", "sketch hello", "bare ASGI hello (uvicorn)",
         "   target >= 1.25x")  # fmt: skip
    line("hello:  sketch / starlette", "sketch hello", "starlette hello (uvicorn)")
    line("hello:  sketch / ceiling", "sketch hello", "ceiling (bare httptools protocol)")
    line("routed: sketch / aiohttp", "sketch routed+2 middlewares",
         "aiohttp routed+2 middlewares", "   target >= 1.5x")  # fmt: skip
    line("routed: sketch / starlette", "sketch routed+2 middlewares",
         "starlette routed+2 middlewares")  # fmt: skip
    p99 = paired(by_name, "sketch hello", "aiohttp hello", "p99")
    print(f"{'p99:    sketch / aiohttp':28} = {p99:.2f}x   target <= 1.0x")
    line("tracing: recording / untraced", "sketch hello, inspector recording", "sketch hello",
         "   target >= 0.50x")  # fmt: skip
    line("tracing: live view / untraced", "sketch hello, inspector live view", "sketch hello",
         "   target >= 0.30x")  # fmt: skip
    if "sketch hello on uvloop" in by_name:
        line("uvloop: sketch / aiohttp", "sketch hello on uvloop", "aiohttp hello")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=7)
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
    try:
        for target in found:
            start(target)
        for target in found:
            wait_until_listening(target.port)
            run_wrk(target.port, target.path, 1, args.connections)  # warm-up, not counted
        for round_number in range(args.rounds):
            turn = round_number % len(found)  # a different server goes first each round
            for target in found[turn:] + found[:turn]:
                measure(target, args.duration, args.connections)
                print(
                    f"round {round_number + 1}: {target.name:38} {target.rates[-1]:>10,.0f} req/s"
                    f" {target.cpu[-1]:>7.1f} µs CPU/req",
                    flush=True,
                )
    finally:
        for target in found:
            if target.server is not None:
                target.server.terminate()
                target.server.wait(10)
    report(found)


if __name__ == "__main__":
    main()

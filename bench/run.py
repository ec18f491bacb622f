"""Throughput side by side: sketch, aiohttp, Starlette, bare ASGI and the protocol ceiling.

    python bench/run.py [--duration 3] [--rounds 3] [--turns 10] [--connections 50]

Each server runs in its own process on loopback, on one CPU, and wrk (one thread, 50
connections) on another. This machine's speed drifts from second to second (other work
shares it), so the servers are all started first and stay up, idle when not loaded.

- Alone: each round loads every server once for a few seconds, in an order that turns
  by one each round: the table of rates, latencies and the server's own CPU time per
  request (from /proc, Linux), medians over the rounds.
- Paired: the ratios the targets are set for (sketch / aiohttp, ...) are measured
  pair by pair, the two servers loaded in turn in short runs (a b b a a b ...), many
  times. The ratio is of their CPU time per request, summed over all their runs: the
  machine's drift, which on this one moves a server's CPU per request by a third from
  one run to the next, falls on both alike. Each keeps a whole CPU to itself, as when
  measured alone (loading both at once on a shared CPU was tried: steady, but it
  changes the regime, every loop turn finding more requests waiting, which favours
  the servers that pay per turn). Reported: the ratio, and the lowest and highest of
  the per-pair ratios.
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
from collections.abc import Callable
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


# Servers on the last CPU, wrk on the first: neither takes the other's (Linux only).
PINNED = hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
SERVER_CPU = {(os.cpu_count() or 1) - 1}
CLIENT_CPU = {0}


def pin(cpus: set[int]) -> Callable[[], None] | None:
    """For Popen: run the child on `cpus`, where the machine lets us choose."""
    return (lambda: os.sched_setaffinity(0, cpus)) if PINNED else None


def start_wrk(port: int, path: str, duration: float, connections: int) -> subprocess.Popen[str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency",
               f"http://127.0.0.1:{port}{path}"]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, encoding="utf-8", preexec_fn=pin(CLIENT_CPU)
    )


def read_wrk(wrk: subprocess.Popen[str]) -> tuple[int, float, float, float]:
    """Requests answered, req/s, p50 and p99 (ms), once wrk is done."""
    out, _ = wrk.communicate()
    if wrk.returncode != 0 or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return requests, rate, p50, p99


def run_wrk(port: int, path: str, duration: float, connections: int) -> tuple[float, float, float]:
    _, rate, p50, p99 = read_wrk(start_wrk(port, path, duration, connections))
    return rate, p50, p99


def start(target: Target) -> None:
    target.port = free_port()
    command = [part.replace("{port}", str(target.port)) for part in target.command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    target.server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, preexec_fn=pin(SERVER_CPU)
    )


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


# The ratios the targets are set for: a / b, each measured in turns (measure_pair).
COMPARISONS = [
    ("hello:  sketch / aiohttp", "sketch hello", "aiohttp hello", ">= 1.5x"),
    ("hello:  sketch / bare ASGI", "sketch hello", "bare ASGI hello (uvicorn)", ">= 1.25x"),
    ("hello:  sketch / starlette", "sketch hello", "starlette hello (uvicorn)", ""),
    ("routed: sketch / aiohttp", "sketch routed+2 middlewares", "aiohttp routed+2 middlewares",
     ">= 1.5x"),
    ("routed: sketch / starlette", "sketch routed+2 middlewares",
     "starlette routed+2 middlewares", ""),
    ("tracing: recording / untraced", "sketch hello, inspector recording", "sketch hello",
     ">= 0.50x"),
    ("tracing: live view / untraced", "sketch hello, inspector live view", "sketch hello",
     ">= 0.30x"),
    ("uvloop: sketch / aiohttp", "sketch hello on uvloop", "aiohttp hello", ""),
]  # fmt: skip


def measure_pair(
    a: Target, b: Target, duration: float, connections: int, turns: int
) -> tuple[float, list[float]]:
    """Load a and b in turn (a b, b a, ...): b's CPU per request over a's, from the sums
    over all runs (above 1: a is cheaper), and the same ratio for each turn."""
    used, answered = {a.name: 0.0, b.name: 0.0}, {a.name: 0, b.name: 0}
    each = []
    for turn in range(turns):
        cost = {}
        for t in (a, b) if turn % 2 == 0 else (b, a):
            assert t.server is not None
            before = cpu_seconds(t.server.pid)
            done, *_ = read_wrk(start_wrk(t.port, t.path, duration, connections))
            spent = cpu_seconds(t.server.pid) - before
            used[t.name] += spent
            answered[t.name] += done
            cost[t.name] = spent / done
        each.append(cost[b.name] / cost[a.name])
    ratio = (used[b.name] / answered[b.name]) / (used[a.name] / answered[a.name])
    return ratio, each


def report(found: list[Target], pairs: dict[str, tuple[float, list[float]]]) -> None:
    by_name = {t.name: t for t in found}
    print(
        f"\n{'alone':38} {'req/s (median)':>15} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11}"
        "   runs (req/s)"
    )
    for t in found:
        runs = ", ".join(f"{r:,.0f}" for r in t.rates)
        print(
            f"{t.name:38} {statistics.median(t.rates):>15,.0f} "
            f"{statistics.median(t.p50):>8.2f} {statistics.median(t.p99):>8.2f} "
            f"{statistics.median(t.cpu):>11.1f}   {runs}"
        )
    p99 = paired(by_name, "sketch hello", "aiohttp hello", "p99")
    print(f"\n{'p99:    sketch / aiohttp':30} = {p99:.2f}x   (alone, per round)   target <= 1.0x")
    print(
        f"\nPython {sys.version.split()[0]}; paired, in turns: the ratio of CPU per request,"
        " [lowest, highest turn]"
    )
    for label, _, _, target in COMPARISONS:
        if label in pairs:
            ratio, each = pairs[label]
            goal = f"   target {target}" if target else ""
            print(f"{label:30} = {ratio:.2f}x  [{min(each):.2f}, {max(each):.2f}]{goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with each server alone")
    parser.add_argument("--turns", type=int, default=10, help="runs of each server in a pair")
    parser.add_argument("--pair-duration", type=float, default=2.0, help="seconds per paired run")
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
    by_name = {t.name: t for t in found}
    pairs: dict[str, tuple[float, list[float]]] = {}
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
        for label, a, b, _ in COMPARISONS:
            if a in by_name and b in by_name:
                pairs[label] = measure_pair(
                    by_name[a], by_name[b], args.pair_duration, args.connections, args.turns
                )
                print(f"paired: {label:30} {pairs[label][0]:.2f}x", flush=True)
    finally:
        for target in found:
            if target.server is not None:
                target.server.terminate()
                target.server.wait(10)
    report(found, pairs)


if __name__ == "__main__":
    main()

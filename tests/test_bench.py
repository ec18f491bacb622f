"""The benchmark's own tools answer correctly: a figure from a broken tool means nothing."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BENCH = Path(__file__).parent.parent / "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_the_ceiling_answers_every_request_when_it_batches_and_spins():
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / "ceiling.py"), str(port), "--spin", "5", "--batch"
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):  # until it listens
                try:
                    first = await client.get("/")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            answers = await asyncio.gather(*(client.get(f"/{i}") for i in range(20)))
            closing = await client.get("/", headers={"Connection": "close"})
    finally:
        server.terminate()
        await server.wait()
    assert first.text == "Hello, World!"
    assert [a.status_code for a in answers] == [200] * 20
    assert closing.text == "Hello, World!"


def test_cost_reports_every_case():
    out = subprocess.run(
        [sys.executable, str(BENCH / "cost.py"), "--requests", "300"],
        capture_output=True,
        encoding="utf-8",
        check=True,
        timeout=120,
    ).stdout
    rows = re.findall(
        r"^(hello|routed)\s+(off|null subscriber|event lists|inspector model)\s+([\d.]+)$",
        out,
        re.M,
    )
    assert len(rows) == 8, out
    # Which case costs more is for the benchmark to say, not a unit test: on a busy
    # machine 300 requests are too few to order them reliably.
    assert all(float(us) > 0 for _, _, us in rows), out


@pytest.mark.parametrize("framework", ["aiohttp", "asgi"])
def test_cost_runs_a_peer_in_process_and_refuses_tracing_there(framework):
    """cost.py --framework aiohttp|asgi (what instructions.py --against counts): each
    request answered, or the wait for its answer would never end."""
    run = [sys.executable, str(BENCH / "cost.py"), "--framework", framework, "--requests", "50"]
    out = subprocess.run(
        [*run, "--batches", "1", "--warmup", "10"],
        capture_output=True,
        encoding="utf-8",
        check=True,
        timeout=120,
    ).stdout
    rows = re.findall(rf"^(hello|routed)\s+off \({framework}\)\s+([\d.]+)$", out, re.M)
    assert [path for path, _ in rows] == ["hello", "routed"], out
    assert all(float(us) > 0 for _, us in rows), out
    refused = subprocess.run(
        [*run, "--tracing", "inspector model"], capture_output=True, encoding="utf-8", timeout=60
    )
    assert refused.returncode != 0
    assert "use --tracing off" in refused.stderr


def test_the_websocket_echo_bench_counts_real_echoes_on_both_servers():
    """bench/ws_echo.py: each framework's /ws echoes, and the tool checks every echo."""
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "ws_echo.py"),
            "--duration",
            "0.5",
            "--rounds",
            "1",
            "--connections",
            "4",
            "--depth",
            "2",
        ],  # fmt: skip
        capture_output=True,
        encoding="utf-8",
        check=True,
        timeout=120,
        cwd=BENCH,
    ).stdout
    rates = dict(re.findall(r"^round 1: (\w+)\s+websocket echo\s+([\d,]+) msg/s$", out, re.M))
    assert set(rates) == {"sketch", "aiohttp"}, out
    assert all(int(rate.replace(",", "")) > 0 for rate in rates.values()), out
    assert re.search(r"sketch / aiohttp = [\d.]+x", out), out


def load_run():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_run_compares_within_each_round_not_medians_of_each_server():
    """A slow round slows both servers in it; the ratio is taken inside the round."""
    run = load_run()
    a = run.Target("a", [], "/", rates=[10.0, 12.0, 30.0], cpu=[100.0, 80.0, 30.0])
    b = run.Target("b", [], "/", rates=[8.0, 6.0, 40.0], cpu=[125.0, 160.0, 25.0])
    by_name = {"a": a, "b": b}
    # Per round: 1.25, 2.0, 0.75 -> median 1.25 (the medians' ratio, 12 / 8, would say 1.5).
    assert run.paired(by_name, "a", "b") == 1.25
    assert run.paired(by_name, "b", "a", "cpu") == 1.25  # 1.25, 2.0, 0.8333


def test_run_reads_a_process_cpu_time():
    run = load_run()
    before = run.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # burn a little CPU
        pass
    assert run.cpu_seconds(os.getpid()) > before


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_run_pairs_two_servers_in_turns_and_compares_their_cpu_per_request():
    """bench/run.py's paired ratio: each server loaded in turn, b's CPU per request over
    a's. A server that busy-waits 200 µs more per request costs several times more."""
    run = load_run()
    ceiling = [sys.executable, str(BENCH / "ceiling.py"), "{port}"]
    fast = run.Target("fast", ceiling, "/")
    slow = run.Target("slow", [*ceiling, "--spin", "200"], "/")
    try:
        for target in (fast, slow):
            run.start(target)
            run.wait_until_listening(target.port)
        ratio, each = run.measure_pair(fast, slow, 1, 4, turns=3)
        backwards, _ = run.measure_pair(slow, fast, 1, 4, turns=1)
    finally:
        for target in (fast, slow):
            if target.server is not None:
                target.server.terminate()
                target.server.wait(10)
    assert len(each) == 3
    assert ratio > 2 and all(r > 2 for r in each), each
    assert backwards < 0.5

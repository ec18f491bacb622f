"""Running apps: run_app in a real process with real signals; AppRunner and serve on a loop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

import sketch
from sketch import web

APP = Path(__file__).parent / "apps" / "shutdown_app.py"
# Runs APP as on Windows: the loop has no add_signal_handler, Ctrl-C is Python's own.
WITHOUT_SIGNAL_HANDLERS = Path(__file__).parent / "apps" / "without_signal_handlers.py"


class AppProcess:
    """`python tests/apps/shutdown_app.py` in a subprocess, its stdout read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.port = 0

    @classmethod
    async def start(cls, *args: str, signal_handlers: bool = True) -> AppProcess:
        wrapper = [] if signal_handlers else [str(WITHOUT_SIGNAL_HANDLERS)]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *wrapper,
            str(APP),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        app = cls(process)
        line = await app.wait_for("Running on")
        app.port = int(re.search(r":(\d+)", line).group(1))
        return app

    async def wait_for(self, text: str, count: int = 1, timeout: float = 10) -> str:
        async def read() -> str:
            while sum(text in line for line in self.lines) < count:
                line = await self.process.stdout.readline()
                if not line:
                    stderr = await self.process.stderr.read()
                    raise AssertionError(f"app exited before {text!r}: {stderr.decode()}")
                self.lines.append(line.decode().rstrip())
            return [line for line in self.lines if text in line][-1]

        return await asyncio.wait_for(read(), timeout)

    async def finish(self, timeout: float = 10) -> tuple[int, str]:
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        self.lines += stdout.decode().splitlines()
        return self.process.returncode, stderr.decode()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_lets_in_flight_requests_finish_then_exits_0(sig):
    app = await AppProcess.start()
    url = f"http://127.0.0.1:{app.port}"
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        in_flight = [asyncio.create_task(client.get("/slow")) for _ in range(50)]
        await app.wait_for("slow started", count=50)
        app.process.send_signal(sig)
        await app.wait_for("hook on_shutdown")
        with pytest.raises(httpx.ConnectError):  # the listening socket is closed
            await httpx.AsyncClient().get(url + "/fast")
        answers = await asyncio.gather(*in_flight)
    code, stderr = await app.finish()
    assert [r.text for r in answers] == ["slow done"] * 50
    assert code == 0, stderr
    hooks = [line for line in app.lines if line.startswith("hook")]
    assert hooks == ["hook on_startup", "hook on_shutdown", "hook on_cleanup"]
    assert "run_app returned" in app.lines
    assert "Traceback" not in stderr


async def test_without_signal_handlers_as_on_windows_ctrl_c_still_stops_gracefully():
    """Windows' loops raise NotImplementedError from add_signal_handler; aiohttp serves there."""
    app = await AppProcess.start(signal_handlers=False)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=10) as client:
        assert (await client.get("/fast")).text == "fast"  # it serves
        in_flight = asyncio.create_task(client.get("/slow"))
        await app.wait_for("slow started")
        app.process.send_signal(signal.SIGINT)  # Ctrl-C: Python's own handler, no loop's
        await app.wait_for("hook on_shutdown")
        assert (await in_flight).text == "slow done"
    code, stderr = await app.finish()
    assert code == 0, stderr
    hooks = [line for line in app.lines if line.startswith("hook")]
    assert hooks == ["hook on_startup", "hook on_shutdown", "hook on_cleanup"]
    assert "run_app returned" in app.lines
    assert "Traceback" not in stderr


async def test_idle_keep_alive_connections_do_not_hold_up_the_shutdown():
    app = await AppProcess.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    await reader.readuntil(b"fast")
    app.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    code, _ = await app.finish(timeout=5)
    writer.close()
    assert code == 0


async def test_requests_still_running_after_the_grace_period_are_cancelled_and_counted():
    app = await AppProcess.start("--shutdown-timeout", "0.3")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}") as client:
        stuck = asyncio.create_task(client.get("/slow?s=30"))
        await app.wait_for("slow started")
        app.process.send_signal(signal.SIGTERM)
        code, stderr = await app.finish(timeout=5)
        with pytest.raises(httpx.HTTPError):
            await stuck
    assert code == 0
    assert "1 request(s) still running after 0.3s, cancelling them" in stderr
    assert app.lines[-2:] == ["hook on_cleanup", "run_app returned"]


async def test_app_runner_and_tcp_site_serve_on_the_running_loop():
    async def hello(request):
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    with pytest.raises(RuntimeError, match="call `await runner.setup\\(\\)` before making a site"):
        web.TCPSite(runner, "127.0.0.1", 0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    assert site.name == f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/")).text == "hello"
    await runner.cleanup()
    with pytest.raises(httpx.ConnectError):
        await httpx.AsyncClient().get(f"http://127.0.0.1:{port}/")


async def test_serve_closes_gracefully_waiting_for_the_request_in_flight():
    started = asyncio.Event()

    async def slow(request):
        started.set()
        await asyncio.sleep(0.2)
        return web.Response(text="finished")

    app = web.Application()
    app.router.add_get("/", slow)
    server = await sketch.serve(app)
    assert server.url.port == server.port != 0
    async with httpx.AsyncClient() as client:
        pending = asyncio.create_task(client.get(str(server.url)))
        await started.wait()
        await server.close()
        response = await pending
    assert (response.text, response.headers["Connection"]) == ("finished", "close")


async def test_serving_again_on_a_fixed_port_replaces_the_old_server():
    async def hello(request):
        return web.Response(text="hi")

    def make():
        app = web.Application()
        app.router.add_get("/", hello)
        return app

    first = await sketch.serve(make(), port=0)
    port = first.port
    await first.close()
    second = await sketch.serve(make(), port=port)
    third = await sketch.serve(make(), port=port)  # a re-run notebook cell
    async with httpx.AsyncClient() as client:
        assert (await client.get(str(third.url))).text == "hi"
    await third.close()
    await second.close()


async def test_serve_takes_a_bare_handler_without_an_application():
    async def handler(request):
        return web.Response(text=f"bare {request.path}")

    async with await sketch.serve(handler) as server:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{server.url}/x")).text == "bare /x"


async def test_serving_the_same_app_again_replaces_the_running_server():
    """A re-run notebook cell: `server = await sketch.serve(app)` with the same app."""
    starts: list[str] = []

    async def hello(request):
        return web.Response(text="hi")

    async def startup(app):
        starts.append("startup")
        app["started"] = len(starts)  # state is writable during startup, each time

    app = web.Application()
    app.router.add_get("/", hello)
    app.on_startup.append(startup)
    first = await sketch.serve(app)
    second = await sketch.serve(app)  # closes the first, gracefully, then starts again
    async with httpx.AsyncClient() as client:
        assert (await client.get(str(second.url))).text == "hi"
        with pytest.raises(httpx.ConnectError):
            await client.get(str(first.url))
    assert starts == ["startup", "startup"] and app["started"] == 2
    await second.close()


async def test_a_runner_refuses_an_app_that_another_runner_serves():
    app = web.Application()
    server = await sketch.serve(app)
    with pytest.raises(RuntimeError, match=r"being served already: `await server.close\(\)`"):
        await web.AppRunner(app).setup()
    await server.close()
    runner = web.AppRunner(app)  # after a clean stop it may start again
    await runner.setup()
    await runner.cleanup()

"""Chapter 09: graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from .client import LoopErrors, ask, read_exactly
from .serving import (
    FOUNDATION,
    WAIT,
    check_build,
    close_all,
    on_app,
    own_response,
    port_of,
)
from .traced import watch

GRACE = 0.5  # the shutdown_timeout the check serves with, in seconds


async def _graceful(Application: type, serve: Callable) -> None:
    loop = asyncio.get_running_loop()
    arrived: list[str] = []
    told: list[str] = []
    release = asyncio.Event()

    async def slow(request: Any) -> Any:
        arrived.append("slow")
        await asyncio.sleep(0.3)
        told.append("slow answered")
        return own_response(request, "slow done")

    async def stuck(request: Any) -> Any:
        arrived.append("stuck")
        await asyncio.wait_for(release.wait(), 5)
        return own_response(request, "stuck done")

    async def goodbye(app: Any) -> None:
        told.append("on_shutdown")

    async def disconnect(app: Any) -> None:
        told.append("on_cleanup")

    app = Application()
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("GET", "/stuck", stuck)
    app.on_shutdown.append(goodbye)
    app.on_cleanup.append(disconnect)
    trace = watch(app)  # what became of each handler, seen from outside

    writers: list[asyncio.StreamWriter] = []
    with LoopErrors():
        try:
            server = await serve(app, "127.0.0.1", 0, shutdown_timeout=GRACE)
        except TypeError as exc:
            raise Problem(
                f"serve(app, host, port, shutdown_timeout={GRACE}) raised TypeError: {exc}. "
                "Write this chapter's application.py, whose serve() takes the grace period"
            )
        closing = None
        try:
            port = port_of(server, "serve")
            idle = await asyncio.open_connection("127.0.0.1", port)  # says nothing
            writers.append(idle[1])
            slow_answer = asyncio.ensure_future(ask(port, "GET", "/slow", writers))
            stuck_answer = asyncio.ensure_future(ask(port, "GET", "/stuck", writers))
            for _ in range(100):  # both in flight before closing
                if len(arrived) == 2:
                    break
                await asyncio.sleep(0.01)
            started = loop.time()
            closing = asyncio.ensure_future(server.close())
            await asyncio.sleep(0.05)
            try:
                late = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                pass
            else:
                writers.append(late[1])
                raise Problem(
                    "a new connection was accepted after close() began: stop listening first"
                )
            try:
                got = await slow_answer
            except Problem:
                got = None
            if got is None or got.text != "slow done":
                raise Problem(
                    f"close() dropped the request in flight: GET /slow, 0.3 s long, got "
                    f"{'no answer' if got is None else repr(got)}{_cut(trace)}. Wait for "
                    "the requests' Tasks (for at most shutdown_timeout) before closing their "
                    "connections"
                )
            try:
                await asyncio.wait_for(asyncio.shield(closing), GRACE + 1.0)
            except TimeoutError:
                raise Problem(
                    f"close() was still waiting {loop.time() - started:.1f} s after it began, "
                    f"with shutdown_timeout={GRACE}: a stuck request must not hold the "
                    "shutdown forever. Wait at most shutdown_timeout "
                    "(asyncio.wait(tasks, timeout=...)), then cancel what is still running"
                )
            if "on_cleanup" not in told:
                raise Problem(f"closing ran {told}: run on_cleanup last, as in chapter 07")
            if told.index("on_cleanup") < told.index("slow answered"):
                raise Problem(
                    f"closing ran {told}{_early(trace)}: on_cleanup ran while a request was "
                    "in flight, and a "
                    "handler may still use what it releases (the database). Run on_cleanup "
                    "after the grace period"
                )
            if told != ["on_shutdown", "slow answered", "on_cleanup"]:
                raise Problem(f"closing ran {told}: on_shutdown, the requests, then on_cleanup")
            got = await stuck_answer
            if got is not None:
                raise Problem(f"the stuck request was answered {got!r}: cancel it past the grace")
            quiet = await read_exactly(idle[0], 1)
            if quiet is None:
                raise Problem(
                    "an idle connection was still open after close(): close the connections "
                    "with no request in flight when the shutdown begins"
                )
        finally:
            release.set()
            if closing is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closing, WAIT)
            await close_all(server, writers)


def _cut(trace: Any) -> str:
    """', and the trace shows its handler was cancelled after 0.05 s', or ''."""
    seen = trace.find("GET", "/slow") if trace is not None else None
    end = seen.handler_end if seen is not None else None
    if end is None or not end.error.startswith("CancelledError"):
        return ""  # the trace did not see the handler end: the answer alone speaks
    return (
        f", and the trace shows its handler {end.name} was cancelled after {end.elapsed:.2f} "
        "s, before it could answer"
    )


def _early(trace: Any) -> str:
    """'; the trace shows on_cleanup's disconnect began 0.25 s before the handler slow
    ended', or ''."""
    seen = trace.find("GET", "/slow") if trace is not None else None
    end = seen.handler_end if seen is not None else None
    runs = [run for run in trace.server.hooks if run.signal == "on_cleanup"] if trace else []
    if end is None or not runs or runs[0].started >= end.t:
        return ""
    return (
        f"; the trace shows on_cleanup's {runs[0].callback} began "
        f"{end.t - runs[0].started:.2f} s before the handler {end.name} ended"
    )


async def check_graceful(folder: Path | None = None) -> None:
    """Chapter 09's build: diy/application.py again, closing gracefully."""
    await check_build(
        "a graceful close: stop accepting, let requests finish within the grace, then clean up",
        on_app(_graceful),
        FOUNDATION + [("09", "application", "Application"), ("09", "application", "serve")],
        "09",
        folder,
    )

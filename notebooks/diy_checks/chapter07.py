"""Chapter 07: lifecycle hooks, in order, around serving."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from .client import LoopErrors, ask, expect
from .serving import (
    FOUNDATION,
    check_build,
    close_all,
    on_app,
    own_response,
    port_of,
)
from .traced import hooks_run, overlapping, watch


async def _hooks(Application: type, serve: Callable, run_app: Callable) -> None:
    told: list[str] = []

    def hook(name: str, pause: float = 0.0) -> Callable:
        async def run(app: Any) -> None:
            if not isinstance(app, Application):
                raise Problem(f"the hook {name} was given {app!r}: call each hook with the app")
            told.append(f"{name}: start")
            await asyncio.sleep(pause)
            told.append(f"{name}: end")

        run.__name__ = name
        return run

    async def open_db(app: Any) -> None:
        app.db = {"john_doe"}  # as the guide's sample application's on_startup does

    async def welcome(request: Any) -> Any:
        told.append("request")
        db = getattr(request.app, "db", None)
        return own_response(request, f"db: {sorted(db) if db else db}")

    app = Application()
    for name in ("on_startup", "on_shutdown", "on_cleanup"):
        if not isinstance(getattr(app, name, None), list):
            raise Problem(
                f"app.{name} is {getattr(app, name, None)!r}: make it a list that hooks are "
                f"appended to (app.{name}.append(hook))"
            )
    app.on_startup.append(hook("warm", 0.05))
    app.on_startup.append(hook("connect"))
    app.on_startup.append(open_db)
    app.on_shutdown.append(hook("goodbye"))
    app.on_cleanup.append(hook("disconnect"))
    app.router.add_route("GET", "/", welcome)
    trace = watch(app)  # each hook's start and end, seen from outside

    writers: list[asyncio.StreamWriter] = []
    with LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        closed = False
        try:
            port = port_of(server, "serve")
            started = list(told)
            if not started:
                raise Problem(
                    "serve() returned and no on_startup hook had run: await app.startup() "
                    "in serve(), before the server listens"
                )
            both = overlapping(trace, "on_startup")
            if both is not None:
                raise Problem(
                    f"the on_startup hooks ran at the same time: the trace shows {both[1]} "
                    f"started while {both[0]} was still running (it took {both[2]:.2f} s), "
                    "as the guide's asyncio.gather runs them. Run them one after another, "
                    "in the order added, so that a hook can rely on the one before it"
                )
            if started[:3] == ["warm: start", "connect: start", "connect: end"]:
                raise Problem(
                    f"the on_startup hooks ran at the same time ({started}), as the guide's "
                    "asyncio.gather runs them: run them one after another, in the order "
                    "added, so that a hook can rely on the one before it"
                )
            if started != ["warm: start", "warm: end", "connect: start", "connect: end"]:
                raise Problem(f"serve() ran the hooks {started}: only on_startup, in order")
            got = expect(await ask(port, "GET", "/", writers), "GET", "/", 200, errors)
            if got.text != "db: ['john_doe']":
                raise Problem(
                    f"the handler found request.app.db {got.text[4:]}: the on_startup hook "
                    "set app.db, and request.app must be the app that was served"
                )
            if not hasattr(server, "close") or not inspect.iscoroutinefunction(server.close):
                raise Problem(
                    f"serve() returned {server!r}, whose close() is not async: return an "
                    "object whose `async def close()` stops listening, then runs "
                    "on_shutdown and on_cleanup"
                )
            del told[:]
            closed = True
            before = len(trace.server.hooks) if trace is not None else 0
            await close_all(server, writers)
            if told == []:
                raise Problem(
                    "await server.close() ran no hook: after it stops listening, run "
                    "app.on_shutdown's hooks, then app.on_cleanup's"
                )
            ran = hooks_run(trace, before)
            if ran[:2] == ["on_cleanup disconnect", "on_shutdown goodbye"]:
                raise Problem(
                    "closing ran on_cleanup before on_shutdown: the trace shows "
                    f"{', then '.join(ran)}. on_shutdown first (goodbye: the app still has "
                    "its resources, to say goodbye with), then on_cleanup (disconnect), as "
                    "in aiohttp"
                )
            if told != ["goodbye: start", "goodbye: end", "disconnect: start", "disconnect: end"]:
                raise Problem(
                    f"closing ran {told}: on_shutdown first (goodbye), then on_cleanup "
                    "(disconnect), as in aiohttp"
                )
        finally:
            if not closed:
                await close_all(server, writers)
    try:
        coroutine_free = run_app(app, "127.0.0.1", 0)
    except Exception as exc:  # inside a running loop it must refuse, and say what to do
        if "serve" not in str(exc):
            raise Problem(
                f"run_app(app), called where a loop is already running (this notebook), "
                f"raised {type(exc).__name__}: {exc}. Check for a running loop first and "
                "name the way that works here: `await serve(app)`"
            )
    else:
        if inspect.isawaitable(coroutine_free):
            coroutine_free.close()
            raise Problem(
                "run_app(app) returned a coroutine: it is for scripts, a plain function that "
                "runs the loop itself (asyncio.run) until Ctrl-C"
            )
        raise Problem("run_app(app) returned inside a running loop: refuse, naming serve()")


async def check_hooks(folder: Path | None = None) -> None:
    """Chapter 07's build: diy/application.py with hooks, serve() and run_app()."""
    await check_build(
        "hooks one after another: on_startup before serving, on_shutdown then on_cleanup",
        on_app(_hooks),
        FOUNDATION
        + [
            ("07", "application", "Application"),
            ("07", "application", "serve"),
            ("07", "application", "run_app"),
        ],
        "07",
        folder,
    )

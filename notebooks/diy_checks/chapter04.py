"""Chapter 04: the Application, served by your own framework, asked over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from .client import LoopErrors, ask, expect
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


async def _app_routes(Application: type, serve: Callable) -> None:
    app = Application()
    release = asyncio.Event()
    tasks: list[Any] = []

    async def index(request: Any) -> Any:
        return own_response(request, "index")

    async def list_users(request: Any) -> Any:
        return own_response(request, "the users")

    async def create_user(request: Any) -> Any:
        return own_response(request, "created", 201)

    async def slow(request: Any) -> Any:
        tasks.append(asyncio.current_task())
        await asyncio.wait_for(release.wait(), WAIT)
        return own_response(request, "slow done")

    async def fast(request: Any) -> Any:
        tasks.append(asyncio.current_task())
        release.set()
        return own_response(request, "released")

    async def broken(request: Any) -> Any:
        raise RuntimeError("a bug in a handler")

    app.router.add_route("GET", "/", index)
    app.router.add_route("GET", "/users", list_users)
    app.router.add_route("POST", "/users", create_user)
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("GET", "/release", fast)
    app.router.add_route("GET", "/broken", broken)
    app.router.add_route("PUT", "/", index)  # a method /users does not have: not in its Allow
    trace = watch(app)  # the handler your router chose, seen from outside

    writers: list[asyncio.StreamWriter] = []
    with LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = port_of(server, "serve")
            got = expect(await ask(port, "GET", "/", writers), "GET", "/", 200, errors)
            if got.text != "index":
                raise Problem(f"GET / answered {got!r}: the handler of GET / says 'index'")
            for method, want, status in (("GET", "the users", 200), ("POST", "created", 201)):
                got = await ask(port, method, "/users", writers)
                if got is not None and got.status == 404:
                    raise Problem(
                        f"{method} /users got a 404, and /users is the second route added: "
                        "try every route before deciding, do not give up at the first that "
                        "does not match"
                    )
                if got is not None and got.text in ("the users", "created") and got.text != want:
                    said = f"{method} /users was answered {got.text!r}, the {method} handler's is "
                    raise Problem(f"{said}{want!r}: {_chosen(trace, method)}compare both")
                expect(got, method, "/users", status, errors)
            got = await ask(port, "DELETE", "/users", writers)
            if got is not None and got.status == 404:
                raise Problem(
                    "DELETE /users got 404: the path exists, only the method is wrong, and "
                    "that is a 405 Method Not Allowed (RFC 9110 15.5.6)"
                )
            got = expect(got, "DELETE", "/users", 405, errors)
            allow = got.headers.get("allow")
            if allow is None:
                raise Problem(
                    "the 405 for DELETE /users has no Allow header: a 405 must say which "
                    "methods would work (RFC 9110 15.5.6), here 'GET, POST'"
                )
            listed = sorted(m.strip() for m in allow.split(","))
            if set(listed) > {"GET", "POST"}:
                raise Problem(
                    f"the 405 for DELETE /users says Allow: {allow}: only the methods of the "
                    "routes whose path is /users, here GET, POST (PUT is a route of / only)"
                )
            if listed != ["GET", "POST"]:
                raise Problem(f"the 405 for DELETE /users says Allow: {allow}, not GET, POST")
            expect(await ask(port, "GET", "/nope", writers), "GET", "/nope", 404, errors)
            # A handler that waits, and another request answered meanwhile.
            waiting = asyncio.ensure_future(ask(port, "GET", "/slow", writers))
            await asyncio.sleep(0.05)
            got = await ask(port, "GET", "/release", writers)
            expect(got, "GET", "/release", 200, errors)
            got = expect(await waiting, "GET", "/slow", 200, errors)
            if None in tasks or len(set(map(id, tasks))) != 2:
                raise Problem(
                    "the two handlers did not each run in a Task of their own: start one "
                    "Task per request with loop.create_task(...)"
                )
            got = await ask(port, "GET", "/broken", writers)
            if got is None:
                why = errors.explain() or "catch it in the Task and answer 500"
                raise Problem(
                    f"GET /broken raised RuntimeError in its handler and the client got no "
                    f"answer within {WAIT:g} s: {why}"
                )
            expect(got, "GET", "/broken", 500, errors)
            if "a bug in a handler" in got.text:
                raise Problem(
                    "the 500 tells the client the exception's text: say only "
                    "'500: Internal Server Error', and log the details on the server"
                )
        finally:
            release.set()
            await close_all(server, writers)


def _chosen(trace: Any, method: str) -> str:
    """What the trace shows the router chose for `method` /users, and why that is wrong."""
    seen = trace.find(method, "/users") if trace is not None else None
    chose = seen.decision.handler if seen is not None and seen.decision is not None else ""
    route = {"list_users": "GET /users", "create_user": "POST /users"}.get(chose)
    if route is None or route.startswith(method):  # the trace cannot say more than the body
        return "a route is a method and a path, "
    return (
        f"the trace shows your router chose {chose}, the handler of the route {route}, "
        f"for {method} /users: its path matched and you took it. A route is a method and "
        "a path, "
    )


async def check_application(folder: Path | None = None) -> None:
    """Chapter 04's build: diy/router.py and diy/application.py, served by your Server."""
    await check_build(
        "a Task per request, routed by method and path, 404 and 405 with Allow",
        on_app(lambda UrlDispatcher, Application, serve: _app_routes(Application, serve)),
        FOUNDATION
        + [
            ("04", "router", "UrlDispatcher"),
            ("04", "application", "Application"),
            ("04", "application", "serve"),
        ],
        "04",
        folder,
    )

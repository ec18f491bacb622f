"""Chapter 08: HTTP exceptions are responses; any other exception is a 500 that tells nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from .client import LoopErrors, ask, expect
from .serving import (
    FOUNDATION,
    RESPONSE,
    check_build,
    close_all,
    on_app,
    own_response,
    port_of,
)
from .traced import raised_in, watch

SECRET = "password=hunter2 <script>alert(1)</script>"


async def _http_exceptions(
    Application: type,
    serve: Callable,
    HTTPException: type,
    HTTPNotFound: type,
    HTTPFound: type,
    HTTPForbidden: type,
) -> None:
    Response = RESPONSE[0]
    missing = HTTPNotFound()
    if not isinstance(missing, Exception):
        raise Problem("HTTPNotFound() is not an Exception: HTTPException subclasses Exception too")
    if not isinstance(missing, Response):
        raise Problem(
            "HTTPNotFound() is not a Response: make HTTPException subclass both Response and "
            "Exception, so that what a handler raises is what the framework sends"
        )

    async def guard(request: Any, handler: Callable) -> Any:
        if request.path == "/private":
            raise HTTPForbidden()  # a middleware refuses, by raising
        return await handler(request)

    async def user(request: Any) -> Any:
        if request.match_info.get("name") != "ada":
            raise HTTPNotFound()
        return own_response(request, "hello ada")

    async def old(request: Any) -> Any:
        raise HTTPFound("/users/ada")

    async def broken(request: Any) -> Any:
        raise KeyError(SECRET)

    async def private(request: Any) -> Any:
        return own_response(request, "the private page")

    app = Application(middlewares=[guard])
    app.router.add_route("GET", "/users/{name}", user)
    app.router.add_route("GET", "/old", old)
    app.router.add_route("GET", "/broken", broken)
    app.router.add_route("GET", "/private", private)
    trace = watch(app)  # which layer raised what, seen from outside

    def who_raised(target: str, then: str) -> str:
        """'the trace shows the middleware guard() raised HTTPForbidden, <then>. ', or ''
        when the trace did not see it (the answer alone speaks then)."""
        layer, error = raised_in(trace.find("GET", target) if trace is not None else None)
        error = error.removesuffix(": ")
        return f"the trace shows {layer} raised {error[:80]}, {then}. " if layer else ""

    writers: list[asyncio.StreamWriter] = []
    with LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = port_of(server, "serve")
            expect(await ask(port, "GET", "/users/ada", writers), "GET", "/users/ada", 200, errors)
            got = await ask(port, "GET", "/users/bob", writers)
            if got is not None and got.status == 200:
                raise Problem(
                    f"the handler raised HTTPNotFound() and the client got {got!r}: give "
                    "each subclass its status (status_code = 404) and pass it to "
                    "Response.__init__ as status"
                )
            if got is not None and got.status == 500:
                raise Problem(
                    f"the handler raised HTTPNotFound() and the client got a 500: "
                    f"{who_raised('/users/bob', 'and nothing caught it as the answer')}"
                    "Catch HTTPException in the Application and send it, it is a Response"
                )
            got = expect(got, "GET", "/users/bob", 404, errors)
            if got.text != "404: Not Found":
                raise Problem(
                    f"HTTPNotFound() was sent with the body {got.text!r}: with no text given, "
                    "the body is the status and its phrase, '404: Not Found', as in aiohttp"
                )
            got = expect(await ask(port, "GET", "/old", writers), "GET", "/old", 302, errors)
            if got.headers.get("location") != "/users/ada":
                raise Problem(
                    f"HTTPFound('/users/ada') was sent with Location: "
                    f"{got.headers.get('location')}: set the Location header to its argument"
                )
            got = await ask(port, "GET", "/private", writers)
            if got is not None and got.status == 500:
                raise Problem(
                    "a middleware raised HTTPForbidden() and the client got a 500: "
                    f"{who_raised('/private', 'outside the try around the handler')}"
                    "Catch HTTPException around the whole chain, middlewares included, not only "
                    "around the handler"
                )
            got = expect(got, "GET", "/private", 403, errors)
            got = expect(await ask(port, "GET", "/broken", writers), "GET", "/broken", 500, errors)
            for leak in ("hunter2", "KeyError", "Traceback", "<script>"):
                if leak in got.text:
                    seen = who_raised("/broken", "and the 500 tells the client")
                    said = seen.removesuffix(". ") or "the 500 for a KeyError tells the client"
                    raise Problem(
                        f"{said} {got.text[:80]!r}: the exception's text and traceback may "
                        "hold secrets (here a password) or what a client sent (a script): "
                        "log them, and answer only "
                        "'500: Internal Server Error'"
                    )
        finally:
            await close_all(server, writers)


async def check_exceptions(folder: Path | None = None) -> None:
    """Chapter 08's build: diy/exceptions.py, and diy/application.py that sends them."""
    await check_build(
        "HTTP exceptions raised by handlers and middlewares are the answer; a bug is a bare 500",
        on_app(_http_exceptions),
        FOUNDATION
        + [
            ("08", "application", "Application"),
            ("08", "application", "serve"),
            ("08", "exceptions", "HTTPException"),
            ("08", "exceptions", "HTTPNotFound"),
            ("08", "exceptions", "HTTPFound"),
            ("08", "exceptions", "HTTPForbidden"),
        ],
        "08",
        folder,
    )

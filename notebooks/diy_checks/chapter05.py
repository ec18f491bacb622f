"""Chapter 05: route parameters, anchored, decoded, with their regexes.

Where a status alone cannot say why, the check reads the trace of the request, as the
inspector saw your router run (inspector/diy.py): which routes its loop tried, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from inspector import Model
from inspector.diy import tracer_of

from .client import Answer, LoopErrors, ask, expect
from .serving import (
    FOUNDATION,
    check_build,
    close_all,
    on_app,
    own_response,
    port_of,
)


async def _route_params(Application: type, serve: Callable, UrlDispatcher: type) -> None:
    app = Application()

    def answer(label: str) -> Callable:
        async def handler(request: Any) -> Any:
            params = getattr(request, "match_info", None)
            if not isinstance(params, dict) and not hasattr(params, "items"):
                return own_response(request, f"no match_info: {params!r}")
            text = " ".join(f"{value}" for value in dict(params).values())
            return own_response(request, f"{label} {text}".strip())

        return handler

    app.router.add_route("GET", "/users/{name}", answer("user"))
    app.router.add_route("GET", r"/orders/{id:\d+}", answer("order"))
    app.router.add_route("GET", "/files/{path:.+}", answer("file"))
    app.router.add_route("GET", "/v1.0/status", answer("status"))
    app.router.add_route("GET", "/items", answer("items"))
    app.router.add_route("POST", "/items", answer("new item"))  # same path, a later route
    trace = Model()
    tracer_of(app).subscribe(trace.feed)  # what your router does, seen from outside

    writers: list[asyncio.StreamWriter] = []
    with LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = port_of(server, "serve")

            async def get(target: str, method: str = "GET") -> Answer | None:
                return await ask(port, method, target, writers)

            got = await get("/users/ada")
            if got is not None and got.status == 404:
                raise Problem(
                    "GET /users/ada got 404 from the route /users/{name}: compile the path to "
                    "a regex where {name} is a named group for one path segment"
                )
            got = expect(got, "GET", "/users/ada", 200, errors)
            if got.text.startswith("no match_info"):
                raise Problem(
                    f"the handler found request.match_info = {got.text[15:]}: set it to the "
                    "dict of the named groups, {'name': 'ada'}"
                )
            if got.text != "user ada":
                raise Problem(
                    f"GET /users/ada: the handler found match_info giving {got.text!r}, "
                    "expected {'name': 'ada'}"
                )
            got = await get("/users/ada/posts")
            if got is not None and got.status == 200:
                if got.text == "user ada":
                    raise Problem(
                        "GET /users/ada/posts matched /users/{name} as name='ada': re.match "
                        "anchors only at the start of the path. Match the whole path "
                        "(pattern.fullmatch), or /users/1/delete reaches the handler of /users/1"
                    )
                raise Problem(
                    f"GET /users/ada/posts matched /users/{{name}} ({got.text!r}): {{name}} "
                    "is one path segment, [^{}/]+, never a slash"
                )
            expect(got, "GET", "/users/ada/posts", 404, errors)
            got = await get("/users/jean-luc")
            if got is not None and got.status == 404:
                raise Problem(
                    "GET /users/jean-luc got 404: {name} matches any one path segment, "
                    "[^{}/]+, not only word characters (the guide's \\w+)"
                )
            got = expect(got, "GET", "/users/jean-luc", 200, errors)
            got = expect(await get("/users/b%C3%B6b"), "GET", "/users/b%C3%B6b", 200, errors)
            if got.text != "user böb":
                raise Problem(
                    f"GET /users/b%C3%B6b gave the handler {got.text[5:]!r} as name: match "
                    "against the decoded path, request.path ('/users/böb'), not "
                    "request.url.raw_path"
                )
            got = expect(await get("/orders/42"), "GET", "/orders/42", 200, errors)
            if got.text != "order 42":
                raise Problem(f"GET /orders/42 gave {got.text!r}, expected id '42'")
            got = await get("/orders/abc")
            if got is not None and got.status == 200:
                raise Problem(
                    "GET /orders/abc matched /orders/{id:\\d+}: in {name:regex} the regex "
                    "says what the variable matches, here only digits"
                )
            expect(got, "GET", "/orders/abc", 404, errors)
            got = await get("/files/docs/a.txt")
            if got is not None and got.status == 404:
                raise Problem(
                    "GET /files/docs/a.txt got 404 from /files/{path:.+}: use the regex "
                    "after the colon, which here lets the variable hold a slash"
                )
            got = expect(got, "GET", "/files/docs/a.txt", 200, errors)
            if got.text != "file docs/a.txt":
                raise Problem(f"GET /files/docs/a.txt gave {got.text!r}, expected 'docs/a.txt'")
            expect(await get("/v1.0/status"), "GET", "/v1.0/status", 200, errors)
            got = await get("/v1x0/status")
            if got is not None and got.status == 200:
                raise Problem(
                    "GET /v1x0/status matched the route /v1.0/status: the '.' went into the "
                    "regex as 'any character'. Escape the literal parts (re.escape)"
                )
            expect(got, "GET", "/v1x0/status", 404, errors)
            got = expect(await get("/orders/42", "DELETE"), "DELETE", "/orders/42", 405, errors)
            if got.headers.get("allow") != "GET":
                raise Problem(
                    f"the 405 for DELETE /orders/42 says Allow: {got.headers.get('allow')}, "
                    "expected GET"
                )
            expect(await get("/orders/abc", "DELETE"), "DELETE", "/orders/abc", 404, errors)
            got = await get("/items", "POST")
            if got is None or got.status != 200:
                raise Problem(_stopped_early(trace, got) or "")
            expect(got, "POST", "/items", 200, errors)
        finally:
            await close_all(server, writers)


def _stopped_early(trace: Model, got: Answer | None) -> str:
    """Why POST /items was not routed to the route POST /items, from the routes tried."""
    status = "no answer" if got is None else got.status
    said = f"POST /items got {status}, though the route POST /items was added after GET /items"
    seen = trace.find("POST", "/items")
    if seen is None or not seen.routes:  # the trace could not see the loop: the status only
        return f"{said}: look through every route before answering 405"
    last = seen.routes[-1]
    tried = ", ".join(f"{r.pattern} ({','.join(r.methods)}): {r.outcome}" for r in seen.routes)
    if last.outcome == "method miss":
        return (
            f"{said}. Your router tried {tried}, and stopped there: at the first route "
            "whose path matched but not its method. Go on to the next routes; answer 405 "
            "only when none has both the path and the method"
        )
    return f"{said}. Your router tried {tried}"


async def check_routes(folder: Path | None = None) -> None:
    """Chapter 05's build: diy/router.py again, with {name} and {name:regex}."""
    await check_build(
        "route parameters: whole paths, decoded values, their regexes, 404 and 405",
        on_app(_route_params),
        FOUNDATION
        + [
            ("04", "application", "Application"),
            ("04", "application", "serve"),
            ("05", "router", "UrlDispatcher"),
        ],
        "05",
        folder,
    )

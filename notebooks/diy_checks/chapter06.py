"""Chapter 06: middlewares, the first listed outermost."""

from __future__ import annotations

import asyncio
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
from .traced import entered, watch

ONION = ["outer: before", "inner: before", "handler", "inner: after", "outer: after"]


async def _onion(Application: type, serve: Callable, middleware: Callable) -> None:
    order: list[str] = []

    async def outer(request: Any, handler: Callable) -> Any:
        order.append("outer: before")
        response = await handler(request)
        order.append("outer: after")
        # Replace what the layers inside gave: only the chain's result says "outer".
        return own_response(request, "wrapped by outer", getattr(response, "status", 200))

    async def inner(request: Any, handler: Callable) -> Any:
        order.append("inner: before")
        if request.path == "/private":
            order.append("inner: refused")
            return own_response(request, "401: Unauthorized", 401)  # a short-circuit
        response = await handler(request)
        order.append("inner: after")
        return response

    async def hello(request: Any) -> Any:
        order.append("handler")
        return own_response(request, "hello")

    marked = [middleware(outer), middleware(inner)]
    if marked != [outer, inner]:
        raise Problem(
            f"middleware(outer) returned {marked[0]!r}: the decorator must return the "
            "function it was given (it only marks it)"
        )
    try:
        app = Application(middlewares=[outer, inner])
    except TypeError as exc:
        raise Problem(
            f"Application(middlewares=[...]) raised TypeError: {exc}. Write the "
            "application.py build cell of this chapter, whose Application takes middlewares"
        )
    app.router.add_route("GET", "/hello", hello)
    app.router.add_route("GET", "/private", hello)
    trace = watch(app)  # the layers entered, in order, seen from outside

    writers: list[asyncio.StreamWriter] = []
    with LoopErrors() as errors:
        server = await serve(app, "127.0.0.1", 0)
        try:
            port = port_of(server, "serve")
            got = await ask(port, "GET", "/hello", writers)
            if order == [] and got is not None and got.text == "hello":
                raise Problem(
                    "GET /hello was answered without running any middleware: call the "
                    "onion of middlewares, not the handler alone"
                )
            if order.count("handler") > 1:
                raise Problem(
                    f"the handler ran {order.count('handler')} times for one request "
                    f"({order}): call only the outermost layer; each layer calls the next, "
                    "and the innermost calls the handler"
                )
            ran = entered(trace.find("GET", "/hello")) if trace is not None else []
            if len(ran) > 1 and ran != ["outer", "inner"]:
                raise Problem(
                    f"your middlewares ran {ran[0]} first: the trace shows them entered in "
                    f"the order {', '.join(ran)}. With middlewares=[outer, inner] the first "
                    "listed, outer, is the outermost: it sees the request first and the "
                    "response last. Wrap from the last listed to the first, as aiohttp does"
                )
            if order[:2] == ["inner: before", "outer: before"]:
                raise Problem(
                    f"with middlewares=[outer, inner] the layers ran {order}: the onion is "
                    "inside out (the guide's loop wraps the last listed outermost). Wrap "
                    "from the last to the first, so the first listed is the outermost, as "
                    "in aiohttp"
                )
            if "inner: before" not in order:
                raise Problem(
                    f"with middlewares=[outer, inner] the layers ran {order}: inner never "
                    "ran. Each layer's handler is the next layer, not the bare handler"
                )
            if order != ONION:
                raise Problem(f"with middlewares=[outer, inner] the layers ran {order}")
            got = expect(got, "GET", "/hello", 200, errors)
            if got.text != "wrapped by outer":
                raise Problem(
                    f"GET /hello was answered {got.text!r}, and the outermost middleware "
                    "returned 'wrapped by outer': send what the chain returns"
                )
            order.clear()
            got = expect(
                await ask(port, "GET", "/private", writers), "GET", "/private", 401, errors
            )
            if "handler" in order:
                raise Problem(
                    f"inner answered /private on its own and the handler ran anyway "
                    f"({order}): a middleware that does not call handler short-circuits"
                )
            order.clear()
            got = expect(await ask(port, "GET", "/nope", writers), "GET", "/nope", 404, errors)
            if order != ["outer: before", "inner: before", "inner: after", "outer: after"]:
                raise Problem(
                    f"GET /nope went through the layers {order}: a 404 or 405 is a handler "
                    "too, wrap it in the middlewares as any other (as aiohttp does)"
                )
        finally:
            await close_all(server, writers)


async def check_middlewares(folder: Path | None = None) -> None:
    """Chapter 06's build: diy/middleware.py and diy/application.py with middlewares."""
    await check_build(
        "the onion: the first middleware listed is the outermost, each calls the next",
        on_app(_onion),
        FOUNDATION
        + [
            ("06", "application", "Application"),
            ("06", "application", "serve"),
            ("06", "middleware", "middleware"),
        ],
        "06",
        folder,
    )

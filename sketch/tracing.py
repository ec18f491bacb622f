"""A request's way through the application, reported step by step.

`Application._handle` takes this path instead of its own when the app's tracer is on.
The steps are the same (route, then the middlewares around the handler); each one
also emits its events: every route tried and the decision, every middleware layer
entered and left, the handler's start and end. Off, none of this code runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from time import perf_counter
from typing import Any

from .events import (
    Event,
    HandlerEnd,
    HandlerStart,
    MiddlewareEnter,
    MiddlewareExit,
    RouteDecision,
    RouteTried,
    error_text,
)
from .exceptions import HTTPException
from .middleware import Middleware

__all__ = ["handle_traced"]

Emit = Callable[..., None]


def _name(func: Any) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


def _status_of(exc: BaseException) -> int | None:
    return exc.status if isinstance(exc, HTTPException) else None


async def handle_traced(app: Any, request: Any) -> Any:
    protocol = request._protocol
    tracer, conn, number = protocol.tracer, protocol.id, request.number

    def emit(cls: type[Event], *fields: Any) -> None:
        tracer.emit(cls(perf_counter(), conn, number, *fields))

    def on_try(resource: Any, match: Any, methods: set[str]) -> None:
        outcome = "match" if match is not None else "method miss" if methods else "path miss"
        regex = resource.pattern.pattern if resource.pattern is not None else ""
        params = tuple(match.items()) if match is not None else ()
        emit(RouteTried, request.method, resource.canonical, regex, outcome,
             tuple(sorted(resource.routes)), params)  # fmt: skip

    match_info = app.router.resolve(request, on_try)
    request._match_info = match_info
    miss = match_info.http_exception
    allowed = tuple(sorted(getattr(miss, "allowed_methods", ()))) if miss is not None else ()
    emit(RouteDecision, 200 if miss is None else miss.status, _name(match_info.handler),
         tuple(match_info.items()), allowed)  # fmt: skip
    handler = _traced_handler(match_info.handler, emit)
    for depth in reversed(range(len(app._middlewares))):
        handler = partial(_traced_layer, app._middlewares[depth], depth, handler, emit)
    return await handler(request)


def _traced_handler(handler: Any, emit: Emit) -> Any:
    async def run(request: Any) -> Any:
        name = _name(handler)
        emit(HandlerStart, name)
        started = perf_counter()
        try:
            response = await handler(request)
        except BaseException as exc:
            emit(HandlerEnd, name, perf_counter() - started, _status_of(exc), error_text(exc))
            raise
        emit(HandlerEnd, name, perf_counter() - started, getattr(response, "status", None), "")
        return response

    return run


async def _traced_layer(
    middleware: Middleware, depth: int, inner: Any, emit: Emit, request: Any
) -> Any:
    name = _name(middleware)
    called_next = False

    async def next_layer(request: Any) -> Any:
        nonlocal called_next
        called_next = True
        return await inner(request)

    emit(MiddlewareEnter, name, depth)
    started = perf_counter()
    try:
        response = await middleware(request, handler=next_layer)
    except BaseException as exc:
        elapsed = perf_counter() - started
        emit(MiddlewareExit, name, depth, elapsed, _status_of(exc), error_text(exc), called_next)
        raise
    elapsed = perf_counter() - started
    emit(MiddlewareExit, name, depth, elapsed, response.status, "", called_next)
    return response

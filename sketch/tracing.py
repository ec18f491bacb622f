"""What a traced request reports, from the seams of the one path it takes.

`Application._handle` routes and builds the middleware chain the same way traced or
not. When the app's tracer is on it passes two observers: `on_try` to the router,
which sees every route tried, and `observe` to `wrap_handler`, which wraps each layer
of the chain as it is built, so that entering and leaving it is reported. No step of
the request is done here; only what happened is told. Off, none of this code runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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

__all__ = ["RequestObserver"]


def _name(func: Any) -> str:
    func = getattr(func, "func", func)  # a partial: name what it wraps
    return getattr(func, "__name__", None) or type(func).__name__


def _status(out: object) -> int | None:
    """The status a layer passed out: its response's, or its HTTPException's.

    Read with getattr: a middleware that forgot to return its response returns None,
    and that mistake is the protocol's to report, with a clear TypeError.
    """
    if isinstance(out, BaseException) and not isinstance(out, HTTPException):
        return None
    return getattr(out, "status", None)


def _error(exc: BaseException) -> str:
    """`Type: message`; for an HTTPException raised with a text, that text.

    `str()` of an HTTPException is its reason ("Not Found", as in aiohttp); the text
    the handler gave ("no user with id 42") is what tells a reader what happened.
    """
    if isinstance(exc, HTTPException):
        try:
            text = exc.text
        except (UnicodeDecodeError, LookupError):  # a body that is not text
            text = None
        if text and text != f"{exc.status}: {exc.reason}":  # not the default body
            return f"{type(exc).__name__}: {text[:200]}"
    return error_text(exc)


class RequestObserver:
    """Reports one request's way through the router and the middleware chain."""

    def __init__(self, request: Any) -> None:
        protocol = request._protocol
        self.request = request
        self.tracer, self.conn, self.req = protocol.tracer, protocol.id, request.number
        self.deepest = -1  # the deepest layer entered so far (to tell short-circuits)

    def emit(self, cls: type[Event], *fields: Any) -> None:
        self.tracer.emit(cls(perf_counter(), self.conn, self.req, *fields))

    # --- the router: UrlDispatcher.resolve(request, on_try) -----------------

    def on_try(self, resource: Any, match: Any, methods: set[str]) -> None:
        if match is not None and match.http_exception is None:
            outcome = "match"
        else:  # a sub-application's 404 or 405 comes back as a MatchInfo with its miss
            outcome = "method miss" if methods else "path miss"
            match = None
        regex = resource.pattern.pattern if resource.pattern is not None else ""
        params = tuple(match.items()) if match is not None else ()
        self.emit(RouteTried, self.request.method, resource.canonical, regex, outcome,
                  tuple(sorted(resource.routes)), params)  # fmt: skip

    def decided(self, match_info: Any) -> None:
        miss = match_info.http_exception
        status = 200 if miss is None else miss.status
        allowed = tuple(sorted(getattr(miss, "allowed_methods", ()))) if miss is not None else ()
        self.emit(RouteDecision, status, _name(match_info.handler), tuple(match_info.items()),
                  allowed)  # fmt: skip

    # --- the chain: wrap_handler(handler, middlewares, observe) -------------

    def observe(
        self, layer: Callable[[Any], Awaitable[Any]], middleware: Any, depth: int
    ) -> Callable[[Any], Awaitable[Any]]:
        """`layer`, reporting when it is entered and left (the handler if no middleware)."""
        name = _name(layer if middleware is None else middleware)

        async def observed(request: Any) -> Any:
            self.deepest = max(self.deepest, depth)
            self._enter(name, middleware, depth)
            started = perf_counter()
            try:
                response = await layer(request)
            except BaseException as exc:
                self._leave(name, middleware, depth, perf_counter() - started, exc)
                raise
            self._leave(name, middleware, depth, perf_counter() - started, response)
            return response

        return observed

    def _enter(self, name: str, middleware: Any, depth: int) -> None:
        if middleware is None:
            self.emit(HandlerStart, name)
        else:
            self.emit(MiddlewareEnter, name, depth)

    def _leave(self, name: str, middleware: Any, depth: int, elapsed: float, out: Any) -> None:
        error = _error(out) if isinstance(out, BaseException) else ""
        status = _status(out)
        if middleware is None:
            self.emit(HandlerEnd, name, elapsed, status, error)
        else:
            called_next = self.deepest > depth
            self.emit(MiddlewareExit, name, depth, elapsed, status, error, called_next)

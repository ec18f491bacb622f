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
from types import FunctionType
from typing import Any

from .events import (
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
    if type(func) is FunctionType:  # most handlers and middlewares: no lookup that misses
        return func.__name__
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
    """Reports one request's way through the router and the middleware chain.

    Each event's class and fields are handed to the tracer where it happens (the tracer
    builds the event, for the subscribers that want one): recording runs this for every
    request, so no helper stands between (each call costs). Not slotted: on Python 3.13
    only a class without __slots__ is made by the specialized call
    (CALL_ALLOC_AND_ENTER_INIT), as the events are (events.py).
    """

    def __init__(self, request: Any) -> None:
        protocol = request._protocol
        self.request = request
        self.emit, self.conn, self.req = protocol.tracer.emit, protocol.id, request.number
        self.deepest = -1  # the deepest layer entered so far (to tell short-circuits)

    # --- the router: UrlDispatcher.resolve(request, on_try) -----------------

    def on_try(self, resource: Any, match: Any, methods: set[str]) -> None:
        if match is not None and match.http_exception is None:
            outcome = "match"
            params = tuple(match.items())
        else:  # a sub-application's 404 or 405 comes back as a MatchInfo with its miss
            outcome = "method miss" if methods else "path miss"
            params = ()
        pattern = resource.pattern
        self.emit(RouteTried, perf_counter(), self.conn, self.req, self.request.method,
                  resource.canonical, pattern.pattern if pattern else "",
                  outcome, tuple(sorted(resource.routes)), params)  # fmt: skip

    def decided(self, match_info: Any) -> None:
        miss = match_info.http_exception
        status = 200 if miss is None else miss.status
        allowed = tuple(sorted(getattr(miss, "allowed_methods", ()))) if miss is not None else ()
        self.emit(RouteDecision, perf_counter(), self.conn, self.req, status,
                  _name(match_info.handler), tuple(match_info.items()), allowed)  # fmt: skip

    # --- the chain: wrap_handler(handler, middlewares, observe) -------------

    async def observe(
        self, handler: Callable[[Any], Awaitable[Any]], middleware: Any, depth: int, request: Any
    ) -> Any:
        """Run `middleware` around `handler` (or, if None, `handler` itself), reporting when
        the layer is entered and left.

        wrap_handler puts `partial(observe, handler, middleware, depth)` in the chain where
        the layer would be: a partial is made in C, where a closure made per layer cost
        4,400 instructions more a request of three layers. Calling the middleware here as
        the chain would, instead of through a partial of it made per layer too, saved
        7,100 more (3.13, two middlewares; docs/performance.md).
        """
        emit, conn, req = self.emit, self.conn, self.req
        if depth > self.deepest:
            self.deepest = depth
        name = _name(handler if middleware is None else middleware)
        started = perf_counter()
        if middleware is None:
            emit(HandlerStart, started, conn, req, name)
        else:
            emit(MiddlewareEnter, started, conn, req, name, depth)
        try:
            if middleware is None:
                response = await handler(request)
            else:
                response = await middleware(request, handler=handler)
        except BaseException as exc:
            self._left(middleware, name, depth, started, _status(exc), _error(exc))
            raise
        if isinstance(response, BaseException):  # returned, not raised: told alike
            self._left(middleware, name, depth, started, _status(response), _error(response))
        else:  # a response (or None: the protocol's to report), the common case
            self._left(middleware, name, depth, started, getattr(response, "_status", None), "")
        return response

    def _left(
        self, middleware: Any, name: str, depth: int, started: float, status: int | None, error: str
    ) -> None:
        now = perf_counter()
        if middleware is None:
            self.emit(HandlerEnd, now, self.conn, self.req, name, now - started, status, error)
        else:
            self.emit(MiddlewareExit, now, self.conn, self.req, name, depth, now - started,
                      status, error, self.deepest > depth)  # fmt: skip

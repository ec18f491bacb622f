"""Middlewares: functions that wrap the handler, each around the next.

A middleware is `async def mw(request, handler)`: it may act before calling
`await handler(request)`, change the response after, or answer on its own and never
call the handler (a short-circuit). The first in the application's list is the
outermost layer: it sees the request first and the response last.

`wrap_handler` builds the onion, and it is the only place that does: a traced request
runs the same chain, built by the same loop, with an observer in each layer's place that
runs the layer (calls the middleware with the next handler) and reports it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from .checks import is_async_callable

__all__ = ["middleware", "Middleware", "Observe", "check_middlewares", "wrap_handler"]

Handler = Callable[[Any], Awaitable[Any]]
Middleware = Callable[[Any, Handler], Awaitable[Any]]
# await observe(handler, middleware or None, depth, request): runs the middleware around
# `handler`, or `handler` itself, and reports it (tracing.py)
Observe = Callable[[Handler, "Middleware | None", int, Any], Awaitable[Any]]
_F = TypeVar("_F", bound=Middleware)


def middleware(func: _F) -> _F:
    """Mark `func` as a middleware, as aiohttp's decorator does. Optional in sketch."""
    func.__middleware_version__ = 1  # type: ignore[attr-defined]
    return func


def check_middlewares(middlewares: Iterable[Any]) -> list[Middleware]:
    """Refuse at definition time what would fail on the first request."""
    checked = []
    for mw in middlewares:
        if not is_async_callable(mw):
            raise TypeError(f"middleware must be `async def mw(request, handler)`, got {mw!r}")
        if "handler" not in inspect.signature(mw).parameters:
            raise TypeError(
                f"middleware {mw.__name__} must take a parameter named `handler`: "
                "`async def mw(request, handler)`"
            )
        checked.append(mw)
    return checked


def wrap_handler(
    handler: Handler, middlewares: list[Middleware], observe: Observe | None = None
) -> Handler:
    """Build the onion: wrap from the innermost (last) to the outermost (first).

    `observe`, when given, runs each layer in its place (tracing.py reports with it):
    the handler at depth len(middlewares), then each middleware down to 0, the outermost,
    which it calls itself as the chain would, `mw(request, handler=handler)`.
    """
    depth = len(middlewares)
    if observe is not None:
        handler = partial(observe, handler, None, depth)
    for mw in reversed(middlewares):
        depth -= 1
        if observe is not None:
            handler = partial(observe, handler, mw, depth)
        else:
            handler = partial(mw, handler=handler)
    return handler

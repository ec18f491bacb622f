"""The Application: a router, middlewares, shared state and lifecycle hooks.

Hooks run in aiohttp's order:

- startup: `cleanup_ctx` generators up to their `yield`, then `on_startup` callbacks;
- shutdown: `on_shutdown` callbacks, once the server stops accepting and before
  in-flight requests are awaited (close websockets, tell long polls to finish);
- cleanup: `cleanup_ctx` generators after their `yield`, in reverse order, then
  `on_cleanup` callbacks (close the database pool).

Each is a list; callbacks are `async def` and run one after another, in list order.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, Generic, TypeVar

from .events import Tracer
from .middleware import Middleware, check_middlewares, wrap_handler
from .routing import UrlDispatcher
from .signals import CleanupContext, Signal
from .tracing import RequestObserver

__all__ = ["Application", "AppKey", "RequestKey", "ResponseKey"]

_T = TypeVar("_T")


class AppKey(Generic[_T]):
    """A typed key for `app[...]`, as in aiohttp: `DB = web.AppKey("db", Pool)`.

    Plain strings work as keys too; aiohttp warns about them, sketch does not.
    """

    def __init__(self, name: str, t: type[_T] | None = None) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class RequestKey(AppKey[_T]):
    """A typed key for `request[...]`: `USER = web.RequestKey("user", str)`."""


class ResponseKey(AppKey[_T]):
    """A typed key for `response[...]`: `TIMING = web.ResponseKey("timing", float)`."""


class Application(MutableMapping[Any, Any]):
    """Routes, middlewares, state and hooks; its `_handle` is the server's handler."""

    def __init__(
        self,
        *,
        middlewares: Any = (),
        client_max_size: int = 1024**2,
        debug: bool = False,
    ) -> None:
        self.router = UrlDispatcher()
        self._middlewares: list[Middleware] = check_middlewares(middlewares)
        self._client_max_size = client_max_size
        self.debug = debug
        self._state: dict[Any, Any] = {}
        # Where this app's trace events go (events.py); the runner hands it to the server.
        self.tracer = Tracer()
        self.on_startup = Signal("on_startup", self.tracer)
        self.on_shutdown = Signal("on_shutdown", self.tracer)
        self.on_cleanup = Signal("on_cleanup", self.tracer)
        self.on_response_prepare = Signal("on_response_prepare", self.tracer)
        self.cleanup_ctx = CleanupContext(self.tracer)
        # As in aiohttp: contexts are set up before on_startup, torn down before on_cleanup.
        self.on_startup.append(self.cleanup_ctx._on_startup)
        self.on_cleanup.append(self.cleanup_ctx._on_cleanup)
        self.frozen = False  # routes, middlewares and hooks fixed (set at startup)
        self.running = False  # a runner is serving it now

    @property
    def middlewares(self) -> tuple[Middleware, ...]:
        return tuple(self._middlewares)

    def add_routes(self, routes: Any) -> Any:
        return self.router.add_routes(routes)

    def freeze(self) -> None:
        """No more routes, middlewares or hooks: called when the app starts."""
        self.frozen = True
        self.router.freeze()
        signals = (self.on_startup, self.on_shutdown, self.on_cleanup, self.on_response_prepare)
        for signal in signals:
            signal.frozen = True

    async def startup(self) -> None:
        await self.on_startup.send(self)

    async def shutdown(self) -> None:
        await self.on_shutdown.send(self)

    async def cleanup(self) -> None:
        await self.on_cleanup.send(self)

    async def _handle(self, request: Any) -> Any:
        """The server's handler: route, then run the handler inside the middlewares."""
        request._app = self
        if not self.tracer.on:
            match_info = self.router.resolve(request)
            request._match_info = match_info
            handler = wrap_handler(match_info.handler, self._middlewares)
            return await handler(request)
        # Traced: the same steps, with observers at their seams (tracing.py).
        observer = RequestObserver(request)
        match_info = self.router.resolve(request, observer.on_try)
        request._match_info = match_info
        observer.decided(match_info)
        handler = wrap_handler(match_info.handler, self._middlewares, observer.observe)
        return await handler(request)

    # --- app["key"] storage --------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        return self._state[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.frozen:
            raise RuntimeError(
                f"cannot set app[{key!r}] after the application has started: "
                "set it before, or in an on_startup hook"
            )
        self._state[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._state[key]

    def __len__(self) -> int:
        return len(self._state)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._state)

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<Application {len(self.router.resources())} resources>"

"""The Application: a router, middlewares, shared state and lifecycle hooks.

Hooks run in aiohttp's order:

- startup: `cleanup_ctx` generators up to their `yield`, then `on_startup` callbacks;
- shutdown: `on_shutdown` callbacks, once the server stops accepting and before
  in-flight requests are awaited (close websockets, tell long polls to finish);
- cleanup: `cleanup_ctx` generators after their `yield`, in reverse order, then
  `on_cleanup` callbacks (close the database pool).

Each is a list; callbacks are `async def` and run one after another, in list order.
A sub-application (`add_subapp`, subapp.py) brings its own router, middlewares and
hooks; its hooks run as one callback of its parent's.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, Generic, TypeVar

from .events import Tracer
from .middleware import Middleware, check_middlewares, wrap_handler
from .routing import UrlDispatcher
from .signals import CleanupContext, Signal
from .subapp import SubAppResource, check_prefix
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
        self._parent: Application | None = None  # the app it is mounted in (add_subapp)
        self._subapps: list[Application] = []
        self._prefix = ""  # where it is mounted, for trace names
        self._own_response_prepare: list[Any] = []  # a sub-app's, before its parents' joined

    @property
    def middlewares(self) -> tuple[Middleware, ...]:
        return tuple(self._middlewares)

    def add_routes(self, routes: Any) -> Any:
        return self.router.add_routes(routes)

    def add_subapp(self, prefix: str, subapp: Application) -> SubAppResource:
        """Mount `subapp` below `prefix`: its routes answer `prefix/...` (subapp.py).

        From here on the sub-app's routes, middlewares and hooks are fixed, as on aiohttp;
        its `subapp[key]` storage stays writable until the parent starts.
        """
        prefix = check_prefix(prefix)
        if self.frozen:
            raise RuntimeError("cannot add a sub-application after the application has started")
        if not isinstance(subapp, Application):
            raise TypeError(f"add_subapp() takes an Application, got {subapp!r}")
        if subapp.frozen:
            raise RuntimeError(f"cannot add {subapp!r}: it has started already")
        if subapp._parent is not None or subapp is self:
            # aiohttp accepts this and prefixes the sub-app's routes twice
            raise RuntimeError(
                f"{subapp!r} is already a sub-application: make a new Application "
                "for each prefix (an app has one place in the tree)"
            )
        resource = SubAppResource(prefix, subapp)
        self.router._register(resource)
        subapp._parent, subapp._prefix = self, resource.canonical
        self._subapps.append(subapp)
        subapp._share_tracer(self.tracer)
        for name in ("on_startup", "on_shutdown", "on_cleanup"):  # subapp.py, Rule 4
            getattr(self, name).append(_forward(getattr(subapp, name), subapp, prefix))
        subapp._fix_routes_and_hooks("to a sub-application after add_subapp()")
        subapp._own_response_prepare = list(subapp.on_response_prepare)  # fixed now
        return resource

    def _share_tracer(self, tracer: Tracer) -> None:
        """Report to the root app's tracer: one trace for the whole tree of apps."""
        self.tracer = tracer
        for signal in (self.on_startup, self.on_shutdown, self.on_cleanup,
                       self.on_response_prepare, self.cleanup_ctx):  # fmt: skip
            signal.tracer = tracer
        for subapp in self._subapps:
            subapp._share_tracer(tracer)

    def _fix_routes_and_hooks(self, why: str) -> None:
        self.router.freeze(why)
        signals = (self.on_startup, self.on_shutdown, self.on_cleanup, self.on_response_prepare)
        for signal in signals:
            signal.frozen = True

    def freeze(self) -> None:
        """No more routes, middlewares, hooks or state: called when the app starts."""
        self.frozen = True
        self._fix_routes_and_hooks("after the application has started")
        for subapp in self._subapps:
            # A response runs its app's on_response_prepare after the parents' (Rule 4).
            own = subapp._own_response_prepare
            subapp.on_response_prepare[:] = [*self.on_response_prepare, *own]
            subapp.freeze()

    def _thaw_state(self) -> None:
        """`app[key]` writable again, in this app and its sub-apps: it starts again."""
        self.frozen = False
        for subapp in self._subapps:
            subapp._thaw_state()

    async def startup(self) -> None:
        await self.on_startup.send(self)

    async def shutdown(self) -> None:
        await self.on_shutdown.send(self)

    async def cleanup(self) -> None:
        await self.on_cleanup.send(self)

    async def _handle(self, request: Any) -> Any:
        """The server's handler: route, then run the handler inside the middlewares.

        Traced or not, the same steps: with a tracer on, an observer (tracing.py) sees
        each route tried and each layer entered and left.
        """
        request._app = self
        observer = RequestObserver(request) if self.tracer.on else None
        match_info = self.router.resolve(request, observer.on_try if observer else None)
        request._match_info = match_info
        if observer is not None:
            observer.decided(match_info)
        middlewares = self._middlewares
        if match_info._subapp is not None:  # found in a sub-app (subapp.py, Rule 3)
            middlewares = _enter_subapp(request, match_info)
        handler = wrap_handler(
            match_info.handler, middlewares, observer.observe if observer else None
        )
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


def _enter_subapp(request: Any, match_info: Any) -> list[Middleware]:
    """The middlewares of each app from the root in, each app's run with it as `request.app`.

    As on aiohttp: the request's app is the sub-app that matched (its handler's, and the
    one its response is prepared with); a layer in front of an app's middlewares makes
    that app the request's app while they run and gives the previous one back on the
    way out. The innermost app gets its layer too, for the handler inside.
    """
    innermost = request._app = match_info._subapp
    middlewares: list[Middleware] = []
    for app in match_info.apps:
        if app._middlewares or app is innermost:
            middlewares.append(_entering(app))
            middlewares.extend(app._middlewares)
    return middlewares if len(middlewares) > 1 else []  # no middlewares: no layers needed


def _entering(app: Application) -> Middleware:
    async def enter(request: Any, handler: Any) -> Any:
        previous, request._app = request._app, app
        try:
            return await handler(request)
        finally:
            request._app = previous

    where = f"the sub-app at {app._prefix}" if app._parent is not None else "the root app"
    enter.__name__ = enter.__qualname__ = f"enter {where}"
    return enter


def _forward(signal: Signal, subapp: Application, prefix: str) -> Any:
    """A parent's hook that sends the sub-app's own signal, with the sub-app."""

    async def send(app: Application) -> None:
        await signal.send(subapp)

    send.__name__ = send.__qualname__ = f"{signal.name} of the sub-app at {prefix}"
    return send

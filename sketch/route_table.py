"""Routes declared before there is a router: `web.get(...)` and `RouteTableDef`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .routing import ANY_METHOD, Handler, Route, UrlDispatcher

__all__ = [
    "RouteDef",
    "RouteTableDef",
    "route",
    "get",
    "head",
    "post",
    "put",
    "patch",
    "delete",
    "options",
    "view",
    "static",
]


class RouteDef(NamedTuple):
    """A route declared before there is a router: `web.get('/', handler)`."""

    method: str
    path: str
    handler: Any
    kwargs: dict[str, Any]

    def register(self, router: UrlDispatcher) -> list[Route]:
        if self.method == "STATIC":
            router.add_static(self.path, self.handler, **self.kwargs)
            return []
        if self.method == "GET":
            route = router.add_get(self.path, self.handler, **self.kwargs)
        else:
            route = router.add_route(self.method, self.path, self.handler, **self.kwargs)
        return [route]


def route(method: str, path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return RouteDef(method.upper(), path, handler, kwargs)


def get(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("GET", path, handler, **kwargs)


def head(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("HEAD", path, handler, **kwargs)


def post(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("POST", path, handler, **kwargs)


def put(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("PUT", path, handler, **kwargs)


def patch(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("PATCH", path, handler, **kwargs)


def delete(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("DELETE", path, handler, **kwargs)


def options(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route("OPTIONS", path, handler, **kwargs)


def view(path: str, handler: Handler, **kwargs: Any) -> RouteDef:
    return route(ANY_METHOD, path, handler, **kwargs)


def static(prefix: str, path: str | Path, **kwargs: Any) -> RouteDef:
    return RouteDef("STATIC", prefix, path, kwargs)


class RouteTableDef(list):  # type: ignore[type-arg]
    """Routes declared with decorators: `@routes.get('/')` above the handler."""

    def route(self, method: str, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.append(route(method, path, handler, **kwargs))
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route("OPTIONS", path, **kwargs)

    def view(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.route(ANY_METHOD, path, **kwargs)

    def static(self, prefix: str, path: str | Path, **kwargs: Any) -> None:
        self.append(static(prefix, path, **kwargs))

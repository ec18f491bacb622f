"""The URL dispatcher: from a method and a path to a handler, or to a 404 or a 405.

How this works:

- Rule 1: a *resource* is a path pattern (`/users`, `/users/{name}`, `/users/{id:\\d+}`,
  a static prefix); a *route* is a method on a resource with its handler.
- Rule 2: resources are indexed by their literal prefix, the part before the first
  `{`. To resolve `/users/bob/posts` the router looks under `/users/bob/posts`, then
  `/users/bob`, then `/users`, then `/`: the most specific literal path wins, and among
  resources under one prefix, the first registered wins (aiohttp's order).
- Rule 3: a path that matches with a method that does not is remembered. If no resource
  matches both, the answer is 405 with `Allow` listing every method that would have
  worked (RFC 9110 15.5.6); if no path matched at all, 404.
- Rule 4: a miss is a value, not a special path: `resolve()` always returns a MatchInfo,
  whose handler raises the 404 or 405, so middlewares wrap misses too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from .exceptions import HTTPMethodNotAllowed, HTTPNotFound
from .resources import (
    ANY_METHOD,
    METHODS,  # noqa: F401  (importable from here, as before resources.py split off)
    DynamicResource,
    Handler,
    MatchInfo,
    MatchInfoError,
    PlainResource,
    Resource,
    Route,
)
from .static import StaticResource
from .subapp import SubAppResource

__all__ = [
    "Handler",
    "Route",
    "Resource",
    "PlainResource",
    "DynamicResource",
    "StaticResource",
    "MatchInfo",
    "MatchInfoError",
    "UrlDispatcher",
]

OnTry = Callable[["Resource", "MatchInfo | None", AbstractSet[str]], None]


def _check_name(name: str | None, taken: dict[str, Resource]) -> None:
    if name is None:
        return
    for part in re.split(r"[.:-]", name):
        if not part.isidentifier():
            raise ValueError(
                f"route name must be identifiers joined by '.', ':' or '-', got {name!r}"
            )
    if name in taken:
        raise ValueError(f"route name {name!r} is already used by {taken[name]!r}")


class UrlDispatcher:
    """The router: registers resources, then resolves each request to a MatchInfo."""

    def __init__(self) -> None:
        self._resources: list[Resource] = []
        self._named: dict[str, Resource] = {}
        self._index: dict[str, list[Resource]] = {}  # literal prefix -> resources (Rule 2)
        self._frozen: str | None = None  # when frozen, why: said to who adds a route

    # --- registering ---------------------------------------------------------

    def _register(self, resource: Resource) -> Resource:
        if self._frozen is not None:
            raise RuntimeError(f"cannot add routes {self._frozen}")
        _check_name(resource.name, self._named)
        if resource.name is not None:
            self._named[resource.name] = resource
        self._resources.append(resource)
        self._add_to_index(resource)
        return resource

    def _add_to_index(self, resource: Resource) -> None:
        key = resource.canonical
        if "{" in key:  # `/users/{name}` is found under `/users`
            key = key.partition("{")[0].rpartition("/")[0]
        self._index.setdefault(key.rstrip("/") or "/", []).append(resource)

    def reindex(self) -> None:
        """Index the resources again: their paths took a sub-app's prefix (subapp.py)."""
        self._index = {}
        for resource in self._resources:
            self._add_to_index(resource)

    def add_resource(self, path: str, *, name: str | None = None) -> Resource:
        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/', got {path!r}")
        last = self._resources[-1] if self._resources else None
        if last is not None and last.name == name and last.canonical == path:
            return last  # add_get('/x') then add_post('/x') share one resource
        if "{" in path or "}" in path:
            return self._register(DynamicResource(path, name))
        return self._register(PlainResource(path, name))

    def add_route(
        self, method: str, path: str, handler: Handler, *, name: str | None = None
    ) -> Route:
        return self.add_resource(path, name=name).add_route(method, handler)

    def add_get(
        self, path: str, handler: Handler, *, name: str | None = None, allow_head: bool = True
    ) -> Route:
        resource = self.add_resource(path, name=name)
        if allow_head:  # RFC 9110 9.3.2: HEAD is GET without the body
            resource.add_route("HEAD", handler)
        return resource.add_route("GET", handler)

    def add_head(self, path: str, handler: Handler, **kwargs: Any) -> Route:
        return self.add_route("HEAD", path, handler, **kwargs)

    def add_post(self, path: str, handler: Handler, **kwargs: Any) -> Route:
        return self.add_route("POST", path, handler, **kwargs)

    def add_put(self, path: str, handler: Handler, **kwargs: Any) -> Route:
        return self.add_route("PUT", path, handler, **kwargs)

    def add_patch(self, path: str, handler: Handler, **kwargs: Any) -> Route:
        return self.add_route("PATCH", path, handler, **kwargs)

    def add_delete(self, path: str, handler: Handler, **kwargs: Any) -> Route:
        return self.add_route("DELETE", path, handler, **kwargs)

    def add_view(self, path: str, handler: Handler, **kwargs: Any) -> Route:
        """Route every method to `handler`, usually a web.View that picks its own (views.py)."""
        return self.add_route(ANY_METHOD, path, handler, **kwargs)

    def add_static(
        self,
        prefix: str,
        path: str | Path,
        *,
        name: str | None = None,
        chunk_size: int = 256 * 1024,
        show_index: bool = False,
        follow_symlinks: bool = False,
        append_version: bool = False,
    ) -> StaticResource:
        """Serve the files under `path` below `prefix`, with aiohttp's keywords (static.py).

        Any other keyword is a TypeError naming it, as on aiohttp.
        """
        if not prefix.startswith("/"):
            raise ValueError(f"static prefix must start with '/', got {prefix!r}")
        resource = StaticResource(
            prefix, path, name, chunk_size=chunk_size, show_index=show_index,
            follow_symlinks=follow_symlinks, append_version=append_version,
        )  # fmt: skip
        return self._register(resource)  # type: ignore[return-value]

    def add_routes(self, routes: Iterable[Any]) -> list[Route]:
        """Register RouteDefs: `web.get(...)` items or a RouteTableDef."""
        registered = []
        for route_def in routes:
            registered.extend(route_def.register(self))
        return registered

    def freeze(self, why: str = "after the application has started") -> None:
        self._frozen = why

    # --- looking up ----------------------------------------------------------

    def resolve(self, request: Any, on_try: OnTry | None = None) -> MatchInfo:
        """The match for `request`; `on_try(resource, match, methods)` sees each try."""
        method, path = request.method, request.match_path
        allowed: set[str] = set()
        prefix = path
        while True:  # Rule 2: the most specific literal prefix first, down to "/"
            for resource in self._index.get(prefix, ()):
                match, methods = resource.resolve(method, path)
                if on_try is not None:
                    on_try(resource, match, methods)
                if match is not None:
                    return match
                allowed |= methods
            if prefix == "/":
                break
            prefix = prefix.rpartition("/")[0] or "/"
        if allowed:
            return MatchInfoError(HTTPMethodNotAllowed(method, allowed))
        return MatchInfoError(HTTPNotFound())

    def __getitem__(self, name: str) -> Resource:
        try:
            return self._named[name]
        except KeyError:
            known = ", ".join(map(repr, self._named)) or "none"
            raise KeyError(f"no route named {name!r} (named routes: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._named

    def __iter__(self) -> Iterator[str]:
        return iter(self._named)

    def __len__(self) -> int:
        return len(self._named)

    def named_resources(self) -> dict[str, Resource]:
        return dict(self._named)

    def resources(self) -> list[Resource]:
        return list(self._resources)

    def routes(self) -> list[Route]:
        """Every route, a sub-application's included (where its resource stands), as aiohttp."""
        found: list[Route] = []
        for resource in self._resources:
            if isinstance(resource, SubAppResource):
                found += resource.app.router.routes()
            else:
                found += resource.routes.values()
        return found

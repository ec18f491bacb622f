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
from collections.abc import Awaitable, Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from yarl import URL

from .checks import is_async_callable
from .exceptions import HTTPException, HTTPForbidden, HTTPMethodNotAllowed, HTTPNotFound
from .file_response import FileResponse
from .response import StreamResponse
from .views import View

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

Handler = Callable[[Any], Awaitable[StreamResponse]]
OnTry = Callable[["Resource", "MatchInfo | None", AbstractSet[str]], None]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
ANY_METHOD = "*"

# `{name}` matches one path segment; `{name:regex}` matches what the regex says. The
# regex may hold one level of braces itself, as in `{code:\\d{3}}`, so a variable is
# found by brace balance first, then split into name and regex.
_PLACEHOLDER = re.compile(r"(\{[_a-zA-Z][^{}]*(?:\{[^{}]*\}[^{}]*)*\})")
_VARIABLE = re.compile(r"\{(?P<name>[_a-zA-Z][_a-zA-Z0-9]*)(?::(?P<regex>.+))?\}", re.S)
_SEGMENT = r"[^{}/]+"
_NO_METHODS: frozenset[str] = frozenset()  # what a resource that matched, or missed, adds


def _quote(part: str) -> str:
    """Percent-encode a value for a path, as url_for() needs (RFC 3986 3.3)."""
    return URL.build(path=part, encoded=False).raw_path


def _unquote_safe(value: str) -> str:
    # yarl's path_safe keeps %2F and %25 encoded so that a slash inside a segment
    # cannot act as a separator while matching; decode them in the captured values.
    return value.replace("%2F", "/").replace("%25", "%") if "%" in value else value


def _check_handler(method: str, path: str, handler: Any) -> None:
    if isinstance(handler, type) and issubclass(handler, View):
        return  # View(request) is awaitable: it runs the method for the request's verb
    if not is_async_callable(handler):
        raise TypeError(
            f"handler for {method} {path!r} must be an async function (async def) "
            f"or a web.View subclass, got {handler!r}"
        )


class Route:
    """A method on a resource, and the handler that answers it."""

    def __init__(self, method: str, handler: Handler, resource: Resource) -> None:
        self.method = method
        self.handler = handler
        self.resource = resource

    @property
    def name(self) -> str | None:
        return self.resource.name

    def url_for(self, **parts: str) -> URL:
        return self.resource.url_for(**parts)

    def __repr__(self) -> str:
        return f"<Route {self.method} {self.resource.canonical} -> {self.handler.__name__}>"


class Resource:
    """A path pattern with a route per method."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.routes: dict[str, Route] = {}

    canonical = ""  # the path as registered, for the index and for error messages
    pattern: re.Pattern[str] | None = None  # the compiled regex, when there is one

    def add_route(self, method: str, handler: Handler) -> Route:
        method = method.upper()
        if method != ANY_METHOD and method not in METHODS and not method.isalpha():
            raise ValueError(f"bad HTTP method {method!r}")
        _check_handler(method, self.canonical, handler)
        if method in self.routes or ANY_METHOD in self.routes:
            raise RuntimeError(
                f"{method} {self.canonical!r} is already routed to "
                f"{self.routes.get(method, self.routes.get(ANY_METHOD))!r}: "
                "the new route would never run"
            )
        route = self.routes[method] = Route(method, handler, self)
        return route

    def match(self, path: str) -> dict[str, str] | None:
        """The variables of `path` (empty for a literal path), or None when it does not match."""
        raise NotImplementedError

    def resolve(self, method: str, path: str) -> tuple[MatchInfo | None, AbstractSet[str]]:
        """A MatchInfo when path and method match; otherwise the methods the path allows."""
        params = self.match(path)
        if params is None:
            return None, _NO_METHODS
        route = self.routes.get(method) or self.routes.get(ANY_METHOD)
        if route is None:
            return None, set(self.routes)
        return MatchInfo(params, route), _NO_METHODS

    def url_for(self, **parts: str) -> URL:
        raise NotImplementedError

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<{type(self).__name__}{name} {self.canonical}>"


class PlainResource(Resource):
    """A literal path, compared as a string."""

    def __init__(self, path: str, name: str | None = None) -> None:
        super().__init__(name)
        self.canonical = path

    def match(self, path: str) -> dict[str, str] | None:
        return {} if path == self.canonical else None

    def url_for(self) -> URL:  # type: ignore[override]
        return URL.build(path=self.canonical, encoded=True)


class DynamicResource(Resource):
    """A path with `{name}` or `{name:regex}` variables, compiled to one regex."""

    def __init__(self, path: str, name: str | None = None) -> None:
        super().__init__(name)
        self.canonical = path
        regex = formatter = ""
        for part in _PLACEHOLDER.split(path):  # literal, variable, literal, ...
            var = _VARIABLE.fullmatch(part)
            if var is not None:
                regex += f"(?P<{var['name']}>{var['regex'] or _SEGMENT})"
                formatter += "{" + var["name"] + "}"
            elif "{" in part or "}" in part:
                raise ValueError(f"bad route path {path!r}: unbalanced braces in {part!r}")
            else:
                regex += re.escape(part)
                formatter += part
        try:
            self.pattern = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"bad regex in route path {path!r}: {exc}") from None
        self._formatter = formatter

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)  # type: ignore[union-attr]
        if found is None:
            return None
        return {key: _unquote_safe(value) for key, value in found.groupdict().items()}

    def url_for(self, **parts: str) -> URL:
        try:
            path = self._formatter.format_map({k: _quote(str(v)) for k, v in parts.items()})
        except KeyError as missing:
            raise KeyError(f"url_for() for {self.canonical!r} needs {missing.args[0]}=") from None
        return URL.build(path=path, encoded=True)


class StaticResource(Resource):
    """Files under a directory, served below a URL prefix, never from outside it."""

    def __init__(
        self,
        prefix: str,
        directory: str | Path,
        name: str | None = None,
        *,
        chunk_size: int = 256 * 1024,
    ) -> None:
        super().__init__(name)
        self.canonical = prefix.rstrip("/") or "/"
        self.chunk_size = chunk_size  # bytes read from the file per write
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise ValueError(f"static directory {str(directory)!r} does not exist")
        self.directory = directory.resolve()
        for method in ("GET", "HEAD"):
            self.routes[method] = Route(method, self._send_file, self)

    def match(self, path: str) -> dict[str, str] | None:
        prefix = self.canonical.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        return {"filename": _unquote_safe(path[len(prefix) :])}

    def url_for(self, *, filename: str) -> URL:  # type: ignore[override]
        return URL.build(path=self.canonical.rstrip("/") + "/" + _quote(filename), encoded=True)

    async def _send_file(self, request: Any) -> StreamResponse:
        filename = request.match_info["filename"]
        if "\0" in filename:  # no file name holds a NUL; the OS would refuse it anyway
            raise HTTPNotFound()
        # Resolving follows `..` and symlinks; what comes out must still be inside.
        target = (self.directory / filename).resolve()
        if not target.is_relative_to(self.directory):
            raise HTTPNotFound()
        if target.is_dir():
            raise HTTPForbidden()
        if not target.is_file():
            raise HTTPNotFound()
        return FileResponse(target, chunk_size=self.chunk_size)


class MatchInfo(dict):  # type: ignore[type-arg]
    """The route found for a request, and the variables its path captured."""

    def __init__(self, params: dict[str, str], route: Route) -> None:
        dict.__init__(self, params)
        self.route = route
        self.http_exception: HTTPException | None = None

    @property
    def handler(self) -> Handler:
        return self.route.handler

    def __repr__(self) -> str:
        return f"<MatchInfo {dict(self)}: {self.route!r}>"


class MatchInfoError(MatchInfo):
    """A miss: 404 or 405. Its handler raises the exception, inside the middlewares."""

    def __init__(self, http_exception: HTTPException) -> None:
        dict.__init__(self)
        self.route = None  # type: ignore[assignment]
        self.http_exception = http_exception

    @property
    def handler(self) -> Handler:
        async def raise_miss(request: Any) -> StreamResponse:
            raise self.http_exception

        raise_miss.__name__ = raise_miss.__qualname__ = (
            f"raise {type(self.http_exception).__name__}"
        )
        return raise_miss

    def __repr__(self) -> str:
        return f"<MatchInfoError {self.http_exception.status}: {self.http_exception.reason}>"


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
        self._frozen = False

    # --- registering ---------------------------------------------------------

    def _register(self, resource: Resource) -> Resource:
        if self._frozen:
            raise RuntimeError("cannot add routes after the application has started")
        _check_name(resource.name, self._named)
        if resource.name is not None:
            self._named[resource.name] = resource
        self._resources.append(resource)
        key = resource.canonical
        if "{" in key:  # `/users/{name}` is found under `/users`
            key = key.partition("{")[0].rpartition("/")[0]
        self._index.setdefault(key.rstrip("/") or "/", []).append(resource)
        return resource

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
    ) -> Resource:
        """Serve the files under `path` below `prefix`, with aiohttp's keywords.

        Any other keyword is a TypeError naming it, as on aiohttp. The three flags are
        accepted at their defaults, which is what sketch does; turned on, they are
        refused here rather than silently ignored on every request.
        """
        if not prefix.startswith("/"):
            raise ValueError(f"static prefix must start with '/', got {prefix!r}")
        flags = {"show_index": show_index, "follow_symlinks": follow_symlinks,
                 "append_version": append_version}  # fmt: skip
        for flag, value in flags.items():
            if value:
                raise NotImplementedError(f"add_static({flag}=True) is not implemented in sketch")
        return self._register(StaticResource(prefix, path, name, chunk_size=chunk_size))

    def add_routes(self, routes: Iterable[Any]) -> list[Route]:
        """Register RouteDefs: `web.get(...)` items or a RouteTableDef."""
        registered = []
        for route_def in routes:
            registered.extend(route_def.register(self))
        return registered

    def freeze(self) -> None:
        self._frozen = True

    # --- looking up ----------------------------------------------------------

    def candidates(self, path: str) -> Iterator[Resource]:
        """Resources to try for `path`, most specific prefix first (Rule 2)."""
        prefix = path
        while prefix:
            yield from self._index.get(prefix, ())
            if prefix == "/":
                return
            prefix = prefix.rpartition("/")[0] or "/"

    def resolve(self, request: Any, on_try: OnTry | None = None) -> MatchInfo:
        """The match for `request`; `on_try(resource, match, methods)` sees each try."""
        method, path = request.method, request.match_path
        allowed: set[str] = set()
        for resource in self.candidates(path):
            match, methods = resource.resolve(method, path)
            if on_try is not None:
                on_try(resource, match, methods)
            if match is not None:
                return match
            allowed |= methods
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
        return [route for resource in self._resources for route in resource.routes.values()]

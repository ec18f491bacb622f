"""Resources and routes: a path pattern, the methods routed on it, and what a match captured.

The rules they follow, and how the router picks among them, open sketch/routing.py
(Rule 1: a resource is a path pattern, a route is a method on it with its handler).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from typing import Any

from yarl import URL

from .checks import is_async_callable
from .exceptions import HTTPException
from .stream_response import StreamResponse
from .views import View

__all__ = [
    "Handler",
    "Route",
    "Resource",
    "PlainResource",
    "DynamicResource",
    "MatchInfo",
    "MatchInfoError",
]

Handler = Callable[[Any], Awaitable[StreamResponse]]

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
        self.canonical = ""  # the path as registered, for the index and for error messages
        self.pattern: re.Pattern[str] | None = None  # the compiled regex, when there is one

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
        match = MatchInfo(params)  # dict's own __init__, then its slots: no Python call
        match.route, match._subapp, match.http_exception = route, None, None
        return match, _NO_METHODS

    def url_for(self, **parts: str) -> URL:
        raise NotImplementedError

    def add_prefix(self, prefix: str) -> None:
        """Put `prefix` in front of the path: the app it is in was mounted there (subapp.py)."""
        self.canonical = prefix + self.canonical

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

    def add_prefix(self, prefix: str) -> None:
        super().add_prefix(prefix)
        self.pattern = re.compile(re.escape(prefix) + self.pattern.pattern)  # type: ignore[union-attr]
        self._formatter = prefix + self._formatter

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)  # type: ignore[union-attr]
        if found is None:
            return None
        params = found.groupdict()
        if "%" in path:  # only then can a value hold an escape left for matching
            params = {key: _unquote_safe(value) for key, value in params.items()}
        return params

    def url_for(self, **parts: str) -> URL:
        try:
            path = self._formatter.format_map({k: _quote(str(v)) for k, v in parts.items()})
        except KeyError as missing:
            raise KeyError(f"url_for() for {self.canonical!r} needs {missing.args[0]}=") from None
        return URL.build(path=path, encoded=True)


class MatchInfo(dict):  # type: ignore[type-arg]
    """The route found for a request, and the variables its path captured."""

    # Its attributes in slots, set right after the dict is made from the values (no
    # Python __init__: a match is made for every request). A slot costs less to set
    # than a per-instance dict, and no class-level default shadows them (Python 3.12+
    # specializes reading an attribute only when the class has none of that name).
    # A __dict__ still takes any other attribute.
    __slots__ = ("route", "_subapp", "http_exception", "__dict__")

    route: Route
    # The innermost sub-application the match was found in (subapp.py, Rule 3).
    _subapp: Any
    http_exception: HTTPException | None  # a miss's 404 or 405 (MatchInfoError)

    @property
    def handler(self) -> Handler:
        return self.route.handler

    @property
    def apps(self) -> tuple[Any, ...]:
        """The applications the match was found through, root first (aiohttp's).

        Known for a match inside a sub-application; empty for one found in the root
        app itself, which is then `request.app` (see docs/compatibility.md).
        """
        app, apps = self._subapp, []
        while app is not None:
            apps.append(app)
            app = app._parent
        return tuple(reversed(apps))

    def __repr__(self) -> str:
        return f"<MatchInfo {dict(self)}: {self.route!r}>"


class MatchInfoError(MatchInfo):
    """A miss: 404 or 405. Its handler raises the exception, inside the middlewares."""

    def __init__(self, http_exception: HTTPException) -> None:
        dict.__init__(self)
        self.route = None  # type: ignore[assignment]
        self._subapp = None
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

"""The guide's three routers, as its text has them, bugs included.

- UrlDispatcher, section "Application & UrlDispatcher": a dict keyed by (method, path).
  A path asked with a method it lacks is a 404; there is no 405.
- RouteParamsDispatcher, section "Route params": a loop over (method, pattern) that
  decides at the *first* route, with re.match, which anchors at the start only. So `/`
  swallows every path, no route after the first is ever tried, and its "not found" and
  "not allowed" answers carry the Response's default status, 200.
- ExceptionsDispatcher, section "Better exceptions": the same loop, raising HTTPNotFound
  and, for a wrong method, HTTPBadRequest: 400 where HTTP says 405.
"""

from __future__ import annotations

import re
from functools import partialmethod

from .exceptions import HTTPBadRequest, HTTPNotFound
from .request_response import Response

__all__ = ["UrlDispatcher", "RouteParamsDispatcher", "ExceptionsDispatcher"]


class UrlDispatcher:
    """Section "Application & UrlDispatcher": exact (method, path) keys; no 405."""

    def __init__(self):
        self._routes = {}

    async def _not_found(self, request):
        return Response(f"Not found {request.url} on this server", status=404)

    def add_route(self, method, path, handler):
        self._routes[(method, path)] = handler

    def resolve(self, request):
        key = (request.method, request.url.path)
        if key not in self._routes:
            return self._not_found
        return self._routes[key]


class RouteParamsDispatcher:
    """Section "Route params": resolve() decides at the first route it tries.

    Bugs: re.match matches the start of the path only, so a route `/` matches
    `/users/1`; a miss of the first route's pattern is "not found" and a miss of its
    method "not allowed", so later routes are never tried; both answers have status 200.
    """

    _param_regex = r"{(?P<param>\w+)}"

    def __init__(self):
        self._routes = {}

    async def _not_found(self, request):
        return Response(f"Could not find {request.url.raw_path}")  # status 200

    async def _method_not_allowed(self, request):
        return Response(f"{request.method} not allowed for {request.url.raw_path}")  # 200

    def resolve(self, request):
        for (method, pattern), handler in self._routes.items():
            match = re.match(pattern, request.url.raw_path)  # the start only

            if match is None:
                return None, self._not_found  # at the first route tried

            if method != request.method:
                return None, self._method_not_allowed

            return match.groupdict(), handler

    def _format_pattern(self, path):
        if not re.search(self._param_regex, path):
            return path

        regex = r""
        last_pos = 0

        for match in re.finditer(self._param_regex, path):
            regex += path[last_pos : match.start()]
            param = match.group("param")
            regex += r"(?P<%s>\w+)" % param  # noqa: UP031 (the guide's own formatting)
            last_pos = match.end()

        return regex

    def add_route(self, method, path, handler):
        pattern = self._format_pattern(path)
        self._routes[(method, pattern)] = handler

    add_get = partialmethod(add_route, "GET")
    add_post = partialmethod(add_route, "POST")
    add_put = partialmethod(add_route, "PUT")
    add_head = partialmethod(add_route, "HEAD")
    add_options = partialmethod(add_route, "OPTIONS")


class ExceptionsDispatcher(RouteParamsDispatcher):
    """Section "Better exceptions": the Route params loop, raising instead of returning.

    Bugs: those of RouteParamsDispatcher, and a wrong method raises HTTPBadRequest, a
    400 ("your request is malformed") where HTTP says 405 with Allow (RFC 9110 15.5.6).
    """

    def resolve(self, request):
        for (method, pattern), handler in self._routes.items():
            match = re.match(pattern, request.url.raw_path)

            if match is None:
                raise HTTPNotFound(reason=f"Could not find {request.url.raw_path}")

            if method != request.method:
                raise HTTPBadRequest(
                    reason=f"{request.method} not allowed for {request.url.raw_path}"
                )

            return match.groupdict(), handler

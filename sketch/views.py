"""Class-based views: one class per resource, one method per HTTP verb.

A View is routed like a handler (`router.add_view(path, UserView)`, `@routes.view`):
for each request the class is made with the request, and awaiting the object runs
the method named after the request's method in lower case (`GET` -> `get`). A verb
the class has no method for is a 405 whose `Allow` lists the verbs it has
(RFC 9110 15.5.6), as in aiohttp.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .exceptions import HTTPMethodNotAllowed

if TYPE_CHECKING:
    from .request import Request
    from .stream_response import StreamResponse

__all__ = ["View"]

# The verbs a View may answer: aiohttp's hdrs.METH_ALL. Any other is a 405.
VIEW_METHODS = ("CONNECT", "HEAD", "GET", "DELETE", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")


class View:
    """Subclass it and define `async def get(self)`, `post`, ...; `self.request` is the request."""

    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def request(self) -> Request:
        return self._request

    async def _dispatch(self) -> StreamResponse:
        method = self._request.method
        handler = getattr(self, method.lower(), None) if method in VIEW_METHODS else None
        if handler is None:
            allowed = {verb for verb in VIEW_METHODS if hasattr(self, verb.lower())}
            raise HTTPMethodNotAllowed(method, allowed)
        return await handler()

    def __await__(self) -> Generator[Any, None, StreamResponse]:
        # The router calls a handler and awaits what it returns: here, this object.
        return self._dispatch().__await__()

"""The answer to one request: its Task, the handler, the response on the wire.

The connection (protocol.py) decides *when* a request is answered; this module is
*how*. Each request runs in an asyncio Task of its own, with its own copy of the
context, as in aiohttp: `asyncio.timeout`, `current_task()` and context variables work
in a handler, and nothing one request sets is seen by the next.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .error_page import error_page
from .events import ResponseEnd
from .exceptions import HTTPException
from .request import Request
from .response import Response, StreamResponse

if TYPE_CHECKING:
    from .protocol import HttpProtocol

__all__ = ["answer", "start_task"]

logger = logging.getLogger("sketch.server")


async def answer(connection: HttpProtocol, request: Request) -> bool:
    """Run the handler and write its response. True if the connection stays open.

    This coroutine is the request's Task (`start_task` below makes it one).
    """
    server = connection.server
    writer = request._writer
    writer.sent = 0
    response: StreamResponse | None = None
    try:
        try:
            response = await server.handler(request)
        except HTTPException as exc:
            response = exc
        # (`type() is Response` first: StreamResponse is a MutableMapping, and isinstance
        # on an ABC's subclass goes through ABCMeta, which costs more than a request's
        # routing.)
        if type(response) is not Response and not isinstance(response, StreamResponse):
            raise TypeError(
                f"handler for {request.method} {request.path} returned {response!r}: "
                "a handler must return a Response (or raise an HTTPException)"
            )
        if response._request is not None and response._request is not request:
            raise RuntimeError(
                f"{handler_name(request, server.handler)} returned, for "
                f"{request.method} {request.path}, a response already sent for an earlier "
                "request: make a new Response each time the handler runs"
            )
        if response._send_at_once(request):  # the common case: no await needed
            if writer.paused:  # the client reads slower than we answer
                await writer.drain()
        else:
            await response.prepare(request)
            await response.write_eof()
    except ConnectionError:
        return False
    except Exception as exc:
        if connection.gone:
            return False  # the client left; there is nobody to tell
        logger.exception(
            "error handling %s %s from %s", request.method, request.raw_path, request.remote
        )
        if writer.sent:
            return False  # the head is out: a 500 can't follow it, closing is the answer
        accept = request.headers.get("Accept", "")
        response = error_page(exc, accept=accept, debug=server.debug)
        await response.prepare(request)
        await response.write_eof()
    # A body not read to its end would be parsed as the next request: close after it.
    keep_alive = bool(response._keep_alive) and request._complete
    tracer = connection.tracer
    if tracer.on:
        at = perf_counter()
        tracer.emit(
            ResponseEnd, at, connection.id, request.number, response.status, writer.sent, keep_alive
        )
    return keep_alive


if sys.version_info >= (3, 12):

    def start_task(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, bool]
    ) -> asyncio.Task[bool]:
        """A Task that runs at once, up to its first wait (as aiohttp does on 3.12+).

        A handler that never waits is done before this returns: no trip through the
        loop's queue, and still a real Task with its own context.
        """
        return asyncio.Task(coro, loop=loop, eager_start=True)

else:

    def start_task(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, bool]
    ) -> asyncio.Task[bool]:
        """A Task, run from the loop's next turn (Python 3.11 has no eager start)."""
        return loop.create_task(coro)


def handler_name(request: Request, default: object) -> str:
    """The handler the router chose for `request`, by name, for error messages."""
    handler = getattr(request.match_info, "handler", None) or default
    name = getattr(handler, "__qualname__", None) or getattr(handler, "__name__", None)
    return f"handler {name}" if name else f"handler {handler!r}"

"""The low-level server: a protocol factory that keeps count of its connections.

It accepts any `async def handler(request) -> response`; the Application is one such
handler, but a test or a chapter of the course can pass a bare function. It also owns
the graceful shutdown, in aiohttp's phases:

1. stop accepting (done by the site, which closes its listening socket);
2. `pre_shutdown()`: close the idle keep-alive connections, tell busy ones to close
   after the request in hand;
3. `shutdown(timeout)`: wait for in-flight requests, at most `timeout` seconds, then
   cancel whatever is still running.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import fields, replace
from time import monotonic, perf_counter
from typing import Any

from .events import ServerStop, ShutdownPhase, Tracer
from .framing import Limits
from .protocol import HttpProtocol
from .writer import Batch

__all__ = ["Server"]

logger = logging.getLogger("sketch.server")


class Server:
    """Makes one HttpProtocol per connection, all answering with `handler`."""

    def __init__(
        self,
        handler: Callable[[Any], Awaitable[Any]],
        *,
        client_max_size: int = 1024**2,
        debug: bool = False,
        limits: Limits | None = None,
        tracer: Tracer | None = None,
        **limit_overrides: Any,
    ) -> None:
        """`limit_overrides` set single fields of Limits: `Server(h, head_timeout=5)`."""
        self.handler = handler
        self.loop = asyncio.get_running_loop()
        self.client_max_size = client_max_size
        self.debug = debug
        known = {f.name for f in fields(Limits)}
        for name in limit_overrides:
            if name not in known:
                raise TypeError(f"unknown server limit {name!r}: choose from {sorted(known)}")
        self.limits = replace(limits or Limits(), **limit_overrides)
        self.connections: set[HttpProtocol] = set()
        self.shutting_down = False
        self.tracer = tracer or Tracer()
        self._connection_ids = itertools.count(1)
        # One sweeper checks every connection's deadline a few times per the shortest
        # timeout: cheaper than a timer per request, and precise enough for deadlines.
        shortest = min(
            self.limits.head_timeout, self.limits.body_timeout, self.limits.keepalive_timeout
        )
        self._sweep_every = min(1.0, max(0.01, shortest / 4))
        self._sweeper = self.loop.call_later(self._sweep_every, self._sweep)
        # Whole answers held by connections, sent at the start of the loop's next turn.
        self.batch = Batch(self.loop)

    def next_connection_id(self) -> int:
        return next(self._connection_ids)

    def _sweep(self) -> None:
        now = monotonic()  # the clock connections arm their deadlines with
        for connection in list(self.connections):
            if connection.deadline is not None and connection.deadline <= now:
                connection.deadline_passed()
        self._sweeper = self.loop.call_later(self._sweep_every, self._sweep)

    def __call__(self) -> HttpProtocol:
        """The protocol factory that `loop.create_server` calls for each connection."""
        return HttpProtocol(self)

    def _phase(self, phase: str, count: int) -> None:
        if self.tracer.on:
            self.tracer.emit(ShutdownPhase, perf_counter(), 0, 0, phase, count)

    def pre_shutdown(self) -> None:
        self.shutting_down = True
        self._phase("close idle", sum(c.idle for c in self.connections))
        websockets = sum(c.upgraded is not None for c in self.connections)
        if websockets:  # each gets a CLOSE with 1001, going away (RFC 6455 7.4.1)
            self._phase("close websockets", websockets)
        for connection in list(self.connections):
            connection.shutdown()

    async def shutdown(self, timeout: float | None = 60.0) -> int:
        """Wait for in-flight requests; cancel those still running after `timeout`.

        Returns how many requests had to be cancelled.
        """
        if not self.shutting_down:
            self.pre_shutdown()
        tasks = {c.task for c in self.connections if c.task is not None}
        self._phase("drain", len(tasks))
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
        else:
            pending = set()
        if pending:
            self._phase("cancel", len(pending))
            logger.warning(
                "shutdown: %d request(s) still running after %ss, cancelling them",
                len(pending),
                timeout,
            )
        for connection in list(self.connections):
            connection.abort()
        self._sweeper.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)  # let their finally blocks run
        if self.tracer.on:
            self.tracer.emit(ServerStop, perf_counter(), 0, 0, len(pending))
        return len(pending)

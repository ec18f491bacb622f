"""Run a coroutine right away, and make it a Task only if it has to wait.

Most handlers never wait for anything: they build a response from the request and
return. A Task for each of them costs a scheduling round-trip through the event loop
and an object to create and destroy, for nothing. So the protocol runs the answering
coroutine directly, up to its first real suspension; only a coroutine that suspends
(it awaits a body still arriving, a database, a sleep) is handed to a Task, which
carries on from where it stopped.

Python 3.12 has this built in (`asyncio.eager_task_factory`); sketch supports 3.10,
and the mechanism fits in this page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["start_eagerly"]


def start_eagerly(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
) -> asyncio.Task[None] | None:
    """Run `coro` until it finishes (return None) or first waits (return its Task)."""
    try:
        waiting_on = coro.send(None)  # what an `await` deep inside handed up: a future
    except StopIteration:
        return None  # done without ever waiting
    return loop.create_task(_carry_on(coro, waiting_on))


async def _carry_on(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    await _Suspended(coro, waiting_on)


class _Suspended:
    """A coroutine paused on `waiting_on`, awaitable by the Task that takes it over."""

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting_on = self.coro, self.waiting_on
        while True:
            # Hand the future up to the Task, exactly as the inner `await` would have;
            # the Task resumes us when it is done, or throws in a cancellation.
            try:
                sent = yield waiting_on
            except BaseException as exc:
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration:
                    return

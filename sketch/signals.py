"""Lifecycle hooks: lists of async callbacks the runner sends at startup, shutdown, cleanup.

`Signal` is a list of `async def callback(*args)`, sent in order. `CleanupContext` holds
async generators (or async context managers): the part before `yield` runs at startup,
the part after at cleanup, in reverse order. When the app's tracer is on, every
callback reports its start, its end and how long it took (events.HookStart / HookEnd).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from time import perf_counter
from typing import Any

from .checks import is_async_callable
from .events import HookEnd, HookStart, Tracer, error_text

__all__ = ["Signal", "CleanupContext"]


def _name(callback: Any) -> str:
    return getattr(callback, "__qualname__", None) or repr(callback)


async def _run_traced(
    tracer: Tracer, ids: tuple[int, int], signal: str, name: str, call: Any
) -> Any:
    """Await `call()` between a HookStart and a HookEnd event."""
    tracer.emit(HookStart, perf_counter(), *ids, signal, name)
    started, error = perf_counter(), ""
    try:
        return await call()
    except StopAsyncIteration:
        raise  # a cleanup context that finished: its normal end, not an error
    except BaseException as exc:
        error = error_text(exc)
        raise
    finally:
        tracer.emit(HookEnd, perf_counter(), *ids, signal, name, perf_counter() - started, error)


class Signal(list):  # type: ignore[type-arg]
    """A list of async callbacks, sent in order; frozen once the app starts."""

    def __init__(self, name: str, tracer: Tracer | None = None) -> None:
        super().__init__()
        self.name = name
        self.frozen = False
        self.tracer = tracer or Tracer()

    def _check(self, callback: Any) -> Any:
        if self.frozen:
            raise RuntimeError(f"cannot add to {self.name} after the application has started")
        if not is_async_callable(callback):
            raise TypeError(f"{self.name} callbacks must be async functions, got {callback!r}")
        return callback

    def append(self, callback: Any) -> None:
        super().append(self._check(callback))

    def insert(self, index: Any, callback: Any) -> None:
        super().insert(index, self._check(callback))

    def extend(self, callbacks: Any) -> None:
        for callback in callbacks:
            self.append(callback)

    async def send(self, *args: Any) -> None:
        for callback in self:
            if self.tracer.on:
                # A hook about a request (on_response_prepare) is filed under it.
                ids = getattr(args[0], "trace_ids", (0, 0)) if args else (0, 0)
                name = _name(callback)
                if name.startswith("CleanupContext."):
                    await callback(*args)  # it reports each of its contexts itself
                else:
                    await _run_traced(self.tracer, ids, self.name, name, partial(callback, *args))
            else:
                await callback(*args)


async def _finish(iterator: AsyncIterator[None]) -> None:
    """An async generator's teardown: the rest of it, after its one `yield`."""
    try:
        await iterator.__anext__()
    except StopAsyncIteration:
        return
    raise RuntimeError(f"{iterator!r} has more than one 'yield'")


def _is_context_factory(ctx: Any) -> bool:
    """An async generator function, or what makes an async context manager from an app:
    a function under @contextlib.asynccontextmanager (the form aiohttp's docs use; it
    wraps an async generator function) or a class with __aenter__ and __aexit__."""
    if inspect.isclass(ctx):
        return issubclass(ctx, AbstractAsyncContextManager)
    return inspect.isasyncgenfunction(inspect.unwrap(ctx))


class CleanupContext(list):  # type: ignore[type-arg]
    """Async generators, or async context managers, made from the app at startup.

    A generator sets up before its `yield` and tears down after it; a context manager
    in its __aenter__ and its __aexit__.
    """

    def __init__(self, tracer: Tracer | None = None) -> None:
        super().__init__()
        # What each running context needs to tear down, by name, in startup order.
        self._running: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        self.tracer = tracer or Tracer()

    def append(self, ctx: Callable[[Any], Any]) -> None:
        if not _is_context_factory(ctx):
            raise TypeError(
                f"cleanup_ctx takes async generator functions "
                f"(`async def ctx(app): ...; yield; ...`) or async context managers "
                f"(@contextlib.asynccontextmanager), got {ctx!r}"
            )
        super().append(ctx)

    async def _step(self, name: str, call: Callable[[], Awaitable[Any]]) -> None:
        if self.tracer.on:
            await _run_traced(self.tracer, (0, 0), "cleanup_ctx", name, call)
        else:
            await call()

    async def _on_startup(self, app: Any) -> None:
        for ctx in self:
            made = ctx(app)
            if isinstance(made, AbstractAsyncContextManager):
                await self._step(_name(ctx), made.__aenter__)
                teardown = partial(made.__aexit__, None, None, None)
            else:
                iterator = made.__aiter__()
                await self._step(_name(ctx), iterator.__anext__)
                teardown = partial(_finish, iterator)
            self._running.append((_name(ctx), teardown))

    async def _on_cleanup(self, app: Any) -> None:
        errors = []
        for name, teardown in reversed(self._running):
            try:
                await self._step(name, teardown)
            except Exception as exc:  # every context gets its turn to clean up
                errors.append(exc)
        self._running.clear()
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise RuntimeError(f"{len(errors)} cleanup contexts failed: {errors!r}") from errors[0]

"""Lifecycle hooks: lists of async callbacks the runner sends at startup, shutdown, cleanup.

`Signal` is a list of `async def callback(*args)`, sent in order. `CleanupContext` holds
async generators: the part before `yield` runs at startup, the part after at cleanup,
in reverse order. When the app's tracer is on, every callback reports its start, its
end and how long it took (events.HookStart / HookEnd).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
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
    tracer.emit(HookStart(perf_counter(), *ids, signal, name))
    started, error = perf_counter(), ""
    try:
        return await call()
    except StopAsyncIteration:
        raise  # a cleanup context that finished: its normal end, not an error
    except BaseException as exc:
        error = error_text(exc)
        raise
    finally:
        tracer.emit(HookEnd(perf_counter(), *ids, signal, name, perf_counter() - started, error))


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


class CleanupContext(list):  # type: ignore[type-arg]
    """Async generators that set up before `yield` and tear down after it."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        super().__init__()
        self._running: list[tuple[str, AsyncIterator[None]]] = []
        self.tracer = tracer or Tracer()

    def append(self, ctx: Callable[[Any], AsyncIterator[None]]) -> None:
        if not inspect.isasyncgenfunction(ctx):
            raise TypeError(
                f"cleanup_ctx takes async generator functions "
                f"(`async def ctx(app): ...; yield; ...`), got {ctx!r}"
            )
        super().append(ctx)

    async def _step(self, name: str, iterator: AsyncIterator[None]) -> None:
        if self.tracer.on:
            await _run_traced(self.tracer, (0, 0), "cleanup_ctx", name, iterator.__anext__)
        else:
            await iterator.__anext__()

    async def _on_startup(self, app: Any) -> None:
        for ctx in self:
            iterator = ctx(app).__aiter__()
            await self._step(_name(ctx), iterator)
            self._running.append((_name(ctx), iterator))

    async def _on_cleanup(self, app: Any) -> None:
        errors = []
        for name, iterator in reversed(self._running):
            try:
                await self._step(name, iterator)
            except StopAsyncIteration:
                continue
            except Exception as exc:  # every context gets its turn to clean up
                errors.append(exc)
            else:
                errors.append(RuntimeError(f"{iterator!r} has more than one 'yield'"))
        self._running.clear()
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise RuntimeError(f"{len(errors)} cleanup contexts failed: {errors!r}") from errors[0]

"""Checks that make misconfiguration fail where it is written, not on the first request."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["is_async_callable"]


def is_async_callable(obj: Any) -> bool:
    """True for `async def` functions, and for objects whose `__call__` is one."""
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - the method, not callable()
    return call is not None and inspect.iscoroutinefunction(call)

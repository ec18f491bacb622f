"""Loading the learner's framework, diy, afresh from its files, and serving it to a check.

A check names the parts it needs as (chapter, module, name); `check_build` imports them
from `diy/` in the notebook's folder, says "not yet" for a stub (and names the chapter
to finish for a part of an earlier one), then runs the test through checks.check,
which prints the one-line verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from checks import FAILED, NOT_YET, Problem, check
from diy_magic import PACKAGE, forget

from .raised import LoopErrors, describe

WAIT = 1.0  # seconds a client waits for an answer before it says there was none

Part = tuple[str, str, str]  # (chapter, module, name): ("01", "protocol", "start_server")


def import_part(folder: Path, module: str) -> Any:
    """diy.<module> from `folder`, read from its file now; None if there is no file."""
    where = str(folder)
    if sys.path[:1] != [where]:
        with contextlib.suppress(ValueError):
            sys.path.remove(where)
        sys.path.insert(0, where)
    if not (folder / PACKAGE / f"{module}.py").exists():
        return None
    if module == "__init__":  # the package itself: `from diy import ...`
        return importlib.import_module(PACKAGE)
    return importlib.import_module(f"{PACKAGE}.{module}")


async def check_build(
    title: str,
    test: Callable[..., Awaitable[None]],
    parts: list[Part],
    chapter: str,
    folder: Path | None,
) -> None:
    """Load `parts` from diy/, then run `test(*objects)` through checks.check."""
    folder = folder or Path.cwd()
    forget()
    found = []
    for part_chapter, module, name in parts:
        where = f"{PACKAGE}/{module}.py"
        try:
            loaded = import_part(folder, module)
        except Exception as exc:  # the learner's module does not even import
            print(f"{FAILED} {title}: {where} does not import: {type(exc).__name__}: {exc}")
            return
        value = getattr(loaded, name, None)
        if value is None or value is ...:
            if part_chapter == chapter:
                hint = f"write {name} in the build cell above ({where}), then run this again"
            else:
                hint = (
                    f"finish chapter {part_chapter} first: {where} has no {name} yet "
                    "(run that chapter's build cell in this same folder)"
                )
            print(f"{NOT_YET} {title}: {hint}")
            return
        found.append(value)
    await check(title, _guarded(test), *found)


def _guarded(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """`test`, with what the learner's code raised inside the server named in its verdict.

    A check sees the symptom (no answer, a 500, a layer that never ran); the cause is
    often an exception in the learner's code, caught and logged by their own server. Say
    that first, in words: its type, its message, its line in diy/.
    """

    async def run(*parts: Any) -> None:
        with LoopErrors() as errors:
            try:
                await test(*parts)
            except Problem as problem:
                raised = errors.learners_exception()
                if raised and raised.split(", at ")[0] not in str(problem):
                    raise Problem(
                        f"your code raised {raised}, while the check's requests were "
                        f"served. What the check saw then: {problem}"
                    ) from None
                raise
            except Exception as error:  # raised straight at the check: where, too
                raise Problem(f"your code raised {describe(error)}") from None

    return run


async def close_all(server: Any, writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    if hasattr(server, "close"):
        closing = server.close()
        if inspect.isawaitable(closing):  # chapter 07's serve() returns its own server
            await closing
        if hasattr(server, "wait_closed"):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), WAIT)


def port_of(server: Any, name: str) -> int:
    if not getattr(server, "sockets", None):
        raise Problem(
            f"{name} returned {server!r}: return the server loop.create_server gives you, "
            "so that its caller can find its port and close it"
        )
    return server.sockets[0].getsockname()[1]


RESPONSE: list[type] = []


def own_response(request: Any, text: str, status: int = 200) -> Any:
    """The learner's own Response, as their handlers make it."""
    return RESPONSE[0](text, status=status)


# What every chapter from 04 on stands on: the earlier chapters' parts, by chapter.
FOUNDATION: list[Part] = [
    ("01", "protocol", "start_server"),
    ("02", "server", "Server"),
    ("03", "request", "Request"),
    ("03", "response", "Response"),
]


def on_app(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """test(Application, serve, *more), given the foundation's parts before them."""

    async def run(start_server: Any, Server: Any, Request: Any, Response: Any, *parts: Any):
        RESPONSE[:] = [Response]
        await test(*parts)

    return run

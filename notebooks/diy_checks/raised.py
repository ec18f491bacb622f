"""What the learner's code raised inside the server while a check ran, in plain words.

A check's verdict names the learner's exception and where in diy/ it was raised
("ZeroDivisionError: division by zero, at diy/middleware.py line 22 (the build cell's
line 23, in wrap_handler)"), never a traceback: tracebacks logged meanwhile are kept,
not printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
import traceback
from pathlib import Path
from typing import Any

from diy_magic import PACKAGE

__all__ = ["LoopErrors", "describe"]

_ACTIVE: list[LoopErrors] = []


class _Keep(logging.Handler):
    """A logging handler that keeps the records (with their exceptions) and prints none."""

    def __init__(self, kept: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.kept = kept

    def emit(self, record: logging.LogRecord) -> None:
        self.kept.append(record)


def _in_diy(error: BaseException | None) -> str:
    """Where in diy/ `error` was raised: "diy/server.py line 12 (the build cell's line
    13, in data_received)".

    The innermost frame of the learner's package counts, unless a frame of the check's
    own code is inside it: an exception a check's handler raises on purpose (a bug the
    learner's framework must answer with a 500) is not the learner's.
    """
    if error is None or error.__traceback__ is None:
        return ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        parts = Path(frame.filename).parts
        if "diy_checks" in parts:
            return ""
        if PACKAGE in parts[:-1]:
            # The build cell's first line, `%%diy <module>.py`, is not written to the
            # file: in the cell, the line is one further down.
            cell_line = frame.lineno + 1
            return (
                f"{PACKAGE}/{parts[-1]} line {frame.lineno} "
                f"(the build cell's line {cell_line}, in {frame.name})"
            )
    return ""


def describe(error: BaseException) -> str:
    """The exception in words, with where in diy/ it was raised when it was."""
    where = _in_diy(error)
    return f"{type(error).__name__}: {error}" + (f", at {where}" if where else "")


class LoopErrors:
    """What the learner's code raised while a check runs, kept to explain, never printed.

    Two ways an exception inside a server reaches anyone: the loop's exception handler
    (a protocol callback that raised, a Task's exception never retrieved) and logging
    (`logger.exception(...)` in the learner's Task). Both are kept here instead of being
    printed as tracebacks, and stderr is held too. Nested uses share the outermost's.
    """

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []  # the loop's exception handler's contexts
        self.logged: list[logging.LogRecord] = []
        self.nested = False

    def __enter__(self) -> LoopErrors:
        if _ACTIVE:  # inside another: one record of what was raised, one set of swaps
            self.seen, self.logged, self.nested = _ACTIVE[-1].seen, _ACTIVE[-1].logged, True
            return self
        self.loop = asyncio.get_running_loop()
        self.before = self.loop.get_exception_handler()
        self.loop.set_exception_handler(lambda loop, context: self.seen.append(context))
        root = logging.getLogger()
        self.handlers = root.handlers[:]
        root.handlers = [_Keep(self.logged)]
        self.stderr = contextlib.redirect_stderr(io.StringIO())
        self.stderr.__enter__()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.nested:
            return
        gc.collect()  # a Task nobody kept reports its lost exception when it is collected
        _ACTIVE.remove(self)
        self.stderr.__exit__(None, None, None)
        logging.getLogger().handlers = self.handlers
        self.loop.set_exception_handler(self.before)

    def learners_exception(self) -> str:
        """The first exception raised in the learner's diy/ code, in words, or ''."""
        gc.collect()
        errors = [context.get("exception") for context in self.seen]
        errors += [record.exc_info[1] for record in self.logged if record.exc_info]
        for error in errors:
            where = _in_diy(error)
            if where:
                return f"{type(error).__name__}: {error}, at {where}"
        return ""

    def explain(self) -> str:
        """The first error the loop saw, in words, or ''."""
        gc.collect()
        for context in self.seen:
            error = context.get("exception")
            message = context.get("message", "")
            if error is None:
                continue
            what = f"{type(error).__name__}: {error}"
            if "never retrieved" in message:
                return (
                    f"the handler's Task ended with {what}, and nobody retrieved that "
                    "exception, so the client was never answered: catch it in the Task "
                    "and answer 500"
                )
            if "data_received" in message:
                if isinstance(error, RuntimeError) and "loop" in str(error):
                    return (
                        f"data_received failed with {what}: hand_off runs inside the loop "
                        "that is already running, so it cannot run the handler to its end "
                        "(asyncio.run, run_until_complete): start a Task with "
                        "loop.create_task(...) and return at once"
                    )
                return (
                    f"data_received failed with {what}: the Server calls its handler "
                    "synchronously and writes the bytes it returns, so hand_off must start "
                    "a Task for the async handler and return b'' at once"
                )
            return f"the loop reported {message!r}: {what}"
        return ""

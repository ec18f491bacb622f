"""Chapter 10: the guide's sample application, on your framework."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from checks import NOT_YET, Problem

from .client import LoopErrors, ask, expect
from .serving import (
    FOUNDATION,
    check_build,
    close_all,
    on_app,
    port_of,
)
from .traced import raised_in, watch

SAMPLE = "app.py"  # the guide's sample application, as chapter 10 writes it


def _load_sample(folder: Path) -> Any:
    """Run app.py as a module (not as __main__, so its run_app(app) does not run)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("diy_sample_app", folder / SAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _sample_app(Application: type, folder: Path) -> None:
    import io

    import diy

    wanted = ["Application", "HTTPNotFound", "Response", "middleware", "run_app", "serve"]
    missing = [name for name in wanted if getattr(diy, name, None) is None]
    if missing:
        raise Problem(
            f"diy has no {', '.join(missing)}: the sample app's line `from diy import "
            "Application, HTTPNotFound, Response, middleware, run_app` fails. Import them "
            "into diy/__init__.py (and serve, for the notebook)"
        )
    try:
        sample = _load_sample(folder)
    except Exception as exc:
        raise Problem(f"{SAMPLE} does not run on diy: {type(exc).__name__}: {exc}")
    printed = io.StringIO()
    writers: list[asyncio.StreamWriter] = []
    trace = watch(sample.app)  # what your framework did with each request, seen from outside
    with LoopErrors() as errors, contextlib.redirect_stdout(printed):
        server = await diy.serve(sample.app, "127.0.0.1", 0)
        try:
            port = port_of(server, "serve")
            got = expect(
                await ask(port, "GET", "/john_doe", writers), "GET", "/john_doe", 200, errors
            )
            if got.text != "Welcome, john_doe!":
                raise Problem(f"GET /john_doe answered {got.text!r}, not 'Welcome, john_doe!'")
            if "Received request to /john_doe" not in printed.getvalue():
                raise Problem("GET /john_doe did not go through the sample's log_middleware")
            got = await ask(port, "GET", "/bob", writers)
            if got is not None and got.status == 500:
                layer, error = raised_in(trace.find("GET", "/bob") if trace else None)
                seen = f"the trace shows {layer} raised {error[:60]!r}" if layer else ""
                raise Problem(
                    f"GET /bob, an unknown user, got a 500: "
                    f"{seen or 'the handler raises HTTPNotFound'}, and the Application must "
                    "send it, it is the answer (chapter 08)"
                )
            expect(got, "GET", "/bob", 404, errors)
            got = await ask(port, "POST", "/john_doe", writers)
            if got is not None and got.status == 404:
                raise Problem(
                    "POST /john_doe got 404: /{username} has a route, for GET only, so a "
                    "POST is a 405 Method Not Allowed (chapter 04)"
                )
            got = expect(got, "POST", "/john_doe", 405, errors)
            connection = await asyncio.open_connection("127.0.0.1", port)
            writers.append(connection[1])
            for turn in ("first", "second"):
                got = await ask(port, "GET", "/john_doe", writers, connection)
                if got is None:
                    raise Problem(
                        f"the {turn} request on one connection got no answer{_closed(trace)}: "
                        "keep the connection open after a response, a client may send another"
                    )
                expect(got, "GET", "/john_doe", 200, errors)
        finally:
            await close_all(server, writers)


def _closed(trace: Any) -> str:
    """', and the trace shows your server closed it after 1 answer', or ''."""
    if trace is None or not trace.connections:
        return ""
    last = trace.connections[-1]  # the check's connection: opened last, never closed by it
    if last.closed is None:
        return ""
    answered = sum(1 for t in trace.recent if t.conn == last.conn and t.end is not None)
    return (
        f", and the trace shows your server closed the connection after {answered} "
        f"answer{'s' if answered != 1 else ''}"
    )


async def check_sample_app(folder: Path | None = None) -> None:
    """Chapter 10: diy/__init__.py, and the guide's sample application served by diy."""
    folder = folder or Path.cwd()
    title = "the guide's sample application, unchanged, served by your framework"
    if not (folder / SAMPLE).exists():
        print(f"{NOT_YET} {title}: run the cell above that writes {SAMPLE}")
        return

    async def test(*parts: Any) -> None:
        await on_app(_sample_app)(*parts, folder)

    await check_build(
        title,
        test,
        FOUNDATION + [("10", "__init__", "Application")],
        "10",
        folder,
    )

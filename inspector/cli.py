"""The inspector's command line: serve an app with its trace, replay a recording, demo.

    python -m inspector serve FILE_OR_MODULE:APP_OR_FACTORY [--host H] [--port P] [--record F]
                              [--show-secrets]
    python -m inspector replay FILE [--view tree|ruler|whynot|onion|websocket|all] [--show-secrets]
    python -m inspector picture FILE journey|connections [--request 'GET /path'] [--out F.svg]
    python -m inspector demo

On a terminal, `serve` shows a live dashboard and the latest request's tree; when
stdout is not a terminal (a pipe, a log file, CI) it prints each request's tree as it
finishes, and each hook and shutdown phase as it happens. Ctrl-C shuts down gracefully,
on Windows too (where the loop has no signal handlers). Cookies, Authorization and
secret query values are masked in what is shown and recorded, unless --show-secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from sketch import events as ev
from sketch import web

from .connections import connections
from .diy import serve_function, tracer_of
from .journey import journey
from .model import Model
from .record import Recorder, load
from .server_views import Screen, Timeline
from .views import RequestTree, view_of

__all__ = ["main", "load_app"]


class UsageError(Exception):
    """A mistake in the command line, reported in one line with the fix."""


async def load_app(spec: str) -> Any:
    """`examples/sample_app.py:make_app` or `package.module:app` -> an Application.

    A sketch Application, or one of the learner's framework, diy: an app with a router.
    """
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise UsageError(
            f"expected FILE_OR_MODULE:APP_OR_FACTORY, like examples/sample_app.py:make_app, "
            f"got {spec!r}"
        )
    if where.endswith(".py") or "/" in where:
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"no such file: {where!r}")
        sys.path.insert(0, str(path.parent.resolve()))  # so it can import its neighbours
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise UsageError(f"cannot import {where!r}: {exc}") from None
    try:
        found = getattr(module, name)
    except AttributeError:
        raise UsageError(f"{where!r} has no {name!r}") from None
    if not _is_app(found) and callable(found):
        found = found()  # a factory
        if inspect.isawaitable(found):
            found = await found
    if not _is_app(found):
        raise UsageError(
            f"{spec!r} is not an Application (sketch's or diy's) nor a factory that returns one"
        )
    return found


def _is_app(found: Any) -> bool:
    return isinstance(found, web.Application) or hasattr(found, "router")


def _plain_printer(console: Console):
    """Subscriber for a non-terminal: one line per hook and phase, a tree per request."""

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.HookEnd) and event.conn == 0:
            error = f"  error: {event.error}" if event.error else ""
            console.print(
                f"hook {event.signal} {event.callback} {event.elapsed * 1000:.2f} ms{error}"
            )
        elif isinstance(event, ev.ServerStart):
            console.print(f"listening on {event.url}")
        elif isinstance(event, ev.ShutdownPhase):
            console.print(f"shutdown: {event.phase} ({event.count})")
        elif isinstance(event, ev.ServerStop):
            console.print(f"server stopped, {event.cancelled} request(s) cancelled")

    return on_event


async def serve(
    spec: str,
    host: str,
    port: int,
    record: str | None,
    live: bool | None,
    reveal: bool = False,
) -> None:
    console = Console()
    live = console.is_terminal if live is None else live
    app = await load_app(spec)
    model = Model(reveal=reveal)
    tracer = tracer_of(app)  # the app's own, or one that watches the learner's framework
    for what in getattr(tracer, "unseen", ()):
        console.print(f"not seen: {what}", style="yellow")
    tracer.subscribe(model.feed_fields, safe=True, fields=True)
    recorder = Recorder(record, reveal=reveal) if record else None
    if recorder is not None:
        tracer.subscribe(recorder)
    # A log is read with grep: one line per item, never wrapped.
    plain = Console(color_system=None, width=1000) if not live else None
    if plain is not None:
        tracer.subscribe(_plain_printer(plain))
        model.listeners.append(lambda trace: plain.print(RequestTree(trace)))
    display = (
        Live(_screen(model), console=console, auto_refresh=False, transient=False) if live else None
    )
    stop = asyncio.Event()
    handlers = _add_signal_handlers(asyncio.get_running_loop(), stop.set)
    close = None
    try:
        name, close = await _start(app, host, port)
        print(f"======== Running on {name} ========\n(Press CTRL+C to quit)", flush=True)
        try:
            if display is not None:
                display.start()
                await _redraw_until(stop, model, display)
            else:
                await stop.wait()
        except asyncio.CancelledError:
            if handlers:
                raise
            # No signal handlers (Windows): asyncio.run turned Ctrl-C into this
            # cancellation. It means stop: shut down gracefully below, then return.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
    finally:
        if close is not None:
            await close()
        if recorder is not None:
            recorder.close()
        if display is not None and display.is_started:
            # The last state drawn is the server's last: after it closed.
            await _connections_closed(model)
            display.update(_screen(model), refresh=True)
            display.stop()
        if live:
            console.print(_last_requests_timeline(model))


async def _start(app: Any, host: str, port: int) -> tuple[str, Any]:
    """Serve `app` on the running loop: (where it listens, the coroutine that closes it).

    A sketch app runs on sketch's runner; the learner's runs on their own serve().
    """
    if isinstance(app, web.Application):
        runner = web.AppRunner(app)
        try:
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        return site.name, runner.cleanup
    try:
        serve_app = serve_function(app)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    served = await serve_app(app, host, port)
    return getattr(served, "url", f"http://{host}:{port}"), served.close


def _add_signal_handlers(loop: asyncio.AbstractEventLoop, callback: Any) -> bool:
    """SIGINT and SIGTERM call `callback`; False where the loop cannot (Windows).

    Without handlers, Ctrl-C reaches the program as asyncio.run delivers it: the main
    task is cancelled (or KeyboardInterrupt is raised), and serve() stops on that.
    """
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, callback)
    except NotImplementedError:
        return False
    return True


def _screen(model: Model) -> Screen:
    """What the live view draws: fit to the terminal, so that nothing that matters is cut."""
    return Screen(model, now=asyncio.get_running_loop().time())


async def _redraw_until(stop: asyncio.Event, model: Model, live: Live) -> None:
    """Redraw a few times a second from the loop, however many requests arrive."""
    while not stop.is_set():
        live.update(_screen(model), refresh=True)
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass


async def _connections_closed(model: Model, timeout: float = 0.5) -> None:
    """Let the connections the shutdown closed report it (a close takes a loop turn)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while model.server.connections_open and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


def _last_requests_timeline(model: Model, shown: int = 10) -> Group | Timeline:
    """The timeline printed at Ctrl-C: the last `shown` requests, saying what is left out."""
    requests = list(model.recent)
    timeline = Timeline(model.server, requests[-shown:])
    left_out = model.server.requests_total - min(shown, len(requests))
    if left_out <= 0:
        return timeline
    note = f"{left_out} earlier request{'s' if left_out != 1 else ''} not shown"
    return Group(timeline, Text(note, style="dim"))


def replay(path: str, view: str, reveal: bool = False) -> None:
    console = Console()
    model = Model(keep=100_000, reveal=reveal)
    for event in load(path):
        model.feed(event)
    for trace in model.recent:
        console.print(view_of(trace, view))
    console.print(Timeline(model.server, model.recent))


def picture(path: str, kind: str, request: str, out: str | None, reveal: bool = False) -> Path:
    """Draw a recording as an SVG picture: one request's journey, or its connections."""
    model = Model(keep=100_000, reveal=reveal)
    for event in load(path):
        model.feed(event)
    if kind == "connections":
        drawn = connections(model)
    else:
        method, _, target = request.partition(" ")
        if method.startswith("/"):  # a path alone
            method, target = "", method
        trace = model.find(method, target)
        if trace is None:
            seen = ", ".join(sorted({f"{t.method} {t.target}" for t in model.recent})) or "none"
            raise UsageError(f"no request {request!r} in {path!r}; it has: {seen}")
        drawn = journey(trace)
    target_path = Path(out) if out else Path(path).with_suffix(f".{kind}.svg")
    drawn.save(target_path)
    print(f"{drawn!r}\nwritten to {target_path}")
    return target_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inspector", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run an app and trace every request")
    serve_parser.add_argument("app", help="FILE_OR_MODULE:APP_OR_FACTORY")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8080)
    serve_parser.add_argument("--record", metavar="FILE", help="write every event as JSON lines")
    serve_parser.add_argument("--plain", action="store_true", help="a log, even on a terminal")
    secrets_help = "show cookie, authorization and token values (masked by default)"
    serve_parser.add_argument("--show-secrets", action="store_true", help=secrets_help)
    replay_parser = commands.add_parser("replay", help="draw a recording, no server needed")
    replay_parser.add_argument("file")
    replay_parser.add_argument(
        "--view", default="tree", help="tree, ruler, whynot, onion, websocket or all"
    )
    replay_parser.add_argument("--show-secrets", action="store_true", help=secrets_help)
    picture_parser = commands.add_parser("picture", help="draw a recording as an SVG picture")
    picture_parser.add_argument("file", help="a recording, from serve --record FILE")
    picture_parser.add_argument(
        "kind", choices=("journey", "connections"), help="one request's journey, or connections"
    )
    picture_parser.add_argument(
        "--request", default="", help="for journey: 'METHOD /path' (default: the last request)"
    )
    picture_parser.add_argument("--out", metavar="FILE", help="default: FILE.KIND.svg beside it")
    picture_parser.add_argument("--show-secrets", action="store_true", help=secrets_help)
    commands.add_parser("demo", help="a scripted tour of every view, in seconds")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            try:
                asyncio.run(
                    serve(
                        args.app,
                        args.host,
                        args.port,
                        args.record,
                        False if args.plain else None,
                        args.show_secrets,
                    )
                )
            except KeyboardInterrupt:  # Ctrl-C where the loop has no signal handlers
                pass
        elif args.command == "replay":
            replay(args.file, args.view, args.show_secrets)
        elif args.command == "picture":
            picture(args.file, args.kind, args.request, args.out, args.show_secrets)
        else:
            from .demo import run_demo

            asyncio.run(run_demo())
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0

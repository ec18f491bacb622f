"""Running an application: on a loop that is already running, or blocking in a script.

- `AppRunner(app)` -> `await runner.setup()` -> `TCPSite(runner, host, port)` ->
  `await site.start()` ... `await runner.cleanup()`: non-blocking, on the running loop
  (a notebook's, a test's).
- `await serve(app, port=0)`: the same in one call, returning an object with `.url`.
- `run_app(app)`: for scripts. Owns the loop, blocks until SIGINT or SIGTERM, then
  shuts down gracefully and returns, so the process exits 0. Where the loop cannot
  install signal handlers (Windows), Ctrl-C does the same through asyncio.run.

Startup runs the app's hooks and freezes it; cleanup stops the sites, closes idle
connections, runs on_shutdown, waits for in-flight requests (`shutdown_timeout`), then
runs on_cleanup. Each of these happens once, however cleanup is reached.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from time import perf_counter
from typing import Any

from yarl import URL

from .app import Application
from .events import ServerStart, ShutdownPhase, Tracer
from .server import Server

__all__ = [
    "AppRunner",
    "ServerRunner",
    "TCPSite",
    "UnixSite",
    "RunningServer",
    "serve",
    "run_app",
]


class ServerRunner:
    """Runs a bare `async def handler(request)`, with no application around it; or,
    as in aiohttp's low-level example, a `web.Server(handler)` made beforehand."""

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        shutdown_timeout: float = 60.0,
        client_max_size: int = 1024**2,
        debug: bool = False,
        **limits: Any,
    ) -> None:
        """`limits` are fields of sketch.framing.Limits: keepalive_timeout=, head_timeout=..."""
        if isinstance(handler, Server) and (limits or debug or client_max_size != 1024**2):
            raise TypeError(
                "this runner is given a Server: pass client_max_size, debug and limits "
                "to Server(handler, ...) instead"
            )
        self._handler = handler
        self.shutdown_timeout = shutdown_timeout
        self._server_kwargs = dict(client_max_size=client_max_size, debug=debug, **limits)
        self.server: Server | None = None
        self.tracer = Tracer()  # an AppRunner uses its app's, so hooks and requests share it
        self.sites: list[TCPSite] = []
        self.cancelled_at_shutdown = 0  # requests still running after shutdown_timeout

    async def setup(self) -> None:
        if self.server is not None:
            raise RuntimeError("setup() was already called on this runner")
        if isinstance(self._handler, Server):  # made by the caller: serve it as it is
            self.server = self._handler
            self.tracer = self.server.tracer
            return
        self.server = Server(self._handler, tracer=self.tracer, **self._server_kwargs)

    @property
    def addresses(self) -> list[Any]:
        return [site.address for site in self.sites if site.address is not None]

    async def cleanup(self) -> None:
        if self.sites and self.tracer.on:
            self.tracer.emit(ShutdownPhase, perf_counter(), 0, 0, "stop accepting", len(self.sites))
        for site in list(self.sites):
            await site.stop()  # 1. stop accepting
        server = self.server
        if server is None:
            return
        self.server = None
        await asyncio.sleep(0)  # let connections accepted just now start their request
        server.pre_shutdown()  # 2. close idle connections, busy ones after this request
        try:
            await self._on_shutdown()
        finally:
            self.cancelled_at_shutdown = await server.shutdown(self.shutdown_timeout)  # 3.
            await self._on_cleanup()

    async def _on_shutdown(self) -> None:
        pass

    async def _on_cleanup(self) -> None:
        pass


class AppRunner(ServerRunner):
    """Runs an Application: its hooks at setup and cleanup, its `_handle` per request."""

    def __init__(self, app: Application, **kwargs: Any) -> None:
        if not isinstance(app, Application):
            raise TypeError(f"AppRunner takes a sketch Application, got {app!r}")
        kwargs["client_max_size"] = app._client_max_size  # an app setting, as in aiohttp
        kwargs.setdefault("debug", app.debug)
        super().__init__(app._handle, **kwargs)
        self.app = app
        self.tracer = app.tracer

    async def setup(self) -> None:
        app = self.app
        if app.running:
            raise RuntimeError(
                "this application is being served already: `await server.close()` "
                "(or `await runner.cleanup()`) first, or make a new Application"
            )
        app.running = True
        # An app may start again after a clean stop (a re-run notebook cell): its
        # state is writable during startup, then frozen with its routes and hooks.
        app._thaw_state()
        app.on_startup.frozen = True
        try:
            await app.startup()
        except BaseException:
            app.running = False
            raise
        app.freeze()
        await super().setup()

    async def _on_shutdown(self) -> None:
        await self.app.shutdown()

    async def _on_cleanup(self) -> None:
        try:
            await self.app.cleanup()
        finally:
            self.app.running = False


class TCPSite:
    """A listening socket for a runner's server."""

    def __init__(
        self,
        runner: ServerRunner,
        host: str | None = None,
        port: int | None = None,
        *,
        backlog: int = 128,
        reuse_address: bool | None = None,
        reuse_port: bool | None = None,
        shutdown_timeout: float | None = None,
    ) -> None:
        if runner.server is None:
            raise RuntimeError("call `await runner.setup()` before making a site")
        self._runner = runner
        self._host = host
        self._port = 8080 if port is None else port
        self._backlog = backlog
        self._reuse_address = reuse_address
        self._reuse_port = reuse_port
        if shutdown_timeout is not None:
            runner.shutdown_timeout = shutdown_timeout
        self._listener: asyncio.Server | None = None
        self.address: Any = None

    async def start(self) -> None:
        server = self._runner.server
        if server is None:
            raise RuntimeError("the runner was cleaned up; set it up again first")
        self._listener = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        self.address = self._listener.sockets[0].getsockname()
        self._runner.sites.append(self)
        if self._runner.tracer.on:
            self._runner.tracer.emit(ServerStart, perf_counter(), 0, 0, self.name)

    @property
    def port(self) -> int:
        return self.address[1] if self.address else self._port

    @property
    def name(self) -> str:
        host = self._host or "0.0.0.0"
        return str(URL.build(scheme="http", host=host, port=self.port))

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()  # stop accepting; open connections are the server's
            self._listener = None
        if self in self._runner.sites:
            self._runner.sites.remove(self)


class UnixSite(TCPSite):
    """A listening UNIX socket (a path, POSIX only): for a server behind a local proxy."""

    def __init__(self, runner: ServerRunner, path: str, *, backlog: int = 128) -> None:
        super().__init__(runner, backlog=backlog)
        self._path = str(path)

    async def start(self) -> None:
        server = self._runner.server
        if server is None:
            raise RuntimeError("the runner was cleaned up; set it up again first")
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_unix_server(server, self._path, backlog=self._backlog)
        self.address = self._path
        self._runner.sites.append(self)
        if self._runner.tracer.on:
            self._runner.tracer.emit(ServerStart, perf_counter(), 0, 0, self.name)

    @property
    def name(self) -> str:
        return f"http://unix:{self._path}:"  # aiohttp's way of writing it


class RunningServer:
    """What `serve()` returns: where the server listens, and how to stop it."""

    def __init__(self, runner: ServerRunner, site: TCPSite, host: str) -> None:
        self.runner = runner
        self.site = site
        self.host = host
        self.port: int = site.port
        self.url = URL.build(scheme="http", host=host, port=self.port)

    async def close(self) -> None:
        """Graceful: hooks run, in-flight requests finish. Closing twice is harmless."""
        for key, running in list(_live.items()):
            if running is self:
                del _live[key]
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<RunningServer {self.url}>"


# Servers started by serve(), by fixed port and by app, so that re-running a notebook
# cell replaces the old server instead of failing with "address in use" or "running".
_live: dict[object, RunningServer] = {}


async def serve(
    app: Application | Callable[..., Any],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **runner_kwargs: Any,
) -> RunningServer:
    """Start `app` (or a bare handler) on the running loop; port 0 picks a free port.

    Serving an app (or on a fixed port) that serve() is already serving closes that
    server first, gracefully: re-running a notebook cell replaces its server.
    """
    for key in ((host, port) if port else None, id(app)):
        previous = _live.pop(key, None) if key is not None else None
        if previous is not None:
            await previous.close()
    if isinstance(app, Application):
        runner: ServerRunner = AppRunner(app, **runner_kwargs)
    else:
        runner = ServerRunner(app, **runner_kwargs)
    await runner.setup()
    site = TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    running = RunningServer(runner, site, host)
    if port:
        _live[(host, port)] = running
    _live[id(app)] = running
    return running


_IN_A_LOOP = (
    "run_app() owns the event loop and blocks until the server stops, so it cannot run "
    "inside a loop that is already running (a Jupyter notebook runs one). "
    "In a notebook, write `server = await sketch.serve(app)` instead, "
    "and `await server.close()` when you are done"
)


def run_app(
    app: Application | Any,
    *,
    host: str | None = None,
    port: int | None = None,
    path: str | None = None,
    shutdown_timeout: float = 60.0,
    print: Callable[..., None] | None = print,
    handle_signals: bool = True,
    **limits: Any,
) -> None:
    """Serve `app` until SIGINT (Ctrl-C) or SIGTERM, then shut down gracefully.

    On `host` and `port`, or on the UNIX socket `path` instead.
    `limits` are sketch.framing.Limits fields: keepalive_timeout=, head_timeout=, ...
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        if asyncio.iscoroutine(app):
            app.close()  # don't leave a "never awaited" warning behind the real error
        raise RuntimeError(_IN_A_LOOP)
    try:
        where = (host, port, path)
        asyncio.run(_run_app(app, where, shutdown_timeout, print, handle_signals, limits))
    except KeyboardInterrupt:
        # Where the loop has no signal handlers (Windows), a Ctrl-C that asyncio.run
        # turned into KeyboardInterrupt after the graceful shutdown: done, as in aiohttp.
        pass


def _add_signal_handlers(
    loop: asyncio.AbstractEventLoop, signals: tuple[int, ...], callback: Callable[[], Any]
) -> bool:
    """Install `callback` for each signal; False where the platform cannot.

    Windows' event loops have no add_signal_handler (NotImplementedError). There Ctrl-C
    arrives the way Python delivers it: asyncio.run cancels the main task (or raises
    KeyboardInterrupt), and _run_app treats that cancellation as the signal to stop.
    """
    try:
        for sig in signals:
            loop.add_signal_handler(sig, callback)
    except NotImplementedError:
        return False
    return True


async def _run_app(
    app: Any,
    where: tuple[str | None, int | None, str | None],
    shutdown_timeout: float,
    print: Callable[..., None] | None,
    handle_signals: bool,
    limits: dict[str, Any],
) -> None:
    if asyncio.iscoroutine(app):
        app = await app  # run_app(make_app()) with `async def make_app()`
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.current_task()
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
    if not _add_signal_handlers(loop, signals, stop.set):
        signals = ()  # Windows: Ctrl-C cancels this task instead (see below)
    runner = AppRunner(app, shutdown_timeout=shutdown_timeout, **limits)
    try:
        await runner.setup()
        host, port, path = where
        site = TCPSite(runner, host, port) if path is None else UnixSite(runner, path)
        await site.start()
        if print is not None:
            print(f"======== Running on {site.name} ========\n(Press CTRL+C to quit)")
        try:
            await stop.wait()
        except asyncio.CancelledError:
            if signals or not handle_signals:
                raise
            # No signal handlers (Windows): asyncio.run turned Ctrl-C into this
            # cancellation. Take it as the signal to stop: shut down gracefully below,
            # and return normally. A second Ctrl-C raises KeyboardInterrupt: stop now.
            main.uncancel()  # type: ignore[union-attr]
    finally:
        # A second Ctrl-C during the graceful shutdown means: stop now.
        for sig in signals:
            loop.add_signal_handler(sig, main.cancel)  # type: ignore[union-attr]
        try:
            await runner.cleanup()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

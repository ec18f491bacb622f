"""The guide's Application and run_app, as its later sections leave them, bugs included.

Sections "Application & UrlDispatcher" (AppServer, Application), "Middlewares",
"App lifecycle hooks", "Better exceptions" and "Graceful shutdown" (run_app). What goes
wrong:

- AppServer receives the app and never gives it to the Request: request.app fails;
- Application(middlewares=[...]) never sets self._middlewares (only the `None` branch
  does), so every request fails with AttributeError, answered as a 500 page;
- the middleware loop wraps in the order of the list, so the *last* listed is the
  outermost layer, the opposite of aiohttp;
- on SIGTERM, run_app runs the shutdown hooks in a task and goes on serving: the
  process does not stop.

`serve` and `ask` are not the guide's: they run its app on a loop that is already
running (a notebook's) and ask it one request, since its Server closes every
connection after one answer.
"""

from __future__ import annotations

import asyncio
import signal
from functools import partial

from httptools import HttpRequestParser

from .dispatcher import ExceptionsDispatcher
from .exceptions import HTTPException, format_exception
from .request_response import Request, Response, Server

__all__ = ["AppServer", "Application", "run_app", "serve", "ask"]


class AppServer(Server):
    """The Server of "Application & UrlDispatcher": on_message_complete starts a Task
    that runs the app's handler, which calls response_writer to answer and close.

    Bugs: `app` is kept and never passed to the Request; the app makes ONE of these and
    serves every connection with it (`lambda: serv`), one parser for them all.

    One change: the text's __init__ here drops the `_encoding` of the section before,
    which on_header reads; it is kept, or no request with a header could be parsed.
    data_received only feeds the parser: response_writer answers now.
    """

    def __init__(self, loop, handler, app):
        self._loop = loop
        self._encoding = "utf-8"  # kept from the section before (see the docstring)
        self._url = None
        self._headers = {}
        self._body = None
        self._transport = None
        self._request_parser = HttpRequestParser(self)
        self._request = None
        self._request_class = Request
        self._request_handler = handler
        self._request_handler_task = None

    def response_writer(self, response):
        self._transport.write(str(response).encode(self._encoding))
        self._transport.close()

    def data_received(self, data):
        self._request_parser.feed_data(data)

    def on_message_complete(self):
        self._request = self._request_class(
            version=self._request_parser.get_http_version(),
            method=self._request_parser.get_method(),
            url=self._url,
            headers=self._headers,
            body=self._body,
        )

        self._request_handler_task = self._loop.create_task(
            self._request_handler(self._request, self.response_writer)
        )


class Application:
    """The Application at the end of the guide.

    Bugs: the middlewares passed are never kept (AttributeError on every request);
    those set afterwards wrap last-outermost; it runs its hooks gathered, at once.

    One change, to run at all: startup() and shutdown() call asyncio.gather without
    the text's `loop=` argument, which Python 3.10 removed (chapter 07 shows that
    TypeError on its own).
    """

    def __init__(self, loop=None, middlewares=None):
        if loop is None:
            loop = asyncio.get_event_loop()

        self._loop = loop
        self._router = ExceptionsDispatcher()
        self._on_startup = []
        self._on_shutdown = []

        if middlewares is None:
            self._middlewares = []
        # else: nothing. The list passed is dropped, and self._middlewares never exists.

    @property
    def loop(self):
        return self._loop

    @property
    def router(self):
        return self._router

    @property
    def on_startup(self):
        return self._on_startup

    @property
    def on_shutdown(self):
        return self._on_shutdown

    async def startup(self):
        coros = [func(self) for func in self._on_startup]
        await asyncio.gather(*coros)

    async def shutdown(self):
        coros = [func(self) for func in self._on_shutdown]
        await asyncio.gather(*coros)

    def _make_server(self):
        return AppServer(loop=self._loop, handler=self._handler, app=self)

    async def _handler(self, request, response_writer):
        """Process incoming request"""
        try:
            match_info, handler = self._router.resolve(request)

            request.match_info = match_info

            if self._middlewares:
                for md in self._middlewares:  # each wraps the chain so far: last outermost
                    handler = partial(md, handler=handler)

            resp = await handler(request)
        except HTTPException as exc:
            resp = exc
        except Exception as exc:
            resp = format_exception(exc)

        if not isinstance(resp, Response):
            raise RuntimeError(f"expect Response instance but got {type(resp)}")

        response_writer(resp)


def run_app(app, host="127.0.0.1", port=8080, loop=None):
    """run_app of "Graceful shutdown": SIGTERM runs app.shutdown() in a task, and the
    server goes on serving; only Ctrl-C (KeyboardInterrupt) stops it.

    One change: it prints the port it is bound to, where the text prints the port asked
    for, so that a test can serve it on port 0 and learn where.
    """
    if loop is None:
        loop = asyncio.get_event_loop()

    serv = app._make_server()

    loop.run_until_complete(app.startup())

    server = loop.run_until_complete(loop.create_server(lambda: serv, host=host, port=port))

    loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(app.shutdown()))

    try:
        print(f"Started server on {host}:{server.sockets[0].getsockname()[1]}")
        loop.run_until_complete(server.serve_forever())
    except KeyboardInterrupt:
        loop.run_until_complete(app.shutdown())
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.stop()


async def serve(app, host="127.0.0.1", port=0):
    """Not the guide's: run_app's first steps on the loop already running (a notebook's).

    The startup hooks, then one Server for every connection, as run_app does. Returns
    the asyncio Server, with that one protocol as its `guide_protocol` (its
    `_request_handler_task` is the Task of the last request): close() it when done.
    """
    serv = app._make_server()
    await app.startup()
    server = await asyncio.get_running_loop().create_server(lambda: serv, host, port)
    server.guide_protocol = serv
    return server


async def ask(port, method="GET", path="/", body=b"", headers=None, timeout=2.0):
    """Not the guide's: send one request on a new connection (Host and Content-Length,
    then `headers`) and return the raw answer, every byte until the server closes.
    b"" if it closed without answering; TimeoutError if it neither answered nor closed
    within `timeout` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        fields = {"Host": "127.0.0.1", "Content-Length": str(len(body)), **(headers or {})}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        writer.write((head + "\r\n").encode("latin-1") + body)
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()

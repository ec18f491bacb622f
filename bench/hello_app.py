"""The benchmark apps, on sketch or on aiohttp: `python bench/hello_app.py sketch 8080`.

Frameworks: sketch, sketch-uvloop, sketch-recording (the inspector's model fed every
event), sketch-live (that, plus a dashboard redrawn four times a second), aiohttp, and
the peers on uvicorn (httptools parser, asyncio loop, no access log): starlette, and
asgi, a bare ASGI callable that answers every path: the floor under every framework
that runs on uvicorn.

- `/` answers "Hello, World!" (the hello benchmark);
- `/users/{name}` goes through two middlewares (the routed benchmark);
- `/ws` echoes every text message of a WebSocket (bench/ws_echo.py).
"""

from __future__ import annotations

import sys


def make_app(web):
    @web.middleware
    async def add_header(request, handler):
        response = await handler(request)
        response.headers["X-Bench"] = "1"
        return response

    @web.middleware
    async def passthrough(request, handler):
        return await handler(request)

    async def hello(request):
        return web.Response(text="Hello, World!")

    async def user(request):
        return web.Response(text="Hello, " + request.match_info["name"])

    async def echo(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                await ws.send_str(message.data)
        return ws

    app = web.Application(middlewares=[add_header, passthrough])
    app.router.add_get("/", hello)
    app.router.add_get("/users/{name}", user)
    app.router.add_get("/ws", echo)
    return app


def make_starlette_app():
    """The same two routes and two middlewares, in Starlette's idiom (pure ASGI
    middlewares: its BaseHTTPMiddleware would be slower, and users are told so)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    class AddHeader:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            async def send_with_header(message):
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"x-bench", b"1")]
                await send(message)

            await self.app(scope, receive, send_with_header)

    class Passthrough:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app(scope, receive, send)

    async def hello(request):
        return PlainTextResponse("Hello, World!")

    async def user(request):
        return PlainTextResponse("Hello, " + request.path_params["name"])

    return Starlette(
        routes=[Route("/", hello), Route("/users/{name}", user)],
        middleware=[Middleware(AddHeader), Middleware(Passthrough)],
    )


async def bare_asgi(scope, receive, send):
    """No framework at all: what uvicorn alone costs."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, World!"})


def attach_inspector(app, live: bool) -> None:
    """Trace the app into the inspector's model; with `live`, also redraw a dashboard
    four times a second, as `python -m inspector serve` does on a terminal."""
    import io

    from rich.console import Console, Group

    from inspector.model import Model
    from inspector.server_views import Dashboard
    from inspector.views import RequestTree

    model = Model()
    app.tracer.subscribe(model.feed_fields, safe=True, fields=True)
    if not live:
        return
    screen = Console(file=io.StringIO(), width=120, force_terminal=True)

    async def redraw(app):
        import asyncio

        async def loop():
            drawn = -1
            while True:
                await asyncio.sleep(0.25)
                if model.server.requests_total == drawn:
                    continue  # idle while bench/run.py loads another server: cost it nothing
                drawn = model.server.requests_total
                screen.file.seek(0)
                screen.file.truncate()
                latest = [RequestTree(model.recent[-1])] if model.recent else []
                screen.print(Group(Dashboard(model), *latest))

        app["redraw"] = asyncio.get_running_loop().create_task(loop())

    app.on_startup.append(redraw)


def main() -> None:
    framework, port = sys.argv[1], int(sys.argv[2])
    if framework in ("starlette", "asgi"):
        import uvicorn

        app = make_starlette_app() if framework == "starlette" else bare_asgi
        uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", loop="asyncio",
                    access_log=False, log_level="warning", lifespan="off")  # fmt: skip
        return
    if framework == "sketch-uvloop":  # scripts may use uvloop; notebooks never do
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if framework == "aiohttp":
        from aiohttp import web

        extra = {"access_log": None}  # no access log, as sketch has none
    else:
        from sketch import web

        extra = {}
    app = make_app(web)
    if framework in ("sketch-recording", "sketch-live"):
        attach_inspector(app, live=framework == "sketch-live")
    web.run_app(app, host="127.0.0.1", port=port, print=None, **extra)


if __name__ == "__main__":
    main()

"""The benchmark apps, on sketch or on aiohttp: `python bench/hello_app.py sketch 8080`.

Frameworks: sketch, sketch-uvloop, sketch-recording (the inspector's model fed every
event), sketch-live (that, plus a dashboard redrawn four times a second), aiohttp.

- `/` answers "Hello, World!" (the hello benchmark);
- `/users/{name}` goes through two middlewares (the routed benchmark).
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

    app = web.Application(middlewares=[add_header, passthrough])
    app.router.add_get("/", hello)
    app.router.add_get("/users/{name}", user)
    return app


def attach_inspector(app, live: bool) -> None:
    """Trace the app into the inspector's model; with `live`, also redraw a dashboard
    four times a second, as `python -m inspector serve` does on a terminal."""
    import io

    from rich.console import Console, Group

    from inspector.model import Model
    from inspector.server_views import Dashboard
    from inspector.views import RequestTree

    model = Model()
    app.tracer.subscribe(model.feed)
    if not live:
        return
    screen = Console(file=io.StringIO(), width=120, force_terminal=True)

    async def redraw(app):
        import asyncio

        async def loop():
            while True:
                await asyncio.sleep(0.25)
                screen.file.seek(0)
                screen.file.truncate()
                latest = [RequestTree(model.recent[-1])] if model.recent else []
                screen.print(Group(Dashboard(model), *latest))

        app["redraw"] = asyncio.get_running_loop().create_task(loop())

    app.on_startup.append(redraw)


def main() -> None:
    framework, port = sys.argv[1], int(sys.argv[2])
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

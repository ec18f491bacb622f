"""The benchmark apps, on sketch or on aiohttp: `python bench/hello_app.py sketch 8080`.

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
    web.run_app(make_app(web), host="127.0.0.1", port=port, print=None, **extra)


if __name__ == "__main__":
    main()

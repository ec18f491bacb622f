"""web_advanced.rst: the first middleware snippet as written (no @web.middleware decorator)."""

from collections.abc import Awaitable, Callable

from aiohttp import web


async def middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    resp = await handler(request)
    resp.text = resp.text + " wink"
    return resp


async def test(request):
    return web.Response(text="Hello")


def init():
    app = web.Application(middlewares=[middleware])
    app.router.add_get("/", test)
    return app

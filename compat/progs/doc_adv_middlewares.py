"""web_advanced.rst: the middleware snippets (wink, body caching, stream, error page, factory)."""

from collections.abc import Awaitable, Callable

from aiohttp import web

order = []
raw_body_key = web.RequestKey("raw_body_key", bytes)


async def middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    resp = await handler(request)
    resp.text = resp.text + " wink"
    return resp


@web.middleware
async def decorated_wink(request, handler):
    resp = await handler(request)
    resp.text = resp.text + " wink"
    return resp


@web.middleware
async def error_middleware(request, handler):
    try:
        response = await handler(request)
        if response.status != 404:
            return response
        message = response.message
    except web.HTTPException as ex:
        if ex.status != 404:
            raise
        message = ex.reason
    return web.json_response({"error": message})


def middleware_factory(text):
    @web.middleware
    async def sample_middleware(request, handler):
        resp = await handler(request)
        resp.text = resp.text + text
        return resp

    return sample_middleware


@web.middleware
async def logging_middleware(request, handler):
    if request.path == "/cached":
        body = await request.text()
        order.append(body)
    elif request.path == "/stream":
        await request.content.read()
    elif request.path == "/parsed":
        request[raw_body_key] = await request.content.read()
    return await handler(request)


async def cached(request):
    body = await request.text()
    return web.Response(text=f"Received: {body}")


async def stream(request):
    data = await request.content.read()
    return web.Response(text=f"Received: {data}")


async def parsed(request):
    raw_data = request.get(raw_body_key, b"")
    return web.Response(body=raw_data)


async def test(request):
    return web.Response(text="Hello")


async def gone(request):
    raise web.HTTPNotFound(reason="No such thing")


def init():
    app = web.Application(
        middlewares=[
            error_middleware,
            middleware_factory(" wink"),
            decorated_wink,
            logging_middleware,
        ]
    )
    app.router.add_get("/", test)
    app.router.add_get("/gone", gone)
    app.router.add_post("/cached", cached)
    app.router.add_post("/stream", stream)
    app.router.add_post("/parsed", parsed)
    return app

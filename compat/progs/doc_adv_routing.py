"""web_advanced.rst: unicode routes, app factory, Accept chooser, static files, storage,
on_prepare, cleanup_ctx, context vars and (EXPECT) an expect handler."""

import asyncio
import contextlib
import pathlib
import tempfile
from contextlib import suppress
from contextvars import ContextVar

from aiohttp import web
from aiohttp.web import HTTPNotAcceptable

STATIC = pathlib.Path(tempfile.mkdtemp())
STATIC.mkdir(exist_ok=True)
(STATIC / "app.js").write_text("console.log(1)\n")
(STATIC / "sub").mkdir(exist_ok=True)
(STATIC / "sub" / "a.css").write_text("a{}\n")

VAR = ContextVar("VAR", default="default")
events = []
EXPECT = False


class AcceptChooser:
    def __init__(self):
        self._accepts = {}

    async def do_route(self, request):
        for accept in request.headers.getall("ACCEPT", []):
            acceptor = self._accepts.get(accept)
            if acceptor is not None:
                return await acceptor(request)
        raise HTTPNotAcceptable()

    def reg_acceptor(self, accept, handler):
        self._accepts[accept] = handler


async def handle_json(request):
    return web.json_response({"kind": "json"})


async def handle_xml(request):
    return web.Response(text="<kind>xml</kind>", content_type="application/xml")


async def unicode_handler(request):
    return web.Response(text="uni " + request.match_info.get("name", "") + " " + request.path)


my_private_key = web.AppKey("my_private_key", str)
req_key = web.RequestKey("my_private_key", str)
my_metric_key = web.ResponseKey("my_metric_key", int)


async def storage(request):
    request[req_key] = "data"
    response = web.Response(
        text=request.app[my_private_key] + " " + request.config_dict[my_private_key]
    )
    response[my_metric_key] = 123
    return response


async def coro():
    return VAR.get()


async def ctx_handler(request):
    var = VAR.get()
    VAR.set("handler")
    ret = await coro()
    return web.Response(text="\n".join([var, ret]))


async def on_startup(app):
    events.append(("on_startup", VAR.get()))
    VAR.set("on_startup")


async def on_prepare(request, response):
    response.headers["My-Header"] = "value"
    if my_metric_key in response:
        response.headers["X-Metric"] = str(response[my_metric_key])


async def other_long_task():
    await asyncio.sleep(3600)


@contextlib.asynccontextmanager
async def run_other_task(_app):
    task = asyncio.create_task(other_long_task())
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def check_auth(request):
    if request.headers.get("EXPECT") != "100-continue":
        raise web.HTTPExpectationFailed(
            text="Unknown Expect: {}".format(request.headers.get("EXPECT"))
        )
    if request.headers.get("AUTHORIZATION") is None:
        raise web.HTTPForbidden()
    request.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")


async def hello(request):
    return web.Response(body=b"Hello, world")


async def streamed(request):
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"part1 ")
    await response.write(b"part2")
    return response


async def init():
    VAR.set("init")
    app = web.Application()
    app[my_private_key] = "secret"
    chooser = AcceptChooser()
    app.add_routes([web.get("/", chooser.do_route)])
    chooser.reg_acceptor("application/json", handle_json)
    chooser.reg_acceptor("application/xml", handle_xml)
    app.add_routes([web.get("/привет", unicode_handler), web.get("/u/{name}", unicode_handler)])
    app.add_routes([web.static("/prefix", STATIC)])
    app.add_routes([web.static("/indexed", STATIC, show_index=True)])
    app.router.add_static("/versioned", STATIC, append_version=True, name="versioned")
    app.add_routes(
        [web.get("/storage", storage), web.get("/ctx", ctx_handler), web.get("/stream", streamed)]
    )
    if EXPECT:
        app.router.add_post("/expect", hello, expect_handler=check_auth)

    async def url(request):
        return web.Response(text=str(request.app.router["versioned"].url_for(filename="app.js")))

    app.router.add_get("/url", url)
    app.on_startup.append(on_startup)
    app.on_response_prepare.append(on_prepare)
    app.cleanup_ctx.append(run_other_task)
    return app

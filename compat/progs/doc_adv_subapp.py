"""web_advanced.rst: nested applications, url reversing through an AppKey, config_dict."""

from aiohttp import web

my_private_key = web.AppKey("my_private_key", str)
admin_key = web.AppKey("admin_key", web.Application)
seen = []


@web.middleware
async def outer(request, handler):
    resp = await handler(request)
    resp.headers["X-Outer"] = "1"
    return resp


@web.middleware
async def inner(request, handler):
    resp = await handler(request)
    resp.headers["X-Inner"] = "1"
    return resp


async def resource(request):
    data = request.config_dict[my_private_key]
    url = request.app.router["name"].url_for()
    return web.Response(text=f"{data} {url} {my_private_key in request.app}")


async def main_handler(request):
    admin = request.app[admin_key]
    url = admin.router["name"].url_for()
    return web.Response(text=str(url))


def init():
    app = web.Application(middlewares=[outer])
    app[my_private_key] = "top"
    admin = web.Application(middlewares=[inner])
    admin.add_routes([web.get("/resource", resource, name="name")])
    app.add_subapp("/admin/", admin)
    app[admin_key] = admin
    app.router.add_get("/", main_handler)
    return app

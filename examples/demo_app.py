"""The sample application with a guard and a failing route: the inspector's demo app.

It adds to examples/sample_app.py what a tour of the inspector needs to show:
a middleware that answers on its own (`/admin` without a token: 401), a route that
raises (`/boom`: 500), and an upload route that reads a body.

    python -m inspector serve examples/demo_app.py:make_app
"""

from __future__ import annotations

from sample_app import load_users, log_requests, routes, say_goodbye

from sketch import web


@web.middleware
async def require_token(request, handler):
    """Short-circuits: /admin needs `Authorization: Bearer demo`."""
    if request.path.startswith("/admin") and request.headers.get("Authorization") != "Bearer demo":
        raise web.HTTPUnauthorized(text="a token is required\n")
    return await handler(request)


async def admin(request):
    return web.Response(text="welcome, admin\n")


async def boom(request):
    raise RuntimeError("the handler failed on purpose")


async def upload(request):
    body = await request.read()
    return web.json_response({"received": len(body)})


def make_app() -> web.Application:
    app = web.Application(middlewares=[log_requests, require_token])
    app.add_routes(routes)
    app.router.add_get("/admin", admin)
    app.router.add_get("/boom", boom)
    app.router.add_post("/upload", upload)
    app.on_startup.append(load_users)
    app.on_shutdown.append(say_goodbye)
    return app

"""The guide's sample application: users, a logging middleware, a startup hook, HTTPNotFound.

Run it, then talk to it:

    python examples/sample_app.py            # serves on http://127.0.0.1:8080
    curl -i localhost:8080/users
    curl -i localhost:8080/users/1
    curl -i localhost:8080/users/42           # 404: no such user
    curl -i -X POST localhost:8080/users -d '{"name": "Grace"}'

Ctrl-C stops it gracefully: in-flight requests finish, then the shutdown hooks run.
The same file runs on aiohttp if the import below becomes `from aiohttp import web`.
"""

from __future__ import annotations

import argparse
import logging
import time

from sketch import web

logger = logging.getLogger("sample_app")

USERS = web.AppKey("users", dict)

routes = web.RouteTableDef()


@web.middleware
async def log_requests(request, handler):
    """Log every request with its status and how long it took, errors included."""
    started = time.perf_counter()
    status = 500  # unless the handler answers or raises an HTTP exception
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        logger.info("%s %s -> %s in %.2f ms", request.method, request.path, status, elapsed)


async def load_users(app):
    """Startup hook: in a real app this would open a database pool."""
    app[USERS] = {
        1: {"id": 1, "name": "Ada Lovelace"},
        2: {"id": 2, "name": "Alan Turing"},
    }
    logger.info("loaded %d users", len(app[USERS]))


async def say_goodbye(app):
    logger.info("shutting down: %d users in memory", len(app[USERS]))


@routes.get("/")
async def index(request):
    return web.Response(text="Hello from sketch! Try /users\n")


@routes.get("/users")
async def list_users(request):
    return web.json_response(list(request.app[USERS].values()))


@routes.get(r"/users/{id:\d+}", name="user")
async def get_user(request):
    user_id = int(request.match_info["id"])
    user = request.app[USERS].get(user_id)
    if user is None:
        raise web.HTTPNotFound(text=f"no user with id {user_id}\n")
    return web.json_response(user)


@routes.post("/users")
async def create_user(request):
    try:
        data = await request.json()
        name = str(data["name"])
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text='send JSON like {"name": "Grace"}\n') from None
    users = request.app[USERS]
    user = {"id": max(users, default=0) + 1, "name": name}
    users[user["id"]] = user
    location = request.app.router["user"].url_for(id=str(user["id"]))
    return web.json_response(user, status=201, headers={"Location": str(location)})


def make_app() -> web.Application:
    app = web.Application(middlewares=[log_requests])
    app.add_routes(routes)
    app.on_startup.append(load_users)
    app.on_shutdown.append(say_goodbye)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    web.run_app(make_app(), host=args.host, port=args.port)

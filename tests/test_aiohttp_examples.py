"""aiohttp's own examples (aiohttp/examples/*.py), run on aiohttp and on sketch alike.

Each program below is the example as aiohttp ships it, with `web` passed in instead of
imported: what a user gets by changing `from aiohttp import web` to
`from sketch import web`. The same requests go to both over loopback, and statuses,
bodies and the headers a client acts on are compared.
"""

from __future__ import annotations

from pprint import pformat
from types import ModuleType

import httpx
from aiohttp import web as aiohttp_web

from sketch import web as sketch_web

KEPT = ("Content-Type", "Content-Length", "Location", "Set-Cookie")


def web_cookies_example(web: ModuleType) -> object:
    """examples/web_cookies.py: a body given as `.text` after `content_type=` alone."""
    tmpl = "<html><body><pre>{}</pre></body></html>"

    async def root(request):
        resp = web.Response(content_type="text/html")
        resp.text = tmpl.format(pformat(request.cookies))
        return resp

    async def login(request):
        exc = web.HTTPFound(location="/")
        exc.set_cookie("AUTH", "secret")
        raise exc

    async def logout(request):
        exc = web.HTTPFound(location="/")
        exc.del_cookie("AUTH")
        raise exc

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/login", login)
    app.router.add_get("/logout", logout)
    return app


async def answers(web: ModuleType, app: object, requests: list[tuple[str, dict]]) -> list:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    seen = []
    try:
        port = runner.addresses[0][1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for path, headers in requests:
                response = await client.get(path, headers=headers)
                kept = {h: response.headers.get_list(h) for h in KEPT}
                seen.append((response.status_code, response.content, kept))
    finally:
        await runner.cleanup()
    return seen


async def test_the_web_cookies_example_answers_alike():
    requests = [
        ("/", {}),
        ("/", {"Cookie": "AUTH=secret; other=1"}),
        ("/login", {}),
        ("/logout", {}),
    ]
    on_aiohttp = await answers(aiohttp_web, web_cookies_example(aiohttp_web), requests)
    on_sketch = await answers(sketch_web, web_cookies_example(sketch_web), requests)
    assert on_sketch == on_aiohttp


async def lowlevel_answers(web: ModuleType, web_request: ModuleType) -> list:
    """examples/lowlevel_srv.py: `web.Server(handler)`, the handler annotated with
    `web_request.BaseRequest`, from `from aiohttp import web, web_request`."""

    async def handler(request: web_request.BaseRequest) -> web.StreamResponse:
        is_one = isinstance(request, web_request.BaseRequest)
        return web.Response(text=f"OK {is_one}")

    runner = web.ServerRunner(web.Server(handler))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.get("/anything")
            kept = {h: response.headers.get_list(h) for h in KEPT}
            return [response.status_code, response.content, kept]
    finally:
        await runner.cleanup()


async def test_the_lowlevel_example_imports_web_request_and_answers_alike():
    from aiohttp import web_request as aiohttp_web_request

    from sketch import web_request as sketch_web_request  # the example's own import

    on_aiohttp = await lowlevel_answers(aiohttp_web, aiohttp_web_request)
    on_sketch = await lowlevel_answers(sketch_web, sketch_web_request)
    assert on_sketch == on_aiohttp
    assert set(sketch_web_request.__all__) == set(aiohttp_web_request.__all__)

"""One program, two frameworks: the same app on aiohttp.web and on sketch.web must answer alike.

The app is written once, against a `web` module passed in, as a user would write it
for aiohttp; only the import changes. Every request below goes to both servers over
real sockets, and statuses, bodies and the headers named in DESIGN.md are compared.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp import web as aiohttp_web

from sketch import web as sketch_web

from .conftest import exchange, parse_responses


def build_app(web: ModuleType, static_dir: Path, events: list[str]) -> object:
    """A program written for aiohttp.web, using only the subset sketch promises."""
    GREETING = web.AppKey("greeting", str)
    ORDER = web.RequestKey("order", list)
    routes = web.RouteTableDef()

    @web.middleware
    async def outer(request, handler):
        request[ORDER] = ["outer"]
        response = await handler(request)
        response.headers["X-Order"] = ",".join(request[ORDER] + ["outer-out"])
        return response

    @web.middleware
    async def inner(request, handler):
        request[ORDER].append("inner")
        if request.path == "/short":
            return web.Response(text="short-circuited", status=203)
        response = await handler(request)
        request[ORDER].append("inner-out")
        return response

    @routes.get("/")
    async def index(request):
        return web.Response(text="hello")

    @routes.get("/json")
    async def as_json(request):
        return web.json_response({"a": [1, 2], "b": None})

    @routes.get("/users/{name}", name="user")
    async def user(request):
        url = request.app.router["user"].url_for(name="bob smith")
        return web.Response(text=f"{request.match_info['name']} {url}")

    @routes.put("/users/{name}")
    async def put_user(request):
        return web.Response(text="put " + request.match_info["name"], status=201)

    @routes.get(r"/users/{uid:\d+}/posts/{pid:\d+}")
    async def post(request):
        return web.json_response(dict(request.match_info))

    @routes.get("/redirect")
    async def redirect(request):
        raise web.HTTPFound("/users/bob")

    @routes.get("/forbidden")
    async def forbidden(request):
        raise web.HTTPForbidden()

    @routes.get("/gone")
    async def gone(request):
        raise web.HTTPGone(text="gone for good")

    @routes.get("/teapot")
    async def teapot(request):
        return web.Response(status=418, text="short and stout")

    @routes.get("/boom")
    async def boom(request):
        raise ValueError("<script>alert(1)</script>")

    @routes.get("/nocontent")
    async def nocontent(request):
        return web.Response(status=204)

    @routes.get("/notmodified")
    async def notmodified(request):
        raise web.HTTPNotModified()

    @routes.post("/echo")
    async def echo(request):
        return web.Response(body=await request.read(), content_type="application/x-echo")

    @routes.post("/form")
    async def form(request):
        data = await request.post()
        return web.json_response({k: data.getall(k) for k in data})

    @routes.post("/json")
    async def post_json(request):
        return web.json_response({"got": await request.json()})

    @routes.get("/query")
    async def query(request):
        return web.json_response({"a": request.query.getall("a"), "b": request.query.get("b")})

    @routes.get("/stream")
    async def stream(request):
        response = web.StreamResponse()
        response.content_type = "text/plain"
        await response.prepare(request)
        for i in range(3):
            await response.write(b"line %d\n" % i)
        await response.write_eof()
        return response

    @routes.get("/short")
    async def never_reached(request):
        raise AssertionError("the middleware answers /short")

    @routes.get("/headers")
    async def headers(request):
        return web.Response(
            text=request.headers.get("X-Hello", "none"),
            headers={"X-Custom": "yes", "Cache-Control": "no-store"},
        )

    @routes.get("/bytes")
    async def raw_bytes(request):
        return web.Response(body=b"\x00\x01\x02")

    @routes.get("/empty")
    async def empty(request):
        return web.Response()

    @routes.get("/html")
    async def html(request):
        return web.Response(text="<b>hi</b>", content_type="text/html")

    @routes.get("/greeting")
    async def greeting(request):
        return web.Response(text=request.app[GREETING])

    @routes.post("/small")
    async def small(request):
        return web.Response(text=str(len(await request.read())))

    routes.static("/static", static_dir)

    async def on_startup(app):
        events.append("on_startup")
        app[GREETING] = "hi from startup"

    async def on_shutdown(app):
        events.append("on_shutdown")

    async def on_cleanup(app):
        events.append("on_cleanup")

    async def context(app):
        events.append("ctx-setup")
        yield
        events.append("ctx-teardown")

    async def on_prepare(request, response):
        response.headers["X-Prepared"] = "1"

    app = web.Application(middlewares=[outer, inner], client_max_size=64)
    app.add_routes(routes)
    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.cleanup_ctx.append(context)
    app.on_response_prepare.append(on_prepare)
    return app


# (method, path, extra request headers, body)
REQUESTS = [
    ("GET", "/", {}, None),
    ("HEAD", "/", {}, None),
    ("GET", "/json", {}, None),
    ("GET", "/users/bob", {}, None),
    ("GET", "/users/b%C3%B6b", {}, None),
    ("PUT", "/users/bob", {}, b""),
    ("DELETE", "/users/bob", {}, None),
    ("GET", "/users/42/posts/7", {}, None),
    ("POST", "/", {}, b""),
    ("OPTIONS", "/json", {}, None),
    ("GET", "/missing", {}, None),
    ("GET", "/users/", {}, None),
    ("GET", "/redirect", {}, None),
    ("GET", "/forbidden", {}, None),
    ("GET", "/gone", {}, None),
    ("GET", "/teapot", {}, None),
    ("GET", "/boom", {}, None),
    ("GET", "/boom", {"Accept": "text/html"}, None),
    ("GET", "/nocontent", {}, None),
    ("GET", "/notmodified", {}, None),
    ("POST", "/echo", {}, b"echo this"),
    ("POST", "/form", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1&a=2&b="),
    ("POST", "/json", {"Content-Type": "application/json"}, b'{"x": [1, "y"]}'),
    ("GET", "/query?a=1&a=2&b=%20x", {}, None),
    ("GET", "/stream", {}, None),
    ("GET", "/short", {}, None),
    ("GET", "/headers", {"X-Hello": "world"}, None),
    ("GET", "/bytes", {}, None),
    ("GET", "/empty", {}, None),
    ("GET", "/html", {}, None),
    ("GET", "/greeting", {}, None),
    ("POST", "/small", {}, b"x" * 10),
    ("POST", "/small", {}, b"x" * 100),
    ("GET", "/static/hello.txt", {}, None),
    ("HEAD", "/static/hello.txt", {}, None),
    # Not compared: a missing static file. aiohttp 3.14 answers it with an empty,
    # chunked octet-stream 404; sketch gives the usual "404: Not Found" (test_routing).
    ("GET", "/static/..%2Fsecret.txt", {}, None),
]

COMPARED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Allow",
    "Location",
    "X-Order",
    "X-Custom",
    "X-Prepared",
    "Cache-Control",
)


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    public.mkdir()
    (public / "hello.txt").write_text("static hello\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("never served", encoding="utf-8")
    return public


async def start(web: ModuleType, app: object) -> tuple[object, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def test_the_same_program_answers_alike_on_aiohttp_and_on_sketch(static_dir):
    events: dict[str, list[str]] = {"aiohttp": [], "sketch": []}
    servers = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        servers[name] = await start(web, build_app(web, static_dir, events[name]))
    answers: dict[str, list[tuple]] = {"aiohttp": [], "sketch": []}
    try:
        for name, (_, port) in servers.items():
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for method, path, headers, body in REQUESTS:
                    response = await client.request(method, path, headers=headers, content=body)
                    kept = {h: response.headers.get(h) for h in COMPARED_HEADERS}
                    answers[name].append(
                        (method, path, response.status_code, response.content, kept)
                    )
    finally:
        for runner, _ in servers.values():
            await runner.cleanup()
    assert len(REQUESTS) >= 25
    for ours, theirs in zip(answers["sketch"], answers["aiohttp"], strict=True):
        assert ours == theirs
    assert (
        events["sketch"]
        == events["aiohttp"]
        == [
            "ctx-setup",
            "on_startup",
            "on_shutdown",
            "ctx-teardown",
            "on_cleanup",
        ]
    )


async def test_raw_wire_answers_alike_for_http_10_and_connection_close(static_dir):
    """Connection handling, seen below the client library."""
    requests = [
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /stream HTTP/1.0\r\n\r\n",
    ]
    seen = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, port = await start(web, build_app(web, static_dir, []))
        try:
            seen[name] = []
            for raw in requests:
                data = await asyncio.wait_for(exchange(port, raw, until_closed=False), 5)
                [response] = parse_responses(data, eof=True)
                seen[name].append((response.status, response.body, response.header("Connection")))
        finally:
            await runner.cleanup()
    assert seen["sketch"] == seen["aiohttp"]


async def test_static_files_answer_conditional_and_range_requests_alike(static_dir):
    """Validators, 304, 412, 206 and 416 for a static file (RFC 9110 13 and 14)."""
    stat = (static_dir / "hello.txt").stat()  # "static hello\n": 13 bytes
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    first = await answers_from_both(static_dir, [("/static/hello.txt", {})])
    last_modified = first["sketch"][0][2]["Last-Modified"]
    long_ago = "Mon, 01 Jan 2001 00:00:00 GMT"
    cases = [
        ("/static/hello.txt", {}),
        ("/static/hello.txt", {"If-None-Match": etag}),
        ("/static/hello.txt", {"If-None-Match": f'"other", W/{etag}'}),
        ("/static/hello.txt", {"If-None-Match": '"other"'}),
        ("/static/hello.txt", {"If-None-Match": "*"}),
        ("/static/hello.txt", {"If-Modified-Since": last_modified}),
        ("/static/hello.txt", {"If-Modified-Since": long_ago}),
        ("/static/hello.txt", {"If-Modified-Since": "not a date"}),
        ("/static/hello.txt", {"If-Match": '"other"'}),
        ("/static/hello.txt", {"If-Match": etag}),
        ("/static/hello.txt", {"If-Unmodified-Since": long_ago}),
        ("/static/hello.txt", {"Range": "bytes=0-5"}),
        ("/static/hello.txt", {"Range": "bytes=7-"}),
        ("/static/hello.txt", {"Range": "bytes=-6"}),
        ("/static/hello.txt", {"Range": "bytes=7-1000"}),
        ("/static/hello.txt", {"Range": "bytes=13-"}),
        ("/static/hello.txt", {"Range": "bytes=5-2"}),
        ("/static/hello.txt", {"Range": "bytes=0-1,4-5"}),
        ("/static/hello.txt", {"Range": "bytes=0-5", "If-Range": last_modified}),
        ("/static/hello.txt", {"Range": "bytes=0-5", "If-Range": long_ago}),
    ]
    seen = await answers_from_both(static_dir, cases)
    for ours, theirs, (_, headers) in zip(seen["sketch"], seen["aiohttp"], cases, strict=True):
        assert ours == theirs, headers
    statuses = [status for status, _, _ in seen["sketch"]]
    assert statuses[:11] == [200, 304, 304, 200, 304, 304, 200, 200, 412, 200, 412]
    assert statuses[11:] == [206, 206, 206, 206, 416, 416, 416, 206, 200]
    assert [body for _, body, _ in seen["sketch"][11:15]] == [
        b"static",
        b"hello\n",
        b"hello\n",
        b"hello\n",
    ]


FILE_HEADERS = ("Content-Type", "Content-Range", "ETag", "Last-Modified", "Accept-Ranges")


async def answers_from_both(static_dir: Path, requests: list[tuple[str, dict]]) -> dict:
    """(status, body, some headers) for each GET, from aiohttp and from sketch."""
    seen: dict[str, list] = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, port = await start(web, build_app(web, static_dir, []))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                seen[name] = []
                for path, headers in requests:
                    response = await client.get(path, headers=headers)
                    kept = {h: response.headers.get(h) for h in FILE_HEADERS}
                    seen[name].append((response.status_code, response.content, kept))
        finally:
            await runner.cleanup()
    return seen


def build_cookie_app(web: ModuleType) -> object:
    """Cookies and response storage, the way aiohttp's docs use them."""
    ELAPSED = web.ResponseKey("elapsed", str)
    routes = web.RouteTableDef()

    @web.middleware
    async def timing(request, handler):
        response = await handler(request)
        if ELAPSED in response:
            response.headers["X-Elapsed"] = response[ELAPSED]
        return response

    @routes.get("/cookies")
    async def echo(request):
        return web.json_response(dict(request.cookies))

    @routes.get("/login")
    async def login(request):
        response = web.HTTPFound("/home")
        response.set_cookie("session", "s1", httponly=True, samesite="Strict")
        response.set_cookie("theme", 'dark "blue"; night')
        raise response

    @routes.get("/attributes")
    async def attributes(request):
        response = web.Response(text="attributes")
        response.set_cookie(
            "all", "v", expires="Wed, 21 Oct 2037 07:28:00 GMT", domain="example.com",
            max_age=60, path="/app", secure=True, httponly=False, samesite="Lax",
        )  # fmt: skip
        response[ELAPSED] = "1 ms"
        return response

    @routes.get("/logout")
    async def logout(request):
        response = web.Response(text="bye")
        response.del_cookie("session")
        response.del_cookie("pref", domain="example.com", path="/app")
        response.del_cookie("strict", secure=True, httponly=True, samesite="Strict")
        response.set_cookie("revived", "x")
        response.del_cookie("revived")
        response.set_cookie("revived", "y")
        return response

    @routes.get("/stream")
    async def stream(request):
        response = web.StreamResponse()
        response.set_cookie("streamed", "1")
        response.cookies["raw"] = "set through .cookies"
        await response.prepare(request)
        await response.write(b"streamed")
        return response

    @routes.get("/storage")
    async def storage(request):
        response = web.Response(text="stored")
        response[ELAPSED] = "2 ms"
        return response

    app = web.Application(middlewares=[timing])
    app.add_routes(routes)
    return app


COOKIE_REQUESTS = [
    ("/cookies", {}),
    ("/cookies", {"Cookie": "a=1; b=2"}),
    ("/cookies", {"Cookie": 'a="quoted value"; b=""; c=x=y'}),
    ("/cookies", {"Cookie": r'a="x\073y\"z"; a=again; flag; =nameless; path=/p'}),
    ("/login", {}),
    ("/attributes", {}),
    ("/logout", {}),
    ("/stream", {}),
    ("/storage", {}),
]


async def test_cookies_and_response_storage_answer_alike():
    seen: dict[str, list] = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, port = await start(web, build_cookie_app(web))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                seen[name] = []
                for path, headers in COOKIE_REQUESTS:
                    client.cookies.clear()  # send only the Cookie header given
                    response = await client.get(path, headers=headers)
                    seen[name].append(
                        (
                            response.status_code,
                            response.content,
                            response.headers.get_list("Set-Cookie"),
                            response.headers.get("Location"),
                            response.headers.get("X-Elapsed"),
                        )
                    )
        finally:
            await runner.cleanup()
    for ours, theirs, request in zip(seen["sketch"], seen["aiohttp"], COOKIE_REQUESTS, strict=True):
        assert ours == theirs, request
    assert seen["sketch"][4][2] == [
        "session=s1; HttpOnly; Path=/; SameSite=Strict",
        r'theme="dark \"blue\"\073 night"; Path=/',
    ]


def build_context_app(web: ModuleType, events: list[str]) -> object:
    """cleanup_ctx in both forms aiohttp's docs show, and a hook to order them by."""

    @contextlib.asynccontextmanager
    async def database(app):
        events.append("database open")
        yield
        events.append("database closed")

    async def cache(app):
        events.append("cache open")
        yield
        events.append("cache closed")

    async def on_cleanup(app):
        events.append("on_cleanup")

    app = web.Application()
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(cache)
    app.on_cleanup.append(on_cleanup)
    return app


async def test_cleanup_contexts_from_asynccontextmanager_run_alike():
    events: dict[str, list[str]] = {"aiohttp": [], "sketch": []}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, _ = await start(web, build_context_app(web, events[name]))
        events[name].append("serving")
        await runner.cleanup()
    assert events["sketch"] == events["aiohttp"]
    assert events["sketch"] == [
        "database open",
        "cache open",
        "serving",
        "cache closed",
        "database closed",
        "on_cleanup",
    ]


async def test_add_static_takes_and_refuses_the_same_keywords(static_dir):
    served = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        app = web.Application()
        with pytest.raises(TypeError, match="bogus"):
            app.router.add_static("/wrong", static_dir, bogus=True)
        app.router.add_static(
            "/static", static_dir, name="files", chunk_size=4,
            show_index=False, follow_symlinks=False, append_version=False,
        )  # fmt: skip
        runner, port = await start(web, app)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                response = await client.get("/static/hello.txt")
                served[name] = (response.status_code, response.content)
        finally:
            await runner.cleanup()
    assert served["sketch"] == served["aiohttp"] == (200, b"static hello\n")


def build_view_app(web: ModuleType) -> object:
    """Class-based views, added both ways aiohttp's docs show."""
    routes = web.RouteTableDef()

    @routes.view("/items/{id}")
    class ItemView(web.View):
        async def get(self):
            return web.json_response({"id": self.request.match_info["id"]})

        async def delete(self):
            return web.Response(status=204)

    class CounterView(web.View):
        async def post(self):
            return web.Response(text=(await self.request.text()).upper(), status=201)

        async def options(self):
            return web.Response(text="options", headers={"Allow": "POST, OPTIONS"})

    app = web.Application()
    app.add_routes(routes)
    app.router.add_view("/counter", CounterView)
    return app


async def test_class_based_views_answer_alike():
    requests = [
        (method, path)
        for path in ("/items/7", "/counter")
        for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND")
    ]
    seen: dict[str, list] = {}
    for name, web in (("aiohttp", aiohttp_web), ("sketch", sketch_web)):
        runner, port = await start(web, build_view_app(web))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                seen[name] = []
                for method, path in requests:
                    response = await client.request(method, path, content=b"abc")
                    kept = {h: response.headers.get(h) for h in COMPARED_HEADERS}
                    seen[name].append((response.status_code, response.content, kept))
        finally:
            await runner.cleanup()
    for ours, theirs, request in zip(seen["sketch"], seen["aiohttp"], requests, strict=True):
        assert ours == theirs, request
    assert [status for status, _, _ in seen["sketch"]] == [
        *(200, 405, 405, 405, 204, 405, 405, 405),
        *(405, 405, 201, 405, 405, 200, 405, 405),
    ]

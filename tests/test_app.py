"""The Application: middlewares around the handler, hooks around the server's life."""

from __future__ import annotations

import contextlib

import httpx
import pytest

import sketch
from sketch import web


async def get(app: web.Application, *requests: str | tuple[str, str]) -> list[httpx.Response]:
    """Serve `app` and send each request: a path means GET, or a (method, path) pair."""
    responses = []
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            for item in requests:
                method, path = item if isinstance(item, tuple) else ("GET", item)
                responses.append(await client.request(method, path))
    return responses


def recording_middleware(name: str, log: list[str]):
    async def layer(request, handler):
        log.append(f"{name} in")
        try:
            return await handler(request)
        finally:
            log.append(f"{name} out")

    layer.__name__ = name
    return layer


async def test_the_first_middleware_listed_is_the_outermost():
    log: list[str] = []

    async def handler(request):
        log.append("handler")
        return web.Response(text="ok")

    app = web.Application(
        middlewares=[recording_middleware("a", log), recording_middleware("b", log)]
    )
    app.router.add_get("/", handler)
    await get(app, "/")
    assert log == ["a in", "b in", "handler", "b out", "a out"]


async def test_middlewares_wrap_404_and_405_too():
    log: list[str] = []

    @web.middleware
    async def catch(request, handler):
        try:
            return await handler(request)
        except web.HTTPException as exc:
            log.append(f"{request.path} {exc.status}")
            raise

    async def handler(request):
        return web.Response()

    app = web.Application(middlewares=[catch])
    app.router.add_get("/only-get", handler)
    statuses = [r.status_code for r in await get(app, "/missing", ("POST", "/only-get"))]
    assert statuses == [404, 405]
    assert log == ["/missing 404", "/only-get 405"]


async def test_a_middleware_can_answer_without_calling_the_handler():
    async def guard(request, handler):
        if request.headers.get("X-Token") != "secret":
            raise web.HTTPUnauthorized()
        return await handler(request)

    async def never(request):
        raise AssertionError("the guard must answer first")

    app = web.Application(middlewares=[guard])
    app.router.add_get("/", never)
    [response] = await get(app, "/")
    assert (response.status_code, response.text) == (401, "401: Unauthorized")


def test_middlewares_that_cannot_work_are_refused_when_defined():
    def sync(request, handler):
        return handler(request)

    async def wrong_name(request, next_handler):
        return await next_handler(request)

    with pytest.raises(TypeError, match="must be `async def mw"):
        web.Application(middlewares=[sync])
    with pytest.raises(TypeError, match="named `handler`"):
        web.Application(middlewares=[wrong_name])


async def test_hooks_run_once_each_in_aiohttps_order():
    log: list[str] = []

    def hook(name):
        async def callback(app):
            log.append(name)

        return callback

    async def ctx_one(app):
        log.append("ctx1 setup")
        yield
        log.append("ctx1 teardown")

    async def ctx_two(app):
        log.append("ctx2 setup")
        yield
        log.append("ctx2 teardown")

    async def handler(request):
        log.append("request")
        return web.Response()

    app = web.Application()
    app.router.add_get("/", handler)
    app.on_startup.append(hook("startup"))
    app.on_shutdown.append(hook("shutdown"))
    app.on_cleanup.append(hook("cleanup"))
    app.cleanup_ctx.append(ctx_one)
    app.cleanup_ctx.append(ctx_two)
    server = await sketch.serve(app)
    async with httpx.AsyncClient() as client:
        await client.get(str(server.url))
    await server.close()
    await server.close()  # closing twice runs nothing twice
    assert log == [
        "ctx1 setup",
        "ctx2 setup",
        "startup",
        "request",
        "shutdown",
        "ctx2 teardown",
        "ctx1 teardown",
        "cleanup",
    ]


async def test_on_response_prepare_fires_for_every_response():
    seen: list[int] = []

    async def on_prepare(request, response):
        seen.append(response.status)
        response.headers["X-Seen"] = "yes"

    async def ok(request):
        return web.Response()

    async def boom(request):
        raise RuntimeError("boom")

    async def stream(request):
        response = web.StreamResponse()
        await response.prepare(request)
        return response

    app = web.Application()
    app.on_response_prepare.append(on_prepare)
    app.router.add_get("/", ok)
    app.router.add_get("/boom", boom)
    app.router.add_get("/stream", stream)
    responses = await get(app, "/", "/missing", "/boom", "/stream")
    assert seen == [200, 404, 500, 200]
    assert all(r.headers["X-Seen"] == "yes" for r in responses)


async def test_app_storage_is_set_before_start_and_read_in_handlers():
    DB = web.AppKey("db", dict)

    async def handler(request):
        return web.json_response(request.app[DB])

    async def connect(app):
        app[DB] = {"connected": True}

    app = web.Application()
    app.on_startup.append(connect)
    app.router.add_get("/", handler)
    [response] = await get(app, "/")
    assert response.json() == {"connected": True}
    with pytest.raises(RuntimeError, match="after the application has started"):
        app[DB] = {}
    with pytest.raises(RuntimeError, match="after the application has started"):
        app.on_startup.append(connect)


def test_hooks_must_be_async():
    app = web.Application()

    def sync_hook(app):
        pass

    with pytest.raises(TypeError, match="on_startup callbacks must be async"):
        app.on_startup.append(sync_hook)
    with pytest.raises(TypeError, match="cleanup_ctx takes async generator"):
        app.cleanup_ctx.append(sync_hook)


async def test_an_unhandled_exception_is_a_generic_500_and_debug_adds_the_traceback():
    async def leak(request):
        raise ValueError("<script>alert('secret')</script>")

    for debug in (False, True):
        app = web.Application(debug=debug)
        app.router.add_get("/", leak)
        async with await sketch.serve(app) as server:
            async with httpx.AsyncClient(base_url=str(server.url)) as client:
                plain = await client.get("/")
                html = await client.get("/", headers={"Accept": "text/html"})
        assert plain.status_code == html.status_code == 500
        assert "<script>" not in html.text  # never echoed unescaped
        if debug:
            assert "Traceback" in plain.text and "ValueError" in plain.text
            assert "&lt;script&gt;" in html.text
        else:
            assert plain.text == "500 Internal Server Error\n\nServer got itself in trouble"
            assert "secret" not in html.text and "Traceback" not in html.text


async def test_run_app_inside_a_running_loop_names_the_notebook_way():
    app = web.Application()
    with pytest.raises(RuntimeError, match=r"await sketch.serve\(app\)"):
        web.run_app(app)


async def test_the_middleware_decorator_marks_the_function_as_aiohttp_does_and_returns_it():
    async def layer(request, handler):
        return await handler(request)

    assert web.middleware(layer) is layer
    assert layer.__middleware_version__ == 1  # the marker aiohttp looks for


async def test_every_response_carries_the_server_header():
    async def hello(request):
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    [found, missing] = await get(app, "/", "/nowhere")
    assert found.headers["Server"] == missing.headers["Server"] == "sketch/0.1"


async def test_cleanup_ctx_takes_async_context_managers_beside_generators():
    log: list[str] = []

    @contextlib.asynccontextmanager
    async def decorated(app):
        log.append("decorated setup")
        yield
        log.append("decorated teardown")

    class Pool:
        def __init__(self, app):
            self.app = app

        async def __aenter__(self):
            log.append("class setup")

        async def __aexit__(self, *exc_info):
            log.append("class teardown")

    async def generator(app):
        log.append("generator setup")
        yield
        log.append("generator teardown")

    app = web.Application()
    for ctx in (decorated, Pool, generator):
        app.cleanup_ctx.append(ctx)
    server = await sketch.serve(app)
    log.append("serving")
    await server.close()
    assert log == [
        "decorated setup",
        "class setup",
        "generator setup",
        "serving",
        "generator teardown",
        "class teardown",
        "decorated teardown",
    ]


async def test_a_cleanup_generator_with_two_yields_is_an_error_at_cleanup():
    async def twice(app):
        yield
        yield

    app = web.Application()
    app.cleanup_ctx.append(twice)
    runner = web.AppRunner(app)
    await runner.setup()
    with pytest.raises(RuntimeError, match="more than one 'yield'"):
        await runner.cleanup()


def test_cleanup_ctx_refuses_a_plain_async_function_when_appended():
    async def not_a_context(app):
        pass

    with pytest.raises(TypeError, match="asynccontextmanager"):
        web.Application().cleanup_ctx.append(not_a_context)

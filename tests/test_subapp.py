"""Sub-applications: one program on aiohttp.web and on sketch.web, mounted apps and all.

The program is written once against a `web` module, as aiohttp's docs write a nested
application: each app with its own middlewares, hooks, storage and routes. Every request
goes to both servers over real sockets; statuses, bodies and headers are compared, and
so are the hooks' order and what each middleware saw.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp import web as aiohttp_web

from sketch import web as sketch_web
from sketch.events import HookStart, MiddlewareEnter, RouteTried

from .test_aiohttp_parity import COMPARED_HEADERS, start

FRAMEWORKS = (("aiohttp", aiohttp_web), ("sketch", sketch_web))


def build_tree(web: ModuleType, files: Path, events: list[str]) -> object:
    """root at /, api at /api, v1 at /api/v1: three apps, each with a middleware and hooks."""
    NAME = web.AppKey("name", str)
    DB = web.AppKey("db", str)

    def layer(tag: str):
        @web.middleware
        async def mw(request, handler):
            events.append(f"{tag} sees app {request.app[NAME]}")
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                events.append(f"{tag} saw {exc.status}")
                raise
            response.headers["X-Layers"] = response.headers.get("X-Layers", "") + f"<{tag}"
            return response

        return mw

    def hooks(app, tag: str) -> None:
        async def startup(app_given):
            events.append(f"{tag} on_startup ({app_given[NAME]})")

        async def shutdown(app_given):
            events.append(f"{tag} on_shutdown")

        async def cleanup(app_given):
            events.append(f"{tag} on_cleanup")

        async def context(app_given):
            events.append(f"{tag} ctx up")
            yield
            events.append(f"{tag} ctx down")

        async def prepare(request, response):
            response.headers["X-Prepared"] = response.headers.get("X-Prepared", "") + tag

        app.on_startup.append(startup)
        app.on_shutdown.append(shutdown)
        app.on_cleanup.append(cleanup)
        app.cleanup_ctx.append(context)
        app.on_response_prepare.append(prepare)

    root = web.Application(middlewares=[layer("root")])
    root[NAME], root[DB] = "root", "root-db"
    api = web.Application(middlewares=[layer("api")])
    api[NAME] = "api"
    v1 = web.Application(middlewares=[layer("v1")])
    v1[NAME], v1[DB] = "v1", "v1-db"
    for app, tag in ((root, "root"), (api, "api"), (v1, "v1")):
        hooks(app, tag)

    async def describe(request):
        apps = [app[NAME] for app in request.match_info.apps]
        return web.json_response({
            "app": request.app[NAME],
            "db": request.config_dict[DB],
            "name": request.config_dict.get(NAME),
            "missing": request.config_dict.get(web.AppKey("nope", str), "default"),
            "apps": apps,
            "params": dict(request.match_info),
        })  # fmt: skip

    async def urls(request):
        return web.json_response({
            "item": str(api.router["item"].url_for(id="7 8")),
            "deep": str(v1.router["deep"].url_for()),
            "file": str(api.router["files"].url_for(filename="hello.txt")),
            "home": str(root.router["home"].url_for()),
        })  # fmt: skip

    async def home(request):
        return web.Response(text=f"home of {request.app[NAME]}")

    async def special(request):
        return web.Response(text="the root's own /api/special")

    api.router.add_get("/", home)
    api.router.add_get(r"/items/{id:\d+}", describe, name="item")
    api.router.add_get("/urls", urls)
    api.router.add_get("/special", describe)
    api.router.add_static("/files", files, name="files")
    v1.router.add_get("/deep", describe, name="deep")
    v1.router.add_post("/deep", describe)
    v1.router.add_get("/raise", _raise_conflict(web))
    api.add_subapp("/v1/", v1)  # nested before api itself is mounted
    root.router.add_get("/", home, name="home")
    root.router.add_get("/api/special", special)
    root.add_subapp("/api", api)
    return root


def _raise_conflict(web: ModuleType):
    async def conflict(request):
        raise web.HTTPConflict(text="in v1")

    return conflict


REQUESTS = [
    ("GET", "/"),
    ("GET", "/api/"),
    ("GET", "/api"),  # the prefix alone: the sub-app's 404
    ("GET", "/apix"),  # not under the prefix: the root's 404
    ("GET", "/api/items/42"),
    ("HEAD", "/api/items/42"),
    ("POST", "/api/items/42"),  # 405 from the sub-app, with its Allow
    ("GET", "/api/items/abc"),
    ("GET", "/api/nope"),
    ("GET", "/api/special"),  # the root's more specific route wins
    ("GET", "/api/urls"),
    ("GET", "/api/files/hello.txt"),
    ("GET", "/api/files/../../secret.txt"),
    ("GET", "/api/v1/deep"),
    ("POST", "/api/v1/deep"),
    ("PUT", "/api/v1/deep"),
    ("GET", "/api/v1/raise"),
    ("GET", "/api/v1/"),
    ("GET", "/api/v1"),
    ("GET", "/api/v2/deep"),
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    public.mkdir()
    (public / "hello.txt").write_text("hello from the sub-app\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("never served", encoding="utf-8")
    return public


async def test_a_tree_of_applications_answers_alike_on_aiohttp_and_on_sketch(files):
    events: dict[str, list[str]] = {}
    answers: dict[str, list] = {}
    for name, web in FRAMEWORKS:
        events[name] = []
        runner, port = await start(web, build_tree(web, files, events[name]))
        events[name].append("serving")
        answers[name] = []
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for method, path in REQUESTS:
                    response = await client.request(method, path)
                    kept = {h: response.headers.get(h) for h in COMPARED_HEADERS}
                    layers = response.headers.get("X-Layers"), response.headers.get("X-Prepared")
                    answers[name].append((method, path, response.status_code, response.content,
                                          kept, layers))  # fmt: skip
                    events[name].append(f"-- {method} {path}")
        finally:
            events[name].append("stopping")
            await runner.cleanup()
    for ours, theirs in zip(answers["sketch"], answers["aiohttp"], strict=True):
        assert ours == theirs
    assert events["sketch"] == events["aiohttp"]

    by_request = {(m, p): rest for m, p, *rest in answers["sketch"]}
    status, body, _, (layers, prepared) = by_request["GET", "/api/v1/deep"]
    assert (status, layers, prepared) == (200, "<v1<api<root", "rootapiv1")
    assert httpx.Response(200, content=body).json() == {
        "app": "v1",
        "db": "v1-db",
        "name": "v1",
        "missing": "default",
        "apps": ["root", "api", "v1"],
        "params": {},
    }
    assert httpx.Response(200, content=by_request["GET", "/api/items/42"][1]).json()["db"] == (
        "root-db"  # api has no DB of its own: the root's, through config_dict
    )
    assert httpx.Response(200, content=by_request["GET", "/api/urls"][1]).json() == {
        "item": "/api/items/7%208",
        "deep": "/api/v1/deep",
        "file": "/api/files/hello.txt",
        "home": "/",
    }
    assert by_request["POST", "/api/items/42"][0] == 405
    assert by_request["POST", "/api/items/42"][2]["Allow"] == "GET,HEAD"
    assert [by_request["GET", p][0] for p in ("/api", "/apix", "/api/v1", "/api/v2/deep")] == [
        404,
        404,
        404,
        404,
    ]
    assert by_request["GET", "/api/special"][1] == b"the root's own /api/special"
    assert by_request["GET", "/api/files/hello.txt"][1] == b"hello from the sub-app\n"
    # Inside /api a miss is the sub-app's: its middleware sees the 404; outside, only the root's.
    miss = events["sketch"].index("-- GET /api/nope")
    assert events["sketch"][miss - 4 : miss] == [
        "root sees app root",  # each app's middlewares run with it as request.app
        "api sees app api",
        "api saw 404",
        "root saw 404",
    ]
    outside = events["sketch"].index("-- GET /apix")
    assert events["sketch"][outside - 2 : outside] == ["root sees app root", "root saw 404"]
    serving, stopping = events["sketch"].index("serving"), events["sketch"].index("stopping")
    assert events["sketch"][:serving] == [
        "root ctx up",
        "root on_startup (root)",
        "api ctx up",
        "api on_startup (api)",
        "v1 ctx up",
        "v1 on_startup (v1)",
    ]
    assert events["sketch"][stopping + 1 :] == [
        "root on_shutdown",
        "api on_shutdown",
        "v1 on_shutdown",
        "root ctx down",
        "root on_cleanup",
        "api ctx down",
        "api on_cleanup",
        "v1 ctx down",
        "v1 on_cleanup",
    ]


async def handler(request):
    return sketch_web.Response(text="x")


@pytest.mark.parametrize("name, web", FRAMEWORKS)
def test_add_subapp_refuses_what_aiohttp_refuses(name, web):
    async def handler(request):
        return web.Response(text="x")

    root, sub = web.Application(), web.Application()
    sub.router.add_get("/a", handler, name="a")
    for bad in ("", "/"):
        with pytest.raises(ValueError):
            root.add_subapp(bad, web.Application())
    root.router.add_get("/", handler, name="home")
    resource = root.add_subapp("/sub/", sub)
    assert resource.canonical == "/sub"
    # The root's routes list the sub-app's, where it is mounted.
    listed = sorted((r.method, r.resource.canonical) for r in root.router.routes())
    assert listed == [("GET", "/"), ("GET", "/sub/a"), ("HEAD", "/"), ("HEAD", "/sub/a")]
    assert str(sub.router["a"].url_for()) == "/sub/a"
    with pytest.raises(RuntimeError):  # the sub-app's routes are fixed once it is mounted
        sub.router.add_get("/late", handler)
    with pytest.raises(RuntimeError):
        sub.on_startup.append(handler)
    with pytest.raises(RuntimeError):  # its root has no URL of its own
        resource.url_for()
    root.freeze()
    assert sub.frozen
    with pytest.raises(RuntimeError):
        root.add_subapp("/late", web.Application())
    with pytest.raises(RuntimeError):
        web.Application().add_subapp("/again", sub)


def test_sketch_says_what_to_do_about_a_sub_app_mistake():
    root, sub = sketch_web.Application(), sketch_web.Application()
    with pytest.raises(ValueError, match="prefix must start with '/', got 'api'"):
        root.add_subapp("api", sub)
    with pytest.raises(TypeError, match="takes an Application"):
        root.add_subapp("/api", object())
    root.add_subapp("/api", sub)
    with pytest.raises(RuntimeError, match="to a sub-application after add_subapp"):
        sub.router.add_get("/late", handler)
    # aiohttp takes the same app twice and prefixes its routes twice (/v2/api/...): refused.
    with pytest.raises(RuntimeError, match="already a sub-application"):
        root.add_subapp("/v2", sub)
    with pytest.raises(RuntimeError, match="already a sub-application"):
        sketch_web.Application().add_subapp("/other", sub)
    with pytest.raises(RuntimeError, match="already a sub-application"):
        sub.add_subapp("/self", sub)


async def test_a_sub_app_starts_again_after_a_clean_stop_with_its_hooks_once_each():
    KEY = sketch_web.AppKey("key", int)
    seen: list[str] = []
    root, sub = sketch_web.Application(), sketch_web.Application()

    async def startup(app):
        app[KEY] = len(seen)  # storage is writable during startup, each time
        seen.append("startup")

    async def prepare(request, response):
        seen.append("prepare")

    async def ok(request):
        return sketch_web.Response(text=str(request.config_dict[KEY]))

    sub.on_startup.append(startup)
    sub.router.add_get("/", ok)
    root.on_response_prepare.append(prepare)
    root.add_subapp("/sub", sub)
    for _ in range(2):
        async with await sketch_web.serve(root) as server:
            async with httpx.AsyncClient(base_url=str(server.url)) as client:
                assert (await client.get("/sub/")).status_code == 200
    assert seen == ["startup", "prepare", "startup", "prepare"]
    assert len(sub.on_response_prepare) == 1  # the root's hook, joined in front once


async def test_a_traced_request_shows_every_app_s_middlewares_and_hooks_in_one_trace():
    events: list[object] = []

    async def mw(request, handler):
        return await handler(request)

    async def startup(app):
        pass

    async def ok(request):
        return sketch_web.Response(text="ok")

    root = sketch_web.Application(middlewares=[mw])
    sub = sketch_web.Application(middlewares=[mw])
    sub.on_startup.append(startup)
    sub.router.add_get("/x", ok)
    root.add_subapp("/sub", sub)
    root.tracer.subscribe(events.append)
    async with await sketch_web.serve(root) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            assert (await client.get("/sub/x")).text == "ok"
            assert (await client.get("/sub/nothing")).status_code == 404
            assert (await client.post("/sub/x")).status_code == 405
    # A miss inside the sub-app is a miss on its resource, not a match.
    tried = [(e.pattern, e.outcome) for e in events if isinstance(e, RouteTried)]
    assert tried == [("/sub", "match"), ("/sub", "path miss"), ("/sub", "method miss")]
    first = [e for e in events if e.req == 1]
    layers = [(e.depth, e.name) for e in first if isinstance(e, MiddlewareEnter)]
    hooks = [(e.signal, e.callback) for e in events if isinstance(e, HookStart)]
    assert layers == [
        (0, "enter the root app"),
        (1, "mw"),
        (2, "enter the sub-app at /sub"),
        (3, "mw"),
    ]
    # The sub-app's hook reports to the root's tracer, inside the root's hook that sends it.
    startups = [callback for signal, callback in hooks if signal == "on_startup"]
    assert startups[-2:] == [
        "on_startup of the sub-app at /sub",
        "test_a_traced_request_shows_every_app_s_middlewares_and_hooks_in_one_trace"
        ".<locals>.startup",
    ]

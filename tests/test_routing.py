"""The URL dispatcher: matches, misses, 405 with Allow, names, static files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import sketch
from sketch import web
from sketch.http import HttpVersion11
from sketch.request import Request
from sketch.routing import MatchInfoError, UrlDispatcher

from .conftest import exchange, parse_responses


async def handler(request):
    return web.Response(text="ok")


async def other(request):
    return web.Response(text="other")


def request_for(method: str, target: str) -> Request:
    from multidict import CIMultiDict

    return Request(None, method, target, HttpVersion11, CIMultiDict(), True)  # type: ignore[arg-type]


def resolve(router: UrlDispatcher, method: str, target: str):
    return router.resolve(request_for(method, target))


def test_a_literal_path_matches_only_itself():
    router = UrlDispatcher()
    router.add_get("/users", handler)
    assert resolve(router, "GET", "/users").handler is handler
    for miss in ("/users/", "/user", "/users/x", "/Users"):
        assert resolve(router, "GET", miss).http_exception.status == 404


def test_variables_capture_one_segment_unquoted():
    router = UrlDispatcher()
    router.add_get("/users/{name}", handler)
    match = resolve(router, "GET", "/users/b%C3%B6b")
    assert dict(match) == {"name": "böb"}
    assert resolve(router, "GET", "/users/a/b").http_exception.status == 404


def test_a_regex_variable_matches_what_its_regex_says_even_with_braces_inside():
    router = UrlDispatcher()
    router.add_get(r"/codes/{code:\d{3}}", handler)
    router.add_get(r"/files/{path:.+}", other)
    assert dict(resolve(router, "GET", "/codes/404")) == {"code": "404"}
    assert resolve(router, "GET", "/codes/4040").http_exception.status == 404
    assert dict(resolve(router, "GET", "/files/a/b/c.txt")) == {"path": "a/b/c.txt"}


def test_the_most_specific_literal_prefix_wins_then_registration_order():
    router = UrlDispatcher()
    router.add_get("/users/{name}", handler)
    router.add_get("/users/me", other)
    assert resolve(router, "GET", "/users/me").handler is other
    assert resolve(router, "GET", "/users/bob").handler is handler


def test_a_path_that_matches_with_another_method_is_a_405_listing_every_allowed_method():
    router = UrlDispatcher()
    router.add_get("/items/{id}", handler)
    router.add_put("/items/{id}", handler)
    router.add_route("DELETE", "/items/{id:\\d+}", handler)
    match = resolve(router, "POST", "/items/7")
    assert isinstance(match, MatchInfoError)
    assert match.http_exception.status == 405
    assert match.http_exception.headers["Allow"] == "DELETE,GET,HEAD,PUT"


def test_get_routes_answer_head_unless_told_not_to():
    router = UrlDispatcher()
    router.add_get("/a", handler)
    router.add_get("/b", handler, allow_head=False)
    assert resolve(router, "HEAD", "/a").handler is handler
    assert resolve(router, "HEAD", "/b").http_exception.status == 405


def test_a_view_route_takes_any_method():
    router = UrlDispatcher()
    router.add_view("/any", handler)
    for method in ("GET", "POST", "PATCH", "PURGE"):
        assert resolve(router, method, "/any").handler is handler


def test_named_routes_build_urls_with_quoted_parts():
    router = UrlDispatcher()
    router.add_get("/users/{name}/posts/{id:\\d+}", handler, name="post")
    router.add_get("/about", handler, name="about")
    assert str(router["post"].url_for(name="bob smith", id="7")) == "/users/bob%20smith/posts/7"
    assert str(router["about"].url_for()) == "/about"
    assert "post" in router and len(router) == 2


def test_url_for_says_which_part_is_missing():
    router = UrlDispatcher()
    router.add_get("/users/{name}", handler, name="user")
    with pytest.raises(KeyError, match="needs name="):
        router["user"].url_for()
    with pytest.raises(KeyError, match="no route named 'usr'.*'user'"):
        router["usr"]


@pytest.mark.parametrize(
    ("path", "name", "error"),
    [
        ("users", None, "route path must start with '/', got 'users'"),
        ("/a/{b", None, "unbalanced braces"),
        ("/a/{b:(}", None, "bad regex"),
        ("/a", "not valid", "route name must be identifiers"),
    ],
)
def test_misconfiguration_fails_when_defined(path, name, error):
    router = UrlDispatcher()
    with pytest.raises(ValueError, match=error):
        router.add_get(path, handler, name=name)


def test_a_second_handler_for_the_same_method_and_path_is_refused():
    router = UrlDispatcher()
    router.add_get("/a", handler)
    with pytest.raises(RuntimeError, match="would never run"):
        router.add_get("/a", other)


def test_duplicate_names_and_sync_handlers_are_refused():
    router = UrlDispatcher()
    router.add_get("/a", handler, name="a")
    with pytest.raises(ValueError, match="already used"):
        router.add_get("/b", handler, name="a")

    def sync(request):
        return web.Response()

    with pytest.raises(TypeError, match="must be an async function"):
        router.add_get("/c", sync)


def test_route_table_def_registers_its_routes_in_order():
    routes = web.RouteTableDef()

    @routes.get("/", name="index")
    async def index(request):
        return web.Response()

    @routes.post("/items")
    async def create(request):
        return web.Response()

    app = web.Application()
    app.add_routes(routes)
    app.add_routes([web.delete("/items", create), web.patch("/x", index)])
    methods = [(r.method, r.resource.canonical) for r in app.router.routes()]
    assert methods == [
        ("HEAD", "/"),
        ("GET", "/"),
        ("POST", "/items"),
        ("DELETE", "/items"),
        ("PATCH", "/x"),
    ]


def test_no_routes_can_be_added_after_start():
    router = UrlDispatcher()
    router.freeze()
    with pytest.raises(RuntimeError, match="after the application has started"):
        router.add_get("/late", handler)


@pytest.fixture
def public(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    (public / "css").mkdir(parents=True)
    (public / "css" / "site.css").write_text("body { color: red }", encoding="utf-8")
    (public / "index.html").write_text("<h1>hi</h1>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("top secret", encoding="utf-8")
    (public / "link").symlink_to(tmp_path / "secret.txt")
    return public


async def test_static_files_are_served_with_their_type_and_length(public):
    app = web.Application()
    app.router.add_static("/static", public)
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            css = await client.get("/static/css/site.css")
            head = await client.head("/static/index.html")
            missing = await client.get("/static/nope.css")
            directory = await client.get("/static/css")
    assert (css.status_code, css.text) == (200, "body { color: red }")
    assert css.headers["Content-Type"] == "text/css"
    assert head.headers["Content-Length"] == str(len("<h1>hi</h1>")) and head.content == b""
    assert (missing.status_code, missing.text) == (404, "404: Not Found")
    assert directory.status_code == 403


@pytest.mark.parametrize(
    "target",
    [
        b"/static/../secret.txt",
        b"/static/%2e%2e/secret.txt",
        b"/static/..%2fsecret.txt",
        b"/static/css/..%2F..%2Fsecret.txt",
        b"/static/link",
        b"/static//etc/passwd",
        b"/static/%00",
    ],
)
async def test_static_never_serves_outside_its_directory(public, target):
    app = web.Application()
    app.router.add_static("/static", public)
    async with await sketch.serve(app) as server:
        raw = await exchange(
            server.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", until_closed=False
        )
    [response] = parse_responses(raw)
    assert response.status in (403, 404)
    assert b"top secret" not in raw and b"root:" not in raw


def test_static_refuses_a_directory_that_does_not_exist(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        UrlDispatcher().add_static("/s", tmp_path / "nope")


async def test_a_method_given_in_lower_case_is_routed_in_upper_case():
    router = UrlDispatcher()
    route = router.add_route("get", "/x", handler)
    assert route.method == "GET"
    assert resolve(router, "GET", "/x").handler is handler
    app = web.Application()
    app.router.add_route("post", "/x", handler)
    async with await sketch.serve(app) as server:
        received = await exchange(
            server.port, b"POST /x HTTP/1.1\r\nHost: x\r\n\r\n", until_closed=False
        )
    assert [r.status for r in parse_responses(received)] == [200]


def test_add_static_names_an_unknown_keyword_in_a_type_error(public):
    router = web.UrlDispatcher()
    with pytest.raises(TypeError, match="show_indexes"):
        router.add_static("/static", public, show_indexes=True)
    routes = web.RouteTableDef()
    routes.static("/static", public, bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        web.Application().add_routes(routes)


@pytest.mark.parametrize("flag", ["show_index", "follow_symlinks", "append_version"])
def test_add_static_refuses_a_flag_it_does_not_implement(public, flag):
    router = web.UrlDispatcher()
    router.add_static("/off", public, **{flag: False})  # aiohttp's default: what sketch does
    with pytest.raises(NotImplementedError, match=f"add_static\\({flag}=True\\)"):
        router.add_static("/on", public, **{flag: True})


async def test_add_static_reads_files_in_the_chunk_size_given(public):
    app = web.Application()
    resource = app.router.add_static("/static", public, name="files", chunk_size=3)
    assert resource.chunk_size == 3
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            response = await client.get("/static/css/site.css")
    assert response.content == (public / "css" / "site.css").read_bytes()

"""The URL dispatcher: matches, misses, 405 with Allow, names, static files."""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx
import pytest

import sketch
from sketch import web
from sketch.http import HttpVersion11
from sketch.request import Request
from sketch.routing import MatchInfoError, Resource, StaticResource, UrlDispatcher

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


async def test_add_static_reads_files_in_the_chunk_size_given(public):
    app = web.Application()
    resource = app.router.add_static("/static", public, name="files", chunk_size=3)
    assert resource.chunk_size == 3
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            response = await client.get("/static/css/site.css")
    assert response.content == (public / "css" / "site.css").read_bytes()


def test_static_files_are_read_in_aiohttps_chunk_size_by_default(public):
    from aiohttp import web_urldispatcher

    def default(function):
        return inspect.signature(function).parameters["chunk_size"].default

    aiohttp_default = default(web_urldispatcher.UrlDispatcher.add_static)
    assert default(web_urldispatcher.StaticResource) == aiohttp_default
    assert UrlDispatcher().add_static("/static", public).chunk_size == aiohttp_default
    assert StaticResource("/static", public).chunk_size == aiohttp_default


def test_a_slash_or_a_percent_escaped_in_a_variable_is_captured_decoded():
    router = UrlDispatcher()
    router.add_get("/files/{name}", handler)
    assert dict(resolve(router, "GET", "/files/a%2Fb")) == {"name": "a/b"}
    assert dict(resolve(router, "GET", "/files/a%252F")) == {"name": "a%2F"}
    assert dict(resolve(router, "GET", "/files/a%25b")) == {"name": "a%b"}


def test_a_star_routes_every_method_and_any_token_of_letters_is_a_method():
    router = UrlDispatcher()
    router.add_route("*", "/any", handler)
    router.add_route("PURGE", "/purge", other)
    assert resolve(router, "PROPFIND", "/any").handler is handler
    assert resolve(router, "PURGE", "/purge").handler is other
    assert resolve(router, "GET", "/purge").http_exception.headers["Allow"] == "PURGE"


@pytest.mark.parametrize("method", ["", "GE T", "GET\r\n", "G1"])
def test_a_method_that_is_not_a_word_is_refused_when_defined(method):
    with pytest.raises(ValueError, match="bad HTTP method"):
        UrlDispatcher().add_route(method, "/x", handler)


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "PATCH", "DELETE"])
def test_each_method_shortcut_routes_its_method_only(method):
    router = UrlDispatcher()
    route = getattr(router, f"add_{method.lower()}")("/x", handler)
    assert route.method == method
    assert resolve(router, method, "/x").handler is handler
    assert resolve(router, "OPTIONS", "/x").http_exception.headers["Allow"] == method


def test_a_route_added_after_a_star_route_on_the_same_path_is_refused():
    router = UrlDispatcher()
    router.add_view("/x", handler)
    with pytest.raises(RuntimeError, match=r"'/x' is already routed to <Route \* /x -> handler>"):
        router.add_post("/x", other)


def test_a_route_knows_its_name_and_builds_its_url():
    router = UrlDispatcher()
    route = router.add_get("/users/{name}", handler, name="user")
    assert route.name == "user"
    assert route.resource is router["user"]
    assert str(route.url_for(name="ann")) == "/users/ann"
    assert repr(route) == "<Route GET /users/{name} -> handler>"


def test_a_duplicate_name_error_shows_the_resource_that_has_it():
    router = UrlDispatcher()
    router.add_get("/a/{x}", handler, name="a")
    with pytest.raises(ValueError, match=r"already used by <DynamicResource 'a' /a/\{x\}>"):
        router.add_get("/b", handler, name="a")


@pytest.mark.parametrize("name", ["a.b", "a:b", "a-b", "users.by-id:v2"])
def test_route_names_may_join_identifiers_with_dots_colons_and_dashes(name):
    router = UrlDispatcher()
    router.add_get("/a", handler, name=name)
    assert name in router


def test_an_unbalanced_closing_brace_is_refused_too():
    with pytest.raises(ValueError, match="unbalanced braces"):
        UrlDispatcher().add_get("/a/b}", handler)


def test_a_variable_right_under_the_root_is_found():
    router = UrlDispatcher()
    router.add_get("/{page}", handler)
    router.add_get("/about", other)
    router.add_get("/TeX", other)
    assert dict(resolve(router, "GET", "/home")) == {"page": "home"}
    assert resolve(router, "GET", "/about").handler is other
    assert resolve(router, "GET", "/TeX").handler is other
    assert resolve(router, "GET", "/a/b").http_exception.status == 404


def test_a_longer_literal_prefix_wins_over_a_route_registered_earlier():
    router = UrlDispatcher()
    router.add_get("/{section}/{name}", handler)
    router.add_get("/users/{name}", other)
    router.add_get("/users/{name}/posts", other)
    assert resolve(router, "GET", "/users/bob").handler is other
    assert dict(resolve(router, "GET", "/users/bob/posts")) == {"name": "bob"}
    assert resolve(router, "GET", "/pages/bob").handler is handler


def test_a_literal_path_builds_its_url_as_registered_as_aiohttp_does():
    router = UrlDispatcher()
    router.add_get("/a b", handler, name="spaced")
    router.add_get("/café", handler, name="cafe")
    assert str(router["spaced"].url_for()) == "/a b"
    assert str(router["cafe"].url_for()) == "/café"
    assert repr(router["cafe"]) == "<PlainResource 'cafe' /café>"
    assert repr(router.add_get("/x", handler).resource) == "<PlainResource /x>"


def test_registering_returns_what_was_registered(public):
    router = UrlDispatcher()
    view = router.add_view("/v", handler)
    assert (view.method, view.resource.canonical) == ("*", "/v")
    static = router.add_static("/s", public)
    assert static.canonical == "/s" and static is router.resources()[-1]
    added = router.add_routes([web.get("/g", handler), web.post("/p", other)])
    # as in aiohttp, a web.get() registers HEAD too but returns its GET route
    assert [(r.method, r.resource.canonical) for r in added] == [("GET", "/g"), ("POST", "/p")]


def test_only_the_last_resource_is_shared_by_a_second_method_on_its_path():
    router = UrlDispatcher()
    router.add_get("/a", handler)
    router.add_post("/a", handler)  # the last resource: shared
    router.add_get("/b", handler)
    router.add_put("/a", other)  # not the last: a resource of its own, as in aiohttp
    assert [r.canonical for r in router.resources()] == ["/a", "/b", "/a"]
    assert resolve(router, "PUT", "/a").handler is other
    miss = resolve(router, "PATCH", "/a")
    assert miss.http_exception.headers["Allow"] == "GET,HEAD,POST,PUT"


def test_the_router_lists_its_names_resources_and_routes():
    router = UrlDispatcher()
    a = router.add_get("/a", handler, name="a")
    router.add_post("/b", other)
    c = router.add_put("/c", other, name="c")
    assert list(router) == ["a", "c"] and len(router) == 2
    assert "b" not in router
    assert router.named_resources() == {"a": a.resource, "c": c.resource}
    assert [r.canonical for r in router.resources()] == ["/a", "/b", "/c"]
    assert [(r.method, r.resource.canonical) for r in router.routes()] == [
        ("HEAD", "/a"),
        ("GET", "/a"),
        ("POST", "/b"),
        ("PUT", "/c"),
    ]


def test_an_unknown_name_lists_the_known_ones_or_says_none():
    router = UrlDispatcher()
    with pytest.raises(KeyError, match=r"no route named 'x' \(named routes: none\)"):
        router["x"]
    router.add_get("/a", handler, name="a")
    router.add_get("/b", handler, name="b")
    with pytest.raises(KeyError, match=r"\(named routes: 'a', 'b'\)"):
        router["x"]


async def test_a_match_carries_its_route_and_a_miss_raises_its_exception():
    router = UrlDispatcher()
    route = router.add_get("/a/{x}", handler)
    match = resolve(router, "GET", "/a/1")
    assert match.route is route and match.http_exception is None
    assert repr(match) == "<MatchInfo {'x': '1'}: <Route GET /a/{x} -> handler>>"
    miss = resolve(router, "GET", "/nope")
    assert miss.route is None and repr(miss) == "<MatchInfoError 404: Not Found>"
    assert miss.handler.__name__ == "raise HTTPNotFound"
    with pytest.raises(web.HTTPNotFound):
        await miss.handler(request_for("GET", "/nope"))


def test_resolve_shows_each_resource_it_tries_in_order():
    router = UrlDispatcher()
    router.add_get("/users/{name}", handler)
    router.add_post("/users/me", other)
    router.add_get("/", other)
    tried = []

    def on_try(resource, match, methods):
        tried.append((resource.canonical, match is not None, sorted(methods)))

    miss = router.resolve(request_for("GET", "/users/me"), on_try)
    assert miss.handler is handler
    assert tried == [("/users/me", False, ["POST"]), ("/users/{name}", True, [])]


def test_static_url_for_and_a_prefix_that_must_start_with_a_slash(public):
    router = UrlDispatcher()
    router.add_static("/static/", public, name="static")
    assert str(router["static"].url_for(filename="css/a b.css")) == "/static/css/a%20b.css"
    with pytest.raises(ValueError, match="static prefix must start with '/'"):
        router.add_static("static", public)


async def test_static_at_the_root_from_a_relative_or_home_directory(public, monkeypatch):
    monkeypatch.chdir(public.parent)
    monkeypatch.setenv("HOME", str(public.parent))
    for directory in ("public", "~/public"):
        app = web.Application()
        app.router.add_static("/", directory)
        async with await sketch.serve(app) as server:
            raw = await exchange(
                server.port, b"GET /css/site.css HTTP/1.1\r\nHost: x\r\n\r\n", until_closed=False
            )
        [response] = parse_responses(raw)
        assert (response.status, response.body) == (200, b"body { color: red }")


def test_a_bare_resource_leaves_matching_and_urls_to_its_subclasses():
    resource = Resource(name="base")
    assert repr(resource) == "<Resource 'base' >"
    with pytest.raises(NotImplementedError):
        resource.match("/")
    with pytest.raises(NotImplementedError):
        resource.url_for()


async def test_a_static_prefix_ending_in_a_capital_letter_serves_only_below_it(public):
    app = web.Application()
    app.router.add_static("/X/", public, name="x")
    assert str(app.router["x"].url_for(filename="index.html")) == "/X/index.html"
    async with await sketch.serve(app) as server:
        raw = await exchange(
            server.port,
            b"GET /X/index.html HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
            until_closed=False,
            expect=2,
        )
    assert [(r.status, r.body) for r in parse_responses(raw)] == [
        (200, b"<h1>hi</h1>"),
        (404, b"404: Not Found"),
    ]

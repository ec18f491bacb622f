"""Cookies: request.cookies from the Cookie header, set_cookie / del_cookie on responses."""

from __future__ import annotations

import httpx
import pytest

from sketch import web
from sketch.cookies import parse_cookie_header


@pytest.mark.parametrize(
    ("header", "cookies"),
    [
        ("", {}),
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a=1;b=2", {"a": "1", "b": "2"}),
        (" a = 1 ; b=2 ", {"a": "1", "b": "2"}),
        ('a="x y"; b=2', {"a": "x y", "b": "2"}),
        (r'a="x\073y\"z"', {"a": 'x;y"z'}),  # SimpleCookie's escapes, undone
        ("a=1; a=2", {"a": "2"}),  # the last one wins, as in aiohttp
        ("flag; b=2", {"flag": "", "b": "2"}),
        ("a=; b=", {"a": "", "b": ""}),
        ("=x; b=2", {"b": "2"}),  # no name: skipped
        ("a=1;; b=2", {"a": "1", "b": "2"}),
        ("path=1; secure=2; Max-Age=3", {"path": "1", "secure": "2", "Max-Age": "3"}),
        ("a={x}; b=[y]", {"a": "{x}", "b": "[y]"}),
        ("a=x=y", {"a": "x=y"}),
        ('a="unterminated; b=2', {"a": '"unterminated', "b": "2"}),
        # Where aiohttp differs, RFC 6265 5.2: the value runs to the next ";".
        ("a=b c; d=e", {"a": "b c", "d": "e"}),
    ],
)
def test_the_cookie_header_is_parsed_into_names_and_values(header, cookies):
    assert parse_cookie_header(header) == cookies


def test_set_cookie_quotes_values_rfc_6265_forbids_bare():
    response = web.Response()
    response.set_cookie("plain", "abc")
    response.set_cookie("odd", 'a b;c"d')
    assert response.cookies["plain"].OutputString() == "plain=abc; Path=/"
    assert response.cookies["odd"].OutputString() == r'odd="a b\073c\"d"; Path=/'


def test_set_cookie_writes_every_attribute_given():
    response = web.Response()
    response.set_cookie(
        "s", "v", expires="Wed, 21 Oct 2037 07:28:00 GMT", domain="example.com",
        max_age=60, path="/app", secure=True, httponly=True, samesite="Lax",
    )  # fmt: skip
    assert response.cookies["s"].OutputString() == (
        "s=v; Domain=example.com; expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly; "
        "Max-Age=60; Path=/app; SameSite=Lax; Secure"
    )


def test_a_deleted_cookie_set_again_loses_its_expiry():
    response = web.Response()
    response.del_cookie("c")
    assert response.cookies["c"].OutputString() == (
        'c=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/'
    )
    response.set_cookie("c", "back")
    assert response.cookies["c"].OutputString() == "c=back; Path=/"


def test_deleting_a_cookie_drops_the_attributes_it_was_set_with_as_aiohttp_does():
    from aiohttp import web as aiohttp_web

    said = []
    for framework in (web, aiohttp_web):
        response = framework.Response()
        response.set_cookie("s", "v", secure=True, httponly=True, samesite="Strict")
        response.del_cookie("s")
        said.append(response.cookies["s"].OutputString())
    assert said[0] == said[1]
    assert "HttpOnly" not in said[0] and "Secure" not in said[0]


def cookie_app() -> web.Application:
    async def echo(request):
        return web.json_response(dict(request.cookies))

    async def login(request):
        response = web.HTTPFound("/home")
        response.set_cookie("session", "s1", httponly=True)
        response.set_cookie("theme", "dark")
        raise response

    async def logout(request):
        response = web.Response(text="bye")
        response.del_cookie("session")
        return response

    async def stream(request):
        response = web.StreamResponse()
        response.set_cookie("streamed", "yes")
        await response.prepare(request)
        await response.write_eof(b"streamed")
        return response

    async def plain(request):
        return web.Response(text="no cookies")

    async def read_only(request):
        try:
            request.cookies["x"] = "y"
        except TypeError:
            return web.Response(text="read-only")
        return web.Response(text="writable")

    app = web.Application()
    app.router.add_get("/echo", echo)
    app.router.add_get("/login", login)
    app.router.add_get("/logout", logout)
    app.router.add_get("/stream", stream)
    app.router.add_get("/plain", plain)
    app.router.add_get("/read-only", read_only)
    return app


@pytest.fixture
async def client():
    async with await web.serve(cookie_app()) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            yield client


async def test_request_cookies_come_from_the_cookie_header(client):
    response = await client.get("/echo", headers={"Cookie": 'a=1; b="two words"'})
    assert response.json() == {"a": "1", "b": "two words"}
    assert (await client.get("/echo")).json() == {}


async def test_request_cookies_are_read_only(client):
    assert (await client.get("/read-only")).text == "read-only"


async def test_a_redirect_that_sets_cookies_sends_one_set_cookie_line_each(client):
    response = await client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    assert response.headers.get_list("Set-Cookie") == [
        "session=s1; HttpOnly; Path=/",
        "theme=dark; Path=/",
    ]


async def test_del_cookie_sends_an_expired_empty_cookie(client):
    response = await client.get("/logout")
    assert response.headers.get_list("Set-Cookie") == [
        'session=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/'
    ]


async def test_a_stream_sends_its_cookies_with_its_head(client):
    response = await client.get("/stream")
    assert response.text == "streamed"
    assert response.headers.get_list("Set-Cookie") == ["streamed=yes; Path=/"]


async def test_a_response_without_cookies_sends_no_set_cookie(client):
    response = await client.get("/plain")
    assert "Set-Cookie" not in response.headers

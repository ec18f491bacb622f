"""The guide's code, re-created in guide/, behaves as the guide's text says, bugs included.

The course shows each of the guide's bugs with these re-creations; if one stopped
behaving as the guide's does, a notebook would show a bug that is not the guide's.
Requests go over real loopback sockets (port 0); the parser is the real httptools.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import httptools
import pytest

from guide.application import Application, ask, serve
from guide.dispatcher import ExceptionsDispatcher, RouteParamsDispatcher, UrlDispatcher
from guide.exceptions import HTTPNotFound, format_exception
from guide.request_response import Request, Response, Server


def _status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _text_handler(text: str):
    async def handler(request):
        return Response(text)

    return handler


async def _served(app: Application):
    server = await serve(app)
    return server, server.sockets[0].getsockname()[1]


# "Making server protocol": the parser callbacks keep the last piece only


async def test_a_url_fed_in_pieces_keeps_only_its_last_piece():
    server = Server(asyncio.get_running_loop())
    server._request_parser.feed_data(b"GET /users/ad")
    server._request_parser.feed_data(b"a?tab=posts HTTP/1.1\r\nHost: x\r\n\r\n")
    assert str(server._request.url) == "a?tab=posts"


async def test_a_body_fed_in_pieces_keeps_only_its_last_piece():
    server = Server(asyncio.get_running_loop())
    server._request_parser.feed_data(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello")
    server._request_parser.feed_data(b" world")
    assert server._request.text() == " world"


async def test_the_second_request_holds_the_first_ones_headers():
    server = Server(asyncio.get_running_loop())
    server._request_parser.feed_data(b"GET /a HTTP/1.1\r\nAuthorization: secret\r\n\r\n")
    server._request_parser.feed_data(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    assert server._request.headers["Authorization"] == "secret"


# "Request/Response objects"


def test_the_response_joins_with_crlf_and_counts_characters_not_bytes():
    text = "héllo wörld ✓"
    raw = str(Response(text)).encode("utf-8")
    assert b"\r\nContent-Length: 13\r\n\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert len(text.encode()) == 17

    class Client:
        body = b""

        def on_body(self, body):
            self.body += body

    client = Client()
    with pytest.raises(httptools.HttpParserError):  # the 4 bytes left over
        httptools.HttpResponseParser(client).feed_data(raw)
    assert client.body == text.encode()[:13]


def test_a_response_with_no_body_cannot_be_written():
    with pytest.raises(TypeError, match="NoneType"):
        str(Response())


def test_the_request_drops_its_app():
    request = Request(b"GET", b"/", {}, app=object())
    with pytest.raises(AttributeError, match="app"):
        request.app  # noqa: B018


async def test_a_request_in_two_pieces_is_answered_before_it_is_complete():
    loop = asyncio.get_running_loop()
    errors = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: errors.append(context["exception"]))
    server = await loop.create_server(lambda: Server(loop), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert (await ask(port, path="/whole")).endswith(b"Received request on /whole")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /pieces HTTP/1.1\r\nHo")
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, unanswered
        writer.close()
    finally:
        loop.set_exception_handler(before)
        server.close()
        await server.wait_closed()
    assert len(errors) == 1 and isinstance(errors[0], AttributeError)


# The three routers


async def test_the_dict_router_answers_a_wrong_method_404():
    router = UrlDispatcher()
    router.add_route("GET", "/users", _text_handler("users"))
    handler = router.resolve(Request(b"DELETE", b"/users", {}))
    assert (await handler(Request(b"DELETE", b"/users", {}))).status == 404


async def test_route_params_slash_swallows_every_path_and_not_allowed_is_200():
    app = Application()
    app._router = RouteParamsDispatcher()
    app.router.add_get("/", _text_handler("index"))
    app.router.add_get("/users", _text_handler("users"))
    app.router.add_post("/users", _text_handler("created"))
    server, port = await _served(app)
    try:
        assert _status_and_body(await ask(port, "GET", "/users/1")) == (200, b"index")
        assert _status_and_body(await ask(port, "GET", "/users")) == (200, b"index")
        assert _status_and_body(await ask(port, "POST", "/users")) == (
            200,
            b"POST not allowed for /users",
        )
    finally:
        server.close()


async def test_route_params_gives_up_at_the_first_route_with_a_200():
    app = Application()
    app._router = RouteParamsDispatcher()
    app.router.add_get("/users", _text_handler("users"))
    app.router.add_get("/posts", _text_handler("posts"))
    server, port = await _served(app)
    try:
        assert _status_and_body(await ask(port, "GET", "/posts")) == (
            200,
            b"Could not find /posts",
        )
    finally:
        server.close()


def test_route_params_drops_the_text_after_the_last_parameter():
    pattern = RouteParamsDispatcher()._format_pattern("/users/{id}/posts")
    assert pattern == r"/users/(?P<id>\w+)"


async def test_better_exceptions_answers_a_wrong_method_400():
    app = Application()
    assert isinstance(app.router, ExceptionsDispatcher)
    app.router.add_get("/users/{id}", _text_handler("user"))
    server, port = await _served(app)
    try:
        status, body = _status_and_body(await ask(port, "POST", "/users/1"))
        assert (status, body) == (400, b"POST not allowed for /users/1")
        status, _ = _status_and_body(await ask(port, "GET", "/users/1"))
        assert status == 200
    finally:
        server.close()


# Middlewares, hooks, exceptions


async def test_middlewares_passed_to_the_application_fail_every_request():
    async def log(request, handler):
        return await handler(request)

    app = Application(middlewares=[log])
    app.router.add_get("/", _text_handler("index"))
    server, port = await _served(app)
    try:
        status, body = _status_and_body(await ask(port))
    finally:
        server.close()
    assert status == 500 and b"no attribute '_middlewares'" in body


async def test_the_last_middleware_listed_is_the_outermost():
    seen = []

    def layer(name):
        async def middleware(request, handler):
            seen.append(name)
            return await handler(request)

        return middleware

    app = Application()
    app._middlewares = [layer("first"), layer("second")]  # the list the text means to keep
    app.router.add_get("/", _text_handler("index"))
    server, port = await _served(app)
    try:
        assert _status_and_body(await ask(port)) == (200, b"index")
    finally:
        server.close()
    assert seen == ["second", "first"]


async def test_a_handler_never_sees_request_app():
    async def who(request):
        return Response(f"db: {request.app.db}")

    async def on_startup(app):
        app.db = {"john_doe"}

    app = Application()
    app.on_startup.append(on_startup)
    app.router.add_get("/{username}", who)
    server, port = await _served(app)
    try:
        status, body = _status_and_body(await ask(port, path="/john_doe"))
    finally:
        server.close()
    assert app.db == {"john_doe"}
    assert status == 500 and b"'Request' object has no attribute 'app'" in body


async def test_an_http_exception_without_reason_leaves_the_client_unanswered():
    async def missing(request):
        raise HTTPNotFound()

    app = Application()
    app.router.add_get("/missing", missing)
    server, port = await _served(app)
    try:
        with pytest.raises(TimeoutError):
            await ask(port, path="/missing", timeout=0.3)
    finally:
        server.close()
    lost = server.guide_protocol._request_handler_task.exception()  # nobody else looks
    assert isinstance(lost, TypeError) and "NoneType" in str(lost)


def test_the_500_page_echoes_the_exception_unescaped():
    try:
        raise KeyError("<script>alert(1)</script>")
    except KeyError as exc:
        page = format_exception(exc)
    assert page.status == 500 and "<script>alert(1)</script>" in page.body
    assert "Traceback (most recent call last)" in page.body


# Graceful shutdown


@pytest.mark.timeout(30)
async def test_sigterm_runs_the_shutdown_hooks_and_the_server_goes_on_serving():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-u", "-m", "guide.sigterm_app", stdout=subprocess.PIPE
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert line.startswith("Started server on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert _status_and_body(await ask(port)) == (200, b"still serving")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.stdout.readline(), 10) == b"on_shutdown ran\n"
        assert _status_and_body(await ask(port)) == (200, b"still serving")
        assert process.returncode is None
    finally:
        process.kill()
        await process.wait()


async def test_served_as_the_guides_runner_serves_it_a_cut_request_gets_the_last_answer():
    loop = asyncio.get_running_loop()
    serv = Server(loop)  # one for every connection: the guide's `lambda: serv`
    server = await loop.create_server(lambda: serv, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await ask(port, path="/whole")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /pieces HTTP/1.1\r\nHo")
        answer = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    finally:
        server.close()
    assert answer.endswith(b"Received request on /whole")

"""How each request is answered, over real sockets: a Task per handler with its own
context, an interim 100 Continue that is not the final answer, one path traced or not,
and a Response that cannot answer twice."""

from __future__ import annotations

import asyncio
import contextvars
import logging

import pytest

import sketch
from sketch import web
from sketch.events import MiddlewareExit

from .conftest import exchange, parse_responses

GET_A = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
GET_B = b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"


async def two_requests_on_one_connection(port: int) -> list:
    """GET /a, its answer, then GET /b on the same keep-alive connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        received = b""
        for request, expected in ((GET_A, 1), (GET_B, 2)):
            writer.write(request)
            while len(parse_responses(received)) < expected:
                chunk = await asyncio.wait_for(reader.read(65536), 5)
                assert chunk, f"the server closed the connection: {received!r}"
                received += chunk
        return parse_responses(received)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_asyncio_timeout_works_in_a_handler():
    async def handler(request):
        async with asyncio.timeout(1):  # needs a current Task
            await asyncio.sleep(0)
        return web.Response(text="in time")

    async with await sketch.serve(handler) as server:
        [response] = parse_responses(await exchange(server.port, GET_A, until_closed=False))
    assert (response.status, response.text) == (200, "in time")


async def test_each_handler_runs_in_a_task_of_its_own():
    tasks = []

    async def handler(request):
        tasks.append(asyncio.current_task())
        return web.Response(text="ok")

    async with await sketch.serve(handler) as server:
        responses = await two_requests_on_one_connection(server.port)
    assert [r.status for r in responses] == [200, 200]
    assert None not in tasks
    assert tasks[0] is not tasks[1]


async def test_a_context_variable_set_by_one_request_is_not_seen_by_the_next():
    user = contextvars.ContextVar("user", default="nobody")

    async def handler(request):
        seen = user.get()
        user.set(request.path)  # as an auth middleware would
        return web.Response(text=seen)

    async with await sketch.serve(handler) as server:
        responses = await two_requests_on_one_connection(server.port)
    assert [r.text for r in responses] == ["nobody", "nobody"]


EXPECT_HEAD = (
    b"POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
)


async def test_a_handler_failing_after_100_continue_still_sends_its_500(caplog):
    async def handler(request):
        await request.read()  # sends 100 Continue
        raise RuntimeError("the handler fails after reading")

    async with await sketch.serve(handler) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(EXPECT_HEAD)
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        with caplog.at_level(logging.ERROR, logger="sketch.server"):
            rest = b""
            while not parse_responses(rest):
                chunk = await asyncio.wait_for(reader.read(65536), 5)
                assert chunk, "the connection closed with no final answer"
                rest += chunk
        writer.close()
        await writer.wait_closed()
    [final] = parse_responses(rest)
    assert final.status == 500
    assert "the handler fails after reading" in caplog.text


async def forgetful(request, handler):
    await handler(request)  # and forgets to return the response


async def hello(request):
    return web.Response(text="hello")


@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
async def test_a_middleware_that_returns_nothing_gets_the_same_clear_error_traced_or_not(
    traced, caplog
):
    app = web.Application(middlewares=[forgetful])
    app.router.add_get("/a", hello)
    events = []
    if traced:
        app.tracer.subscribe(events.append)
    with caplog.at_level(logging.ERROR, logger="sketch.server"):
        async with await sketch.serve(app) as server:
            [response] = parse_responses(await exchange(server.port, GET_A, until_closed=False))
    assert response.status == 500
    assert "returned None: a handler must return a Response" in caplog.text
    assert "AttributeError" not in caplog.text
    if traced:
        [exit_event] = [e for e in events if isinstance(e, MiddlewareExit)]
        assert (exit_event.name, exit_event.status, exit_event.called_next) == (
            "forgetful",
            None,
            True,
        )


async def test_a_traced_request_runs_the_chain_that_wrap_handler_builds(monkeypatch):
    import sketch.app

    built = []
    real = sketch.app.wrap_handler

    def spy(handler, middlewares, observe=None):
        built.append(observe is not None)
        return real(handler, middlewares, observe)

    monkeypatch.setattr(sketch.app, "wrap_handler", spy)

    async def passthrough(request, handler):
        return await handler(request)

    app = web.Application(middlewares=[passthrough])
    app.router.add_get("/a", hello)
    app.tracer.subscribe(lambda event: None)
    async with await sketch.serve(app) as server:
        [response] = parse_responses(await exchange(server.port, GET_A, until_closed=False))
    assert (response.status, response.text) == (200, "hello")
    assert built == [True]


async def test_a_response_returned_for_a_second_request_is_a_500_naming_the_handler(caplog):
    cached = web.Response(text="made once")

    async def reuses_its_response(request):
        return cached

    app = web.Application()
    app.router.add_get("/{name}", reuses_its_response)
    with caplog.at_level(logging.ERROR, logger="sketch.server"):
        async with await sketch.serve(app) as server:
            first, second = await asyncio.wait_for(two_requests_on_one_connection(server.port), 5)
    assert (first.status, first.text) == (200, "made once")
    assert second.status == 500
    assert "made once" not in second.text
    assert "reuses_its_response" in caplog.text
    assert "already sent for an earlier request" in caplog.text


@pytest.mark.parametrize("value", [5, b"bytes"], ids=["an int", "bytes"])
async def test_a_header_value_that_is_not_a_str_is_a_500_naming_the_header(caplog, value):
    async def numbered(request):
        response = web.Response(text="counted")
        response.headers["X-Count"] = value
        return response

    app = web.Application()
    app.router.add_get("/", numbered)
    with caplog.at_level(logging.ERROR, logger="sketch.server"):
        async with await sketch.serve(app) as server:
            received = await exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    [response] = parse_responses(received)
    assert response.status == 500 and "counted" not in response.text
    assert "TypeError: the header 'X-Count' is given" in caplog.text

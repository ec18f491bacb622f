"""Responses: headers, framing, empty bodies, streaming, and what a handler may not do."""

from __future__ import annotations

import json

import pytest

from sketch import web

from .test_protocol import connect, feed, parse_responses

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
HEAD = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"


async def answer(response_factory, request_bytes: bytes = GET):
    async def handler(request):
        return await response_factory(request) if callable(response_factory) else response_factory

    protocol, transport, _ = connect(handler)
    await feed(protocol, request_bytes)
    return bytes(transport.written), transport


def test_text_responses_default_to_utf8_plain_text():
    response = web.Response(text="héllo")
    assert response.content_type == "text/plain"
    assert response.charset == "utf-8"
    assert response.body == "héllo".encode()


def test_content_type_and_charset_are_composed_into_one_header():
    response = web.Response(text="<p>x</p>", content_type="text/html", charset="latin-1")
    assert response.headers["Content-Type"] == "text/html; charset=latin-1"
    assert response.body == b"<p>x</p>"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "a", "body": b"a"}, "pass body or text, not both"),
        ({"text": "a", "content_type": "text/html; charset=utf-8"}, "put the charset in charset="),
        ({"text": b"bytes"}, "text must be str"),
        ({"body": {"a": 1}}, "use json_response"),
        ({"status": 42}, "three-digit code"),
    ],
)
def test_bad_response_arguments_say_what_to_do(kwargs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        web.Response(**kwargs)


def test_json_response_serializes_with_the_given_dumps():
    response = web.json_response({"b": 1, "a": 2}, dumps=lambda d: json.dumps(d, sort_keys=True))
    assert response.text == '{"a": 2, "b": 1}'
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_head_gets_the_get_headers_and_no_body():
    written, _ = await answer(web.Response(text="hello"), HEAD)
    head, _, body = written.partition(b"\r\n\r\n")
    assert b"Content-Length: 5" in head
    assert body == b""


@pytest.mark.parametrize("status", [204, 304])
async def test_204_and_304_carry_no_body_and_no_length(status):
    written, _ = await answer(web.Response(status=status, text="ignored"))
    head, _, body = written.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status)
    assert b"Content-Length" not in head and b"Transfer-Encoding" not in head
    assert body == b""


async def test_a_stream_without_length_is_chunked_on_http_11():
    async def stream(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"hello ")
        await response.write(b"")  # an empty write must not end the body early
        await response.write(b"world")
        await response.write_eof()
        return response

    written, transport = await answer(stream)
    [response] = parse_responses(written)
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.body == b"hello world"
    assert response.chunked_pieces == 3  # two data chunks and the last, empty one
    assert not transport.closed


async def test_a_stream_with_a_length_is_not_chunked():
    async def stream(request):
        response = web.StreamResponse()
        response.content_length = 6
        await response.prepare(request)
        await response.write(b"abc")
        await response.write(b"def")
        return response

    written, _ = await answer(stream)
    [response] = parse_responses(written)
    assert response.header("Transfer-Encoding") is None
    assert response.body == b"abcdef"


async def test_a_stream_head_is_sent_at_prepare_before_any_body():
    seen = {}

    async def stream(request):
        response = web.StreamResponse()
        await response.prepare(request)
        seen["after_prepare"] = bytes(request._protocol._transport.written)
        return response

    await answer(stream)
    assert seen["after_prepare"].startswith(b"HTTP/1.1 200 OK\r\n")
    assert seen["after_prepare"].endswith(b"\r\n\r\n")


async def test_writing_before_prepare_or_after_eof_says_what_to_do():
    errors = []

    async def misuse(request):
        response = web.StreamResponse()
        try:
            await response.write(b"x")
        except RuntimeError as exc:
            errors.append(str(exc))
        await response.prepare(request)
        await response.write_eof()
        try:
            await response.write(b"x")
        except RuntimeError as exc:
            errors.append(str(exc))
        return response

    await answer(misuse)
    assert errors == [
        "call `await response.prepare(request)` before write()",
        "cannot write() after write_eof()",
    ]


async def test_the_status_cannot_change_once_the_head_is_sent():
    async def late(request):
        response = web.StreamResponse()
        await response.prepare(request)
        with pytest.raises(RuntimeError, match="after prepare"):
            response.set_status(404)
        return response

    written, _ = await answer(late)
    assert written.startswith(b"HTTP/1.1 200")


async def test_force_close_closes_after_the_response():
    response = web.Response(text="bye")
    response.force_close()
    written, transport = await answer(response)
    assert b"Connection: close" in written
    assert transport.closed


async def test_a_custom_reason_phrase_is_sent_but_cr_lf_in_it_is_not():
    written, _ = await answer(web.Response(status=299, reason="Fine Thanks"))
    assert written.startswith(b"HTTP/1.1 299 Fine Thanks\r\n")
    written, _ = await answer(web.Response(status=200, reason="OK\r\nX-Evil: 1"))
    assert b"X-Evil" not in written
    assert written.startswith(b"HTTP/1.1 500")


def test_a_response_stores_state_under_keys_and_stays_truthy():
    TIMING = web.ResponseKey("timing", float)
    response = web.Response()
    assert len(response) == 0 and TIMING not in response
    assert response  # empty storage does not make a response false
    response[TIMING] = 1.5
    response["plain"] = "ok"
    assert response[TIMING] == 1.5 and dict(response) == {TIMING: 1.5, "plain": "ok"}
    del response["plain"]
    assert list(response) == [TIMING]
    with pytest.raises(KeyError):
        web.Response()["missing"]
    assert repr(TIMING) == "<ResponseKey 'timing'>"


def test_responses_compare_by_identity_whatever_they_store():
    first, second = web.Response(), web.Response()
    assert first != second and first == first
    assert len({first, second}) == 2

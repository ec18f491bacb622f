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
        try:
            await response.write_eof()
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
        "call `await response.prepare(request)` before write_eof()",
        "cannot write() after write_eof()",
    ]


async def test_the_status_cannot_change_once_the_head_is_sent():
    errors = []
    response = web.StreamResponse()

    async def late(request):
        await response.prepare(request)
        try:
            response.set_status(404)
        except RuntimeError as exc:  # raised in the handler, so a pytest.raises here is not seen
            errors.append(str(exc))
        return response

    written, _ = await answer(late)
    assert written.startswith(b"HTTP/1.1 200")
    assert errors == ["cannot change the status after prepare(): the head is sent"]
    assert response.status == 200


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
    with pytest.raises(KeyError):  # as a dict: nothing stored yet is still a KeyError
        del web.Response()["missing"]
    assert repr(TIMING) == "<ResponseKey 'timing'>"


def test_responses_compare_by_identity_whatever_they_store():
    first, second = web.Response(), web.Response()
    assert first != second and first == first
    assert len({first, second}) == 2


GET_10 = b"GET / HTTP/1.0\r\n\r\n"


async def streamed(request, response, *pieces, eof=True):
    await response.prepare(request)
    for piece in pieces:
        await response.write(piece)
    if eof:
        await response.write_eof()
    return response


@pytest.mark.parametrize("status", [100, 999])
def test_a_status_from_100_to_999_is_accepted(status):
    assert web.Response(status=status).status == status


@pytest.mark.parametrize("status", [99, 1000])
def test_a_status_outside_100_to_999_is_refused(status):
    with pytest.raises(ValueError, match="three-digit code"):
        web.StreamResponse(status=status)


def test_content_type_keeps_the_charset_and_charset_keeps_the_type():
    response = web.Response(text="x")
    response.content_type = "text/html"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    response.charset = "ISO-8859-1"
    assert response.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    response.charset = None
    assert response.headers["Content-Type"] == "text/html"
    response.content_type = "text/plain"
    assert response.headers["Content-Type"] == "text/plain"


def test_a_charset_needs_a_content_type_first():
    response = web.StreamResponse()
    with pytest.raises(RuntimeError, match="set content_type before charset"):
        response.charset = "utf-8"


def test_content_length_is_read_and_set_as_a_number():
    response = web.StreamResponse()
    assert response.content_length is None
    response.content_length = 5
    assert response.headers["Content-Length"] == "5" and response.content_length == 5
    response.content_length = None
    assert "Content-Length" not in response.headers and response.content_length is None


async def test_keep_alive_is_decided_at_prepare_unless_forced_closed():
    seen = []

    async def stream(request):
        response = web.StreamResponse()
        seen.append((response.keep_alive, response.prepared))
        await response.prepare(request)
        seen.append((response.keep_alive, response.prepared))
        return response

    await answer(stream)
    assert seen == [(None, False), (True, True)]
    response = web.Response()
    response.force_close()
    assert response.keep_alive is False


async def test_preparing_twice_sends_one_head():
    async def twice(request):
        response = web.StreamResponse()
        await response.prepare(request)
        await response.prepare(request)
        return await streamed(request, response, b"abc")

    written, _ = await answer(twice)
    assert written.count(b"HTTP/1.1") == 1
    [response] = parse_responses(written)
    assert response.body == b"abc"


def test_a_length_and_chunked_encoding_exclude_each_other():
    response = web.StreamResponse()
    response.content_length = 3
    with pytest.raises(RuntimeError, match="both chunked and of known length"):
        response.enable_chunked_encoding()


async def test_a_stream_counts_its_body_bytes_and_takes_any_bytes_like_object():
    response = web.StreamResponse()
    parts = (b"ab", bytearray(b"cd"), memoryview(b"ef"))
    written, _ = await answer(lambda request: streamed(request, response, *parts))
    [parsed] = parse_responses(written)
    assert parsed.body == b"abcdef"
    assert response.body_length == 6


async def test_a_stream_refuses_to_write_text():
    errors = []

    async def text(request):
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            await response.write("text")  # type: ignore[arg-type]
        except TypeError as exc:
            errors.append(str(exc))
        return await streamed(request, response)

    await answer(text)
    assert errors == ["write() takes bytes, got str: encode it first"]


async def test_a_head_answer_to_a_stream_has_no_body_and_no_last_chunk():
    response = web.StreamResponse()
    written, transport = await answer(lambda request: streamed(request, response, b"abc"), HEAD)
    assert written.endswith(b"\r\n\r\n") and b"abc" not in written and b"0\r\n\r\n" not in written
    assert response.body_length == 0
    assert not transport.closed


@pytest.mark.parametrize("status", [203, 205, 303, 305])
async def test_a_head_answer_keeps_the_length_whatever_its_status(status):
    written, _ = await answer(web.Response(status=status, text="hello"), HEAD)
    head, _, body = written.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 5\r\n" in head and body == b""


@pytest.mark.parametrize("status", [100, 199])
async def test_a_1xx_status_carries_no_length_and_no_body(status):
    written, _ = await answer(web.Response(status=status, text="hello"))
    head, _, body = written.partition(b"\r\n\r\n")
    assert b"Content-Length" not in head and body == b""


async def test_a_204_drops_a_transfer_encoding_the_handler_set():
    written, _ = await answer(web.Response(status=204, headers={"Transfer-Encoding": "chunked"}))
    assert b"Transfer-Encoding" not in written


async def test_a_body_without_a_type_is_octet_stream_and_no_body_has_no_type():
    written, _ = await answer(web.Response(body=b"\x00\x01"))
    [response] = parse_responses(written)
    assert response.header("Content-Type") == "application/octet-stream"
    for empty in (web.Response(), web.Response(status=204)):
        written, _ = await answer(empty)
        [response] = parse_responses(written)
        assert response.header("Content-Type") is None
        assert response.header("Content-Length") in ("0", None)


async def test_http_11_says_close_only_when_closing_and_http_10_only_when_keeping_alive():
    closing = web.Response(text="x")
    closing.force_close()
    written, _ = await answer(closing)
    assert parse_responses(written)[0].header("Connection") == "close"
    written, _ = await answer(web.Response(text="x"))
    assert parse_responses(written)[0].header("Connection") is None
    written, transport = await answer(web.Response(text="x"), GET_10)
    assert parse_responses(written)[0].header("Connection") is None and transport.closed
    own = web.Response(text="x", headers={"Connection": "upgrade"})
    written, _ = await answer(own)
    assert parse_responses(written)[0].header("Connection") == "upgrade"
    own = web.Response(text="x", headers={"Connection": "upgrade"})
    own.force_close()  # the handler's own Connection header is kept even when closing
    written, _ = await answer(own)
    assert parse_responses(written)[0].header("Connection") == "upgrade"


async def test_an_http_10_stream_is_not_chunked_even_after_a_write():
    written, transport = await answer(
        lambda request: streamed(request, web.StreamResponse(), b"ab", b"cd"), GET_10
    )
    assert b"Transfer-Encoding" not in written and written.endswith(b"\r\n\r\nabcd")
    assert transport.closed


def test_a_response_repr_shows_its_status_and_reason():
    assert repr(web.Response(status=404)) == "<Response 404 Not Found>"
    assert repr(web.StreamResponse(status=299, reason="Fine")) == "<StreamResponse 299 Fine>"


def test_a_content_type_header_excludes_content_type_and_charset_arguments():
    headers = {"Content-Type": "text/html"}
    for extra in ({"content_type": "text/plain"}, {"charset": "utf-8"}):
        with pytest.raises(ValueError, match="not both"):
            web.Response(text="x", headers=headers, **extra)


def test_text_is_encoded_in_the_charset_of_a_content_type_header():
    response = web.Response(text="é", headers={"Content-Type": "text/plain; charset=latin-1"})
    assert response.body == b"\xe9" and response.text == "é"
    assert web.Response(text="é", charset="latin-1").body == b"\xe9"
    untold = web.Response(text="é", headers={"Content-Type": "text/html"})  # no charset: UTF-8
    assert untold.body == "é".encode() and untold.headers["Content-Type"] == "text/html"
    assert web.Response(text="x", content_type="text/csv").content_type == "text/csv"


def test_a_body_with_a_content_type_and_a_charset():
    response = web.Response(body=b"{}", content_type="application/json", charset="utf-8")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    response = web.Response(body=b"\x89PNG", content_type="image/png")
    assert response.headers["Content-Type"] == "image/png"
    assert web.Response(body=b"{}").text == "{}" and web.Response().text is None


def test_a_body_may_be_bytes_like_or_str_and_text_may_be_set_later():
    assert web.Response(body=bytearray(b"ab")).body == b"ab"
    assert web.Response(body=memoryview(b"cd")).body == b"cd"
    text_body = web.Response(body="é")
    assert text_body.body == "é".encode() and text_body.charset == "utf-8"
    latin = web.Response(headers={"Content-Type": "text/plain; charset=latin-1"})
    latin.body = "é"
    assert latin.body == b"\xe9"
    later = web.Response()
    later.text = "é"
    assert later.body == "é".encode() and later.content_type == "text/plain"
    latin.text = "è"
    assert latin.body == b"\xe8"
    untold = web.Response(headers={"Content-Type": "text/html"})  # no charset: UTF-8
    untold.body = "é"
    assert untold.body == "é".encode()
    untold.text = "è"  # as aiohttp: setting text names the charset it was encoded with
    assert untold.body == "è".encode()
    assert untold.headers["Content-Type"] == "text/html; charset=utf-8"


async def test_an_empty_response_says_its_length_is_0_and_sends_nothing_after_its_head():
    written, _ = await answer(web.Response())
    assert b"\r\nContent-Length: 0\r\n" in written and written.endswith(b"\r\n\r\n")

    async def prepared(request):
        response = web.Response()
        await response.prepare(request)
        await response.write_eof()
        return response

    written, _ = await answer(prepared)
    assert b"\r\nContent-Length: 0\r\n" in written and written.endswith(b"\r\n\r\n")


async def test_a_response_counts_the_body_bytes_it_sent():
    response = web.Response(text="hello")
    await answer(response)
    assert response.body_length == 5
    response = web.Response(text="hello")
    await answer(response, HEAD)
    assert response.body_length == 0


async def test_a_response_the_handler_prepared_keeps_its_head_until_its_body_goes():
    seen = {}

    async def prepared(request):
        response = web.Response(text="whole")
        await response.prepare(request)
        seen["after_prepare"] = bytes(request._protocol._transport.written)
        return response

    written, _ = await answer(prepared)
    assert seen["after_prepare"] == b""
    assert parse_responses(written)[0].body == b"whole"


@pytest.mark.parametrize("prepared_by_handler", [False, True])
async def test_a_response_with_chunked_encoding_enabled_is_still_framed_once(prepared_by_handler):
    async def chunked(request):
        response = web.Response(text="hello")
        response.enable_chunked_encoding()
        if prepared_by_handler:
            await response.prepare(request)
            await response.write_eof()
        return response

    written, _ = await answer(chunked)
    [parsed] = parse_responses(written)
    assert parsed.body == b"hello"
    assert (parsed.header("Content-Length") is None) != (parsed.header("Transfer-Encoding") is None)


def test_a_status_given_as_text_is_a_number_as_in_aiohttp():
    assert web.Response(status="404").status == 404  # type: ignore[arg-type]
    assert web.json_response([]).status == 200


async def test_a_response_the_handler_prepared_itself_sends_its_body_at_write_eof():
    async def prepared(request):
        response = web.Response(text="whole")
        await response.prepare(request)
        await response.write_eof()
        await response.write_eof(b"again")  # a second write_eof does nothing
        return response

    written, _ = await answer(prepared)
    [response] = parse_responses(written)
    assert response.body == b"whole"
    assert response.header("Content-Length") == "5"


async def test_write_eof_never_sends_more_than_a_response_declared():
    async def prepared(request):
        response = web.Response(text="whole")
        await response.prepare(request)
        try:
            await response.write_eof(b"!")
        except (RuntimeError, ValueError, AssertionError):
            await response.write_eof()
        return response

    written, _ = await answer(prepared)
    assert written.endswith(b"\r\n\r\nwhole")


async def test_write_eof_with_data_on_a_whole_response_is_an_error_that_names_the_fix():
    said = []

    async def prepared(request):
        response = web.Response(text="whole")
        await response.prepare(request)
        try:
            await response.write_eof(b"!")
        except RuntimeError as exc:  # aiohttp refuses it too (an assertion there)
            said.append(str(exc))
        await response.write_eof()
        return response

    written, _ = await answer(prepared)
    assert written.endswith(b"\r\n\r\nwhole")
    assert len(said) == 1 and "StreamResponse" in said[0]


def test_json_response_takes_data_or_text_or_body_but_only_one():
    with pytest.raises(ValueError, match="only one of them"):
        web.json_response({"a": 1}, text="{}")
    with pytest.raises(ValueError, match="only one of them"):
        web.json_response([1], body=b"[]")
    assert web.json_response(text="[1]").body == b"[1]"
    response = web.json_response(body=b"[2]", status=201, reason="Made", headers={"X-A": "1"})
    assert (response.body, response.status, response.reason) == (b"[2]", 201, "Made")
    assert response.headers["X-A"] == "1"
    assert response.content_type == "application/json"


async def test_chunked_encoding_is_never_sent_to_an_http_10_client():
    async def stream(request):
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        return await streamed(request, response, b"hello")

    written, _ = await answer(stream, GET_10)
    assert written.endswith(b"\r\n\r\nhello")


async def test_a_length_cannot_be_set_once_chunked_encoding_is_enabled():
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    with pytest.raises(RuntimeError):
        response.content_length = 5

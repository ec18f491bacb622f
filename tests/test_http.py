"""Wire helpers: the response head, reason phrases, dates."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from multidict import CIMultiDict

from sketch import http
from sketch.http import (
    SERVER_SOFTWARE,
    HeaderInjectionError,
    HttpVersion10,
    HttpVersion11,
    bare_response,
    format_http_date,
    http_date,
    must_have_empty_body,
    parse_content_type,
    reason_for,
    serialize_head,
)

RFC_EXAMPLE = 784111777  # the instant of RFC 9110 5.6.7's example date


def test_the_head_is_a_status_line_and_fields_each_ending_in_crlf_then_a_blank_line():
    head = serialize_head(HttpVersion11, 200, "OK", [("A", "1"), ("B", "two")])
    assert head == b"HTTP/1.1 200 OK\r\nA: 1\r\nB: two\r\n\r\n"
    assert serialize_head(HttpVersion10, 404, "Not Found", []) == b"HTTP/1.0 404 Not Found\r\n\r\n"


@pytest.mark.parametrize("bad", ["a\r\nb", "a\nb", "a\rb", "a\0b"])
def test_cr_lf_or_nul_in_a_field_refuses_to_serialize(bad):
    with pytest.raises(HeaderInjectionError):
        serialize_head(HttpVersion11, 200, "OK", [("X", bad)])
    with pytest.raises(HeaderInjectionError):
        serialize_head(HttpVersion11, 200, "OK", [(bad, "x")])


def test_reason_phrases_come_from_the_standard_list():
    assert reason_for(404) == "Not Found"
    assert reason_for(418) == "I'm a Teapot"
    assert reason_for(299) == ""


def test_the_date_is_an_imf_fixdate():
    assert re.fullmatch(
        r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", http_date()
    )


def test_a_bare_response_closes_and_carries_its_length():
    raw = bare_response(400, "400: Bad Request")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in head and b"Content-Length: 16" in head
    assert body == b"400: Bad Request"


def test_content_type_parsing_splits_parameters():
    assert parse_content_type('text/HTML; Charset="UTF-8"') == ("text/html", {"charset": "UTF-8"})
    assert parse_content_type(None) == ("application/octet-stream", {})


def test_a_header_value_that_is_not_a_str_is_a_type_error_that_names_it():
    # As aiohttp: guessing the text of a number or a file object is not ours to do.
    fields = [("X-Name", "a"), ("X-Count", 3)]
    with pytest.raises(TypeError) as refused:
        serialize_head(HttpVersion11, 200, "OK", fields)  # type: ignore[arg-type]
    assert "'X-Count' is given 3, of type int" in str(refused.value)
    assert "str(...)" in str(refused.value)


def test_a_header_injection_error_names_the_field_and_the_character():
    with pytest.raises(HeaderInjectionError) as refused:
        serialize_head(
            HttpVersion11, 200, "OK", [("X-Fine", "a"), ("X-Echo", "a\r\nSet-Cookie: b")]
        )
    assert str(refused.value) == "'\\r' in X-Echo: 'a\\r\\nSet-Cookie: b'"
    with pytest.raises(HeaderInjectionError) as refused:
        serialize_head(HttpVersion11, 200, "O\nK", [("X-Fine", "a")])
    assert str(refused.value) == "'\\n' in reason: 'O\\nK'"
    with pytest.raises(HeaderInjectionError) as refused:
        serialize_head(HttpVersion11, 200, "OK", [("X-Nul", "a\0b")])
    assert str(refused.value) == "'\\x00' in X-Nul: 'a\\x00b'"


def test_the_server_header_names_sketch_and_its_version():
    assert SERVER_SOFTWARE == "sketch/0.1"
    head = bare_response(400, "400: Bad Request").partition(b"\r\n\r\n")[0]
    assert b"\r\nServer: sketch/0.1\r\n" in head
    assert b"\r\nContent-Type: text/plain; charset=utf-8\r\n" in head


def test_a_date_is_formatted_as_in_the_rfc_example():
    assert format_http_date(RFC_EXAMPLE) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_the_date_is_formatted_once_per_second(monkeypatch):
    clock = [RFC_EXAMPLE + 0.1]
    formatted = []

    def counting(timestamp):
        formatted.append(timestamp)
        return format_http_date(timestamp)

    monkeypatch.setattr(http, "time", SimpleNamespace(time=lambda: clock[0]))
    monkeypatch.setattr(http, "format_http_date", counting)
    assert http_date() == "Sun, 06 Nov 1994 08:49:37 GMT"
    clock[0] += 0.8  # the same second: the cached text
    assert http_date() == "Sun, 06 Nov 1994 08:49:37 GMT"
    clock[0] += 0.2  # the next second
    assert http_date() == "Sun, 06 Nov 1994 08:49:38 GMT"
    assert formatted == [RFC_EXAMPLE, RFC_EXAMPLE + 1]


@pytest.mark.parametrize(
    ("method", "status", "empty"),
    [
        ("HEAD", 200, True),
        ("GET", 100, True),
        ("GET", 199, True),
        ("GET", 200, False),
        ("GET", 203, False),
        ("GET", 204, True),
        ("GET", 205, False),
        ("GET", 303, False),
        ("GET", 304, True),
        ("POST", 305, False),
    ],
)
def test_head_1xx_204_and_304_and_only_they_have_an_empty_body(method, status, empty):
    assert must_have_empty_body(method, status) is empty


def test_content_type_parameters_may_have_spaces_around_the_semicolon():
    # RFC 9110 8.3.1: media-type = type "/" subtype *( OWS ";" OWS parameter )
    value = 'multipart/form-data ; boundary="X-b-X" ; charset=utf-8'
    assert parse_content_type(value) == (
        "multipart/form-data",
        {"boundary": "X-b-X", "charset": "utf-8"},
    )
    assert parse_content_type("") == ("application/octet-stream", {})


def test_a_bare_response_is_dated():
    head = bare_response(400, "400: Bad Request").partition(b"\r\n\r\n")[0]
    assert re.search(rb"\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} [\d:]{8} GMT\r\n", head)


def test_a_header_injection_error_names_the_field_when_the_headers_are_a_multidicts_items():
    # What a response hands serialize_head: its headers' items view, read twice when
    # a field is bad (once to build the head, once to name the field).
    fields = CIMultiDict([("X-Fine", "a"), ("X-Echo", "a\r\nb")])
    with pytest.raises(HeaderInjectionError) as refused:
        serialize_head(HttpVersion11, 200, "OK", fields.items())
    assert str(refused.value) == "'\\r' in X-Echo: 'a\\r\\nb'"

"""HTTP/1.x wire vocabulary: versions, reason phrases, dates and the response head.

Everything here is a pure function or a constant; nothing imports sketch.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from email.utils import formatdate
from http import HTTPStatus
from typing import NamedTuple

from multidict import istr

__all__ = [
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "SERVER_SOFTWARE",
    "reason_for",
    "http_date",
    "format_http_date",
    "serialize_head",
    "bare_response",
    "must_have_empty_body",
    "parse_content_type",
    "HeaderInjectionError",
    "CONNECTION",
    "CONTENT_LENGTH",
    "CONTENT_TYPE",
    "COOKIE",
    "DATE",
    "EXPECT",
    "SERVER",
    "SET_COOKIE",
    "TRANSFER_ENCODING",
]

SERVER_SOFTWARE = "sketch/0.1"

# The header names looked up on every request, as multidict's case-insensitive `istr`:
# a lookup by an istr skips folding the name's case each time (as aiohttp's hdrs does).
CONNECTION = istr("Connection")
CONTENT_LENGTH = istr("Content-Length")
CONTENT_TYPE = istr("Content-Type")
COOKIE = istr("Cookie")
DATE = istr("Date")
EXPECT = istr("Expect")
SERVER = istr("Server")
SET_COOKIE = istr("Set-Cookie")
TRANSFER_ENCODING = istr("Transfer-Encoding")


class HttpVersion(NamedTuple):
    major: int
    minor: int


HttpVersion10 = HttpVersion(1, 0)
HttpVersion11 = HttpVersion(1, 1)

_REASONS = {status.value: status.phrase for status in HTTPStatus}


def reason_for(status: int) -> str:
    """The standard reason phrase of a status code, or '' for an unknown one."""
    return _REASONS.get(status, "")


def must_have_empty_body(method: str, status: int) -> bool:
    """RFC 9110 6.4.1: HEAD responses, 1xx, 204 and 304 never carry content."""
    return method == "HEAD" or status < 200 or status in (204, 304)


def parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """Split 'text/html; charset=utf-8' into ('text/html', {'charset': 'utf-8'})."""
    if not value:
        return "application/octet-stream", {}
    mime, *params = value.split(";")
    parsed = {}
    for param in params:
        key, _, val = param.partition("=")
        parsed[key.strip().lower()] = val.strip().strip('"')
    return mime.strip().lower(), parsed


# A Date header costs a formatdate() call; it changes once a second, so cache it.
_date_cache: tuple[int, str] = (0, "")


def format_http_date(timestamp: float) -> str:
    """A time as an IMF-fixdate (RFC 9110 5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return formatdate(timestamp, usegmt=True)


def http_date() -> str:
    """The current time as an IMF-fixdate, cached per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, format_http_date(now))
    return _date_cache[1]


# `HTTP/1.1 200 OK\r\n` for each (version, status, reason) met: most responses share a
# few, and formatting the line costs more than the dict lookup.
_STATUS_LINES: dict[tuple[HttpVersion, int, str], str] = {}


class HeaderInjectionError(ValueError):
    """A handler put a CR, LF or NUL into a header: writing it would split the response."""


def serialize_head(
    version: HttpVersion, status: int, reason: str, fields: Collection[tuple[str, str]]
) -> bytes:
    """The status line and header block, CRLF-terminated (RFC 9112 2.1).

    `fields` is a list of (name, value), or a multidict's `items()`.
    """
    line = _STATUS_LINES.get((version, status, reason))
    if line is None:
        line = f"HTTP/{version.major}.{version.minor} {status} {reason}\r\n"
        if len(_STATUS_LINES) < 256:  # bounded: handlers' own reasons can't grow it
            _STATUS_LINES[(version, status, reason)] = line
    try:
        block = "\r\n".join(map(": ".join, fields))  # name: value, joined in C
    except TypeError:
        raise TypeError(_not_a_str(fields)) from None
    head = f"{line}{block}\r\n\r\n" if fields else f"{line}\r\n"
    # RFC 9110 5.5: field values never contain CR, LF or NUL. A handler that copies
    # user input into a header must not be able to forge a second response. The only
    # CRs and LFs allowed are the line ends we wrote: one per field, two more.
    ends = len(fields) + 2
    if head.count("\n") != ends or head.count("\r") != ends or "\0" in head:
        raise HeaderInjectionError(_which_field(reason, fields))
    # Non-ASCII values go out as UTF-8, as aiohttp does (RFC 9110 5.5 calls it obs-text).
    return head.encode("utf-8")


def _not_a_str(fields: Iterable[tuple[str, str]]) -> str:
    """Say which field is not text. Its repr on the wire (`X-Count: 5`, or worse
    `<_io.BufferedReader ...>`) would be a guess at what was meant: as aiohttp, refuse.
    Called once joining the fields failed, so one of them is not a str."""
    name, part = next((n, p) for n, v in fields for p in (n, v) if not isinstance(p, str))
    return (
        f"the header {name!r} is given {part!r}, of type {type(part).__name__}: "
        "header names and values must be str (write str(...) if you mean its text)"
    )


def _which_field(reason: str, headers: Iterable[tuple[str, str]]) -> str:
    for name, value in [("reason", reason), *headers]:
        for char in ("\r", "\n", "\0"):
            if char in f"{name}{value}":
                return f"{char!r} in {name}: {value!r}"
    return "a CR, LF or NUL in the head"


def bare_response(status: int, text: str, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    """A complete HTTP/1.1 response that closes the connection.

    Used where no Request exists to answer through: the request could not even be
    parsed. The body is the status phrase form that HTTPException uses.
    """
    body = text.encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Date", http_date()),
        ("Server", SERVER_SOFTWARE),
        ("Connection", "close"),
        *extra,
    ]
    return serialize_head(HttpVersion11, status, reason_for(status), headers) + body

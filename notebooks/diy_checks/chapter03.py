"""Chapter 03: Request and Response, read from and written to the wire.

Both are served by your chapter 02 Server, which the inspector watches (traced.py): what
its callbacks were given (the bytes of the body as they came) and what it wrote (the
Content-Length sent, the bytes written), to say why beside what the client read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from inspector.model import RequestTrace

from .chapter02 import ANSWER
from .client import Message, exchange
from .raised import describe
from .serving import (
    check_build,
)
from .traced import pieces, requests, watch_server

CAFE = (
    b"POST /caf%C3%A9/menu?tab=posts&tab=drinks HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json; charset=utf-8\r\nContent-Length: 16\r\n\r\n"
    + '{"name": "zoë"}'.encode()
)


def _never_made(raised: list[Exception], trace: RequestTrace | None) -> str:
    """Why the handler has no Request: it never ran, or Request() raised (and then what
    the trace saw your Server do with that)."""
    if not raised:
        return "the handler never ran: does your chapter 02 Server still pass the check?"
    said = f"the handler's Request(method, url, headers, body=body) raised {describe(raised[0])}"
    ran = trace is not None and any(c.name == "on_message_complete" for c in trace.parser)
    if ran and trace.status is not None:
        said += (
            ": the trace shows your Server's on_message_complete ran and called the handler, "
            f"then the client got a {trace.status}"
        )
        if trace.status == 400:
            said += (
                " (httptools reports an exception raised in a callback as a parse error, "
                "and your Server answers those 400)"
            )
    if isinstance(raised[0], TypeError):  # the call itself: the parameters do not fit it
        return said + (
            ". Handlers make it with the Server's parts alone: give what the Server does not "
            "pass a default (version=None, app=None, as in the guide)"
        )
    return said + ". Make Request accept what the Server collected"


async def _request_reads_the_wire(start_server: Callable, Server: type, Request: type) -> None:
    import yarl

    made: list[Any] = []
    raised: list[Exception] = []

    def handler(method: str, url: str, headers: dict, body: bytes) -> bytes:
        try:
            made.append(Request(method, url, headers, body=body))
        except Exception as error:  # kept to name it, and raised on as it would be
            raised.append(error)
            raise
        return ANSWER

    trace = watch_server(Server)  # what your Server was given, seen from outside
    await exchange(start_server, Server, handler, [CAFE])
    served = requests(trace)[:1]
    if not made:
        raise Problem(_never_made(raised, served[0] if served else None))
    request = made[0]
    if request.method != "POST":
        raise Problem(f"request.method is {request.method!r} for a POST")
    if not isinstance(request.url, yarl.URL):
        raise Problem(
            f"request.url is a {type(request.url).__name__}: make it a yarl.URL, "
            "which parses the path and the query for you"
        )
    if request.path != "/café/menu":
        raise Problem(
            f"the client asked for /caf%C3%A9/menu and request.path is {request.path!r}: "
            "give the decoded path, url.path (url.raw_path is the one still %-encoded)"
        )
    query = request.query
    tabs = query.getall("tab", None) if hasattr(query, "getall") else None
    if tabs != ["posts", "drinks"]:
        raise Problem(
            f"the query was ?tab=posts&tab=drinks and request.query is {query!r}: keep "
            "repeated keys, url.query is a MultiDict that does"
        )
    try:
        kind = request.headers["content-type"]
    except KeyError:
        sent = [n for trace in served for n, _ in trace.headers if n.lower() == "content-type"]
        how = (
            f"the trace shows your Server was given the header {sent[0]!r} and "
            "request.headers['content-type'] is missing"
            if sent
            else "request.headers['content-type'] is missing, the client sent Content-Type"
        )
        raise Problem(
            f"{how}: header names are case-insensitive (RFC 9110 5.1), keep them in a CIMultiDict"
        )
    if kind != "application/json; charset=utf-8":
        raise Problem(f"request.headers['content-type'] is {kind!r}")
    text = await request.text()
    if text != '{"name": "zoë"}':
        body = b"".join(pieces(served[0], "on_body")) if served else b""
        how = (
            f'the trace shows on_body given {body!r}, the UTF-8 of \'{{"name": "zoë"}}\' '
            f"(ë is the 2 bytes {'ë'.encode().hex(' ')}), and request.text() gave {text!r}"
            if body == CAFE.partition(b"\r\n\r\n")[2]
            else f'the body was the UTF-8 of \'{{"name": "zoë"}}\', request.text() gave {text!r}'
        )
        raise Problem(
            f"{how}: decode it with the charset of Content-Type, UTF-8 when there is none"
        )
    data = await request.json()
    if data != {"name": "zoë"}:
        raise Problem(f"request.json() gave {data!r} for the body {text!r}")


async def check_request(folder: Path | None = None) -> None:
    """Chapter 03's first build: diy/request.py, Request, made from what the Server reads."""
    await check_build(
        "a Request made from the wire: method, decoded path, query, headers, body",
        _request_reads_the_wire,
        [
            ("01", "protocol", "start_server"),
            ("02", "server", "Server"),
            ("03", "request", "Request"),
        ],
        "03",
        folder,
    )


# (text, what else Response() is given, the status line, the Content-Type sent): each
# argument is one a serializer could ignore, so each changes what goes on the wire.
ANSWERS = [
    (
        "héllo wörld ✓",
        {"status": 201, "headers": {"X-Served-By": "diy"}},
        "HTTP/1.1 201 Created",
        "text/plain; charset=utf-8",
    ),
    ("no such page", {"status": 404}, "HTTP/1.1 404 Not Found", "text/plain; charset=utf-8"),
    (
        "<p>café</p>",
        {"status": 202, "reason": "Queued", "content_type": "text/html", "charset": "latin-1"},
        "HTTP/1.1 202 Queued",
        "text/html; charset=latin-1",
    ),
]


def _given(given: dict) -> str:
    """The arguments as the learner would write them: "status=202, reason='Queued'"."""
    return ", ".join(f"{name}={value!r}" for name, value in given.items())


def _wide(text: str, charset: str) -> str:
    """'é and ö are 2 bytes each, ✓ 3': the characters of `text` longer than a byte."""
    sizes: dict[int, list[str]] = {}
    for char in dict.fromkeys(text):
        size = len(char.encode(charset))
        if size > 1:
            sizes.setdefault(size, []).append(char)
    said = [
        f"{' and '.join(chars)} {'is' if len(chars) == 1 else 'are'} {size} bytes"
        + (" each" if len(chars) > 1 else "")
        for size, chars in sorted(sizes.items())
    ]
    return ", ".join(said)


def _length_written(trace: RequestTrace | None, raw: bytes, text: str, charset: str) -> str:
    """What a wrong Content-Length did to the client, from what the trace saw written;
    "" when the trace did not see this answer written whole."""
    if trace is None or trace.response is None or trace.end is None or b"\r\n\r\n" not in raw:
        return ""
    fields = {name.lower(): value for name, value in trace.response.headers}
    length = fields.get("content-length", "")
    body = text.encode(charset)
    written = trace.end.bytes_written - len(raw.partition(b"\r\n\r\n")[0]) - 4
    if not length.isdigit() or written != len(body) or int(length) == len(body):
        return ""
    said = (
        f"the trace shows your server wrote Content-Length: {length} and then {written} bytes "
        f"of body for {text!r} ({_wide(text, charset)} in {charset.upper()})"
    )
    read = body[: int(length)].decode(charset, "replace")
    if int(length) < written:
        said += (
            f": a client reads {length} bytes, {read!r}, and takes the other "
            f"{written - int(length)} for the start of the next response"
        )
    else:
        said += f": a client waits for {int(length) - written} more bytes, which never come"
    return said + ". Count the bytes of the encoded body, not the characters of the text"


def _head(
    raw: bytes, text: str, given: dict, status_line: str, trace: RequestTrace | None = None
) -> None:
    """Say in words what is wrong with one response's head, as a strict client sees it."""
    status = given["status"]
    if not raw.startswith(f"HTTP/1.1 {status} ".encode()):
        raise Problem(
            f"a {status} response starts {raw[:20]!r}: start with 'HTTP/1.1 {status} ', "
            "the status the Response was given"
        )
    line = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
    if line != status_line:
        if "reason" in given:
            raise Problem(
                f"Response(..., {_given(given)}) sent the status line {line!r}: a reason "
                f"given is the one sent, {status_line!r}; HTTPStatus(status).phrase is only "
                "for when none is given"
            )
        raise Problem(
            f"the status line is {line!r}: the reason phrase of {status} is "
            f"{status_line.split(' ', 2)[2]!r} (http.HTTPStatus(status).phrase)"
        )
    if b"\r\n\r\n" not in raw or b"\n" in raw.split(b"\r\n\r\n")[0].replace(b"\r\n", b""):
        raise Problem(
            "a line of the head ends in \\n alone: every line ends in \\r\\n, and an empty "
            "line ends the head (RFC 9112 2.1)"
        )
    head = raw.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    fields = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in head)}
    charset = given.get("charset", "utf-8")
    length, size = fields.get("content-length"), len(text.encode(charset))
    if length != str(size):
        if charset != "utf-8" and length == str(len(text.encode())):
            raise Problem(
                f"Response({text!r}, {_given(given)}) sent the body's UTF-8, {length} bytes: "
                f"encode the str body with the charset given ({size} bytes in {charset})"
            )
        written = _length_written(trace, raw, text, charset)
        if written:
            raise Problem(written)
        raise Problem(
            f"the body {text!r} is {size} bytes in {charset.upper()} and Content-Length says "
            f"{length}: count the bytes of the encoded body, not the characters of the text"
        )


async def _response_on_the_wire(start_server: Callable, Server: type, Response: type) -> None:
    import httptools

    wire = []
    for text, given, _, _ in ANSWERS:
        raw = Response(text, **given).encode()
        if not isinstance(raw, bytes):
            raise Problem(f"Response.encode() returned a {type(raw).__name__}: return bytes")
        wire.append(raw)
    answers = iter(wire)

    def handler(method: str, url: str, headers: dict, body: bytes) -> bytes:
        return next(answers)

    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    trace = watch_server(Server)  # what your Server wrote, seen from outside
    received = await exchange(start_server, Server, handler, [get] * len(ANSWERS))
    rest = received
    served = {t.req: t for t in requests(trace) if t.conn == 1}
    for number, ((text, given, status_line, content_type), raw) in enumerate(
        zip(ANSWERS, wire, strict=True)
    ):
        status = given["status"]
        _head(raw, text, given, status_line, served.get(number + 1))
        message = Message()
        parser = httptools.HttpResponseParser(message)
        try:
            parser.feed_data(rest)
        except httptools.HttpParserUpgrade:  # pragma: no cover - not sent here
            pass
        except httptools.HttpParserError as exc:
            if not message.complete:
                raise Problem(f"a client cannot parse your {status} response: {exc}")
        body = text.encode(given.get("charset", "utf-8"))
        if not message.complete or message.body != body:
            raise Problem(f"the client read the body {message.body!r} for {text!r}")
        kind = message.headers.get("content-type")
        if kind != content_type:
            if "content_type" in given:
                raise Problem(
                    f"Response(..., {_given(given)}) sent Content-Type: {kind!r}: send the "
                    f"content_type and charset given, {content_type!r}"
                )
            raise Problem(
                f"the {status} response's Content-Type is {kind!r}: a str body is sent as "
                f"{content_type!r}, so that clients know how to decode it"
            )
        for name, value in given.get("headers", {}).items():
            if message.headers.get(name.lower()) != value:
                raise Problem(
                    f"Response(..., headers={given['headers']!r}) did not send {name}: "
                    f"{value}: write the headers you were given too"
                )
        rest = rest[len(raw) :]


async def check_response(folder: Path | None = None) -> None:
    """Chapter 03's second build: diy/response.py, Response and its bytes on the wire."""
    await check_build(
        "responses every client reads whole, as given, several on one connection",
        _response_on_the_wire,
        [
            ("01", "protocol", "start_server"),
            ("02", "server", "Server"),
            ("03", "response", "Response"),
        ],
        "03",
        folder,
    )

"""The Request: what the parser read, and the body as it arrives.

The protocol makes a Request as soon as the head is parsed (on_headers_complete) and
hands it to the handler right away; the body keeps arriving behind it, into
`request.content` (streams.py), which a handler may read piece by piece. `read()` waits
for the rest. That is why a handler can answer 404 before a large upload is sent, and
why `Expect: 100-continue` is answered only when the handler first asks for the body
(RFC 9110 10.1.1).
"""

from __future__ import annotations

import json
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from email.parser import BytesParser
from email.policy import HTTP
from io import BytesIO
from time import perf_counter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from yarl import URL

from .cookies import parse_cookie_header
from .events import ContinueSent
from .exceptions import HTTPBadRequest, HTTPRequestEntityTooLarge
from .http import COOKIE, EXPECT, HttpVersion, parse_content_type
from .multipart import MultipartReader
from .streams import EMPTY_BODY, StreamReader

if TYPE_CHECKING:
    from .protocol import HttpProtocol

__all__ = ["Request", "FileField"]


class FileField(NamedTuple):
    """An uploaded file from a multipart/form-data body."""

    name: str
    filename: str
    file: BytesIO
    content_type: str
    headers: CIMultiDictProxy[str]


def _target_to_url(target: str) -> URL:
    """The request target as a relative URL, the way aiohttp builds it.

    RFC 9112 3.2: origin-form (`/path?query`) is the usual shape; absolute-form
    (`http://host/path`) is what clients send to proxies, and servers must accept it.
    """
    if target.startswith("/"):
        path, _, fragment = target.partition("#")
        path, _, query = path.partition("?")
        return URL.build(path=path, query_string=query, fragment=fragment, encoded=True)
    url = URL(target, encoded=True)
    return url.relative() if url.is_absolute() else url


class Request(MutableMapping[str, Any]):
    """One HTTP request. Also a dict for per-request state: `request["user"] = ...`."""

    POST_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(
        self,
        protocol: HttpProtocol,
        method: str,
        target: str,
        version: HttpVersion,
        headers: CIMultiDict[str] | list[tuple[str, str]],
        keep_alive: bool,
        client_max_size: int = 1024**2,
    ) -> None:
        # Every attribute is set here, none left to a class-level default: Python 3.12+
        # specializes reading an attribute only when the class has none of that name.
        self._protocol = protocol  # the connection it came on (set by it)
        self._writer: Any = None  # the connection's way out (writer.py), set by the protocol
        self.number = 0  # its place on the connection: 1, 2, ... (set by the reader)
        self._match_info: Any = None  # set by the application's router
        self._app: Any = None
        self._rel_url: URL | None = None  # built on first use: many handlers never need it
        # The body, fed by the reader through _feed_body / _feed_eof / _feed_error.
        self._stream: StreamReader | None = None  # made when the first piece comes, or asked
        self._complete = False  # the whole body has been received (not necessarily read)
        self._body: bytes | None = None
        self._post: MultiDictProxy[Any] | None = None
        self._continue_sent = False  # `100 Continue`, at most once (see read())
        self._cookies: MappingProxyType[str, str] | None = None  # parsed on first use
        self._headers: CIMultiDictProxy[str] | None = None  # built from _fields on first use
        self.method = method
        self.version = version
        self.raw_path = target
        if isinstance(headers, list):  # as parsed: the multidict is built on first use
            self._fields = headers
        else:
            self._headers = CIMultiDictProxy(headers)
        self.keep_alive = keep_alive
        self._client_max_size = client_max_size
        self._state: dict[str, Any] = {}

    # --- what the head said -------------------------------------------------

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        headers = self._headers
        if headers is None:
            headers = self._headers = CIMultiDictProxy(CIMultiDict(self._fields))
        return headers

    @property
    def rel_url(self) -> URL:
        if self._rel_url is None:
            self._rel_url = _target_to_url(self.raw_path)
        return self._rel_url

    @property
    def path(self) -> str:
        return self.rel_url.path

    @property
    def match_path(self) -> str:
        """The path the router matches: yarl's `path_safe`, escapes decoded but %2F and %25.

        For a plain target (`/users/bob?x=1`) that is just the text before `?`, so most
        requests are routed without building a URL object at all.
        """
        target = self.raw_path
        if target[:1] == "/" and "%" not in target:
            return target.partition("?")[0].partition("#")[0]
        return self.rel_url.path_safe

    @property
    def query(self) -> MultiDictProxy[str]:
        return self.rel_url.query

    @property
    def query_string(self) -> str:
        return self.rel_url.query_string

    @property
    def scheme(self) -> str:
        return "http"

    @property
    def host(self) -> str:
        return self.headers.get("Host") or self._protocol.local_address

    @property
    def url(self) -> URL:
        return URL.build(scheme=self.scheme, authority=self.host).join(self.rel_url)

    @property
    def remote(self) -> str | None:
        return self._protocol.peer_address

    @property
    def cookies(self) -> MappingProxyType[str, str]:
        """The Cookie header's cookies, name -> value, read-only (cookies.py)."""
        if self._cookies is None:
            self._cookies = MappingProxyType(parse_cookie_header(self.headers.get(COOKIE, "")))
        return self._cookies

    @property
    def content_type(self) -> str:
        return parse_content_type(self.headers.get("Content-Type"))[0]

    @property
    def charset(self) -> str | None:
        return parse_content_type(self.headers.get("Content-Type"))[1].get("charset")

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return None if value is None else int(value)

    @property
    def body_exists(self) -> bool:
        """Whether the head announced a body (RFC 9112 6.1)."""
        return "Content-Length" in self.headers or "Transfer-Encoding" in self.headers

    can_read_body = body_exists

    @property
    def trace_ids(self) -> tuple[int, int]:
        """(connection, request) numbers, as trace events carry them."""
        return self._protocol.id, self.number

    @property
    def match_info(self) -> Any:
        return self._match_info

    @property
    def app(self) -> Any:
        return self._app

    @property
    def config_dict(self) -> Mapping[Any, Any]:
        """A read-only view of `request.app`'s storage, then its parent's, out to the root.

        aiohttp's `ChainMapProxy`: a sub-application finds the root's `app[DB]` here
        unless it set its own.
        """
        apps, app = [], self._app
        while app is not None:
            apps.append(app)
            app = app._parent
        return MappingProxyType(ChainMap(*apps))

    # --- the body, fed by the protocol --------------------------------------

    def _feed_body(self, chunk: bytes) -> None:
        if self._stream is None:
            self._stream = StreamReader()
        self._stream.feed_data(chunk)

    def _feed_eof(self) -> None:
        self._complete = True
        if self._stream is not None:
            self._stream.feed_eof()

    def _feed_error(self, exc: BaseException) -> None:
        if self._stream is None:
            self._stream = StreamReader()
        self._stream.set_exception(exc)

    @property
    def content(self) -> StreamReader:
        """The body as a stream, read piece by piece (streams.py); aiohttp's name.

        Unlike `read()`, it is not held to `client_max_size`: a handler that streams a
        body decides how much to keep. Asking for it sends `100 Continue` if the client
        waits for one.
        """
        if self._stream is None:
            self._stream = EMPTY_BODY if self._complete else StreamReader()
        if not self._complete:
            self._send_continue()
        return self._stream

    def _send_continue(self) -> None:
        """RFC 9110 10.1.1: a client that sent `Expect: 100-continue` waits for it
        before the body; it goes out the first time the handler asks for the body."""
        if not self._continue_sent and self._expects_continue():
            self._continue_sent = True
            self._writer.write_interim(b"HTTP/1.1 100 Continue\r\n\r\n")
            tracer = self._protocol.tracer
            if tracer.on:
                tracer.emit(ContinueSent, perf_counter(), *self.trace_ids)

    def _expects_continue(self) -> bool:
        # RFC 9110 10.1.1: only an HTTP/1.1 client waits for 100 Continue.
        return self.version >= (1, 1) and self.headers.get(EXPECT, "").lower() == "100-continue"

    @property
    def body_complete(self) -> bool:
        return self._complete

    async def read(self) -> bytes:
        """The whole body, at most `client_max_size` bytes, else HTTPRequestEntityTooLarge."""
        if self._body is not None:
            return self._body
        limit = self._client_max_size
        declared = self.content_length
        if declared is not None and 0 < limit < declared:
            # No 100 Continue for this one; and close after the 413 rather than read
            # (or wait for) a body nobody wants.
            self.keep_alive = False
            raise HTTPRequestEntityTooLarge(limit, declared)
        stream, blocks, size = self.content, [], 0
        while block := await stream.readany():
            size += len(block)
            if 0 < limit < size:
                # Keep nothing more, and close after the 413: the rest is not read.
                self.keep_alive = False
                raise HTTPRequestEntityTooLarge(limit, size)
            blocks.append(block)
        self._body = b"".join(blocks)
        return self._body

    async def text(self) -> str:
        return (await self.read()).decode(self.charset or "utf-8")

    async def json(self, *, loads: Callable[[str], Any] = json.loads) -> Any:
        return loads(await self.text())

    async def multipart(self) -> MultipartReader:
        """The body's parts, read one at a time as they arrive (multipart.py): for
        uploads too big to hold, where post() would read the whole body first."""
        return MultipartReader(self.headers, self.content)

    async def post(self) -> MultiDictProxy[Any]:
        """Form fields from an urlencoded or multipart/form-data body."""
        if self._post is not None:
            return self._post
        form: MultiDict[Any] = MultiDict()
        content_type = self.content_type
        if self.method in self.POST_METHODS:
            if content_type in ("application/x-www-form-urlencoded", ""):
                text = await self.text()
                form.extend(
                    parse_qsl(text, keep_blank_values=True, encoding=self.charset or "utf-8")
                )
            elif content_type == "multipart/form-data":
                form.extend(_parse_multipart(self.headers["Content-Type"], await self.read()))
        self._post = MultiDictProxy(form)
        return self._post

    # --- per-request storage ------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __len__(self) -> int:
        return len(self._state)

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"


def _parse_multipart(content_type: str, body: bytes) -> Iterator[tuple[str, Any]]:
    """Fields of a multipart/form-data body (RFC 7578), parsed by the stdlib's MIME parser."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise HTTPBadRequest(text="malformed multipart/form-data body")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            raise HTTPBadRequest(text="a multipart/form-data part has no name")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            yield name, payload.decode(part.get_content_charset() or "utf-8")
        else:
            headers = CIMultiDictProxy(CIMultiDict(part.items()))
            yield (
                name,
                FileField(name, filename, BytesIO(payload), part.get_content_type(), headers),
            )

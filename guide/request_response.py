"""The guide's server protocol, Request and Response, as its text has them, bugs included.

Sections "Making server protocol" and "Request/Response objects". What goes wrong:

- on_url and on_body keep only the last piece (httptools calls them once per piece);
- the headers dict is made once, in __init__, and shared by every request that follows;
- data_received reads self._request right after feed_data, whether the request is
  complete or not;
- Response.__str__ counts Content-Length with len() of a str: characters, not bytes,
  and fails on a body of None.
"""

from __future__ import annotations

import asyncio
import http.server
import json

from httptools import HttpRequestParser
from yarl import URL

__all__ = ["HttpParserMixin", "Request", "Response", "Server"]

# The guide reads status phrases from the standard library's table: (phrase, explanation).
web_responses = http.server.BaseHTTPRequestHandler.responses


class HttpParserMixin:
    """The parser callbacks of "Making server protocol", with on_message_complete as
    "Request/Response objects" rewrites it.

    Bug: on_url and on_body store what they are given, so a URL or a body that arrives
    in several pieces keeps only its last one.
    """

    def on_body(self, data):
        self._body = data  # each piece replaces the one before

    def on_url(self, url):
        self._url = url  # so does each piece of the URL

    def on_header(self, header, value):
        header = header.decode(self._encoding)
        self._headers[header] = value.decode(self._encoding)

    def on_message_complete(self):
        self._request = self._request_class(
            version=self._request_parser.get_http_version(),
            method=self._request_parser.get_method(),
            url=self._url,
            headers=self._headers,
            body=self._body,
        )


class Request:
    """The Request of "Request/Response objects".

    Bug: it takes `app` and drops it: a handler's request.app raises AttributeError.
    """

    _encoding = "utf_8"

    def __init__(self, method, url, headers, version=None, body=None, app=None):
        self._version = version
        self._method = method.decode(self._encoding)
        self._url = URL(url.decode(self._encoding))
        self._headers = headers
        self._body = body
        # `app` is accepted and never stored.

    @property
    def method(self):
        return self._method

    @property
    def url(self):
        return self._url

    @property
    def headers(self):
        return self._headers

    def text(self):
        if self._body is not None:
            return self._body.decode(self._encoding)

    def json(self):
        text = self.text()
        if text is not None:
            return json.loads(text)

    def __repr__(self):
        return f"<Request at 0x{id(self)}>"


class Response:
    """The Response of "Request/Response objects": lines joined with CRLF.

    Bugs: Content-Length is len() of the body as a str, its characters, where the wire
    carries the bytes of its UTF-8 encoding; a body of None (an HTTPException made with
    reason=None, chapter 08) makes len() raise TypeError.
    """

    _encoding = "utf-8"

    def __init__(
        self, body=None, status=200, content_type="text/plain", headers=None, version="1.1"
    ):
        self._version = version
        self._status = status
        self._body = body
        self._content_type = content_type
        if headers is None:
            headers = {}
        self._headers = headers

    @property
    def body(self):
        return self._body

    @property
    def status(self):
        return self._status

    @property
    def content_type(self):
        return self._content_type

    @property
    def headers(self):
        return self._headers

    def add_body(self, data):
        self._body = data

    def add_header(self, key, value):
        self._headers[key] = value

    def __str__(self):
        """The raw response as a str; the server encodes it to UTF-8 to send it."""
        status_msg, _ = web_responses.get(self._status)
        messages = [
            f"HTTP/{self._version} {self._status} {status_msg}",
            f"Content-Type: {self._content_type}",
            f"Content-Length: {len(self._body)}",  # characters, not bytes
        ]
        if self.headers:
            for header, value in self.headers.items():
                messages.append(f"{header}: {value}")
        if self._body is not None:
            messages.append("\r\n" + self._body)
        return "\r\n".join(messages)

    def __repr__(self):
        return f"<Response at 0x{id(self)}>"


class Server(asyncio.Protocol, HttpParserMixin):
    """The Server of "Request/Response objects": it answers every request with
    `Received request on <url>` and closes the connection.

    Bug: data_received answers right after feed_data, whether the request is complete
    or not. When a request arrives in pieces, the first piece finds self._request still
    None (AttributeError: asyncio then closes the connection), or, on a Server that has
    answered before, the request before.
    """

    def __init__(self, loop):
        self._loop = loop
        self._encoding = "utf-8"
        self._url = None
        self._headers = {}  # made once: every later request adds to the same dict
        self._body = None
        self._transport = None
        self._request_parser = HttpRequestParser(self)
        self._request = None
        self._request_class = Request

    def connection_made(self, transport):
        self._transport = transport

    def connection_lost(self, *args):
        self._transport = None

    def data_received(self, data):
        self._request_parser.feed_data(data)

        resp = Response(body=f"Received request on {self._request.url}")
        self._transport.write(str(resp).encode(self._encoding))

        self._transport.close()

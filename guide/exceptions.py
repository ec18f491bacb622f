"""The guide's HTTP exceptions and its 500 page, section "Better exceptions", bugs included.

- HTTPException's `reason` is its body; with no reason the body is None, and the
  Response's len(None) raises TypeError when the answer is written: the client gets
  no answer at all;
- format_exception sends the traceback to the client, as HTML, unescaped.
"""

from __future__ import annotations

import traceback

from .request_response import Response

__all__ = ["HTTPException", "HTTPNotFound", "HTTPBadRequest", "HTTPFound", "format_exception"]


class HTTPException(Response, Exception):
    """A Response and an Exception. Bug: HTTPNotFound() (reason=None) has no body, and
    writing it fails (TypeError from len(None) in Response.__str__)."""

    status_code = None

    def __init__(self, reason=None, content_type=None):
        self._reason = reason
        self._content_type = content_type

        Response.__init__(
            self,
            body=self._reason,
            status=self.status_code,
            content_type=self._content_type or "text/plain",
        )

        Exception.__init__(self, self._reason)


class HTTPNotFound(HTTPException):
    status_code = 404


class HTTPBadRequest(HTTPException):
    status_code = 400


class HTTPFound(HTTPException):
    status_code = 302

    def __init__(self, location, reason=None, content_type=None):
        super().__init__(reason=reason, content_type=content_type)
        self.add_header("Location", location)


server_exception_templ = """
<div>
    <h1>500 Internal server error</h1>
    <span>Server got itself in trouble : <b>{exc}</b><span>
    <p>{traceback}</p>
</div>
"""


def format_exception(exc):
    """The guide's helpers.py: a 500 page with the exception and its traceback, as
    they are (unescaped), for whoever sent the request."""
    resp = Response(status=500, content_type="text/html")
    trace = traceback.format_exc().replace("\n", "</br>")
    msg = server_exception_templ.format(exc=str(exc), traceback=trace)
    resp.add_body(msg)
    return resp

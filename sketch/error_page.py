"""The answer when a handler fails: a generic 500, with a traceback only in debug mode.

The wording is aiohttp's, so a client sees the same page from both. Nothing from the
request or the exception reaches the page unless `debug=True`, and then escaped.
"""

from __future__ import annotations

import html
import traceback

from .response import Response

__all__ = ["error_page"]

TITLE = "500 Internal Server Error"
DETAIL = "Server got itself in trouble"


def error_page(exc: BaseException, *, accept: str, debug: bool) -> Response:
    trace = "".join(traceback.format_exception(exc)) if debug else None
    if "text/html" in accept:
        detail = (
            DETAIL if trace is None else f"<h2>Traceback:</h2>\n<pre>{html.escape(trace)}</pre>"
        )
        body = (
            f"<html><head><title>{TITLE}</title></head><body>\n<h1>{TITLE}</h1>"
            f"\n{detail}\n</body></html>\n"
        )
        response = Response(status=500, text=body, content_type="text/html")
    else:
        response = Response(status=500, text=f"{TITLE}\n\n{trace or DETAIL}")
    response.force_close()  # the handler failed half-way: trust nothing after this
    return response

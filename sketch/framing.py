"""Whether a request head can be trusted: limits and the framing rules httptools leaves to us.

httptools (llhttp) already refuses most malformed heads: bare LF, obs-fold, control
characters, bad Content-Length, Content-Length with Transfer-Encoding, bad chunk sizes.
What it accepts and we must still refuse is checked here, as pure functions of the
head, so each rule can be read and tested on its own.

- Rule 1: only HTTP/1.0 and HTTP/1.1 are spoken; anything else gets 505 (RFC 9110 15.6.6).
- Rule 2: an HTTP/1.1 request carries exactly one Host (RFC 9112 3.2), else 400.
- Rule 3: the only transfer coding understood is chunked, last (RFC 9112 6.1). Another
  coding gets 501; Transfer-Encoding on an HTTP/1.0 request is faulty framing, 400.
- Rule 4: the only expectation is 100-continue; another gets 417 (RFC 9110 10.1.1).
- Rule 5: limits. A request target longer than `max_target` gets 414; more than
  `max_headers` fields, or one longer than `max_field`, gets 431 (RFC 6585 5). A
  connection past `max_connections` gets 503 and is closed (RFC 9110 15.6.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Limits", "Refusal", "check_head"]


@dataclass(frozen=True, slots=True)  # slots: no class-level defaults, so reads specialize
class Limits:
    """Sizes and deadlines a server holds every client to. Seconds for the timeouts."""

    max_target: int = 8190  # bytes in the request target (aiohttp's max_line_size)
    max_field: int = 8190  # bytes in one header field, name and value
    max_headers: int = 100  # header fields in one request
    max_head: int = 64 * 1024  # bytes of an unfinished head kept while waiting for its end
    head_timeout: float = 30.0  # from a request's first byte to the end of its head
    body_timeout: float = 30.0  # longest pause between two pieces of a request body
    keepalive_timeout: float = 75.0  # idle time between requests before closing
    max_connections: int | None = None  # open at once; past it, 503 and close (None: no cap)


@dataclass(frozen=True)
class Refusal:
    """The answer to a head we will not serve: a status and the reason, in plain words."""

    status: int
    reason: str


def check_head(version: str, fields: Iterable[tuple[str, str]]) -> Refusal | None:
    """Rules 1 to 4, once the whole head is in. None means: serve it.

    `fields` are the header fields as parsed, (name, value) in order: one pass over
    them finds what the rules need, so no multidict is built for a request whose
    handler never reads its headers.
    """
    if version not in ("1.0", "1.1"):
        return Refusal(505, f"HTTP/{version} is not supported, only HTTP/1.0 and HTTP/1.1")
    # (None until one is seen: most requests have neither, and then no list is made.)
    hosts, codings, expectations = 0, None, None
    for name, value in fields:
        name = name.lower()  # RFC 9110 5.1: field names are case-insensitive
        if name == "host":
            hosts += 1
        elif name == "transfer-encoding":
            codings = codings or []
            codings.append(value)
        elif name == "expect":
            expectations = expectations or []
            expectations.append(value)
    if hosts != 1 and version == "1.1":
        return Refusal(400, "an HTTP/1.1 request needs exactly one Host header")
    if codings is not None:
        if version == "1.0":
            return Refusal(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request")
        names = [c.strip().lower() for value in codings for c in value.split(",")]
        unknown = [name for name in names if name != "chunked"]
        if unknown:
            return Refusal(501, "no transfer coding other than chunked is implemented")
    if expectations is not None:
        names = {e.strip().lower() for value in expectations for e in value.split(",")}
        if names - {"100-continue"}:  # RFC 9110 10.1.1: Expect is a list; each must be met
            return Refusal(417, "the only expectation supported is 100-continue")
    return None

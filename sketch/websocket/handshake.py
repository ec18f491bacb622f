"""The opening handshake (RFC 6455 4.2): is this request a WebSocket upgrade, and what
does the server answer?

How this works:

- Rule 1: the client sends a GET (HTTP/1.1 or later) with `Upgrade: websocket`,
  `Connection: Upgrade` (one token of a list), `Sec-WebSocket-Key` (16 random bytes in
  base64) and `Sec-WebSocket-Version: 13` (4.2.1). A request that breaks one of these
  gets 400 and no upgrade; a GET-only resource answers another method with 405; a
  version other than 13 gets 426 and `Sec-WebSocket-Version: 13`, the one spoken here
  (4.2.2, 4.4).
- Rule 2: the answer is `101 Switching Protocols` with `Sec-WebSocket-Accept`: the
  base64 of the SHA-1 of the key followed by the RFC's GUID (4.2.2 step 5.4). It proves
  the server read this handshake, and that it speaks WebSocket.
- Rule 3: the client lists the subprotocols it speaks in `Sec-WebSocket-Protocol`, in
  its order of preference (4.1); the server picks the first of them that is one of its
  own `protocols`, as aiohttp does, and names it in the 101; if none is, the header is
  left out (4.2.2 step 5.4, /subprotocol/).
  Extensions (permessage-deflate) are declined by leaving them out of the 101 (9.1).

Pure functions of the request's method, version and headers: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ..exceptions import HTTPBadRequest, HTTPException, HTTPMethodNotAllowed, HTTPUpgradeRequired

__all__ = ["GUID", "WebSocketReady", "accept_key", "check_handshake", "choose_protocol"]


class WebSocketReady(NamedTuple):
    """What `can_prepare()` says: can this request be upgraded, with which subprotocol."""

    ok: bool
    protocol: str | None

    def __bool__(self) -> bool:
        return self.ok


GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3


def accept_key(key: str) -> str:
    """Rule 2: the `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()  # noqa: S324 (the RFC's)
    return base64.b64encode(digest).decode("ascii")


def _tokens(value: str) -> list[str]:
    """A comma-separated list of tokens, lowercased (RFC 9110 5.6.1, 7.8)."""
    return [part.strip().lower() for part in value.split(",") if part.strip()]


def check_handshake(
    method: str, version: tuple[int, int], headers: Mapping[str, str]
) -> HTTPException | str:
    """Rule 1: the client's key if this is a valid upgrade, else the error to answer."""
    if method != "GET":
        return HTTPMethodNotAllowed(method, ["GET"], text="a WebSocket handshake is a GET")
    if version < (1, 1):
        return HTTPBadRequest(text="a WebSocket handshake needs HTTP/1.1 or later")
    if "websocket" not in _tokens(headers.get("Upgrade", "")):
        return HTTPBadRequest(text="the request has no `Upgrade: websocket` header")
    if "upgrade" not in _tokens(headers.get("Connection", "")):
        return HTTPBadRequest(text="the request's Connection header does not name upgrade")
    wanted = headers.get("Sec-WebSocket-Version", "")
    if wanted.strip() != "13":
        # 4.4: say which versions are spoken, so a client that knows 13 can retry.
        error = HTTPUpgradeRequired(text=f"WebSocket version {wanted!r} is not spoken here: 13 is")
        error.headers["Sec-WebSocket-Version"] = "13"
        return error
    key = headers.get("Sec-WebSocket-Key", "").strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 16:  # 4.1: "a randomly selected 16-byte value ... base64-encoded"
        return HTTPBadRequest(text="Sec-WebSocket-Key is missing or not 16 bytes in base64")
    return key


def choose_protocol(offered: str, protocols: Iterable[str]) -> str | None:
    """Rule 3: the first subprotocol the client offered that the server speaks."""
    spoken = tuple(protocols)
    for part in offered.split(","):
        if part.strip() in spoken:
            return part.strip()
    return None

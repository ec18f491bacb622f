"""WebSockets (RFC 6455), server side: frames.py parses and builds frames with no I/O,
handshake.py checks the opening handshake, response.py is aiohttp's WebSocketResponse
on an upgraded connection, trace.py tells the tracer what it does."""

from __future__ import annotations

from .frames import WSCloseCode, WSMessage, WSMsgType
from .response import WebSocketError, WebSocketReady, WebSocketResponse

__all__ = [
    "WSCloseCode",
    "WSMessage",
    "WSMsgType",
    "WebSocketError",
    "WebSocketReady",
    "WebSocketResponse",
]

"""What a traced WebSocket reports: its upgrade, every frame either way, its end.

response.py calls these only when its connection's tracer is on (one check, there);
off, none of this code runs and the frame reader records nothing (frames.py, Rule 4).
Frames are told as the reader read them, not as the messages they make, so a
fragmented message, a PING between two fragments or a frame refused on its first two
bytes each show as they came.
"""

from __future__ import annotations

import struct
from time import perf_counter
from typing import TYPE_CHECKING

from ..events import WebSocketClosed, WebSocketFrame, WebSocketUpgrade
from .frames import PREVIEW, FrameHead, WSMessage, WSMsgType, frame_head

if TYPE_CHECKING:
    from .frames import Failure
    from .response import WebSocketResponse

__all__ = ["upgrade", "frames_in", "frame_out", "closed"]

_TEXT_PREVIEW = 60  # characters of a text payload an event carries
_HEX_PREVIEW = 16  # bytes of a binary one


def upgrade(ws: WebSocketResponse, key: str, accept: str, offset: int) -> None:
    ws._tracer.emit(
        WebSocketUpgrade, perf_counter(), *ws._ids, key, accept, ws.ws_protocol or "", offset
    )


def frames_in(ws: WebSocketResponse, data: bytes) -> list[WSMessage | Failure]:
    """Feed `data` to the reader, recording the frames' heads; emit one event each."""
    reader = ws._frames
    assert reader is not None
    reader.heads = heads = []
    try:
        items = reader.feed(data)
    finally:
        reader.heads = None
    emit, ids, base = ws._tracer.emit, ws._ids, ws._frames_at
    for head in heads:
        emit(WebSocketFrame, *_frame_in(head, ids, base, ws))
    return items


def _frame_in(head: FrameHead, ids: tuple[int, int], base: int, ws: WebSocketResponse) -> tuple:
    """The fields of the WebSocketFrame event of a frame read."""
    opcode = head.opcode
    if opcode == WSMsgType.TEXT or opcode == WSMsgType.BINARY:
        ws._message_opcode = opcode  # what its CONTINUATION frames continue
    kind = ws._message_opcode if opcode == WSMsgType.CONTINUATION else opcode
    code, reason, preview = _payload(kind, head.payload, head.length)
    return (
        perf_counter(), *ids, "in", _name(opcode), head.fin, head.rsv, head.masked,
        head.length, base + head.offset, head.head, code, reason, preview,
    )  # fmt: skip


def frame_out(ws: WebSocketResponse, opcode: int, payload: bytes, fin: bool = True) -> None:
    """A frame we send (unmasked, 5.1), with the header frames.frame() writes for it."""
    n = len(payload)
    head = frame_head(opcode, n, fin)
    code, reason, preview = _payload(opcode, payload[:PREVIEW], n)
    ws._tracer.emit(WebSocketFrame, perf_counter(), *ws._ids, "out", _name(opcode), fin, 0,
                    False, n, -1, head, code, reason, preview)  # fmt: skip


def closed(ws: WebSocketResponse, by: str) -> None:
    error = ws._exception
    text = "" if error is None else f"{type(error).__name__}: {error}"
    ws._tracer.emit(WebSocketClosed, perf_counter(), *ws._ids, ws._close_code or 1006, by, text)


def _name(opcode: int) -> str:
    try:
        return WSMsgType(opcode).name
    except ValueError:
        return f"{opcode:#x}"  # a reserved opcode (5.2), refused


def _payload(opcode: int | None, payload: bytes, length: int) -> tuple[int, str, str]:
    """(close code, close reason, preview) of a payload's first bytes."""
    if opcode == WSMsgType.CLOSE:
        if len(payload) < 2:
            return 0, "", ""
        (code,) = struct.unpack_from("!H", payload)
        return code, payload[2:].decode("utf-8", "replace"), ""
    if opcode == WSMsgType.TEXT:
        text = payload.decode("utf-8", "replace")
        if len(text) > _TEXT_PREVIEW or length > len(payload):
            text = text[:_TEXT_PREVIEW] + "…"
        return 0, "", text
    more = "…" if length > _HEX_PREVIEW else ""
    return 0, "", payload[:_HEX_PREVIEW].hex(" ") + more

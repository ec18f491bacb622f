"""WebSocket frames (RFC 6455 section 5): bytes in, messages out, with no I/O.

How this works:

- Rule 1: a frame is a 2-byte header (FIN, RSV1-3, opcode; MASK, a 7-bit length),
  then 2 or 8 more bytes of length when the 7-bit one says 126 or 127, then a 4-byte
  masking key when MASK is set, then the payload (RFC 6455 5.2).
- Rule 2: a message is one frame, or a TEXT/BINARY frame without FIN followed by
  CONTINUATION frames up to one with FIN (5.4). Control frames (CLOSE, PING, PONG) may
  come between the fragments; they are at most 125 bytes and never fragmented (5.5).
- Rule 3: whatever breaks the RFC ends the parse with a `Failure` carrying the close
  code the connection must send (7.4.1): 1002 for a protocol error, 1007 for a text
  that is not UTF-8 (8.1), 1009 for a message over `max_msg_size`. Nothing after a
  Failure, or after a CLOSE frame (5.5.1), is parsed.
- Rule 4, traced only: with `heads` set to a list, the reader also appends a FrameHead
  for each frame it reads (and for the one it refused), so the tracer can tell the
  frames apart from the messages they make. `None` (the default) records nothing.

The connection (response.py) feeds the reader and acts on what it returns; a test or a
notebook can drive it with plain bytes:

    >>> FrameReader().feed(bytes([0x81, 0x82, 0, 0, 0, 0]) + b"hi")
    [WSMessage(type=<WSMsgType.TEXT: 1>, data='hi', extra='')]
"""

from __future__ import annotations

import codecs
import enum
import json
import struct
from typing import Any, NamedTuple

__all__ = [
    "Failure",
    "FrameHead",
    "FrameReader",
    "WSCloseCode",
    "WSMessage",
    "WSMsgType",
    "WebSocketError",
    "close_payload",
    "frame",
]


class WSMsgType(enum.IntEnum):
    """What a WSMessage is: the RFC's opcodes (5.2), and aiohttp's three states."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA
    CLOSING = 0x100
    CLOSED = 0x101
    ERROR = 0x102


class WSCloseCode(enum.IntEnum):
    """Close codes (RFC 6455 7.4.1, and IANA's registry for 1012-1014)."""

    OK = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    ABNORMAL_CLOSURE = 1006
    INVALID_TEXT = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014


class WSMessage(NamedTuple):
    """One message, as aiohttp's: TEXT has a str, BINARY bytes, CLOSE the code in
    `data` and the reason in `extra`, ERROR the exception in `data`."""

    type: WSMsgType
    data: Any
    extra: Any

    def json(self, *, loads: Any = json.loads) -> Any:
        return loads(self.data)


class Failure(NamedTuple):
    """Rule 3: the client broke the RFC; close the connection with `code`."""

    code: int
    reason: str


class FrameHead(NamedTuple):
    """Rule 4: one frame as read, for the tracer."""

    offset: int  # where it begins in the bytes fed to the reader
    fin: bool
    rsv: int  # RSV1-3, 0-7
    opcode: int
    masked: bool
    length: int  # the payload's (the 7-bit one, for a frame refused on its first 2 bytes)
    head: bytes  # the header: 2 bytes, the extended length, the masking key
    payload: bytes  # unmasked, its first PREVIEW bytes at most


PREVIEW = 64  # bytes of a payload a FrameHead keeps


class WebSocketError(Exception):
    """The client broke RFC 6455; `code` is the close code it was sent."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.args[1]}"


_DATA = (WSMsgType.CONTINUATION, WSMsgType.TEXT, WSMsgType.BINARY)
_OPCODES = frozenset({0x0, 0x1, 0x2, 0x8, 0x9, 0xA})  # 5.2: the others are reserved


def _valid_close_code(code: int) -> bool:
    """7.4.1-7.4.2: the codes a peer may send. 1004 is reserved; 1005, 1006 and 1015
    must never be sent (they stand for no code, no close frame, a failed TLS)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


class FrameReader:
    """Parses the frames a client sends; reassembles messages (Rules 1-3)."""

    def __init__(self, max_msg_size: int = 4 * 1024 * 1024) -> None:
        self.max_msg_size = max_msg_size  # 0: no limit, as aiohttp
        self.done = False  # a Failure or a CLOSE was returned: nothing more is read
        self._buffer = bytearray()
        # The fragmented message in progress (Rule 2).
        self._opcode: int | None = None  # TEXT or BINARY, while a message is unfinished
        self._parts: list[bytes] = []
        self._size = 0
        self._decoder: codecs.IncrementalDecoder | None = None
        self._text: list[str] = []
        self.heads: list[FrameHead] | None = None  # Rule 4
        self._position = 0  # bytes fed before the buffer's first
        self._first: tuple[int, int] | None = None  # Rule 4: the frame being read

    def feed(self, data: bytes) -> list[WSMessage | Failure]:
        """Parse `data`; return the messages it completed, and at worst a Failure."""
        if self.done:
            return []
        buffer = self._buffer
        buffer += data
        out: list[WSMessage | Failure] = []
        at = 0
        while not self.done:
            used = self._one_frame(buffer, at, out)
            if used == 0:
                break  # the rest of a frame has not arrived
            at += used
        self._position += len(buffer) if self.done else at
        del buffer[:at]
        if self.done:
            buffer.clear()
        return out

    def _fail(self, out: list[WSMessage | Failure], code: int, reason: str) -> int:
        if self.heads is not None and self._first is not None:  # Rule 4: a refused head
            at, first = self._first
            second = self._buffer[at + 1]
            self.heads.append(
                FrameHead(self._position + at, bool(first & 0x80), (first & 0x70) >> 4,
                          first & 0x0F, bool(second & 0x80), second & 0x7F,
                          bytes(self._buffer[at : at + 2]), b"")
            )  # fmt: skip
            self._first = None
        out.append(Failure(code, reason))
        self.done = True
        return 1  # nonzero; the loop stops on `done` and drops the buffer

    def _one_frame(self, buf: bytearray, at: int, out: list[WSMessage | Failure]) -> int:
        """Parse the frame at `at`: the bytes it took, or 0 if it is not all here."""
        have = len(buf) - at
        if have < 2:
            return 0
        first, second = buf[at], buf[at + 1]
        if self.heads is not None:
            self._first = (at, first)
        fin, rsv, opcode = first & 0x80, first & 0x70, first & 0x0F
        masked, length = second & 0x80, second & 0x7F
        # 5.2: RSV1-3 are for extensions; none is negotiated here (permessage-deflate
        # is declined in the handshake), so a set bit is a protocol error.
        if rsv:
            return self._fail(out, 1002, "a reserved bit (RSV1-3) is set")
        if opcode not in _OPCODES:
            return self._fail(out, 1002, f"opcode {opcode:#x} is reserved")
        # 5.1: "a client MUST mask all frames that it sends"; the server fails the
        # connection when one is not.
        if not masked:
            return self._fail(out, 1002, "a client frame is not masked")
        if opcode >= 0x8:  # 5.5: control frames
            if not fin:
                return self._fail(out, 1002, "a control frame is fragmented")
            if length > 125:
                return self._fail(out, 1002, "a control frame is longer than 125 bytes")
        head = 2
        if length == 126:
            if have < 4:
                return 0
            (length,) = struct.unpack_from("!H", buf, at + 2)
            head = 4
        elif length == 127:
            if have < 10:
                return 0
            (length,) = struct.unpack_from("!Q", buf, at + 2)
            if length >> 63:  # 5.2: "the most significant bit MUST be 0"
                return self._fail(out, 1002, "a 64-bit length has its top bit set")
            head = 10
        # Refuse a message too big before its bytes arrive, not once they are buffered.
        if opcode < 0x8 and self.max_msg_size and self._size + length > self.max_msg_size:
            return self._fail(
                out, 1009, f"a message is longer than max_msg_size={self.max_msg_size} bytes"
            )
        end = at + head + 4 + length
        if len(buf) < end:
            return 0
        key = bytes(buf[at + head : at + head + 4])
        payload = _unmask(bytes(buf[at + head + 4 : end]), key)
        if self.heads is not None:  # Rule 4
            self._first = None
            self.heads.append(
                FrameHead(self._position + at, bool(fin), rsv >> 4, opcode, True, length,
                          bytes(buf[at : at + head + 4]), payload[:PREVIEW])
            )  # fmt: skip
        if opcode >= 0x8:
            self._control(opcode, payload, out)
        else:
            self._data(opcode, bool(fin), payload, out)
        return end - at

    def _data(self, opcode: int, fin: bool, payload: bytes, out: list[WSMessage | Failure]) -> None:
        """Rule 2: a TEXT, BINARY or CONTINUATION frame."""
        if opcode == WSMsgType.CONTINUATION:
            if self._opcode is None:
                self._fail(out, 1002, "a continuation frame with no message to continue")
                return
        elif self._opcode is not None:
            self._fail(out, 1002, "a new message began before the last one ended (FIN)")
            return
        elif fin:  # the common case, a whole message in one frame: nothing to reassemble
            if opcode == WSMsgType.BINARY:
                out.append(WSMessage(WSMsgType.BINARY, payload, ""))
                return
            try:
                out.append(WSMessage(WSMsgType.TEXT, payload.decode("utf-8"), ""))
            except UnicodeDecodeError:
                self._fail(out, 1007, "a text message is not valid UTF-8")
            return
        else:
            self._opcode = opcode
            if opcode == WSMsgType.TEXT:
                self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._size += len(payload)
        if self._decoder is not None:
            # 8.1: text is UTF-8. Decoding each fragment as it comes fails fast, even
            # when a character is split between two fragments.
            try:
                self._text.append(self._decoder.decode(payload, final=fin))
            except UnicodeDecodeError:
                self._fail(out, 1007, "a text message is not valid UTF-8")
                return
        else:
            self._parts.append(payload)
        if fin:
            if self._opcode == WSMsgType.TEXT:
                out.append(WSMessage(WSMsgType.TEXT, "".join(self._text), ""))
            else:
                out.append(WSMessage(WSMsgType.BINARY, b"".join(self._parts), ""))
            self._opcode, self._decoder, self._size = None, None, 0
            self._parts, self._text = [], []

    def _control(self, opcode: int, payload: bytes, out: list[WSMessage | Failure]) -> None:
        if opcode == WSMsgType.PING:
            out.append(WSMessage(WSMsgType.PING, payload, ""))
        elif opcode == WSMsgType.PONG:
            out.append(WSMessage(WSMsgType.PONG, payload, ""))
        else:
            self._close(payload, out)

    def _close(self, payload: bytes, out: list[WSMessage | Failure]) -> None:
        """5.5.1: an empty CLOSE, or a 2-byte code and a UTF-8 reason."""
        if not payload:
            # 7.1.5: no code in the frame is reported as 1005 ("no status received").
            out.append(WSMessage(WSMsgType.CLOSE, 1005, ""))
            self.done = True
            return
        if len(payload) == 1:
            self._fail(out, 1002, "a close frame of 1 byte (a code is 2)")
            return
        (code,) = struct.unpack_from("!H", payload)
        if not _valid_close_code(code):
            self._fail(out, 1002, f"close code {code} may not be sent")
            return
        try:
            reason = payload[2:].decode("utf-8")
        except UnicodeDecodeError:
            self._fail(out, 1007, "a close reason is not valid UTF-8")
            return
        out.append(WSMessage(WSMsgType.CLOSE, code, reason))
        self.done = True


def _unmask(payload: bytes, key: bytes) -> bytes:
    """5.3: XOR each byte with the key's byte at its index mod 4.

    One XOR of two big integers does it for the whole payload, at C speed.
    """
    n = len(payload)
    if not n:
        return payload
    mask = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """One frame as the server sends it: unmasked (5.1: a server MUST NOT mask)."""
    return frame_head(opcode, len(payload), fin) + payload


def frame_head(opcode: int, n: int, fin: bool = True) -> bytes:
    """The header of a server frame of `n` payload bytes: the shortest length (5.2)."""
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        return struct.pack("!BB", first, n)
    if n < 1 << 16:
        return struct.pack("!BBH", first, 126, n)
    return struct.pack("!BBQ", first, 127, n)


def close_payload(code: int | None, reason: bytes | str = b"") -> bytes:
    """5.5.1: a CLOSE frame's payload: the code (2 bytes) and a UTF-8 reason."""
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    if len(reason) > 123:  # 125 for a control frame, less the code's 2 bytes
        raise ValueError("a close reason is at most 123 bytes of UTF-8")
    return struct.pack("!H", code) + reason

"""A WebSocket's conversation, folded from its events into the trace that upgraded.

The request that asked for the upgrade stays in flight while its WebSocket lives (its
handler is still running), so its RequestTrace carries the conversation: the upgrade,
the frames both ways, how it closed. A conversation can last for days, so it keeps
only the last MAX_FRAMES frames, with counts of all of them.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from sketch import events as ev

from .traces import attach_read

__all__ = ["Conversation", "FoldsWebSockets", "MAX_FRAMES", "CLOSE_CODES", "close_name"]

MAX_FRAMES = 200

# RFC 6455 7.4.1, and IANA's registry for 1012-1014.
CLOSE_CODES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status received",
    1006: "abnormal closure",
    1007: "invalid payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
}


def close_name(code: int) -> str:
    """`1000 normal closure`; codes 3000-4999 belong to libraries and applications."""
    name = CLOSE_CODES.get(code) or ("application's own" if 3000 <= code <= 4999 else "")
    return f"{code} {name}".strip()


@dataclass(slots=True)
class Conversation:
    upgrade: ev.WebSocketUpgrade
    frames: deque[ev.WebSocketFrame] = field(default_factory=lambda: deque(maxlen=MAX_FRAMES))
    counts: Counter[str] = field(default_factory=Counter)  # "in TEXT", "out PONG", ...
    payload_in: int = 0  # bytes of payload received, all frames
    payload_out: int = 0
    closed: ev.WebSocketClosed | None = None
    lost: float | None = None  # its connection's end, if the close event never came

    def add(self, frame: ev.WebSocketFrame) -> None:
        self.frames.append(frame)
        self.counts[f"{frame.direction} {frame.opcode}"] += 1
        if frame.direction == "in":
            self.payload_in += frame.length
        else:
            self.payload_out += frame.length

    @property
    def total(self) -> int:
        """Frames seen, both ways: `len(frames)` of them are kept."""
        return sum(self.counts.values())

    @property
    def open(self) -> bool:
        return self.closed is None and self.lost is None


class FoldsWebSockets:
    """Model's handlers for the WebSocket events (model.py: `_on_` + the event's name).

    A WebSocket's request is read as it goes (`_look`): its events are folded as they
    come, few and bounded (MAX_FRAMES).
    """

    websockets: dict[int, Conversation]  # per connection, until it closes
    _in_flight: dict[tuple[int, int], Any]
    _look: Any

    def _on_WebSocketUpgrade(self, event: ev.WebSocketUpgrade) -> None:
        for conn in [c for c, talk in self.websockets.items() if talk.lost is not None]:
            del self.websockets[conn]  # their close was never told: stay bounded
        trace = self._in_flight.get((event.conn, event.req))
        if trace is not None:
            self._look(trace).websocket = self.websockets[event.conn] = Conversation(event)

    def _on_WebSocketFrame(self, event: ev.WebSocketFrame) -> None:
        talk = self.websockets.get(event.conn)
        if talk is not None:
            talk.add(event)
            trace = self._in_flight.get((event.conn, event.req))
            if trace is not None and event.direction == "in":
                attach_read(self._look(trace), trace._read)  # the ruler's bytes, bounded

    def _on_WebSocketClosed(self, event: ev.WebSocketClosed) -> None:
        talk = self.websockets.pop(event.conn, None)
        if talk is not None:
            talk.closed = event

"""The WebSocket view: a request that upgraded, and the conversation that followed.

The handshake on top (key, accept, subprotocol), then the frames as two columns, client
to server on the left, server to client on the right, one row per frame in the order
they happened: opcode, payload length, FIN and MASK, a close code named (RFC 6455
7.4.1), the start of a text payload. Then how it ended. `frame_head()` spells out a
frame's header bytes; the byte ruler (views.py) uses it under the raw bytes.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from sketch import events as ev

from .conversation import Conversation, close_name
from .model import RequestTrace

__all__ = ["WebSocketView", "frame_head", "summary"]

_OPCODE_STYLE = {"TEXT": "cyan", "BINARY": "magenta", "CLOSE": "bold yellow"}


def summary(talk: Conversation) -> str:
    """One line: how many frames each way, and how it ended (or that it is open)."""
    frames_in = sum(n for key, n in talk.counts.items() if key.startswith("in "))
    line = f"{talk.total} frames ({frames_in} in, {talk.total - frames_in} out); "
    closed = talk.closed
    if closed is None:
        return line + ("open" if talk.open else "connection lost")
    by = f", closed by the {closed.by}" if closed.by else ", the connection dropped"
    return line + close_name(closed.code) + by


def _cell(frame: ev.WebSocketFrame, message: str) -> Text:
    """One frame; `message` is the opcode of the message a CONTINUATION continues."""
    text = Text(frame.opcode, _OPCODE_STYLE.get(frame.opcode, "green"))
    text.append(f" {frame.length} B")
    if not frame.fin:
        text.append(" not FIN", "yellow")  # more fragments follow
    if frame.direction == "in" and not frame.masked:
        text.append(" unmasked", "bold red")  # 5.1: a client must mask
    if frame.rsv:
        text.append(f" RSV {frame.rsv:03b}", "bold red")
    if frame.opcode == "CLOSE":
        text.append(f"\n{close_name(frame.code)}" if frame.code else "\n(no code)", "yellow")
        if frame.reason:
            text.append(f" {frame.reason!r}")
    elif frame.preview:  # text quoted; the rest (BINARY, PING, PONG) is in hex
        text.append("\n" + (repr(frame.preview) if message == "TEXT" else frame.preview))
    return text


class WebSocketView:
    """`GET /chat -> 101`, the handshake, the frames both ways, and the close."""

    def __init__(self, trace: RequestTrace) -> None:
        self.trace = trace

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        trace, talk = self.trace, self.trace.websocket
        yield Text(trace.label, "bold")
        if talk is None:
            yield Text("not upgraded to a WebSocket", "dim")
            return
        up = talk.upgrade
        yield Text.assemble(
            ("handshake ", "bold"),
            f"key {up.key} -> accept {up.accept}\n",
            f"subprotocol {up.protocol or '(none)'}; the frames begin at byte {up.offset}",
        )
        table = Table(box=box.SIMPLE, pad_edge=False, expand=True)
        table.add_column("ms", justify="right", style="dim", no_wrap=True)
        table.add_column("client → server", ratio=1, overflow="fold")
        table.add_column("server → client", ratio=1, overflow="fold")
        kept = len(talk.frames)
        if talk.total > kept:
            table.add_row("", Text(f"… {talk.total - kept} earlier frames not kept", "dim"), "")
        message = {"in": "", "out": ""}  # per direction, the data message under way
        for frame in talk.frames:
            at = f"+{(frame.t - up.t) * 1000:.1f}"
            if frame.opcode in ("TEXT", "BINARY"):
                message[frame.direction] = frame.opcode
            kind = message[frame.direction] if frame.opcode == "CONTINUATION" else frame.opcode
            cell = _cell(frame, kind)
            table.add_row(at, cell, "") if frame.direction == "in" else table.add_row(at, "", cell)
        yield table
        closed = talk.closed
        style = "green" if closed is not None and closed.code == 1000 else "yellow"
        yield Text(summary(talk), style)
        yield Text(f"payload: {talk.payload_in} bytes in, {talk.payload_out} out", "dim")
        if closed is not None and closed.error:
            yield Text(closed.error, "bold red")


def frame_head(frame: ev.WebSocketFrame) -> Text:
    """A frame's header bytes, each part labelled (RFC 6455 5.2)."""
    head = frame.head
    text = Text(f"byte {frame.offset}: ", "dim")
    if len(head) < 2:
        return text
    first, second = head[0], head[1]
    text.append(f"{first:02x}", "bold yellow")
    text.append(f" FIN={first >> 7} RSV={(first >> 4) & 7} op={first & 15} {frame.opcode}")
    text.append(f" · {second:02x}", "bold yellow")
    text.append(f" MASK={second >> 7} len={second & 0x7F}")
    at = 2
    if second & 0x7F in (126, 127):
        at = 4 if second & 0x7F == 126 else 10
        text.append(f" · {head[2:at].hex()}", "bold yellow")
        text.append(f" length={frame.length}")
    if len(head) >= at + 4:
        text.append(f" · {head[at : at + 4].hex()}", "bold yellow")
        text.append(" mask key")
    return text

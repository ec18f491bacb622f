"""Credentials masked before the inspector keeps, draws or records anything.

A browser sends its cookies to every server on the host, so a notebook's server URL
opened next to JupyterLab receives Jupyter's own login cookie; drawn whole, it would sit
in every saved notebook and handout. So the values of `Cookie`, `Set-Cookie`,
`Authorization` and `Proxy-Authorization`, and of query parameters named like a token,
a password, a key or a secret, are replaced by `*`, one per byte: the names stay, the
lengths stay, and so do the byte offsets the ruler draws with. `Masker(reveal=True)`
lets everything through.

Masking happens to events before anything reads them (`Model`, `Recorder`): what is
drawn, recorded or exported never held a secret. The model masks a request's events
when it folds them (model.py), and each read as it comes (a secret may span reads).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import TYPE_CHECKING

from sketch import events as ev

if TYPE_CHECKING:  # traces.py imports this module
    from .traces import RequestTrace

__all__ = [
    "SECRET_HEADERS",
    "Masker",
    "mask_value",
    "mask_query",
    "mask_header",
    "mask_bytes",
    "mask_text",
    "mask_trace",
]

SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
_SECRET_HEADER_BYTES = frozenset(name.encode() for name in SECRET_HEADERS)
_SECRET_NAME = r"[^=&;\s?#]*(?:token|passw(?:or)?d|key|secret|auth|session)[^=&;\s?#]*"
_QUERY = re.compile(r"(?i)([?&;]" + _SECRET_NAME + r"=)([^&;\s#]*)")
# In a WebSocket's text: `token=...` anywhere, or JSON's `"token": "..."`.
_TEXT = re.compile(r'(?i)((?:^|[?&;\s,{])"?' + _SECRET_NAME + r'"?\s*[=:]\s*"?)([^&;\s#",}]*)')
_QUERY_BYTES = re.compile(_QUERY.pattern.encode())
_HEADER_LINE = re.compile(
    rb"(?im)^(?:cookie|set-cookie|authorization|proxy-authorization)[ \t]*:[ \t]*([^\r\n]*)"
)
_MAX_CARRY = 64 * 1024  # an unfinished line longer than this is not a head sketch reads


def mask_value(value: str) -> str:
    """`*` for each byte of `value` (as sketch decoded it), so the length stays."""
    return "*" * len(value.encode("utf-8", "surrogateescape"))


def mask_query(target: str) -> str:
    """A request target (or any URL) with the values of secret-named parameters masked."""
    if "=" not in target:
        return target
    return _QUERY.sub(lambda m: m.group(1) + mask_value(m.group(2)), target)


def mask_text(text: str) -> str:
    """A WebSocket payload's preview with secret-named values masked, in `name=value`
    or JSON form (`{"token": "abc"}`). What is not previewed is never kept."""
    if "=" not in text and ":" not in text:
        return text
    return _TEXT.sub(lambda m: m.group(1) + mask_value(m.group(2)), text)


def mask_header(name: str, value: str) -> str:
    """A header's value as shown: masked whole for credentials, its query masked else."""
    if name.lower() in SECRET_HEADERS:
        return mask_value(value)
    return mask_query(value)


def mask_bytes(data: bytes) -> bytes:
    """Raw bytes with credential header values and secret query values starred."""
    return _masked(data, _spans(data), 0)


def _spans(data: bytes) -> list[tuple[int, int]]:
    # Every read passes through here when tracing: run a regex only where a secret can
    # be (a credential header is named in the bytes, a query value follows an "=").
    # `find`, not `in`: `b"=" in data` first tries its needle as an integer (`61 in
    # data`), making and clearing a TypeError to learn it is not one: about 3,000
    # instructions each on 3.13 (callgrind), where the search itself costs a few dozen.
    spans = []
    lowered = data.lower()
    if lowered.find(b"cookie") >= 0 or lowered.find(b"authorization") >= 0:
        spans += [m.span(1) for m in _HEADER_LINE.finditer(data)]
    if data.find(b"=") >= 0:
        spans += [m.span(2) for m in _QUERY_BYTES.finditer(data)]
    return spans


def _masked(data: bytes, spans: list[tuple[int, int]], shift: int) -> bytes:
    """`data` with the parts of `spans` (in a buffer `shift` bytes before it) starred."""
    out = None
    for start, end in spans:
        start, end = max(start - shift, 0), min(end - shift, len(data))
        if start < end:
            out = out if out is not None else bytearray(data)
            out[start:end] = b"*" * (end - start)
    return data if out is None else bytes(out)


class Masker:
    """Masks events as they come; `masker(event)` returns the event to keep.

    Raw reads are masked with what came before them on their connection (the unfinished
    line), so a `Cookie:` header split across two reads is masked in both.
    """

    def __init__(self, reveal: bool = False) -> None:
        self.reveal = reveal
        self._carry: dict[int, bytes] = {}  # per connection: its unfinished last line
        self._url: dict[int, bytes] = {}  # per connection: the target's pieces so far

    def __call__(self, event: ev.Event) -> ev.Event:
        if self.reveal:
            return event
        kind = type(event)
        if kind is ev.DataReceived:
            return self.read(event)  # type: ignore[arg-type]
        if kind is ev.ParserCallback:
            return self._callback(event)  # type: ignore[arg-type]
        if kind is ev.RequestHead:
            target = mask_query(event.target)  # type: ignore[attr-defined]
            headers = _headers(event.headers)  # type: ignore[attr-defined]
            if target is event.target and headers is event.headers:  # type: ignore[attr-defined]
                return event  # nothing to hide: most requests
            return dataclasses.replace(event, target=target, headers=headers)
        if kind is ev.ResponseHead:
            headers = _headers(event.headers)  # type: ignore[attr-defined]
            if headers is event.headers:  # type: ignore[attr-defined]
                return event
            return dataclasses.replace(event, headers=headers)
        if kind is ev.WebSocketFrame:
            preview = mask_text(event.preview)  # type: ignore[attr-defined]
            if preview == event.preview:  # type: ignore[attr-defined]
                return event
            return dataclasses.replace(event, preview=preview)
        if kind is ev.ConnectionLost:
            self._carry.pop(event.conn, None)
            self._url.pop(event.conn, None)
        return event

    def read(self, event: ev.DataReceived) -> ev.DataReceived:
        """A read, masked with the unfinished line before it on its connection."""
        data = self.read_data(event.conn, event.data)
        return event if data is event.data else dataclasses.replace(event, data=data)

    def read_data(self, conn: int, data: bytes) -> bytes:
        """The bytes of a read on `conn`, masked: `data` itself when nothing is hidden."""
        if self.reveal:
            return data
        carry = self._carry.get(conn, b"")
        buffer = carry + data
        line_end = buffer.rfind(b"\n")
        rest = buffer[line_end + 1 :]
        if len(rest) <= _MAX_CARRY:
            self._carry[conn] = rest
        else:
            self._carry.pop(conn, None)
        spans = _spans(buffer)
        if not spans:  # most reads
            return data
        return _masked(data, spans, len(carry))

    def _callback(self, event: ev.ParserCallback) -> ev.ParserCallback:
        if event.name == "on_message_begin":
            self._url.pop(event.conn, None)
        elif event.name == "on_url":
            # A target spanning reads arrives in pieces: a piece may begin inside a
            # value, so each is masked as a part of the target so far.
            (piece,) = event.data
            before = self._url.get(event.conn, b"")
            target = before + piece
            if len(target) <= _MAX_CARRY:
                self._url[event.conn] = target
            masked = _masked(piece, _spans(target), len(before))
            if masked is not piece:
                return dataclasses.replace(event, data=(masked,))
        elif event.name == "on_header":
            name, value = event.data
            if name.lower() in _SECRET_HEADER_BYTES:
                return dataclasses.replace(event, data=(name, b"*" * len(value)))
            masked = mask_bytes(value)
            if masked is not value:
                return dataclasses.replace(event, data=(name, masked))
        return event


def _headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """`headers` masked; the same tuple when nothing in it needs masking."""
    for name, value in headers:
        if name.lower() in SECRET_HEADERS or ("=" in value and _QUERY.search(value)):
            return tuple((name, mask_header(name, value)) for name, value in headers)
    return headers


def mask_trace(trace: RequestTrace) -> RequestTrace:
    """A copy of `trace` with its credentials masked (a trace kept with `reveal=True`)."""
    mask = Masker()
    websocket = trace.websocket
    if websocket is not None:
        frames = type(websocket.frames)(
            (mask(f) for f in websocket.frames), websocket.frames.maxlen
        )
        websocket = dataclasses.replace(websocket, frames=frames)
    masked = copy.copy(trace)  # (a trace's __init__ takes only what every trace has)
    masked._queue = masked._read = masked._masker = None  # a copy to read: nothing kept
    masked.target = mask_query(trace.target)
    masked.headers = tuple((name, mask_header(name, value)) for name, value in trace.headers)
    masked.reads = [mask(read) for read in trace.reads]
    masked.parser = [mask(callback) for callback in trace.parser]
    masked.response = None if trace.response is None else mask(trace.response)
    masked.websocket = websocket
    return masked

"""What the inspector keeps: one RequestTrace per request, one ServerTrace per server,
and how each event of a request changes its trace (`fold`).

Pure data, no drawing: the views read these. A trace keeps at most
`MAX_BYTES_PER_TRACE` bytes of what was read for it. The model (model.py) decides when
a request's events are folded: as they come, or only when something reads the trace.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from sketch import events as ev

from .secrets import Masker

if TYPE_CHECKING:  # conversation.py imports this module
    from .conversation import Conversation

__all__ = [
    "RequestTrace",
    "Recent",
    "HookRun",
    "ConnectionTrace",
    "ServerTrace",
    "MAX_BYTES_PER_TRACE",
    "fold",
    "attach_read",
]

MAX_BYTES_PER_TRACE = 64 * 1024
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2: a method is one


@dataclass(init=False)
class RequestTrace:
    """Everything that happened to one request, in the order it happened.

    A trace is made for every request and most are never read, so making one sets only
    what every trace has (`__init__`): the rest are the class's defaults until a fold
    sets them. Not slotted: a slotted dataclass sets all 26 fields in its `__init__`
    (4,650 instructions on 3.13, callgrind, against 2,025; docs/performance.md).
    """

    conn: int
    req: int
    started: float
    method: str = ""
    target: str = ""
    version: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    # The sequences below are an empty tuple until their first event, then a list (fold
    # makes it): most traces are never read, nor folded, and a tuple costs nothing to
    # make or to free, where six empty lists per request did (docs/performance.md).
    reads: Sequence[ev.DataReceived] = ()  # the reads that carried it
    parser: Sequence[ev.ParserCallback] = ()
    error: ev.ParseError | None = None
    routes: Sequence[ev.RouteTried] = ()
    decision: ev.RouteDecision | None = None
    layers: Sequence[ev.MiddlewareEnter | ev.MiddlewareExit] = ()
    handler_start: ev.HandlerStart | None = None
    handler_end: ev.HandlerEnd | None = None
    hooks: Sequence[ev.HookEnd] = ()  # on_response_prepare
    response: ev.ResponseHead | None = None
    end: ev.ResponseEnd | None = None
    # Where it waited: its handler's Task, a 100 Continue, back-pressure (in time order).
    waits: Sequence[ev.HandlerWaited | ev.ContinueSent | ev.FlowControl] = ()
    flushed: ev.AnswersFlushed | None = None  # the write that took its answer to the socket
    websocket: Conversation | None = None  # the WebSocket it upgraded to (conversation.py)
    finished: float | None = None
    bytes_kept: int = 0
    # How the model folds it (model.py): its events not folded yet, while nobody has
    # read it (None: each event is folded as it comes); the connection's latest read as
    # this request heard of it; the masker of its parser events (its target's pieces).
    # (No class-level default: the model reads these at every event, and on 3.13 reading
    # an attribute that a class attribute shadows is not specialized.)
    _queue: list[ev.Event | tuple] | None = field(init=False, repr=False, compare=False)
    _read: ev.DataReceived | None = field(init=False, repr=False, compare=False)
    _masker: Masker | None = field(init=False, repr=False, compare=False)

    def __init__(self, conn: int, req: int, started: float) -> None:
        self.conn, self.req, self.started = conn, req, started
        self._queue = self._read = self._masker = None

    @property
    def status(self) -> int | None:
        if self.response is not None:
            return self.response.status
        return self.error.status if self.error is not None else None

    @property
    def elapsed(self) -> float | None:
        """Seconds from the first parser callback to the response's last byte."""
        return None if self.finished is None else self.finished - self.started

    @property
    def refused(self) -> bool:
        """Refused before its head was whole: no handler ran, sketch answered it."""
        return self.error is not None and self.version == ""

    @property
    def cut_short(self) -> bool:
        """Finished without its answer's end or a refusal: its connection closed first (the
        client left, or the server stopped). Not a WebSocket, whose talk ends that way."""
        return (
            self.finished is not None
            and self.end is None
            and self.error is None
            and self.websocket is None
        )

    @property
    def outcome(self) -> str:
        """Its status; else why it has none: still in flight ("…"), or cut short."""
        if self.status is not None:
            return str(self.status)
        return "no answer, connection closed" if self.cut_short else "…"

    @property
    def label(self) -> str:
        target = self.target
        if self.refused and len(target) > 80:  # a 414's target is thousands of bytes
            target = target[:79] + "…"
        what = f"{self.method} {target}".strip() or "(unparsed request)"
        took = f" in {self.elapsed * 1000:.2f} ms" if self.elapsed is not None else ""
        return f"{what} -> {self.outcome}{took}"

    @property
    def raw(self) -> bytes:
        """The bytes of the reads that carried this request (maybe more than the request)."""
        return b"".join(read.data for read in self.reads)

    def raw_index(self, offset: int) -> int | None:
        """Where a connection offset falls in `raw` (the trace's reads, joined)."""
        if offset < 0:
            return None
        start = 0
        for read in self.reads:
            if read.offset <= offset < read.offset + len(read.data):
                return start + offset - read.offset
            start += len(read.data)
        return None


class Recent(Sequence[RequestTrace]):
    """The most recent finished traces, oldest first, at most `maxlen` of them.

    A deque that folds each trace when it is read (`look`): `recent[-1]`, a loop.
    """

    def __init__(self, maxlen: int, look: Callable[[RequestTrace], RequestTrace]) -> None:
        self._ring: deque[RequestTrace] = deque(maxlen=maxlen)
        self._look = look
        # The deque's own: each request ends with it, no Python call of ours between.
        self.append: Callable[[RequestTrace], None] = self._ring.append

    @property
    def maxlen(self) -> int | None:
        return self._ring.maxlen

    def __len__(self) -> int:
        return len(self._ring)

    @overload
    def __getitem__(self, index: int) -> RequestTrace: ...
    @overload
    def __getitem__(self, index: slice) -> list[RequestTrace]: ...
    def __getitem__(self, index: int | slice) -> RequestTrace | list[RequestTrace]:
        if isinstance(index, slice):
            return [self._look(trace) for trace in list(self._ring)[index]]
        return self._look(self._ring[index])

    def __iter__(self) -> Iterator[RequestTrace]:
        # A copy: a request may finish (and join the ring) while a view loops.
        return map(self._look, list(self._ring))

    def __reversed__(self) -> Iterator[RequestTrace]:
        return map(self._look, list(reversed(self._ring)))

    def __repr__(self) -> str:
        return f"Recent({list(self)!r}, maxlen={self.maxlen})"


@dataclass(slots=True)
class ConnectionTrace:
    """One connection's life: who, when it opened, when and why it closed."""

    conn: int
    peer: str
    opened: float
    closed: float | None = None
    reason: str = ""
    # Back-pressure on it, paused and resumed, in order (the pictures draw the spans).
    pauses: list[ev.FlowControl] = field(default_factory=list)


@dataclass
class HookRun:
    signal: str
    callback: str
    started: float
    elapsed: float | None = None
    error: str = ""


@dataclass(slots=True)
class ServerTrace:
    """The server's life: hooks, shutdown phases, connections, and a count of requests.

    Slotted, as the traces are: the model reads and counts in it at every request, and
    on Python 3.13 an attribute that also has a class-level default (a plain
    dataclass's) is read through the slow, unspecialized path each time.
    """

    url: str = ""
    started: float | None = None
    stopped: float | None = None
    first_event: float | None = None
    hooks: list[HookRun] = field(default_factory=list)
    phases: list[ev.ShutdownPhase] = field(default_factory=list)
    cancelled: int = 0
    connections_open: int = 0
    connections_total: int = 0
    requests_total: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


# --- folding: what each event of a request changes in its trace ---------------


def fold(trace: RequestTrace, events: Iterable[ev.Event]) -> None:
    """Apply `events`, this request's in the order they came, to `trace`.

    Parser events and heads are masked here (trace._masker: None when revealing); the
    reads among them were masked as they came, with what came before on the connection.
    """
    masker = trace._masker
    for event in events:
        kind = type(event)
        if kind is ev.DataReceived:  # the connection read again while this was in flight
            trace._read = event  # type: ignore[assignment]
            continue
        if masker is not None:
            event = masker(event)
        _FOLD[kind](trace, event)


def attach_read(trace: RequestTrace, read: ev.DataReceived | None) -> None:
    """Keep `read` as one that carried this request (a parser event came in it)."""
    if read is not None and (not trace.reads or trace.reads[-1] is not read):
        if trace.bytes_kept + len(read.data) <= MAX_BYTES_PER_TRACE:
            _append(trace, "reads", read)
            trace.bytes_kept += len(read.data)


def _parser_callback(trace: RequestTrace, event: ev.ParserCallback) -> None:
    attach_read(trace, trace._read)
    if event.name == "on_url" and trace.version == "":
        # What is parsed of the request line, shown if the head is refused before it
        # is whole (RequestHead then never comes).
        if not trace.target:
            trace.method = _method_before(trace, event.offsets[:1])
        trace.target += event.data[0].decode("utf-8", "surrogateescape")
    _append(trace, "parser", event)


def _parse_error(trace: RequestTrace, event: ev.ParseError) -> None:
    attach_read(trace, trace._read)
    trace.error = event


def _request_head(trace: RequestTrace, event: ev.RequestHead) -> None:
    attach_read(trace, trace._read)
    trace.method, trace.target = event.method, event.target
    trace.version, trace.headers = event.version, event.headers


def _set(name: str) -> Callable[[RequestTrace, Any], None]:
    return lambda trace, event: setattr(trace, name, event)


def _add_to(name: str) -> Callable[[RequestTrace, Any], None]:
    return lambda trace, event: _append(trace, name, event)


def _append(trace: RequestTrace, name: str, event: ev.Event) -> None:
    """Add `event` to the sequence `name` of `trace`: its list, made at its first event."""
    events = getattr(trace, name)
    if events:
        events.append(event)
    else:
        setattr(trace, name, [event])


_FOLD: dict[type, Callable[[RequestTrace, Any], None]] = {
    ev.ParserCallback: _parser_callback,
    ev.ParseError: _parse_error,
    ev.RequestHead: _request_head,
    ev.RouteTried: _add_to("routes"),
    ev.RouteDecision: _set("decision"),
    ev.MiddlewareEnter: _add_to("layers"),
    ev.MiddlewareExit: _add_to("layers"),
    ev.HandlerStart: _set("handler_start"),
    ev.HandlerEnd: _set("handler_end"),
    ev.HookEnd: _add_to("hooks"),
    ev.ResponseHead: _set("response"),
    ev.ResponseEnd: _set("end"),
    ev.HandlerWaited: _add_to("waits"),
    ev.ContinueSent: _add_to("waits"),
    ev.FlowControl: _add_to("waits"),
    ev.AnswersFlushed: _set("flushed"),
}


def _method_before(trace: RequestTrace, url_at: tuple[int, ...]) -> str:
    """The method: the token before the target on its request line, in the raw bytes."""
    at = trace.raw_index(url_at[0]) if url_at else None
    if at is None:
        return ""
    raw = trace.raw
    line = raw[raw.rfind(b"\n", 0, at) + 1 : at].strip()
    return line.decode("latin-1") if _TOKEN.fullmatch(line) else ""

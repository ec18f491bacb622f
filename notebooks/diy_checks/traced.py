"""The trace of the requests a check sends: what the inspector saw your code do.

A status or a body says what came out; the trace says what happened inside (the
inspector watches diy from outside, inspector/diy.py): which pieces httptools gave
your callbacks, which handler your router chose, which middleware ran first, which
layer raised. A check reads it to say why, where the answer alone cannot.

The trace is a help, never a judge: where the inspector could not watch a part (a
framework written otherwise: `tracer.unseen`), `watch` gives None or the trace holds
nothing about it, and the check says what it said before, from the answers alone.
"""

from __future__ import annotations

from typing import Any

from inspector import Model
from inspector.diy import tracer_of, tracer_of_protocol
from inspector.model import RequestTrace
from sketch import events as ev

ORDINALS = ("first", "second", "third", "fourth", "fifth")


def watch(app: Any) -> Model | None:
    """A Model fed by the inspector's watch on `app`; None if it cannot be watched."""
    try:
        model = Model()
        tracer_of(app).subscribe(model.feed)
    except Exception:  # the inspector's trouble is never the learner's verdict
        return None
    return model


class _Stand:
    """Stands for an app in chapters 02 and 03, which have none yet: the inspector finds
    the connection class among the names of the package this claims to be from."""


def watch_server(Server: type) -> Model | None:
    """A Model fed by the inspector's watch on your Server (chapter 02: no app yet)."""
    stand = type("Watched", (_Stand,), {"__module__": getattr(Server, "__module__", "")})()
    model = watch(stand)
    if model is not None:
        model.stand = stand  # type: ignore[attr-defined]  # kept alive with the model
    return model


class Heard:
    """What the inspector saw a plain protocol do (chapter 01: no HTTP, no requests):
    its connections, which protocol object each was given, and what each read."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer
        self.events: list[ev.Event] = []
        tracer.subscribe(self.events.append)

    def same_object(self, one: int, other: int) -> bool:
        """Whether connections `one` and `other` were given one protocol object."""
        given = self.tracer.given
        return one != other and one in given and given.get(one) == given.get(other)

    def shared(self, conn: int) -> bool:
        """Whether connection `conn`'s protocol object was given another connection too."""
        return any(self.same_object(conn, other) for other in self.tracer.given)

    def connection_of(self, peer: tuple) -> int:
        """The trace's number for the connection of the client at `peer` (0: not seen)."""
        made = [e for e in self.events if isinstance(e, ev.ConnectionMade)]
        return next((e.conn for e in made if e.peer == f"{peer[0]}:{peer[1]}"), 0)

    def read_on(self, data: bytes) -> list[int]:
        """The connections whose data_received the trace saw given `data`."""
        return [e.conn for e in self.events if isinstance(e, ev.DataReceived) and e.data == data]


def watch_protocol(cls: type) -> Heard | None:
    """What the inspector sees your protocol class do (chapter 01); None if it cannot."""
    try:
        return Heard(tracer_of_protocol(cls))
    except Exception:  # the inspector's trouble is never the learner's verdict
        return None


def requests(model: Model | None) -> list[RequestTrace]:
    """The finished requests of the trace, oldest first ([] with no trace)."""
    return list(model.recent) if model is not None else []


def pieces(trace: RequestTrace | None, callback: str) -> list[bytes]:
    """What httptools gave `callback` (on_url, on_body) for this request, piece by piece."""
    if trace is None:
        return []
    return [event.data[0] for event in trace.parser if event.name == callback and event.data]


def kept_which(given: list[bytes], got: bytes) -> str:
    """'the last alone', 'the first alone': which of the pieces `got` is, if one of them."""
    if len(given) < 2 or got not in given:
        return ""
    index = given.index(got)
    place = "last" if index == len(given) - 1 else ORDINALS[min(index, len(ORDINALS) - 1)]
    return f"the {place} alone"


def entered(trace: RequestTrace | None) -> list[str]:
    """The middlewares of this request, in the order they were entered."""
    if trace is None:
        return []
    return [layer.name for layer in trace.layers if isinstance(layer, ev.MiddlewareEnter)]


def raised_in(trace: RequestTrace | None) -> tuple[str, str]:
    """(the layer, its error): the innermost middleware or handler the trace saw raise."""
    if trace is None:
        return "", ""
    if trace.handler_end is not None and trace.handler_end.error:
        return f"the handler {trace.handler_end.name}()", trace.handler_end.error
    for layer in trace.layers:
        if isinstance(layer, ev.MiddlewareExit) and layer.error:
            return f"the middleware {layer.name}()", layer.error
    return "", ""


def overlapping(model: Model | None, signal: str) -> tuple[str, str, float] | None:
    """(earlier, later, earlier's seconds): two hooks of `signal` the trace saw run at once."""
    runs = [run for run in model.server.hooks if run.signal == signal] if model else []
    for earlier in runs:
        for later in runs:
            if later is earlier or earlier.elapsed is None:
                continue
            if earlier.started <= later.started < earlier.started + earlier.elapsed:
                return earlier.callback, later.callback, earlier.elapsed
    return None


def hooks_run(model: Model | None, since: int = 0) -> list[str]:
    """The hooks the trace saw start, from the `since`-th on: 'on_cleanup disconnect', ..."""
    runs = model.server.hooks[since:] if model is not None else []
    return [f"{run.signal} {run.callback}" for run in runs]

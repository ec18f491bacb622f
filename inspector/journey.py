"""A request's journey as a sequence diagram: a lane per layer, arrows in time order.

The lanes are the steps a request takes through sketch, left to right: the client,
the transport, the parser, the router, each middleware (outermost first), the handler,
the response and the wire. Each arrow is one event of the trace, drawn in the order of
its timestamp, one row each: time runs down, but rows are evenly spaced (a 5 ms wait
and a 5 µs step would not both be readable to scale). The left column says how long
each step took since the one before, so waits are still told.

Calls and data are solid arrows; returns are dashed, and carry the time the layer took.
A middleware or handler's lane has a bar while it runs (UML's activation bar).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from sketch import events as ev

from .model import RequestTrace
from .svg import (
    HALO,
    INK,
    LANE,
    MUTED,
    STATUS_INK,
    STATUS_TINT,
    Canvas,
    Picture,
    fit,
    status_kind,
    text_width,
)

__all__ = ["Step", "journey_steps", "journey"]

ROW = 30  # pixels per arrow
LANE_HEAD = 44
TOP = 44  # the title above the lane heads
TIME_COLUMN = 84  # the left column: time since the previous step
MIN_GAP = 92  # between two lanes, or more if their heads are wider
LABEL = 11  # the font size of an arrow's label


@dataclass(frozen=True)
class Step:
    """One arrow: at `t`, from lane `src` to lane `dst`."""

    t: float
    src: str
    dst: str
    label: str
    kind: str = "call"  # "call", "data" or "return" (dashed)
    status: int | None = None


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _lanes(trace: RequestTrace) -> list[tuple[str, str]]:
    """(lane id, title) in order; a middleware lane's id is `mw:<depth>`."""
    lanes = [("client", "client"), ("transport", "transport"), ("parser", "parser")]
    if trace.decision is not None:
        lanes.append(("router", "router"))
    for event in trace.layers:
        if isinstance(event, ev.MiddlewareEnter):
            lanes.append((f"mw:{event.depth}", event.name))
    if trace.handler_start is not None or trace.handler_end is not None:
        lanes.append(("handler", (trace.handler_start or trace.handler_end).name))  # type: ignore[union-attr]
    return lanes + [("response", "response"), ("wire", "wire")]


def journey_steps(trace: RequestTrace) -> list[Step]:
    """The arrows of a trace, in time order (ties keep the order the request took)."""
    steps: list[Step] = []
    for number, read in enumerate(trace.reads, 1):
        steps.append(
            Step(read.t, "client", "transport", f"read {number}: {len(read.data)} bytes", "data")
        )
    if trace.parser:
        steps.append(
            Step(trace.parser[0].t, "transport", "parser", f"parse: {len(trace.parser)} callbacks")
        )
    if trace.error is not None and trace.decision is None:
        error = trace.error
        steps.append(
            Step(error.t, "parser", "response", f"refused: {error.reason}", status=error.status)
        )
        steps.append(
            Step(error.t, "response", "wire", f"{error.status}, then close", status=error.status)
        )
        return sorted(steps, key=lambda step: step.t)
    decision = trace.decision
    if decision is not None:
        start = trace.routes[0].t if trace.routes else decision.t
        steps.append(Step(start, "parser", "router", f"{trace.method} {trace.target}"))
    caller = "router"
    decided = _decision(trace)
    for event in trace.layers:
        lane = f"mw:{event.depth}"
        if isinstance(event, ev.MiddlewareEnter):
            label = decided if caller == "router" else "handler(request)"
            steps.append(Step(event.t, caller, lane, label))
            caller = lane
        else:
            outer = f"mw:{event.depth - 1}" if event.depth else "response"
            what = _raised(event.error) if event.status is None else str(event.status)
            if not event.called_next:
                what += ", short-circuit"
            steps.append(
                Step(
                    event.t, lane, outer, f"{what} in {_ms(event.elapsed)}", "return", event.status
                )
            )
    if trace.handler_start is not None:
        inner = _innermost(trace)
        label = decided if inner == "router" else f"{trace.handler_start.name}(request)"
        steps.append(Step(trace.handler_start.t, inner, "handler", label))
    if trace.handler_end is not None:
        end = trace.handler_end
        back = _innermost(trace)
        back = "response" if back == "router" else back
        what = _raised(end.error) if end.error else str(end.status)
        steps.append(
            Step(end.t, "handler", back, f"{what} in {_ms(end.elapsed)}", "return", end.status)
        )
    if trace.response is not None:
        head = trace.response
        label = f"{head.status} {head.reason}, {len(head.headers)} headers"
        steps.append(Step(head.t, "response", "wire", label, status=head.status))
    if trace.end is not None:
        close = "keep-alive" if trace.end.keep_alive else "close"
        steps.append(
            Step(
                trace.end.t, "response", "wire", f"{trace.end.bytes_written} bytes, {close}", "data"
            )
        )
    return sorted(steps, key=lambda step: step.t)


def _raised(error: str) -> str:
    """`raised RuntimeError`: the type only, the message would widen the lanes."""
    return f"raised {error.split(':', 1)[0]}"


def _decision(trace: RequestTrace) -> str:
    decision = trace.decision
    if decision is None:
        return ""
    if decision.status == 200:
        matched = [tried.pattern for tried in trace.routes if tried.outcome == "match"]
        return f"match {matched[0] if matched else ''} -> {decision.handler}"
    if decision.status == 405:
        return f"405, Allow: {','.join(decision.allowed)}"
    return f"{decision.status}: no route"


def _innermost(trace: RequestTrace) -> str:
    """The lane that calls the handler: the deepest middleware that called on, or the router."""
    depths = [e.depth for e in trace.layers if isinstance(e, ev.MiddlewareEnter)]
    return f"mw:{max(depths)}" if depths else "router"


def journey(trace: RequestTrace) -> Picture:
    """The sequence diagram of one request, as an SVG Picture."""
    lanes = _lanes(trace)
    steps = journey_steps(trace)
    index = {lane: i for i, (lane, _) in enumerate(lanes)}
    boxes = [max(84, text_width(title) + 14) for _, title in lanes]
    xs = _lane_xs(boxes)
    first_row = TOP + LANE_HEAD + 22
    height = first_row + ROW * len(steps) + 34
    canvas = Canvas(xs[-1] + 70, height, f"journey of {trace.label}")
    kind = status_kind(trace.status)
    canvas.text(14, 26, trace.label, STATUS_INK[kind], font_weight="bold", font_size=14)
    canvas.text(14, first_row - 12, "+ since last", MUTED, font_size=10)
    for (lane, title), x, box in zip(lanes, xs, boxes, strict=True):
        _lane_head(canvas, lane, title, x, box, height - 30)
    _activations(canvas, steps, index, xs, first_row)
    previous = steps[0].t if steps else 0.0
    total = steps[-1].t - previous if steps else 0.0
    for row, step in enumerate(steps):
        y = first_row + row * ROW
        gap = step.t - previous
        if gap >= 0.001 and gap >= total / 3:  # rows are evenly spaced: say where time went
            canvas.text(14, y + 4, f"+{_ms(gap)}", INK, font_size=11, font_weight="bold")
        else:
            canvas.text(14, y + 4, f"+{_ms(gap)}", MUTED, font_size=11)
        previous = step.t
        x1, x2 = xs[index[step.src]], xs[index[step.dst]]
        _arrow(canvas, step, x1, x2, y, steps[0].t, canvas.width - 8)
    legend = "solid: a call or data  ·  dashed: a return, with the time the layer took"
    canvas.text(14, height - 10, legend, MUTED, font_size=10)
    summary = f"journey of {trace.label}: {len(steps)} steps through {len(lanes)} lanes"
    return Picture(canvas.svg(), summary)


def _lane_xs(boxes: list[float]) -> list[float]:
    """Where each lane is: a gap fits the two lane heads beside it. Not the labels: each
    arrow has a row of its own, its label can be wider than the gap (see _arrow)."""
    gaps = [max(MIN_GAP, (a + b) / 2 + 8) for a, b in pairwise(boxes)]
    xs = [TIME_COLUMN + 44.0]  # half the first lane head past the time column
    for gap in gaps:
        xs.append(xs[-1] + gap)
    return xs


def _lane_head(canvas: Canvas, lane: str, title: str, x: float, box: float, bottom: float) -> None:
    canvas.begin("g", class_="lane", data_lane=lane, data_title=title)
    canvas.line(x, TOP + LANE_HEAD, x, bottom, stroke=LANE, stroke_dasharray="2 3")
    canvas.rect(x - box / 2, TOP, box, LANE_HEAD - 10, rx=4, fill=STATUS_TINT[0], stroke=LANE)
    kind = "middleware" if lane.startswith("mw:") else "handler" if lane == "handler" else ""
    if kind:
        canvas.text(x, TOP + 13, kind, MUTED, text_anchor="middle", font_size=10)
    canvas.text(x, TOP + (28 if kind else 21), fit(title, box - 8), INK, text_anchor="middle")
    canvas.end("g")


def _arrow(
    canvas: Canvas, step: Step, x1: float, x2: float, y: float, t0: float, right: float
) -> None:
    ink = STATUS_INK[status_kind(step.status)] if step.status is not None else INK
    canvas.begin(
        "g",
        class_="arrow",
        data_src=step.src,
        data_dst=step.dst,
        data_kind=step.kind,
        data_t=f"{step.t - t0:.9f}",
    )
    canvas.add("title", step.label)  # the whole label, where the drawn one is cut
    dash = "5 4" if step.kind == "return" else None
    pad = 4 if x2 > x1 else -4
    canvas.line(
        x1 + pad,
        y,
        x2 - pad,
        y,
        stroke=INK,
        stroke_width=1.3,
        stroke_dasharray=dash,
        marker_end="url(#head)",
    )
    # An arrow has its row to itself, so its label may run past the arrow's ends, over
    # the lane lines: a white halo (drawn under the glyphs) keeps it legible there.
    label = fit(step.label, right - TIME_COLUMN, LABEL)
    half = text_width(label, LABEL) / 2
    middle = min(max((x1 + x2) / 2, TIME_COLUMN + half), right - half)
    canvas.text(middle, y - 5, label, ink, text_anchor="middle", font_size=LABEL, **HALO)
    canvas.end("g")


def _activations(
    canvas: Canvas, steps: list[Step], index: dict, xs: list[float], top: float
) -> None:
    """A bar on each middleware and the handler's lane, from the call in to the return."""
    entered: dict[str, int] = {}
    for row, step in enumerate(steps):
        if step.kind != "return" and (step.dst.startswith("mw:") or step.dst == "handler"):
            entered.setdefault(step.dst, row)
        elif step.kind == "return" and step.src in entered:
            first = entered.pop(step.src)
            x = xs[index[step.src]]
            y1, y2 = top + first * ROW, top + row * ROW
            canvas.rect(x - 5, y1, 10, y2 - y1, fill=STATUS_TINT[3], stroke=LANE, class_="active")

"""Connections and requests over time: a swimlane per connection, a bar per request.

Time runs left to right, to scale. A connection's lane is a grey line from when it
opened to when it closed (an arrowhead: still open), so keep-alive shows as the line
between bars. Each request is one bar in three parts, read from its trace:

- waiting (hatched): parsed, not yet in the app. A pipelined request waits here for
  the answer before it (sketch answers a connection's requests in order), and a body
  that arrives slowly shows here too;
- in the app (tinted by status): from the router's first look to the last layer's return;
- answering (outlined): from the app's answer to its last byte written.

A request still in flight is drawn up to the last thing it did, its outline dashed and
open-ended. A triangle over a bar marks where its handler awaited (its Task went back
to the loop) or where `100 Continue` went out. Back-pressure shows on the connection's
line: while reading or writing was paused, the line is thick and dashed.

Requests that overlap on one connection (pipelining) are drawn on rows of their own
under it, so a bar never hides another; concurrent clients are separate lanes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from sketch import events as ev

from .model import ConnectionTrace, Model, RequestTrace
from .svg import INK, LANE, MUTED, STATUS_INK, STATUS_TINT, Canvas, Picture, fit, status_kind

__all__ = ["phases", "last_seen", "connections"]

LEFT = 150  # the lane titles
PLOT = 600  # the time axis, in pixels: with the labels, a notebook output's width
ROW, BAR = 22, 13
SPAN = 10  # the connection's line, above its requests' rows
LABEL = 11
PAUSED = {"reading": "reading paused: the client sends faster than we answer",
          "writing": "writing paused: the client reads slower than we send"}  # fmt: skip


def last_seen(trace: RequestTrace) -> float:
    """When a request was last heard of: its end, or for one in flight its latest event."""
    if trace.finished is not None:
        return trace.finished
    steps = [trace.decision, trace.handler_start, trace.handler_end, trace.response]
    times = [e.t for e in (*trace.parser, *trace.routes, *trace.layers, *trace.waits)]
    return max([trace.started, *times, *(e.t for e in steps if e is not None)])


def phases(trace: RequestTrace) -> tuple[float, float, float, float]:
    """(parsed, in the app, answered, done): the times where a request's bar changes."""
    start = trace.started
    done = last_seen(trace)
    app = [e.t for e in trace.routes[:1]] or ([trace.decision.t] if trace.decision else [])
    if not app:  # refused by the parser, or its client left first: no app part
        return start, done, done, done
    outs = [e.t for e in trace.layers if isinstance(e, ev.MiddlewareExit) and e.depth == 0]
    if trace.handler_end is not None:
        outs.append(trace.handler_end.t)
    answered = max(outs) if outs else (trace.response.t if trace.response else done)
    return start, app[0], min(max(answered, app[0]), done), done


def _ticks(span_ms: float) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about six ticks."""
    raw = span_ms / 6 or 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= raw)


def connections(
    model: Model, *, last: int = 30, requests: Iterable[RequestTrace] | None = None
) -> Picture:
    """The last `last` connections the model saw, with their requests, as SVG: the
    finished ones and those still in flight."""
    if requests is None:
        requests = [*model.recent, *model.in_flight.values()]
    traces = list(requests)
    lanes: dict[int, ConnectionTrace | None] = {c.conn: c for c in list(model.connections)[-last:]}
    for trace in traces:  # a request whose connection record is gone (a replay's first)
        lanes.setdefault(trace.conn, None)
    shown = sorted(lanes)[-last:]
    # Say how many were left out (the model's own ring keeps the last 50 connections).
    seen = max(len(lanes), model.server.connections_total)
    which = f"{len(shown)} connection(s)"
    if seen > len(shown):
        which = f"the last {len(shown)} of {seen} connections"
    traces = [t for t in traces if t.conn in set(shown)]
    times = [t.started for t in traces] + [last_seen(t) for t in traces]
    for conn in shown:
        record = lanes[conn]
        if record is not None:
            times += [record.opened] + ([record.closed] if record.closed is not None else [])
    t0, t1 = (min(times), max(times)) if times else (0.0, 0.0)
    scale = PLOT / ((t1 - t0) or 1e-3)

    def x(t: float) -> float:
        return LEFT + (t - t0) * scale

    rows = {conn: _rows([t for t in traces if t.conn == conn], x) for conn in shown}
    height = 66 + sum(SPAN + ROW * max(1, len(r)) + 14 for r in rows.values()) + 68
    room = max((_label_width(t) for t in traces), default=0.0)  # the last bar's label
    canvas = Canvas(LEFT + PLOT + room + 20, height, "connections and requests over time")
    canvas.text(
        14,
        24,
        f"{which}, {len(traces)} request(s)",
        INK,
        font_weight="bold",
        font_size=14,
    )
    _axis(canvas, t0, t1, x, height)
    y = 66
    for conn in shown:
        y = _lane(canvas, conn, lanes[conn], rows[conn], x, y, t1)
    _legend(canvas, height - 40)
    summary = f"{which} and {len(traces)} request(s) over {(t1 - t0) * 1000:.2f} ms"
    return Picture(canvas.svg(), summary)


def _rows(traces: list[RequestTrace], x) -> list[list[RequestTrace]]:
    """Requests on rows, first fit: a row takes a request that starts after the bar and
    the label before it end, so that neither hides the other."""
    rows: list[list[RequestTrace]] = []
    ends: list[float] = []
    for trace in sorted(traces, key=lambda t: t.started):
        start = x(trace.started)
        free = [number for number, end in enumerate(ends) if start > end]
        number = free[0] if free else len(rows)
        if not free:
            rows.append([])
            ends.append(0.0)
        rows[number].append(trace)
        ends[number] = max(x(last_seen(trace)), start + 3) + _label_width(trace) + 10
    return rows


def _label(trace: RequestTrace) -> str:
    return f"{trace.conn}.{trace.req} {trace.method} {trace.target}"[:32] + f" {trace.outcome}"


def _label_width(trace: RequestTrace) -> float:
    return len(_label(trace)) * LABEL * 0.61 + 6


def _axis(canvas: Canvas, t0: float, t1: float, x, height: float) -> None:
    span_ms = (t1 - t0) * 1000
    step = _ticks(span_ms)
    canvas.begin("g", class_="axis")
    canvas.line(LEFT, 44, LEFT + PLOT, 44, stroke=LANE)
    tick = 0.0
    while tick <= span_ms + 1e-9:
        at = x(t0 + tick / 1000)
        canvas.line(at, 40, at, height - 40, stroke="#eaeef2")
        canvas.text(at, 36, f"{tick:g} ms", MUTED, text_anchor="middle", font_size=10)
        tick += step
    canvas.end("g")


def _lane(canvas, conn, record, rows, x, y: float, t1: float) -> float:
    lane_height = SPAN + ROW * max(1, len(rows))
    canvas.begin("g", class_="connection", data_conn=conn)
    canvas.text(14, y + 18, f"connection {conn}", INK, font_weight="bold")
    if record is not None:
        canvas.text(14, y + 31, fit(record.peer, LEFT - 20, 10), MUTED, font_size=10)
        end = record.closed if record.closed is not None else t1
        mid = y + 4  # above the bars: their labels never sit on it
        still_open = "url(#head)" if record.closed is None else None
        canvas.line(
            x(record.opened), mid, x(end), mid, stroke=LANE, stroke_width=2, marker_end=still_open
        )
        ends = [record.opened] + ([end] if record.closed is not None else [])
        for t in ends:  # a tick where it opened, and where it closed
            canvas.line(x(t), mid - 4, x(t), mid + 4, stroke=LANE, stroke_width=2)
        for side, start, stop in pauses(record, end):
            canvas.begin("g", class_="paused", data_side=side)
            canvas.add("title", PAUSED.get(side, side + " paused"))
            canvas.line(x(start), mid, max(x(stop), x(start) + 3), mid, stroke=STATUS_INK[4],
                        stroke_width=5, stroke_dasharray="4 2")  # fmt: skip
            canvas.end("g")
    for number, row in enumerate(rows):
        for trace in row:
            _bar(canvas, trace, x, y + SPAN + number * ROW + (ROW - BAR) / 2)
    canvas.end("g")
    return y + lane_height + 14


def pauses(record: ConnectionTrace, end: float) -> list[tuple[str, float, float]]:
    """(side, paused, resumed) for each span of back-pressure on a connection; one not
    yet resumed lasts until `end`."""
    spans, since = [], {}
    for event in record.pauses:
        if event.paused:
            since.setdefault(event.side, event.t)
        elif event.side in since:
            spans.append((event.side, since.pop(event.side), event.t))
    spans += [(side, t, max(t, end)) for side, t in since.items()]
    return spans


def _bar(canvas: Canvas, trace: RequestTrace, x, top: float) -> None:
    parsed, app, answered, done = phases(trace)
    kind = status_kind(trace.status)
    flying = trace.finished is None
    canvas.begin(
        "g",
        class_="request",
        data_req=f"{trace.conn}.{trace.req}",
        data_state="in flight" if flying else "finished",
    )
    canvas.add("title", trace.label + (" (in flight)" if flying else ""))
    parts = [
        ("wait", parsed, app, "url(#hatch)"),
        ("app", app, answered, STATUS_TINT[kind]),
        ("answer", answered, done, "#ffffff"),
    ]
    for name, start, end, fill in parts:
        width = x(end) - x(start)
        if name == "app" and app == done:  # refused: the whole bar is the refusal
            continue
        canvas.rect(
            x(start),
            top,
            max(width, 0.0),
            BAR,
            fill=fill,
            stroke=LANE,
            class_=name,
            data_ms=f"{(end - start) * 1000:.3f}",
        )
    left, right = x(parsed), max(x(done), x(parsed) + 3)
    canvas.rect(left, top, right - left, BAR, fill="none", stroke=STATUS_INK[kind],
                stroke_width=1.2, stroke_dasharray="3 2" if flying else None)  # fmt: skip
    for event in trace.waits:
        if isinstance(event, ev.HandlerWaited | ev.ContinueSent):
            _wait_mark(canvas, event, x(event.t), top)
    label = _label(trace) + (" in flight" if flying else "")
    canvas.text(right + 5, top + BAR - 2, label, STATUS_INK[kind], font_size=LABEL)
    canvas.end("g")


def _wait_mark(
    canvas: Canvas, event: ev.HandlerWaited | ev.ContinueSent, at: float, top: float
) -> None:
    """A small triangle over the bar, pointing at the moment."""
    waited = isinstance(event, ev.HandlerWaited)
    canvas.begin("g", class_="waited" if waited else "continue")
    if waited:
        canvas.add("title", "the handler awaited: its Task went back to the loop")
    else:
        canvas.add("title", "100 Continue sent: the client may send the body")
    triangle = f"M{at - 4:.1f},{top - 5:.1f} L{at + 4:.1f},{top - 5:.1f} L{at:.1f},{top + 1:.1f} z"
    canvas.add("path", d=triangle, fill=INK if waited else STATUS_INK[3])
    canvas.end("g")


def _legend(canvas: Canvas, y: float) -> None:
    canvas.rect(14, y - 10, 22, BAR, fill="url(#hatch)", stroke=LANE)
    canvas.text(42, y, "waiting: parsed, not yet in the app", MUTED, font_size=10)
    canvas.rect(292, y - 10, 22, BAR, fill=STATUS_TINT[2], stroke=LANE)
    canvas.text(320, y, "in the app", MUTED, font_size=10)
    canvas.rect(400, y - 10, 22, BAR, fill="#ffffff", stroke=LANE)
    canvas.text(428, y, "answer written", MUTED, font_size=10)
    canvas.line(540, y - 4, 580, y - 4, stroke=LANE, stroke_width=2)
    canvas.text(588, y, "connection open (idle between bars)", MUTED, font_size=10)
    y += 18
    canvas.add("path", d=f"M16,{y - 9} L32,{y - 9} L24,{y - 1} z", fill=INK)
    canvas.text(42, y, "the handler awaited (its Task went back to the loop)", MUTED, font_size=10)
    canvas.line(
        400, y - 4, 422, y - 4, stroke=STATUS_INK[4], stroke_width=5, stroke_dasharray="4 2"
    )
    canvas.text(428, y, "reading or writing paused (back-pressure)", MUTED, font_size=10)

"""Recordings and exports: events to JSON lines and back, Chrome traces, SVG and HTML.

- JSON lines: one event per line, `{"type": "DataReceived", "t": ..., ...}`, bytes as
  base64 under `{"$bytes": ...}`. `load()` gives back the same event objects, so a
  recording replays into every view without a server.
- Chrome trace-event JSON (`chrome_trace`): requests, middleware layers, handlers and
  hooks as complete events ("ph": "X"), one thread per connection; Perfetto opens it.
- SVG and HTML of any view (`export_view`), for slides and handouts.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator
from html import escape
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from sketch import events as ev

from .model import Model
from .palette import THEME, card_style, reverse_on_card
from .secrets import Masker

__all__ = ["encode", "decode", "Recorder", "load", "chrome_trace", "export_view"]


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "$bytes" in value:
        return base64.b64decode(value["$bytes"])
    if isinstance(value, list):
        return tuple(_from_json(item) for item in value)
    return value


def encode(event: ev.Event) -> str:
    fields = {f.name: _to_json(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return json.dumps({"type": type(event).__name__, **fields})


def decode(line: str) -> ev.Event:
    data = json.loads(line)
    cls = ev.EVENT_TYPES.get(data.pop("type", None))
    if cls is None:
        raise ValueError(f"not a sketch event: {line[:80]!r}")
    return cls(**{key: _from_json(value) for key, value in data.items()})


class Recorder:
    """A tracer subscriber that writes every event to a JSON lines file.

    Credentials are masked before they are written (secrets.py), unless `reveal`.
    """

    def __init__(self, path: str | Path, *, reveal: bool = False) -> None:
        self.path = Path(path)
        self._mask = Masker(reveal)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")

    def __call__(self, event: ev.Event) -> None:
        if self._file is not None:
            self._file.write(encode(self._mask(event)) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def load(path: str | Path) -> Iterator[ev.Event]:
    with Path(path).open(encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if line.strip():
                try:
                    yield decode(line)
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{path}:{number}: {exc}") from None


def chrome_trace(events: Iterable[ev.Event]) -> dict[str, Any]:
    """The events as Chrome trace-event JSON: open it at ui.perfetto.dev."""
    model = Model(keep=1_000_000)
    trace_events: list[dict[str, Any]] = []
    events = list(events)
    for event in events:
        model.feed(event)
    t0 = model.server.first_event or 0.0

    def us(t: float) -> float:
        return round((t - t0) * 1_000_000, 3)

    def complete(name: str, cat: str, start: float, seconds: float, tid: int, **args: Any) -> None:
        trace_events.append(
            {
                "name": name,
                "cat": cat,
                "ph": "X",
                "ts": us(start),
                "dur": round(seconds * 1_000_000, 3),
                "pid": 1,
                "tid": tid,
                "args": args,
            }
        )

    for hook in model.server.hooks:
        complete(
            f"{hook.signal} {hook.callback}",
            "hook",
            hook.started,
            hook.elapsed or 0.0,
            0,
            error=hook.error,
        )
    for trace in model.recent:
        complete(
            f"{trace.method} {trace.target}".strip() or "(unparsed)",
            "request",
            trace.started,
            trace.elapsed or 0.0,
            trace.conn,
            status=trace.status,
        )
        # Middleware exits and the handler's end both carry name, end time and elapsed.
        spans = [(e, "middleware") for e in trace.layers if isinstance(e, ev.MiddlewareExit)]
        if trace.handler_end is not None:
            spans.append((trace.handler_end, "handler"))
        for end, cat in spans:
            complete(
                end.name,
                cat,
                end.t - end.elapsed,
                end.elapsed,
                trace.conn,
                status=end.status,
                error=end.error,
            )
    for phase in model.server.phases:
        trace_events.append(
            {
                "name": f"shutdown: {phase.phase}",
                "ph": "i",
                "s": "g",
                "ts": us(phase.t),
                "pid": 1,
                "tid": 0,
                "args": {"count": phase.count},
            }
        )
    names = [{"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "server"}}]
    for conn in sorted({t.conn for t in model.recent}):
        names.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": 1,
                "tid": conn,
                "args": {"name": f"connection {conn}"},
            }
        )
    return {"traceEvents": names + trace_events, "displayTimeUnit": "ms"}


_PRE = (
    "<pre style=\"font-family:Menlo,'DejaVu Sans Mono',Consolas,monospace;font-size:13px;"
    "line-height:1.15;margin:0;white-space:pre;" + card_style() + '">{code}</pre>'
)
_PAGE = (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
    "</head>\n<body>\n{body}\n</body>\n</html>\n"
)


def export_view(view: object, path: str | Path, *, width: int = 100, title: str = "sketch") -> Path:
    """Write a view to `path` as SVG (.svg) or HTML (.html), for slides and handouts."""
    path = Path(path)
    console = Console(record=True, width=width, file=io.StringIO(), force_jupyter=False)
    console.print(view)
    if path.suffix == ".svg":
        path.write_text(console.export_svg(title=title), encoding="utf-8")
    elif path.suffix in (".html", ".htm"):
        # The notebook's colours and card (palette.py): readable whatever the page's.
        pre = console.export_html(inline_styles=True, theme=THEME, code_format=_PRE)
        page = _PAGE.format(title=escape(title), body=reverse_on_card(pre))
        path.write_text(page, encoding="utf-8")
    else:
        raise ValueError(f"export to .svg or .html, got {path.name!r}")
    return path

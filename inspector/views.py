"""Views: rich renderables drawn from the model's traces, never from sketch's insides.

- RequestTree: one request, with parser, dispatcher, middleware onion, handler and
  response as branches.
- ByteRuler: the raw bytes, with the span each parser callback consumed and where
  each read ended.
- WhyNot: every route tried, in order, why it matched or not, and the decision.
- Onion: the middleware layers, nested, with total and self time, short-circuits and
  how the status changed at each layer.

The server's views, Timeline and Dashboard, are in server_views.py.

Each is a plain object with `__rich_console__`, so `console.print(view)` draws it, in a
terminal or exported to HTML or SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from sketch import events as ev

from .model import RequestTrace, error_offset

__all__ = ["RequestTree", "ByteRuler", "WhyNot", "Onion", "VIEWS", "view_of"]


def _ms(seconds: float | None) -> str:
    return "…" if seconds is None else f"{seconds * 1000:.2f} ms"


def _status_style(status: int | None) -> str:
    if status is None:
        return "dim"
    return {2: "green", 3: "cyan", 4: "yellow", 5: "bold red"}.get(status // 100, "")


def _show_bytes(data: bytes, limit: int = 60) -> str:
    text = data[:limit].decode("latin-1").encode("unicode_escape").decode("ascii")
    return text + ("…" if len(data) > limit else "")


# --- the onion, computed once, drawn by RequestTree and Onion -----------------------


@dataclass
class _Layer:
    name: str
    depth: int
    elapsed: float | None = None
    status: int | None = None
    error: str = ""
    called_next: bool = True
    inner: _Layer | None = None


def _layers(trace: RequestTrace) -> _Layer | None:
    """The middleware layers as a chain from the outermost, exits matched to entries."""
    outermost: _Layer | None = None
    open_layers: list[_Layer] = []
    for event in trace.layers:
        if isinstance(event, ev.MiddlewareEnter):
            layer = _Layer(event.name, event.depth)
            if open_layers:
                open_layers[-1].inner = layer
            else:
                outermost = layer
            open_layers.append(layer)
        elif open_layers:
            layer = open_layers.pop()
            layer.elapsed, layer.status = event.elapsed, event.status
            layer.error, layer.called_next = event.error, event.called_next
    return outermost


def _handler_line(trace: RequestTrace) -> Text:
    end = trace.handler_end
    name = end.name if end else trace.handler_start.name if trace.handler_start else "?"
    line = Text.assemble(("handler ", "bold"), (name, "magenta"))
    if end is not None:
        line.append(f"  {_ms(end.elapsed)}")
        line.append(f" -> {end.status}" if end.status else "", _status_style(end.status))
        if end.error:
            line.append(f"  raised {end.error}", "red")
    return line


def _layer_line(layer: _Layer, handler_elapsed: float) -> Text:
    # Self time: this layer's total less what ran inside it (the next layer, or the
    # handler for the innermost one).
    if layer.inner is not None:
        inner = layer.inner.elapsed or 0.0
    else:
        inner = handler_elapsed if layer.called_next else 0.0
    own = None if layer.elapsed is None else max(0.0, layer.elapsed - inner)
    line = Text.assemble(("middleware ", "bold"), (layer.name, "blue"))
    line.append(f"  total {_ms(layer.elapsed)}, self {_ms(own)}")
    if layer.status is not None:
        line.append(f" -> {layer.status}", _status_style(layer.status))
    if not layer.called_next:
        line.append("  short-circuit: answered without the layers inside", "bold yellow")
    elif layer.error:
        line.append(f"  passed on {layer.error}", "red")
    return line


def _onion_tree(trace: RequestTrace, tree: Tree) -> None:
    layer, node = _layers(trace), tree
    reached_handler = True
    handler_elapsed = trace.handler_end.elapsed if trace.handler_end else 0.0
    while layer is not None:
        node = node.add(_layer_line(layer, handler_elapsed))
        reached_handler = layer.called_next
        layer = layer.inner if layer.called_next else None
    if reached_handler and (trace.handler_start or trace.handler_end):
        node.add(_handler_line(trace))


# --- one request ------------------------------------------------------------------


class RequestTree:
    """`GET /users/bob -> 200 in 0.41 ms`, and under it every stage of the request."""

    def __init__(self, trace: RequestTrace, *, headers: bool = True) -> None:
        self.trace = trace
        self.headers = headers

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        trace = self.trace
        tree = Tree(Text(trace.label, style="bold " + _status_style(trace.status)))
        parser = tree.add(
            Text.assemble(
                ("parser", "bold"), f"  {len(trace.parser)} callbacks, {len(trace.reads)} read(s)"
            )
        )
        for callback in trace.parser:
            shown = ": ".join(_show_bytes(part) for part in callback.data)
            parser.add(Text.assemble((callback.name, "cyan"), f"  {shown}" if shown else ""))
        if trace.error is not None:
            parser.add(Text(f"error -> {trace.error.status}: {trace.error.reason}", "bold red"))
        if trace.decision is not None:
            decision = trace.decision
            what = {200: "match", 404: "404: no route", 405: "405: method not allowed"}
            dispatcher = tree.add(
                Text.assemble(
                    ("dispatcher", "bold"), f"  {what.get(decision.status, decision.status)}"
                )
            )
            for tried in trace.routes:
                dispatcher.add(f"{tried.pattern}  {tried.outcome}")
            if decision.allowed:
                dispatcher.add(f"Allow: {','.join(decision.allowed)}")
            if decision.params:
                dispatcher.add(f"params {dict(decision.params)}")
        if trace.layers or trace.handler_start:
            onion = tree.add(Text("middlewares and handler", "bold"))
            _onion_tree(trace, onion)
        if trace.response is not None:
            head = trace.response
            end = trace.end
            sent = (
                f", {end.bytes_written} bytes, {'keep-alive' if end.keep_alive else 'close'}"
                if end
                else ""
            )
            response = tree.add(
                Text.assemble(
                    ("response ", "bold"),
                    (f"{head.status} {head.reason}", _status_style(head.status)),
                    sent,
                )
            )
            if self.headers:
                for name, value in head.headers:
                    response.add(f"{name}: {value}")
            for hook in trace.hooks:
                response.add(f"{hook.signal} {hook.callback}  {_ms(hook.elapsed)}")
        elif trace.error is not None:
            tree.add(_refusal(trace))
        yield tree


def _refusal(trace: RequestTrace) -> Text:
    """What sketch answered in place of a handler, and where the parser stopped."""
    error = trace.error
    assert error is not None
    line = Text.assemble(
        ("response ", "bold"),
        (f"{error.status} {_phrase(error.status)}", _status_style(error.status)),
        f" (refused: {error.reason}), then close\n",
    )
    raw, at = trace.raw, error_offset(trace)
    if at is not None and at < len(raw):
        # The line it stopped in, the byte in brackets (the ruler marks it too).
        start = max(raw.rfind(b"\n", 0, at) + 1, at - 40)
        line.append(f"parsing stopped at byte {at} of {len(raw)}: ", "bold red")
        line.append(_show_bytes(raw[start:at], 40))
        line.append(f"[{_show_bytes(raw[at : at + 1], 1)}]", "bold red reverse")
        line.append(_show_bytes(raw[at + 1 : at + 25], 24))
    elif not trace.parser:
        line.append("refused before any byte of a request was parsed", "bold red")
    else:
        last = trace.parser[-1].name
        line.append(f"parsing stopped after {last} ({len(raw)} bytes read): ", "bold red")
        line.append("refused by sketch's own rules, not by the parser")
    return line


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class ByteRuler:
    """The bytes as they arrived: each callback's span in its colour, `|` at each read's end."""

    STYLES = {
        "on_url": "bold cyan",
        "on_header": "green",
        "on_body": "magenta",
    }

    def __init__(self, trace: RequestTrace, *, width: int | None = None) -> None:
        self.trace = trace
        self.width = width

    def spans(self) -> list[tuple[int, int, str]]:
        """(start, end, callback) in the raw bytes.

        Where sketch said where a callback's bytes lie on the connection (its `offsets`),
        that place; otherwise the next match after the previous span, in callback order.
        """
        raw, cursor, found = self.trace.raw, 0, []
        for callback in self.trace.parser:
            offsets = callback.offsets or (-1,) * len(callback.data)
            for part, offset in zip(callback.data, offsets, strict=True):
                if not part:
                    continue
                at = self.trace.raw_index(offset)
                if at is None or raw[at : at + len(part)] != part:
                    at = raw.find(part, cursor)
                if at < 0:
                    continue
                found.append((at, at + len(part), callback.name))
                cursor = at + len(part)
        return found

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        trace = self.trace
        raw = trace.raw
        style_at = [""] * len(raw)
        for start, end, name in self.spans():
            for i in range(start, end):
                style_at[i] = self.STYLES.get(name, "")
        error_at = error_offset(trace)
        if error_at is not None and error_at < len(raw):
            style_at[error_at] = "bold red reverse"
        read_ends, total = set(), 0
        for read in trace.reads:
            total += len(read.data)
            read_ends.add(total)
        text = Text()
        for i, byte in enumerate(raw):
            if i in read_ends:
                text.append("|", "bold red reverse")
            char = chr(byte)
            if char == "\r":
                text.append("\\r", style_at[i] or "dim")
            elif char == "\n":
                text.append("\\n\n", style_at[i] or "dim")
            elif 32 <= byte < 127:
                text.append(char, style_at[i])
            else:
                text.append(f"\\x{byte:02x}", (style_at[i] + " reverse").strip())
        if raw:
            text.append("|", "bold red reverse")
        legend = Text.assemble(
            (f"{trace.label}\n", "bold"),
            (f"{len(raw)} bytes in {len(trace.reads)} read(s); ", "dim"),
            ("url", self.STYLES["on_url"]),
            " ",
            ("header", self.STYLES["on_header"]),
            " ",
            ("body", self.STYLES["on_body"]),
            " ",
            ("|", "bold red reverse"),
            " end of a read",
        )
        if trace.error is not None:
            where = f"at byte {error_at}" if error_at is not None else "in the last read"
            legend.append(
                f"\nparse error {where} (marked): {trace.error.status} {trace.error.reason}",
                "bold red",
            )
        yield legend
        yield text


class WhyNot:
    """Every route the dispatcher tried for this request, and why it did or did not match."""

    def __init__(self, trace: RequestTrace) -> None:
        self.trace = trace

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        trace = self.trace
        table = Table(title=f"routes tried for {trace.method} {trace.target}", title_justify="left")
        for column in ("#", "pattern", "regex", "methods", "result"):
            table.add_column(column)
        reasons = {
            "path miss": "the path does not match",
            "method miss": f"the path matches, {trace.method} is not routed",
            "match": "match",
        }
        for number, tried in enumerate(trace.routes, 1):
            result = reasons.get(tried.outcome, tried.outcome)
            if tried.params:
                result += " " + ", ".join(f"{k}={v!r}" for k, v in tried.params)
            style = (
                "green"
                if tried.outcome == "match"
                else "yellow"
                if tried.outcome == "method miss"
                else "dim"
            )
            table.add_row(
                str(number),
                tried.pattern,
                tried.regex or "(literal)",
                ",".join(tried.methods),
                Text(result, style),
            )
        decision = trace.decision
        if decision is None:
            table.caption = "not routed (the request never reached the dispatcher)"
        elif decision.status == 200:
            table.caption = f"decision: match -> {decision.handler}"
        elif decision.status == 405:
            table.caption = f"decision: 405, Allow: {','.join(decision.allowed)}"
        else:
            table.caption = "decision: 404, no route matches the path"
        if not trace.routes and decision is not None:
            table.add_row(
                "", "(none)", "", "", Text("no route is registered under this path", "dim")
            )
        yield table
        yield Text(
            "Routes are looked up by their literal prefix; routes under other prefixes "
            "are not tried.",
            style="dim",
        )


class Onion:
    """The middleware layers around the handler, outermost first."""

    def __init__(self, trace: RequestTrace) -> None:
        self.trace = trace

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        tree = Tree(Text(f"onion for {self.trace.label}", "bold"))
        _onion_tree(self.trace, tree)
        yield tree


VIEWS = {"tree": RequestTree, "ruler": ByteRuler, "whynot": WhyNot, "onion": Onion}


def view_of(trace: RequestTrace, name: str = "tree") -> object:
    """Any single-request view by name: tree, ruler, whynot, onion, or all of them."""
    if name == "all":
        return Group(*(cls(trace) for cls in VIEWS.values()))
    try:
        return VIEWS[name](trace)
    except KeyError:
        raise ValueError(f"no view named {name!r}: choose from {sorted(VIEWS)} or 'all'") from None

"""The request tree: one request with every stage as a branch, fit to a height if asked.

The helpers every request view draws with (times, status colours, bytes, the
middleware onion) live here too: views.py's Onion draws the same onion.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from rich.tree import Tree

from sketch import events as ev

from .model import RequestTrace
from .refusal import error_offset
from .websocket_view import summary

__all__ = ["RequestTree"]


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
    """`GET /users/bob -> 200 in 0.41 ms`, and under it every stage of the request.

    With `max_height`, it fits in that many lines by dropping detail in this order:
    each header to a count, the parser and the routes tried to one line each, then the
    dispatcher to one line. The dispatcher's decision, the middleware layers, the
    handler and the response are always drawn: they are what a request's tree is for.
    """

    DETAILS = 4  # levels of detail, 0 (everything) to 3 (the stages only)

    def __init__(
        self, trace: RequestTrace, *, headers: bool = True, max_height: int | None = None
    ) -> None:
        self.trace = trace
        self.headers = headers
        self.max_height = max_height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.max_height is None:
            yield self.tree(0)
            return
        for detail in range(self.DETAILS):
            tree = self.tree(detail)
            if len(console.render_lines(tree, options, pad=False)) <= self.max_height:
                break
        yield tree

    def tree(self, detail: int = 0) -> Tree:
        """The tree at a level of detail: 0 shows everything, each level shows less."""
        trace = self.trace
        tree = Tree(Text(trace.label, style="bold " + _status_style(trace.status)))
        _parser_branch(trace, tree, detail)
        if trace.decision is not None:
            _dispatcher_branch(trace, tree, detail)
        if trace.layers or trace.handler_start:
            onion = tree.add(Text("middlewares and handler", "bold"))
            _onion_tree(trace, onion)
        if trace.waits:
            _waits_branch(trace, tree, detail)
        if trace.response is not None:
            _response_branch(trace, tree, detail, self.headers)
        elif trace.error is not None:
            tree.add(_refusal(trace))
        if trace.cut_short:
            done = "complete" if trace.response is not None else "sent"
            tree.add(Text(f"connection closed before the answer was {done}", "yellow"))
        if trace.websocket is not None:  # the conversation: inspector.show(trace, "websocket")
            tree.add(Text.assemble(("WebSocket ", "bold"), summary(trace.websocket)))
        if detail:
            _one_line_each(tree)  # a long header value would wrap: cut it instead
        return tree


def _parser_branch(trace: RequestTrace, tree: Tree, detail: int) -> None:
    summary = f"  {len(trace.parser)} callbacks, {len(trace.reads)} read(s)"
    headers = [c for c in trace.parser if c.name == "on_header"]
    if detail >= 2:
        summary += f", {len(headers)} header(s)"
    parser = tree.add(Text.assemble(("parser", "bold"), summary))
    if detail < 2:
        counted = False
        for callback in trace.parser:
            if detail == 1 and callback.name == "on_header":
                if not counted:  # all of them, where the first was
                    counted = True
                    names = ", ".join(_show_bytes(c.data[0], 30) for c in headers if c.data)
                    parser.add(Text.assemble(("on_header", "cyan"), f" x{len(headers)}  {names}"))
                continue
            shown = ": ".join(_show_bytes(part) for part in callback.data)
            parser.add(Text.assemble((callback.name, "cyan"), f"  {shown}" if shown else ""))
    if trace.error is not None:
        parser.add(Text(f"error -> {trace.error.status}: {trace.error.reason}", "bold red"))


_DECISIONS = {200: "match", 404: "404: no route", 405: "405: method not allowed"}


def _dispatcher_branch(trace: RequestTrace, tree: Tree, detail: int) -> None:
    decision = trace.decision
    assert decision is not None
    what = _DECISIONS.get(decision.status, str(decision.status))
    matched = [tried.pattern for tried in trace.routes if tried.outcome == "match"]
    if detail >= 3:  # the decision, the route and its params on one line
        line = f"  {what} {' '.join(matched)}, {len(trace.routes)} route(s) tried"
        if decision.allowed:
            line += f", Allow: {','.join(decision.allowed)}"
        if decision.params:
            line += f", params {dict(decision.params)}"
        tree.add(Text.assemble(("dispatcher", "bold"), line))
        return
    dispatcher = tree.add(Text.assemble(("dispatcher", "bold"), f"  {what}"))
    if detail == 2:  # the routes whose path matched, and a count of the rest
        near = [tried for tried in trace.routes if tried.outcome != "path miss"]
        for tried in near:
            dispatcher.add(f"{tried.pattern}  {tried.outcome}")
        dispatcher.add(f"{len(trace.routes) - len(near)} other route(s): path miss")
    else:
        for tried in trace.routes:
            dispatcher.add(f"{tried.pattern}  {tried.outcome}")
    if decision.allowed:
        dispatcher.add(f"Allow: {','.join(decision.allowed)}")
    if decision.params:
        dispatcher.add(f"params {dict(decision.params)}")


def _wait_line(event: ev.Event, started: float) -> str:
    at = f"+{_ms(event.t - started)}  "
    if isinstance(event, ev.HandlerWaited):
        return at + "the handler awaited: its Task waits on the loop"
    if isinstance(event, ev.ContinueSent):
        return at + "100 Continue sent: the handler asked for the body"
    assert isinstance(event, ev.FlowControl)
    if event.side == "reading":
        what = "the client sends faster than we answer" if event.paused else "answers caught up"
    else:
        what = "the client reads slower than we send" if event.paused else "the client caught up"
    return at + f"{event.side} {'paused' if event.paused else 'resumed'}: {what}"


def _waits_branch(trace: RequestTrace, tree: Tree, detail: int) -> None:
    if detail >= 3:
        tree.add(Text.assemble(("waits", "bold"), f"  {len(trace.waits)}"))
        return
    waits = tree.add(Text("waits", "bold"))
    for event in trace.waits:
        waits.add(_wait_line(event, trace.started))


def _response_branch(trace: RequestTrace, tree: Tree, detail: int, headers: bool) -> None:
    head, end = trace.response, trace.end
    assert head is not None
    sent = (
        f", {end.bytes_written} bytes, {'keep-alive' if end.keep_alive else 'close'}" if end else ""
    )
    response = tree.add(
        Text.assemble(
            ("response ", "bold"),
            (f"{head.status} {head.reason}", _status_style(head.status)),
            sent,
        )
    )
    if headers and detail == 0:
        for name, value in head.headers:
            response.add(f"{name}: {value}")
    elif headers:
        names = ", ".join(name for name, _ in head.headers)
        response.add(f"{len(head.headers)} header(s): {names}")
    flushed = trace.flushed
    if flushed is not None and detail < 3:
        others = flushed.answers - 1
        response.add(
            f"held {_ms(flushed.held)} to the loop's next turn, then written"
            + (f" with {others} other answer(s) in one write" if others else "")
            + f" ({flushed.size} bytes)"
        )
    if detail >= 3 and trace.hooks:
        response.add(f"{len(trace.hooks)} on_response_prepare hook(s)")
        return
    for hook in trace.hooks:
        response.add(f"{hook.signal} {hook.callback}  {_ms(hook.elapsed)}")


def _one_line_each(tree: Tree) -> None:
    """Every label of the tree on one line, cut with an ellipsis where it is too long."""
    for node in tree.children:
        if isinstance(node.label, str):
            node.label = Text(node.label)
        if isinstance(node.label, Text) and "\n" not in node.label.plain:  # a refusal: 2 lines
            node.label.no_wrap, node.label.overflow = True, "ellipsis"
        _one_line_each(node)


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

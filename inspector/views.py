"""Views: rich renderables drawn from the model's traces, never from sketch's insides.

- RequestTree (tree.py): one request, with parser, dispatcher, middleware onion,
  handler and response as branches.
- ByteRuler: the raw bytes, with the span each parser callback consumed and where
  each read ended; after a WebSocket upgrade, each frame's header, spelled out below.
- WhyNot: every route tried, in order, why it matched or not, and the decision.
- Onion: the middleware layers, nested, with total and self time, short-circuits and
  how the status changed at each layer.
- WebSocketView (websocket_view.py): the handshake and the frames, both ways.

The server's views, Timeline and Dashboard, are in server_views.py; pictures (SVG) of a
request's journey and of connections over time are in pictures.py.

Each is a plain object with `__rich_console__`, so `console.print(view)` draws it, in a
terminal or exported to HTML or SVG.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from .model import RequestTrace
from .refusal import error_offset
from .tree import RequestTree, _onion_tree
from .websocket_view import WebSocketView, frame_head

__all__ = ["RequestTree", "ByteRuler", "WhyNot", "Onion", "WebSocketView", "VIEWS", "view_of"]


class ByteRuler:
    """The bytes as they arrived: each callback's span in its colour, `|` at each read's end."""

    STYLES = {
        "on_url": "bold cyan",
        "on_header": "green",
        "on_body": "magenta",
        "frame head": "bold yellow",
    }
    MAX_HEADS = 20  # frame headers spelled out under the bytes

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
        for frame in self._frames_in():
            at = self.trace.raw_index(frame.offset)
            if at is not None:
                found.append((at, at + len(frame.head), "frame head"))
        return found

    def _frames_in(self) -> list:
        talk = self.trace.websocket
        return [] if talk is None else [f for f in talk.frames if f.direction == "in"]

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
        if trace.websocket is not None:
            legend.append("  WebSocket: ")
            legend.append("frame head", self.STYLES["frame head"])
        if trace.error is not None:
            where = f"at byte {error_at}" if error_at is not None else "in the last read"
            legend.append(
                f"\nparse error {where} (marked): {trace.error.status} {trace.error.reason}",
                "bold red",
            )
        yield legend
        yield text
        heads = [f for f in self._frames_in() if trace.raw_index(f.offset) is not None]
        for frame in heads[: self.MAX_HEADS]:
            yield frame_head(frame)
        if len(heads) > self.MAX_HEADS:
            yield Text(f"… and {len(heads) - self.MAX_HEADS} more frame headers", "dim")


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
            # True of sketch's router; a learner's (diy) tries what its loop tries, all listed.
            "sketch looks routes up by their literal prefix: routes under other prefixes "
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


VIEWS = {
    "tree": RequestTree,
    "ruler": ByteRuler,
    "whynot": WhyNot,
    "onion": Onion,
    "websocket": WebSocketView,
}


def view_of(trace: RequestTrace, name: str = "tree") -> object:
    """Any single-request view by name: tree, ruler, whynot, onion, or all of them."""
    if name == "all":
        # The WebSocket view only for a request that upgraded: the others have none.
        names = [n for n in VIEWS if n != "websocket" or trace.websocket is not None]
        return Group(*(VIEWS[n](trace) for n in names))
    try:
        return VIEWS[name](trace)
    except KeyError:
        raise ValueError(f"no view named {name!r}: choose from {sorted(VIEWS)} or 'all'") from None

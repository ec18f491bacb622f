"""The server's views: its life on one time axis, and a dashboard for load.

- Timeline: hooks as bands, requests as lanes, shutdown phases as marks.
- Dashboard: totals, rate, in flight, statuses, and the latest requests.
- Screen: the dashboard and the latest request's tree, fit to the terminal's height.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from .model import Model, RequestTrace, ServerTrace
from .tree import RequestTree, _ms, _status_style

__all__ = ["Timeline", "Dashboard", "Screen"]


class Timeline:
    """Hooks as bands, requests as lanes, shutdown phases as marks, on one time axis."""

    def __init__(
        self, server: ServerTrace, requests: Iterable[RequestTrace], width: int | None = None
    ) -> None:
        self.server = server
        self.requests = list(requests)
        self.width = width  # of the time axis; by default what the console leaves

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        server = self.server
        spans: list[tuple[str, float, float, str]] = []
        for hook in server.hooks:
            end = hook.started + (hook.elapsed or 0.0)
            spans.append(
                (
                    f"{hook.signal} {hook.callback.rsplit('.', 1)[-1]}",
                    hook.started,
                    end,
                    "red" if hook.error else "blue",
                )
            )
        for trace in self.requests:
            spans.append(
                (
                    f"{trace.conn}.{trace.req} {trace.method} {trace.target}"[:40],
                    trace.started,
                    trace.finished or trace.started,
                    _status_style(trace.status),
                )
            )
        marks = [(f"shutdown: {p.phase} ({p.count})", p.t) for p in server.phases]
        if server.started is not None:
            marks.insert(0, (f"listening on {server.url}", server.started))
        times = [s[1] for s in spans] + [s[2] for s in spans] + [m[1] for m in marks]
        if not times:
            yield Text("nothing has happened yet", "dim")
            return
        t0, t1 = min(times), max(times)
        label_width = 32
        width = self.width or max(20, options.max_width - label_width - 2)
        scale = (width - 2) / ((t1 - t0) or 1.0)
        table = Table(box=None, show_header=True, title="lifecycle timeline", title_justify="left")
        table.add_column("lane", no_wrap=True, max_width=label_width, overflow="ellipsis")
        table.add_column(f"0 … {(t1 - t0) * 1000:.1f} ms", no_wrap=True, width=width)
        for label, start, end, style in sorted(
            spans + [(m, t, t, "bold") for m, t in marks], key=lambda s: s[1]
        ):
            a, b = int((start - t0) * scale), int((end - t0) * scale)
            bar = Text(" " * a)
            bar.append("█" * max(1, b - a + 1), style or "white")
            table.add_row(label, bar)
        yield table


def _status(trace: RequestTrace) -> str:
    """Its outcome, short enough for the list's column: "closed" if cut short unanswered."""
    return "closed" if trace.status is None and trace.cut_short else trace.outcome


class Dashboard:
    """For load: totals, rate, in flight, statuses, and the latest requests."""

    def __init__(self, model: Model, now: float | None = None, latest: int = 10) -> None:
        self.model = model
        self.now = now
        self.latest = latest

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        model, server = self.model, self.model.server
        now = (
            self.now
            if self.now is not None
            else (model.finished_times[-1] if model.finished_times else 0.0)
        )
        statuses = (
            ", ".join(f"{code}: {n}" for code, n in sorted(server.statuses.items())) or "none"
        )
        # An open WebSocket's request stays in flight as long as it talks: say so.
        talking = sum(1 for talk in model.websockets.values() if talk.open)
        sockets = f" ({talking} WebSocket open)" if talking else ""
        yield Text.assemble(
            ("sketch inspector", "bold"),
            f"  {server.url or ''}\n",
            f"requests {server.requests_total}  rate {model.rate(now):.1f}/s  "
            f"in flight {len(model.in_flight)}{sockets}  "
            f"connections {server.connections_open} open, "
            f"{server.connections_total} total\n",
            f"statuses {statuses}",
        )
        if self.latest <= 0:
            return
        rows = [
            (
                f"{trace.conn}.{trace.req}",
                f"{trace.method} {trace.target}",
                Text(_status(trace), _status_style(trace.status)),
                _ms(trace.elapsed),
            )
            for trace in model.recent[-self.latest :]  # folds only these (model.py)
        ]
        # A row is one line (Screen counts on it): the request gets the width the other
        # columns leave, and is cut with an ellipsis; else the time column would wrap.
        heads = ("conn.req", "request", "status", "time")
        others = sum(
            max(len(cell) for cell in (heads[i], *(row[i] for row in rows))) for i in (0, 2, 3)
        )
        room = options.max_width - others - 4 * 2 - 5  # each column's padding, the borders
        table = Table(title=f"latest {self.latest} requests", title_justify="left")
        for head in heads:
            width = max(10, min(50, room)) if head == "request" else None
            table.add_column(head, no_wrap=True, overflow="ellipsis", max_width=width)
        for row in rows:
            table.add_row(*row)
        yield table


class Screen:
    """The dashboard and the latest request's tree, in the height of the terminal.

    A screen that is too short loses detail, never stages: first the list of latest
    requests shrinks (to three), then the tree drops detail (tree.py), then the list
    goes. What rich's Live cannot fit it cuts to "...", and the cut would fall on the
    tree's last branches, the middlewares and the response.
    """

    def __init__(self, model: Model, now: float | None = None, latest: int = 10) -> None:
        self.model = model
        self.now = now
        self.latest = latest

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        model = self.model
        height = options.height or options.size.height
        trace = model.recent[-1] if model.recent else None
        rows = min(self.latest, len(model.recent))
        if trace is None:
            yield Dashboard(model, self.now, rows)
            return

        def lines(renderable: object) -> int:
            return len(console.render_lines(renderable, options, pad=False))

        tree = RequestTree(trace)
        fewest = min(rows, 3)
        # The list costs its title, borders and header, then one line per request.
        frame = lines(Dashboard(model, self.now, 1)) - 1
        for detail in range(RequestTree.DETAILS):
            drawn = tree.tree(detail)
            shown = min(rows, height - lines(drawn) - frame)
            if shown >= fewest:
                yield Dashboard(model, self.now, shown)
                yield drawn
                return
        yield Dashboard(model, self.now, 0)
        yield tree.tree(RequestTree.DETAILS - 1)

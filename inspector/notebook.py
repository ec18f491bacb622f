"""The inspector in a notebook: a live view that redraws as requests arrive, as plain HTML.

    live = inspector.watch(app)                # before or after the server starts
    ...requests...
    live.show("GET", "/users/bob", "ruler")   # one request, any view
    live.journey("GET", "/users/bob")          # its journey, a picture (SVG)
    live.connections()                         # connections and requests over time (SVG)
    live                                       # the view again (after a page reload)
    live.close()

Why not rich's Live: in Jupyter it draws nothing without ipywidgets, and with them a
saved notebook keeps only a widget reference. Here every state is an ordinary
`text/html` output, updated through an IPython display handle (`display_id`), from the
kernel's own event loop, a bounded number of times per second. What nbclient or
nbconvert saves is the last state, readable anywhere.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

from rich.console import Console, Group
from rich.text import Text

from sketch import events as ev

from .connections import connections
from .diy import tracer_of
from .journey import journey
from .model import Model, RequestTrace, mask_trace
from .palette import THEME, card_style, reverse_on_card
from .server_views import Dashboard, Timeline
from .svg import Picture
from .views import RequestTree, view_of

__all__ = ["LiveView", "watch", "show", "to_html", "HTMLView"]

# The class lets a test (or a stylesheet) find the inspector's outputs. The line height
# is the font's own (about 1.17 em for these fonts) so that box-drawing and tree lines
# join from one line to the next; JupyterLab's own (1.37) leaves a gap in each. The
# colours are a card of the view's own (palette.py): it reads in light and dark themes.
_PRE = (
    '<pre class="sketch-inspector" '
    "style=\"font-family:Menlo,'DejaVu Sans Mono',Consolas,monospace;"
    "font-size:12px;line-height:1.15;margin:0;white-space:pre;" + card_style() + '">{code}</pre>'
)


def to_html(renderable: Any, width: int = 100) -> str:
    """A rich renderable as an HTML fragment with inline styles."""
    # force_jupyter=False: inside a kernel rich would display() the output itself.
    console = Console(
        record=True, width=width, file=io.StringIO(), color_system="truecolor", force_jupyter=False
    )
    console.print(renderable)
    html = console.export_html(inline_styles=True, code_format=_PRE, theme=THEME)
    return reverse_on_card(html)


class HTMLView:
    """A renderable that a notebook shows as text/html (and a terminal as text)."""

    def __init__(self, renderable: Any, width: int = 100) -> None:
        self.renderable = renderable
        self.width = width

    def _repr_html_(self) -> str:
        return to_html(self.renderable, self.width)

    def __rich__(self) -> Any:
        return self.renderable

    def __repr__(self) -> str:
        console = Console(
            file=io.StringIO(), width=self.width, color_system=None, force_jupyter=False
        )
        console.print(self.renderable)
        return console.file.getvalue()  # type: ignore[attr-defined]


def show(
    trace: RequestTrace, view: str = "tree", width: int = 100, *, reveal: bool = False
) -> HTMLView:
    """Any single-request view, ready to be the last expression of a cell.

    Credentials are masked (a saved notebook keeps what it shows) unless `reveal`.
    """
    return HTMLView(view_of(trace if reveal else mask_trace(trace), view), width)


class LiveView:
    """An app's trace, drawn in one notebook output that updates itself."""

    def __init__(
        self,
        app: Any,
        view: str = "dashboard",
        every: float = 0.2,
        width: int = 100,
        *,
        reveal: bool = False,
    ):
        from IPython.display import HTML, display

        self._HTML = HTML
        self.view = view
        self.every = every
        self.width = width
        self.reveal = reveal
        self.model = Model(reveal=reveal)
        # A sketch app's own tracer; for the learner's framework, one that watches it.
        tracer = tracer_of(app)
        self.unseen: list[str] = list(getattr(tracer, "unseen", ()))
        self._unsubscribe = tracer.subscribe(self._on_event)
        self.model.listeners.append(self._changed)
        self._pending: asyncio.TimerHandle | None = None
        self._closing = False  # close() was called while the server still ran
        self._listening = True
        self._name = ""  # the notebook variable that holds this view, once it has one
        self._display = display
        self._handle = display(HTML(self._html()), display_id=True)

    def _ipython_display_(self) -> None:
        """`live` as a cell's last line: the view again, updated with the first one.

        A page reload forgets which output a display id names, so updates stop
        reaching the first output; this one, displayed under the same id, gets them.
        """
        display_id = getattr(self._handle, "display_id", None) or True
        self._handle = self._display(self._HTML(self._html()), display_id=display_id)

    def _screen(self) -> Any:
        model = self.model
        latest = model.recent[-1] if model.recent else None
        if self.view == "timeline":
            return Timeline(model.server, model.recent)
        if self.view in ("tree", "ruler", "whynot", "onion", "websocket", "all"):
            return view_of(latest, self.view) if latest else "no request yet"
        parts: list[Any] = [Dashboard(model)]
        if latest is not None:
            parts.append(RequestTree(latest, headers=False))
        return Group(*parts)

    def _html(self) -> str:
        screen = self._screen()
        if self.unseen:  # what the inspector could not watch in the learner's framework
            notes = [Text(f"not seen: {what}", style="yellow") for what in self.unseen]
            screen = Group(screen, *notes)
        if self._listening:  # a closed view's output is final: it needs no note
            screen = Group(screen, Text(self._reattach_note(), style="italic"))
        return to_html(screen, self.width)

    def _reattach_note(self) -> str:
        if not self._name:
            self._name = _variable_holding(self)
        name = self._name or "the variable that holds this view"
        return (
            f"live view: if a page reload stopped its updates, run `{name}` in a cell "
            "to show it again"
        )

    def _on_event(self, event: ev.Event) -> None:
        self.model.feed(event)
        if type(event) in _SERVER_EVENTS:
            if self._closing:
                self._closed_when_the_server_is()
            else:
                self._changed(None)  # connections and the server's state are drawn too

    def _closed_when_the_server_is(self) -> None:
        """Draw now (the cell that closes the server is still running), and stop
        listening once the server has stopped and its last connection is gone."""
        server = self.model.server
        ended = server.stopped is not None or server.started is None  # or never began
        if ended and server.connections_open == 0:
            self._unsubscribe()
            self._listening = False
        self.refresh()

    def _changed(self, trace: RequestTrace | None) -> None:
        # Called on the kernel's loop for each finished request; redraw at most every
        # `every` seconds, however many requests come in.
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(self.every, self.refresh)

    def refresh(self) -> None:
        self._pending = None
        if self._handle is not None:
            self._handle.update(self._HTML(self._html()))

    def find(self, method: str = "", target: str = "") -> RequestTrace:
        trace = self.model.find(method, target)
        if trace is None:
            seen = ", ".join(f"{t.method} {t.target}" for t in self.model.recent) or "none yet"
            raise LookupError(f"no finished request {method} {target} (seen: {seen})")
        return trace

    def show(
        self, method: str = "", target: str = "", view: str = "tree", *, reveal: bool | None = None
    ) -> HTMLView:
        """The latest request with this method and target, drawn with `view`."""
        reveal = self.reveal if reveal is None else reveal
        return show(self.find(method, target), view, self.width, reveal=reveal)

    def journey(self, method: str = "", target: str = "") -> Picture:
        """The latest request with this method and target, as a sequence diagram (SVG)."""
        return journey(self.find(method, target))

    def connections(self, last: int = 30) -> Picture:
        """The last connections and their requests over time, as swimlanes (SVG)."""
        return connections(self.model, last=last)

    def close(self) -> None:
        """Stop listening; the output keeps its last state.

        Closed while the server runs (`live.close()` then `await server.close()`), the
        view listens on until the server has stopped, so that its last state is the
        server's last: no connection open, every request counted.
        """
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._closing = True
        server = self.model.server
        if server.stopped is None and (server.started is not None or server.connections_open):
            self.refresh()
        else:
            self._closed_when_the_server_is()


def _variable_holding(value: object) -> str:
    """The name of a notebook variable that holds `value`, or "" outside IPython."""
    from IPython import get_ipython

    shell = get_ipython()
    namespace = getattr(shell, "user_ns", None) or {}
    for name, held in list(namespace.items()):
        if held is value and not name.startswith("_"):  # not `_`, `_3`: IPython's history
            return name
    return ""


# What changes the dashboard's first lines without a request finishing.
_SERVER_EVENTS = frozenset(
    {ev.ConnectionMade, ev.ConnectionLost, ev.ServerStart, ev.ShutdownPhase, ev.ServerStop}
)


def watch(
    app: Any, view: str = "dashboard", every: float = 0.2, *, reveal: bool = False
) -> LiveView:
    """Attach a live view to `app` and display it in the current cell's output.

    Cookies, Authorization and secret query values are masked unless `reveal=True`:
    a browser that runs JupyterLab sends Jupyter's login cookie to the server too.
    """
    return LiveView(app, view, every, reveal=reveal)

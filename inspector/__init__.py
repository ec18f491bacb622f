"""The inspector: sketch's trace events folded into traces and drawn with rich.

In a terminal: `python -m inspector serve FILE_OR_MODULE:APP`. In a notebook:
`live = inspector.watch(app)`. From a recording: `python -m inspector replay FILE`.
Pictures (SVG): `inspector.journey(trace)`, `inspector.connections(model)`, or
`python -m inspector picture FILE journey|connections`.
The same calls take an app of the course's own framework, diy: the inspector then
watches it from outside (diy.py), and draws it with the same views.
IPython is imported only by the notebook functions, when they are called.
"""

from __future__ import annotations

from typing import Any

from .connections import connections
from .journey import journey
from .model import Model, RequestTrace, ServerTrace
from .record import Recorder, chrome_trace, export_view, load
from .server_views import Dashboard, Timeline
from .views import ByteRuler, Onion, RequestTree, WebSocketView, WhyNot, view_of

__all__ = [
    "Model",
    "RequestTrace",
    "ServerTrace",
    "RequestTree",
    "ByteRuler",
    "WhyNot",
    "Onion",
    "WebSocketView",
    "Timeline",
    "Dashboard",
    "view_of",
    "journey",
    "connections",
    "Recorder",
    "load",
    "chrome_trace",
    "export_view",
    "watch",
    "show",
]


def watch(app: Any, view: str = "dashboard", every: float = 0.2, *, reveal: bool = False) -> Any:
    """A live view of `app` in the notebook output of the current cell (notebook.py).

    Credentials (cookies, Authorization, secret query values) are masked unless `reveal`.
    """
    from .notebook import watch as _watch

    return _watch(app, view, every, reveal=reveal)


def show(trace: RequestTrace, view: str = "tree", width: int = 100, *, reveal: bool = False) -> Any:
    """One request drawn with any view, as the last expression of a notebook cell."""
    from .notebook import show as _show

    return _show(trace, view, width, reveal=reveal)

"""sketch: a small aiohttp.web clone, written to be read.

`import sketch` gives the same names as `sketch.web`, the aiohttp-shaped door.
"""

from __future__ import annotations

from . import web
from .web import *  # noqa: F403
from .web import __all__ as _web_all

__version__ = "0.1.0"

__all__ = ["web", "__version__", *_web_all]

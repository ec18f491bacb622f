"""`from sketch import web_request` where a program had `from aiohttp import web_request`.

aiohttp's examples import this module for its request classes, to annotate a handler
(`request: web_request.BaseRequest`, examples/lowlevel_srv.py). sketch has one request
class (request.py), so both names are that class, as in `sketch.web`.
"""

from __future__ import annotations

from .request import FileField, Request

BaseRequest = Request  # aiohttp's name for a request outside an application

__all__ = ["BaseRequest", "FileField", "Request"]

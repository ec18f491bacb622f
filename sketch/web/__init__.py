"""The aiohttp-shaped door: `from sketch import web` where you had `from aiohttp import web`."""

from __future__ import annotations

from ..app import AppKey, Application, CleanupContext, RequestKey, ResponseKey, Signal
from ..exceptions import *  # noqa: F403  (HTTPException and one class per status)
from ..exceptions import __all__ as _exceptions
from ..file_response import FileResponse
from ..http import HttpVersion, HttpVersion10, HttpVersion11
from ..middleware import middleware
from ..request import FileField, Request
from ..response import Response, StreamResponse, json_response
from ..route_table import (
    RouteDef,
    RouteTableDef,
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
    route,
    static,
    view,
)
from ..routing import MatchInfo, MatchInfoError, UrlDispatcher
from ..runner import AppRunner, RunningServer, ServerRunner, TCPSite, UnixSite, run_app, serve
from ..server import Server
from ..views import View
from ..websocket import WebSocketReady, WebSocketResponse, WSCloseCode, WSMessage, WSMsgType

BaseRequest = Request  # aiohttp's name for a request outside an application

__all__ = [
    *_exceptions,
    "AppKey",
    "RequestKey",
    "ResponseKey",
    "Application",
    "CleanupContext",
    "Signal",
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "middleware",
    "FileField",
    "Request",
    "BaseRequest",
    "FileResponse",
    "Response",
    "StreamResponse",
    "json_response",
    "RouteDef",
    "RouteTableDef",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "route",
    "static",
    "view",
    "MatchInfo",
    "MatchInfoError",
    "UrlDispatcher",
    "AppRunner",
    "RunningServer",
    "ServerRunner",
    "TCPSite",
    "UnixSite",
    "run_app",
    "serve",
    "Server",
    "View",
    "WebSocketResponse",
    "WebSocketReady",
    "WSMsgType",
    "WSCloseCode",  # aiohttp has these two at its top level, `aiohttp.WSCloseCode`
    "WSMessage",
]

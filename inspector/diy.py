"""The learner's framework, diy, watched from outside: what its code does becomes sketch's events.

How this works. diy emits nothing: its code stays the guide's. `tracer_of(app)` wraps,
on the learner's own objects, the methods the guide names, and reports each call as
the event sketch reports at the same step, so the model and the views draw a diy
request exactly as they draw a sketch one:

- the connection: the Protocol subclass of the app's package that has
  on_message_complete (the leaf, `AppServer`). Its asyncio callbacks
  (connection_made, data_received, connection_lost) and httptools' (on_url, on_header,
  on_headers_complete, on_body, on_message_complete) are wrapped on the class; the
  transport it is given is a stand-in whose write() reports the response it carries;
- the router: resolve(), and each route's compiled regex, replaced by a stand-in that
  reports every fullmatch() the router's loop makes ("routes tried and why not" is what
  the loop really tried: a router that stops at the first path match shows it);
- each middleware of app.middlewares, the handler resolve() chose, and the hooks.

Which request a call belongs to: on_message_complete runs with a context variable set
to (connection, request). The Task the learner starts there copies it (asyncio gives
every Task a copy of the current context), so the middlewares, the handler and the
write of the answer, all in that Task, know their request.

Before there is an app (chapter 01's echo protocol), `tracer_of_protocol(cls)` watches
a plain asyncio.Protocol class: connections and reads only, and which protocol object
each connection was given (`tracer.given`).

What it cannot find (a chapter not done yet, another name) goes in `unseen`, and the
views say it, instead of failing. A wrapper calls what it wraps with what it was given
and returns what that returned: what the learner's code answers never changes.

The connection's part is in diy_connection.py; the app's (router, middlewares,
handler, hooks) is here.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from sketch import events as ev

from .diy_connection import (
    TRACERS,
    DiyTracer,
    current,
    namespaces,
    watch_connections,
    watch_protocol,
    wrapped,
)

__all__ = ["DiyTracer", "tracer_of", "tracer_of_protocol", "serve_function"]

# The routes the router tried for the request being resolved, as (pattern, match).
_trying: ContextVar[list | None] = ContextVar("diy_routes_tried", default=None)

_HOOKS = {"startup": "on_startup", "shutdown": "on_shutdown", "cleanup": "on_cleanup"}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"}


def _name(func: Any) -> str:
    func = getattr(func, "func", func)  # a partial: name what it wraps
    return getattr(func, "__name__", None) or type(func).__name__


# --- the router ----------------------------------------------------------------


class _Pattern:
    """A route's compiled regex, as it was, which reports each match the router asks of it."""

    def __init__(self, pattern: re.Pattern, route: int) -> None:
        self.pattern_object, self.route = pattern, route

    def _tried(self, found: re.Match | None) -> re.Match | None:
        tried = _trying.get()
        if tried is not None:
            tried.append((self, found))
        return found

    def fullmatch(self, *args: Any) -> re.Match | None:
        return self._tried(self.pattern_object.fullmatch(*args))

    def match(self, *args: Any) -> re.Match | None:
        return self._tried(self.pattern_object.match(*args))

    def search(self, *args: Any) -> re.Match | None:
        return self._tried(self.pattern_object.search(*args))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern_object, name)

    def __repr__(self) -> str:  # the learner printing their routes sees their regex
        return repr(self.pattern_object)


def _parts(route: Any) -> list[Any]:
    return (
        list(route) if isinstance(route, tuple) else list(getattr(route, "__dict__", {}).values())
    )


def _watch_patterns(routes: list) -> None:
    """Put a _Pattern in place of each route's compiled regex (routes added since, too)."""
    for number, route in enumerate(routes):
        if isinstance(route, tuple):
            parts = [_Pattern(p, number) if isinstance(p, re.Pattern) else p for p in route]
            routes[number] = tuple(parts) if type(route) is tuple else type(route)(*parts)
        elif hasattr(route, "__dict__"):
            for attribute, value in list(vars(route).items()):
                if isinstance(value, re.Pattern):
                    setattr(route, attribute, _Pattern(value, number))


def _readable(regex: str) -> str:
    """`/orders/(?P<id>\\d+)` -> `/orders/{id:\\d+}`: the path as the learner wrote it.

    The regex itself where a literal part holds a regex character it cannot read back.
    """
    groups = list(re.finditer(r"\(\?P<(\w+)>([^()]*)\)", regex))
    starts = [0] + [group.end() for group in groups]
    ends = [group.start() for group in groups] + [len(regex)]
    literals = [regex[start:end] for start, end in zip(starts, ends, strict=True)]
    if any(re.search(r"(?<!\\)[()\[\]*+?|^$]", literal) for literal in literals):
        return regex
    path = re.sub(r"\\(.)", r"\1", literals[0])  # re.escape undone: `\.` is a dot
    for group, literal in zip(groups, literals[1:], strict=True):
        value = group[2]
        path += f"{{{group[1]}}}" if value == "[^{}/]+" else f"{{{group[1]}:{value}}}"
        path += re.sub(r"\\(.)", r"\1", literal)
    return path


def _methods(route: Any) -> tuple[str, ...]:
    found = [p for p in _parts(route) if isinstance(p, str) and p.upper() in _METHODS]
    found += [m for p in _parts(route) if isinstance(p, (set, frozenset, list, tuple))
              for m in p if isinstance(m, str)]  # fmt: skip
    return tuple(sorted({m.upper() for m in found}))


def _handlers(route: Any) -> list[Any]:
    return [p for p in _parts(route) if callable(p) and not isinstance(p, (_Pattern, type))]


def _watch_router(app: Any, tracer: DiyTracer) -> None:
    router = getattr(app, "router", None)
    resolve = getattr(router, "resolve", None)
    if resolve is None:
        tracer.unseen.append("routes: the app has no router.resolve (chapter 04)")
        return
    if wrapped(resolve):
        return
    if not isinstance(getattr(router, "routes", None), list):
        tracer.unseen.append("routes tried: router.routes is not a list the inspector can read")

    @functools.wraps(resolve)
    def watched(request: Any, *args: Any, **kwargs: Any) -> Any:
        key = current.get()
        if key is None:
            return resolve(request, *args, **kwargs)
        routes = getattr(router, "routes", None)
        if isinstance(routes, list):
            _watch_patterns(routes)
        _watch_middlewares(app, tracer)
        tried: list = []
        token = _trying.set(tried)
        try:
            result = resolve(request, *args, **kwargs)
        except Exception as exc:  # a miss raised, as HTTPNotFound: report it, let it go
            _report_routes(tracer, key, request, tried, list(routes or ()), None, exc)
            raise
        finally:
            _trying.reset(token)
        chosen = _report_routes(tracer, key, request, tried, list(routes or ()), result, None)
        return _with_handler(result, chosen, _handler_wrapper(tracer, chosen))

    watched.__inspector_wraps__ = resolve  # type: ignore[attr-defined]
    router.resolve = watched


def _report_routes(tracer: DiyTracer, key: tuple[int, int], request: Any, tried: list,
                   routes: list, result: Any, raised: BaseException | None) -> Any:  # fmt: skip
    """RouteTried for each match the router asked for, then its RouteDecision."""
    method = str(getattr(request, "method", ""))
    path_matched: set[str] = set()
    for pattern, found in tried:
        route = routes[pattern.route] if pattern.route < len(routes) else ()
        methods = _methods(route)
        if found is None:
            outcome = "path miss"
        else:
            path_matched.update(methods)
            outcome = "match" if method in methods or "*" in methods else "method miss"
        params = tuple(found.groupdict().items()) if found is not None else ()
        regex = pattern.pattern_object.pattern
        tracer.send(ev.RouteTried, key, method, _readable(regex), regex, outcome, methods, params)
    if raised is not None:
        status = getattr(raised, "status", 500)
        allowed = tuple(sorted(getattr(raised, "allowed_methods", ())))
        tracer.send(ev.RouteDecision, key, status, "", (), allowed)
        return None
    parts = list(result) if isinstance(result, tuple) else [getattr(result, "handler", None)]
    chosen = next((p for p in parts if callable(p)), None)
    info = next((p for p in parts if isinstance(p, dict)), None) or getattr(
        result, "match_info", {}
    )
    if any(chosen is h or chosen == h for route in routes for h in _handlers(route)):
        tracer.send(ev.RouteDecision, key, 200, _name(chosen), tuple(dict(info).items()), ())
    elif path_matched:  # the router gave another handler, and a path matched: a 405
        tracer.send(ev.RouteDecision, key, 405, _name(chosen), (), tuple(sorted(path_matched)))
    else:
        tracer.send(ev.RouteDecision, key, 404, _name(chosen), (), ())
    return chosen


def _with_handler(result: Any, chosen: Any, wrapper: Any) -> Any:
    """resolve()'s result, with the handler it chose replaced by `wrapper`."""
    if chosen is None:
        return result
    if isinstance(result, tuple):
        return tuple(wrapper if part is chosen else part for part in result)
    try:
        result.handler = wrapper
    except AttributeError:
        pass
    return result


def _status(out: Any) -> int | None:
    status = getattr(out, "status", None)
    return status if isinstance(status, int) else None


def _layer(tracer: DiyTracer, func: Any, depth: int, middleware: bool) -> Any:
    """`func` (a middleware, or the handler), reporting when it is entered and left."""
    name = _name(func)

    @functools.wraps(func)
    async def watched(*args: Any, **kwargs: Any) -> Any:
        key = current.get()
        if key is None:
            return await func(*args, **kwargs)
        at = depth
        tracer.deepest[key] = max(tracer.deepest.get(key, -1), at)
        tracer.send(ev.MiddlewareEnter if middleware else ev.HandlerStart, key,
                    *((name, at) if middleware else (name,)))  # fmt: skip
        started = perf_counter()
        try:
            out = await func(*args, **kwargs)
        except BaseException as exc:
            _left(
                tracer, key, name, at, middleware, perf_counter() - started, exc, ev.error_text(exc)
            )
            raise
        _left(tracer, key, name, at, middleware, perf_counter() - started, out, "")
        return out

    watched.__inspector_wraps__ = func  # type: ignore[attr-defined]
    return watched


def _left(tracer: DiyTracer, key: tuple[int, int], name: str, at: int, middleware: bool,
          elapsed: float, out: Any, error: str) -> None:  # fmt: skip
    if middleware:
        called_next = tracer.deepest.get(key, -1) > at
        if at == 0:  # the outermost layer is left: the request's way in is over
            tracer.deepest.pop(key, None)
        tracer.send(ev.MiddlewareExit, key, name, at, elapsed, _status(out), error, called_next)
    else:
        tracer.send(ev.HandlerEnd, key, name, elapsed, _status(out), error)


def _async(func: Any) -> bool:
    """Only a coroutine function is wrapped: an async wrapper around any other would
    change what calling it returns."""
    return inspect.iscoroutinefunction(getattr(func, "func", func)) and not wrapped(func)


def _handler_wrapper(tracer: DiyTracer, handler: Any) -> Any:
    if not _async(handler):
        return handler
    return _layer(tracer, handler, 1_000_000, middleware=False)  # the innermost


def _watch_middlewares(app: Any, tracer: DiyTracer) -> None:
    middlewares = getattr(app, "middlewares", None)
    if not isinstance(middlewares, list):
        return
    for index, func in enumerate(middlewares):
        if _async(func):  # depth 0 is the first listed: the outermost
            middlewares[index] = _layer(tracer, func, index, middleware=True)


# --- hooks ----------------------------------------------------------------------


def _hook(tracer: DiyTracer, signal: str, func: Any) -> Any:
    @functools.wraps(func)
    async def watched(*args: Any, **kwargs: Any) -> Any:
        tracer.send(ev.HookStart, (0, 0), signal, _name(func))
        started, error = perf_counter(), ""
        try:
            return await func(*args, **kwargs)
        except BaseException as exc:
            error = ev.error_text(exc)
            raise
        finally:
            tracer.send(ev.HookEnd, (0, 0), signal, _name(func), perf_counter() - started, error)

    watched.__inspector_wraps__ = func  # type: ignore[attr-defined]
    return watched


def _watch_hooks(app: Any, tracer: DiyTracer) -> None:
    for step, signal in _HOOKS.items():
        run = getattr(app, step, None)
        hooks = getattr(app, signal, None)
        if run is None or not isinstance(hooks, list) or wrapped(run):
            continue

        async def watched(*args: Any, _run: Any = run, _signal: str = signal, **kwargs: Any) -> Any:
            hooks = getattr(app, _signal)
            hooks[:] = [_hook(tracer, _signal, h) if _async(h) else h for h in hooks]
            out = await _run(*args, **kwargs)
            if _signal == "on_cleanup":  # the last step of a close
                tracer.send(ev.ServerStop, (0, 0), 0)
                tracer.announced = False
            return out

        watched.__inspector_wraps__ = run  # type: ignore[attr-defined]
        setattr(app, step, watched)


# --- the entry points -----------------------------------------------------------------


def tracer_of(app: Any) -> ev.Tracer:
    """The tracer to subscribe to: a sketch app's own, or one that watches a diy app."""
    tracer = getattr(app, "tracer", None)
    if isinstance(tracer, ev.Tracer):
        return tracer
    try:
        return TRACERS[app]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable: watched, but not remembered
        pass
    diy = DiyTracer()
    try:
        TRACERS[app] = diy
    except TypeError:
        diy.unseen.append(f"{type(app).__name__} cannot be weak-referenced: watched once only")
    watch_connections(app, diy)
    _watch_router(app, diy)
    if not isinstance(getattr(app, "middlewares", None), list):
        diy.unseen.append("middlewares: the app has no `middlewares` list (chapter 06)")
    _watch_middlewares(app, diy)
    _watch_hooks(app, diy)
    return diy


def tracer_of_protocol(cls: type) -> DiyTracer:
    """A tracer watching the connections of `cls`, a plain asyncio.Protocol (chapter 01):
    connection_made, data_received, connection_lost. A new watch replaces the one before."""
    if not (isinstance(cls, type) and issubclass(cls, asyncio.Protocol)):
        raise TypeError(f"{cls!r} is not an asyncio.Protocol class: nothing to watch")
    tracer = DiyTracer()
    watch_protocol(cls, tracer)
    return tracer


def serve_function(app: Any) -> Any:
    """The learner's `serve(app, host, port)` (chapter 04), beside the app's class."""
    for names in namespaces(app):
        serve = names.get("serve")
        if callable(serve):
            return serve
    raise LookupError(
        f"{type(app).__module__!r} has no serve(app, host, port): write it (chapter 04) "
        "to serve this app here"
    )

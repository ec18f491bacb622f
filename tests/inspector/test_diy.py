"""The inspector draws the learner's framework, diy: the reference diy served on loopback.

The reference diy is the full edition's build cells, assembled as `make solutions`
assembles them (editions.assemble). Nothing in diy reports anything: every event here
comes from the inspector watching diy's own objects (inspector/diy.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from inspector import Model
from inspector.diy import tracer_of
from inspector.views import view_of
from sketch import events as ev

ROOT = Path(__file__).parent.parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

from diy_magic import forget  # noqa: E402
from editions import assemble, notebooks  # noqa: E402

APP = """
from diy import Application, Response, middleware


@middleware
async def outer(request, handler):
    return await handler(request)


@middleware
async def inner(request, handler):
    return await handler(request)


async def hello(request):
    return Response(f"hi {request.match_info['name']}")


app = Application(middlewares=[outer, inner])
app.router.add_get("/", hello)
app.router.add_get("/users/{name}", hello)
app.router.add_post("/users/{name}", hello)
"""


@pytest.fixture
def folder(tmp_path):
    """A folder holding the reference diy and an app built with it; diy forgotten after."""
    assemble(tmp_path, [path for path in notebooks() if path.name[:2] <= "10"])
    (tmp_path / "diy_app.py").write_text(APP, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    forget()
    sys.modules.pop("diy_app", None)
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


async def _served(requests: list[tuple[str, str]]) -> tuple[Model, list[int]]:
    import diy
    import diy_app

    model = Model()
    tracer_of(diy_app.app).subscribe(model.feed)
    served = await diy.serve(diy_app.app, port=0)
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            statuses = [(await client.request(m, p)).status_code for m, p in requests]
    finally:
        await served.close()
    return model, statuses


def _text(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_the_parser_callbacks_are_the_ones_diy_received(folder):
    model, statuses = await _served([("GET", "/users/bob")])
    assert statuses == [200]
    [trace] = model.recent
    names = [callback.name for callback in trace.parser]
    assert names[:2] == ["on_message_begin", "on_url"]
    assert names[-2:] == ["on_headers_complete", "on_message_complete"]
    assert set(names[2:-2]) == {"on_header"}
    [url] = [callback for callback in trace.parser if callback.name == "on_url"]
    at = trace.raw_index(url.offsets[0])
    assert at is not None and trace.raw[at:].startswith(b"/users/bob HTTP/1.1")
    assert (trace.method, trace.target, trace.version) == ("GET", "/users/bob", "1.1")
    assert trace.response is not None and trace.response.status == 200
    assert trace.end is not None and trace.end.bytes_written == len(b"hi bob") + len(
        _head_of(trace)
    )


async def test_a_body_is_located_in_the_bytes_it_came_in(folder):
    import diy
    import diy_app

    model = Model()
    tracer_of(diy_app.app).subscribe(model.feed)
    served = await diy.serve(diy_app.app, port=0)
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            assert (await client.post("/users/bob", content=b"bob")).status_code == 200
    finally:
        await served.close()
    [trace] = model.recent
    [body] = [callback for callback in trace.parser if callback.name == "on_body"]
    assert body.data == (b"bob",)
    at = trace.raw_index(body.offsets[0])
    assert at is not None and trace.raw[at - 4 : at] == b"\r\n\r\n"  # after the head's end


def _head_of(trace) -> bytes:
    lines = [f"HTTP/1.1 {trace.response.status} {trace.response.reason}"]
    lines += [f"{n}: {v}" for n, v in trace.response.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def test_the_routes_tried_are_the_ones_diys_loop_tried(folder):
    model, statuses = await _served([("GET", "/users/bob"), ("GET", "/nope"), ("PUT", "/users/x")])
    assert statuses == [200, 404, 405]
    found, missed, refused = model.recent
    # diy's resolve returns at the first route that answers: the POST route is never tried.
    assert [(r.pattern, r.outcome) for r in found.routes] == [
        ("/", "path miss"),
        ("/users/{name}", "match"),
    ]
    assert found.decision.status == 200 and found.decision.handler == "hello"
    assert dict(found.decision.params) == {"name": "bob"}
    assert [r.outcome for r in missed.routes] == ["path miss"] * 3
    assert missed.decision.status == 404 and missed.decision.handler == "not_found"
    assert [r.outcome for r in refused.routes] == ["path miss", "method miss", "method miss"]
    assert refused.decision.status == 405 and refused.decision.allowed == ("GET", "POST")
    tree = _text(view_of(refused, "tree"))
    assert "405: method not allowed" in tree and "/users/{name}  method miss" in tree


async def test_the_middleware_layers_are_drawn_in_order_around_the_handler(folder):
    model, _ = await _served([("GET", "/users/bob")])
    [trace] = model.recent
    steps = [(type(e).__name__, e.name, e.depth) for e in trace.layers if isinstance(e, ev.Event)]
    assert steps == [
        ("MiddlewareEnter", "outer", 0),
        ("MiddlewareEnter", "inner", 1),
        ("MiddlewareExit", "inner", 1),
        ("MiddlewareExit", "outer", 0),
    ]
    assert all(e.called_next for e in trace.layers if isinstance(e, ev.MiddlewareExit))
    assert trace.handler_start.name == "hello" and trace.handler_end.status == 200
    onion = _text(view_of(trace, "onion"))
    assert onion.index("middleware outer") < onion.index("middleware inner")
    assert onion.index("middleware inner") < onion.index("handler hello")
    assert "short-circuit" not in onion


async def test_a_router_that_stops_at_the_first_path_match_is_seen_doing_so(folder):
    router = folder / "diy" / "router.py"
    code = router.read_text(encoding="utf-8")
    right = "            if method == request.method:\n                return found.groupdict()"
    wrong = code.replace(
        right, "            if True:  # first route wins\n                return found.groupdict()"
    )
    assert wrong != code, "the reference router changed: update this test"
    router.write_text(wrong, encoding="utf-8")
    model, statuses = await _served([("POST", "/users/bob")])
    assert statuses == [200]  # answered by the GET route's handler: the bug
    [trace] = model.recent
    assert [(r.methods, r.outcome) for r in trace.routes] == [
        (("GET",), "path miss"),
        (("GET",), "method miss"),
    ]


async def test_bytes_that_are_no_request_are_drawn_as_diys_refusal(folder):
    import diy
    import diy_app

    model = Model()
    tracer_of(diy_app.app).subscribe(model.feed)
    served = await diy.serve(diy_app.app, port=0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        answer = await reader.read()  # diy answers 400 and closes
        writer.close()
        await writer.wait_closed()
    finally:
        await served.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    [trace] = model.recent
    assert trace.refused and trace.status == 400
    assert "400" in _text(view_of(trace, "tree"))


def test_what_a_partial_framework_lacks_is_said_not_raised(tmp_path):
    class Application:  # a learner's app of chapter 03: no router, no middlewares yet
        pass

    Application.__module__ = "learners_diy.application"  # a package with nothing in it yet

    unseen = tracer_of(Application()).unseen
    assert any("router.resolve (chapter 04)" in what for what in unseen)
    assert any("middlewares" in what for what in unseen)
    assert any("on_message_complete" in what for what in unseen)


def test_serve_runs_a_diy_app_and_stops_on_ctrl_c(folder):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{folder}"}
    command = [sys.executable, "-m", "inspector", "serve", "diy_app.py:app", "--port", "0"]
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
    )
    lines, deadline = [], time.monotonic() + 15
    while time.monotonic() < deadline:
        lines.append(process.stdout.readline())
        found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", lines[-1])
        if found:
            break
    else:
        process.kill()
        raise AssertionError("serve did not start: " + "".join(lines) + process.stderr.read())
    assert httpx.get(found.group(1) + "/users/bob").text == "hi bob"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    out = "".join(lines) + out
    for expected in (
        "GET /users/bob -> 200 in",
        "on_url  /users/bob",
        "on_headers_complete",
        "/users/{name}  match",
        "middleware outer",
        "middleware inner",
        "handler hello",
        "response 200 OK",
    ):
        assert expected in out, (expected, out)
    assert "not seen" not in out


# A learner's framework named otherwise: its own package, class and attribute names,
# routes as objects, resolve() returning an object, no middlewares, no on_message_begin.
OTHER = r"""
import asyncio
import contextlib
import re

import httptools


class Route:
    def __init__(self, methods, path, handler):
        self.methods, self.handler = set(methods), handler
        self.regex = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path))


class Found:
    def __init__(self, handler, params):
        self.handler, self.match_info = handler, params


class Router:
    def __init__(self):
        self.routes = []

    def resolve(self, request):
        for route in self.routes:
            m = route.regex.fullmatch(request.path)
            if m and request.method in route.methods:
                return Found(route.handler, m.groupdict())
        return Found(missing, {})


async def missing(request):
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class Req:
    def __init__(self, method, path):
        self.method, self.path = method, path


class Web:
    def __init__(self):
        self.router = Router()


class HttpConnection(asyncio.Protocol):
    def __init__(self, app):
        self.app, self.http = app, httptools.HttpRequestParser(self)

    def connection_made(self, transport):
        self.out = transport

    def data_received(self, data):
        self.http.feed_data(data)

    def on_url(self, url):
        self.path = url.decode()

    def on_message_complete(self):
        request = Req(self.http.get_method().decode(), self.path)
        asyncio.get_running_loop().create_task(self.reply(request))

    async def reply(self, request):
        found = self.app.router.resolve(request)
        self.out.write(await found.handler(request))


async def serve(app, host, port):
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: HttpConnection(app), host, port)
"""


async def test_a_framework_named_otherwise_is_drawn_and_what_it_lacks_said(tmp_path):
    package = tmp_path / "otherweb"
    package.mkdir()
    (package / "__init__.py").write_text(OTHER, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        import otherweb

        async def page(request):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

        app = otherweb.Web()
        app.router.routes.append(otherweb.Route(["GET"], "/pages/{name}", page))
        model = Model()
        tracer = tracer_of(app)
        tracer.subscribe(model.feed)
        server = await otherweb.serve(app, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            statuses = [(await client.get(p)).status_code for p in ("/pages/a", "/nope")]
        server.close()
        await server.wait_closed()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("otherweb", None)
    assert statuses == [200, 404]
    assert tracer.unseen == ["middlewares: the app has no `middlewares` list (chapter 06)"]
    found, missed = model.recent
    assert found.parser[0].name == "on_message_begin"  # one it did not write: a no-op
    assert [(r.pattern, r.methods, r.outcome) for r in found.routes] == [
        ("/pages/{name:[^/]+}", ("GET",), "match")  # its regex for a segment, as it is
    ]
    assert found.decision.handler == "page" and dict(found.decision.params) == {"name": "a"}
    assert found.handler_end.name == "page" and found.response.status == 200
    assert missed.decision.status == 404 and missed.routes[0].outcome == "path miss"


async def _echoed(factory, tracer, sends: list[tuple[int, bytes]]) -> tuple[list, list, list]:
    """Two clients of chapter 01's start_server; each send (client, bytes) awaits its echo.
    The events the tracer gave, each client's address and what each client read back."""
    from diy.protocol import start_server

    events: list[ev.Event] = []
    tracer.subscribe(events.append)
    server = await start_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    await asyncio.sleep(0.05)  # both connected before anyone speaks
    echoed: list[bytes] = []
    try:
        for client, data in sends:
            clients[client][1].write(data)
            reader = clients[client][0]  # the echo may be lost: a shared protocol's goes astray
            with contextlib.suppress(TimeoutError):
                echoed.append(await asyncio.wait_for(reader.readexactly(len(data)), 0.3))
    finally:
        addresses = [writer.get_extra_info("sockname") for _, writer in clients]
        for _, writer in clients:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0.05)  # connection_lost runs on the loop's next turns
    return events, [f"{host}:{port}" for host, port, *_ in addresses], echoed


async def test_a_plain_protocol_is_watched_connection_by_connection(folder):
    from diy.protocol import EchoProtocol

    from inspector.diy import tracer_of_protocol

    tracer = tracer_of_protocol(EchoProtocol)
    events, peers, echoed = await _echoed(
        EchoProtocol, tracer, [(0, b"one"), (1, b"two"), (0, b"3")]
    )
    assert echoed == [b"one", b"two", b"3"]  # what the learner's protocol does is unchanged
    made = {e.peer: e.conn for e in events if isinstance(e, ev.ConnectionMade)}
    assert set(made) == set(peers) and sorted(made.values()) == [1, 2]
    first, second = made[peers[0]], made[peers[1]]
    reads = [(e.conn, e.offset, e.data) for e in events if isinstance(e, ev.DataReceived)]
    assert reads == [(first, 0, b"one"), (second, 0, b"two"), (first, 3, b"3")]
    lost = sorted(e.conn for e in events if isinstance(e, ev.ConnectionLost))
    assert lost == [1, 2]
    assert tracer.given == {1: 1, 2: 2}  # each connection its own protocol object


async def test_a_protocol_shared_by_two_connections_is_seen_as_one_object(folder):
    from diy.protocol import EchoProtocol

    from inspector.diy import tracer_of_protocol

    tracer = tracer_of_protocol(EchoProtocol)
    shared = EchoProtocol()
    events, peers, echoed = await _echoed(lambda: shared, tracer, [(0, b"alice")])
    assert echoed == []  # Alice's echo went to Bob: the object keeps the last transport
    assert tracer.given == {1: 1, 2: 1}
    made = {e.peer: e.conn for e in events if isinstance(e, ev.ConnectionMade)}
    [read] = [e for e in events if isinstance(e, ev.DataReceived)]
    assert read.data == b"alice" and read.conn == made[peers[1]]  # as Bob's connection's

"""aiohttp.web's smaller doors, beside aiohttp: the low-level server, `hdrs`, the HTTP
exceptions' constructors, UNIX sockets and `python -m sketch.web`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import aiohttp.hdrs
import httpx
import pytest
from aiohttp import web as aiohttp_web
from multidict import CIMultiDict

from sketch import hdrs
from sketch import web as sketch_web

from .test_aiohttp_parity import start

BOTH = (("aiohttp", aiohttp_web), ("sketch", sketch_web))


async def test_the_low_level_server_example_runs_alike():
    # aiohttp's "Low Level Server" example: a bare handler, no Application.
    seen = {}
    for name, web in BOTH:

        async def handler(request, web=web):
            return web.Response(text=f"{request.method} {request.path}")

        server = web.Server(handler)
        runner = web.ServerRunner(server)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = runner.addresses[0][1]
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{port}/any/path")
            seen[name] = (response.status_code, response.text)
        finally:
            await runner.cleanup()
    assert seen["sketch"] == seen["aiohttp"] == (200, "GET /any/path")


def test_hdrs_names_what_aiohttp_hdrs_names_with_the_same_values():
    theirs = {n for n in dir(aiohttp.hdrs) if n.isupper() and n != "HOST_ALL"}
    assert {n for n in theirs if not hasattr(hdrs, n)} == set()
    assert [n for n in theirs if getattr(hdrs, n) != getattr(aiohttp.hdrs, n)] == []
    assert CIMultiDict({"content-type": "a"})[hdrs.CONTENT_TYPE] == "a"  # in any case
    assert hdrs.METH_ALL == aiohttp.hdrs.METH_ALL


def build_exceptions_app(web: ModuleType) -> object:
    async def with_everything(request):
        raise web.HTTPConflict(
            headers={"X-Why": "version"},
            reason="Edit Conflict",
            text="someone saved first",
            content_type="text/html",
        )

    async def with_body(request):
        raise web.HTTPBadRequest(body=b"\x00raw bytes")

    async def redirect_with_text(request):
        raise web.HTTPSeeOther("/elsewhere", text="go there", headers={"X-A": "1"})

    async def legal(request):
        raise web.HTTPUnavailableForLegalReasons(link="https://example.org/order")

    async def legal_without_link(request):
        raise web.HTTPUnavailableForLegalReasons(None)

    async def not_allowed(request):
        raise web.HTTPMethodNotAllowed("PATCH", ["GET", "PUT"], text="read or replace it")

    async def bad_reason(request):
        try:
            web.HTTPNotFound(reason="Not\r\nFound")
        except ValueError:
            return web.Response(text="ValueError")
        return web.Response(text="accepted")

    app = web.Application()
    for path, handler in [
        ("/everything", with_everything),
        ("/body", with_body),
        ("/see-other", redirect_with_text),
        ("/legal", legal),
        ("/legal-none", legal_without_link),
        ("/not-allowed", not_allowed),
        ("/bad-reason", bad_reason),
    ]:
        app.router.add_get(path, handler)
    return app


@pytest.mark.filterwarnings("ignore:body argument is deprecated:DeprecationWarning")
async def test_http_exceptions_take_aiohttp_s_arguments_and_answer_alike():
    paths = ["/everything", "/body", "/see-other", "/legal", "/legal-none", "/not-allowed"]
    paths.append("/bad-reason")
    seen: dict[str, list] = {}
    for name, web in BOTH:
        runner, port = await start(web, build_exceptions_app(web))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                seen[name] = []
                for path in paths:
                    response = await client.get(path)
                    seen[name].append(
                        (
                            response.status_code,
                            response.reason_phrase,
                            response.content,
                            response.headers.get("Content-Type"),
                            *(response.headers.get(h) for h in ("X-Why", "X-A", "Link")),
                            response.headers.get("Location"),
                            response.headers.get("Allow"),
                        )
                    )
        finally:
            await runner.cleanup()
    for ours, theirs, path in zip(seen["sketch"], seen["aiohttp"], paths, strict=True):
        assert ours == theirs, path
    assert seen["sketch"][0][:3] == (409, "Edit Conflict", b"someone saved first")
    assert seen["sketch"][3][6] == '<https://example.org/order>; rel="blocked-by"'
    assert seen["sketch"][-1][2] == b"ValueError"


@pytest.mark.skipif(sys.platform == "win32", reason="UNIX sockets")
async def test_a_unix_site_serves_on_a_socket_path(tmp_path):
    async def hello(request):
        return sketch_web.Response(text="over a unix socket")

    app = sketch_web.Application()
    app.router.add_get("/", hello)
    runner = sketch_web.AppRunner(app)
    await runner.setup()
    path = tmp_path / "sketch.sock"
    site = sketch_web.UnixSite(runner, str(path))
    await site.start()
    try:
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get("http://sketch/")
        assert (response.status_code, response.text) == (200, "over a unix socket")
        assert site.name == f"http://unix:{path}:"
    finally:
        await runner.cleanup()


# --- python -m sketch.web ------------------------------------------------------------

APP_MODULE = textwrap.dedent(
    """
    from sketch import web

    async def hello(request):
        return web.Response(text="args: " + " ".join(request.app["argv"]))

    def init(argv):
        app = web.Application()
        app["argv"] = argv
        app.router.add_get("/", hello)
        return app
    """
)


def cli(tmp_path: Path, *args: str) -> subprocess.Popen:
    (tmp_path / "cliapp.py").write_text(APP_MODULE, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "sketch.web", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
    )


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGTERM")
async def test_python_m_sketch_web_serves_the_factory_s_app_with_the_rest_of_the_args(tmp_path):
    process = cli(tmp_path, "-H", "127.0.0.1", "-P", "0", "cliapp:init", "--debug", "x")
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
        assert line.startswith("======== Running on http://127.0.0.1:"), line
        url = line.split()[3]
        async with httpx.AsyncClient() as client:
            response = await client.get(url + "/")
        assert (response.status_code, response.text) == (200, "args: --debug x")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(asyncio.to_thread(process.wait), 20) == 0
    finally:
        process.kill()
        process.communicate()


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("cliapp", "'cliapp' is not in the module:factory form"),
        ("nomodule:init", "cannot import 'nomodule'"),
        ("cliapp:make", "the module 'cliapp' has no 'make'"),
    ],
)
def test_python_m_sketch_web_says_what_it_could_not_find(tmp_path, entry, said):
    process = cli(tmp_path, entry)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert said in err and "Traceback" not in err


async def test_options_routes_are_declared_as_in_aiohttp():
    seen = {}
    for name, web in BOTH:
        routes = web.RouteTableDef()

        @routes.options("/table")
        async def from_table(request, web=web):
            return web.Response(text="table", headers={"Allow": "GET, OPTIONS"})

        async def from_def(request, web=web):
            return web.Response(text="def")

        app = web.Application()
        app.add_routes(routes)
        app.add_routes([web.options("/def", from_def)])
        runner, port = await start(web, app)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                answers = [await client.options(path) for path in ("/table", "/def")]
                seen[name] = [(r.status_code, r.text, r.headers.get("Allow")) for r in answers]
        finally:
            await runner.cleanup()
    assert seen["sketch"] == seen["aiohttp"] == [(200, "table", "GET, OPTIONS"), (200, "def", None)]

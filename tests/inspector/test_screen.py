"""The live screen fits the terminal: on 80x24 and 160x50 nothing that matters is cut."""

from __future__ import annotations

import asyncio
import re

import pytest
from rich.console import Console

import sketch
from inspector.cli import load_app
from inspector.model import Model
from inspector.server_views import Screen
from inspector.tree import RequestTree

MANY_HEADERS = "".join(f"X-Header-{n}: value number {n} of a long list\r\n" for n in range(30))


async def traced_demo(*requests: bytes) -> Model:
    """The demo app over a real socket, its trace folded into a model."""
    app = await load_app("examples/demo_app.py:make_app")
    model = Model()
    app.tracer.subscribe(model.feed)
    async with await sketch.serve(app) as server:
        for request in requests:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")
            writer.close()
            await writer.wait_closed()
        for _ in range(100):  # until the last one's trace has finished
            if len(model.recent) == len(requests):
                break
            await asyncio.sleep(0.01)
    return model


def screen_lines(model: Model, width: int, height: int) -> list[str]:
    console = Console(color_system=None, width=width, height=height, file=None)
    with console.capture() as capture:
        console.print(Screen(model, now=model.recent[-1].finished))
    return capture.get().rstrip("\n").splitlines()


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 50)])
async def test_the_screen_keeps_decision_layers_and_response_in_the_terminal(width, height):
    head = "GET /users/1 HTTP/1.1\r\nHost: x\r\nCookie: session=s3cret\r\n"
    model = await traced_demo(
        *[b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"] * 9,
        (head + MANY_HEADERS + "\r\n").encode(),
    )
    lines = screen_lines(model, width, height)
    text = "\n".join(lines)
    assert len(lines) <= height, text
    layers = [line for line in lines if "middleware " in line]
    assert [line.split("middleware ")[1].split()[0] for line in layers] == [
        "log_requests",
        "require_token",
    ], text
    for stage in ("dispatcher  match", "handler get_user", "response 200 OK"):
        assert stage in text, text
    sent = head.count("\r\n") - 1 + MANY_HEADERS.count("\r\n")  # all but the request line
    assert f"on_header x{sent}" in text or f"{sent} header(s)" in text, text  # as a count


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 50)])
async def test_a_long_target_in_the_list_keeps_its_row_on_one_line(width, height):
    """A target wider than the list let the status and time columns wrap: each row took
    two lines, and the tree below lost its middlewares and response to "..."."""
    long = "/users/1?" + "&".join(f"field{n}=value{n}" for n in range(20))
    model = await traced_demo(
        *[f"GET {long} HTTP/1.1\r\nHost: x\r\n\r\n".encode()] * 5,
        b"GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    lines = screen_lines(model, width, height)
    text = "\n".join(lines)
    assert len(lines) <= height, text
    listed = int(re.search(r"latest (\d+) requests", text).group(1))  # as many as fit
    rows = [line for line in lines if line.startswith("│") and "GET /users/1" in line]
    assert len(rows) == listed >= 3, text  # one line each, its time on it
    assert all(line.rstrip(" │").endswith("ms") for line in rows), text
    for stage in ("middleware log_requests", "handler get_user", "response 200 OK"):
        assert stage in text, text


async def test_a_short_request_keeps_every_header_when_there_is_room():
    model = await traced_demo(b"GET /users/1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
    text = "\n".join(screen_lines(model, 160, 50))
    assert "on_header  Host: x" in text and "on_header  Accept: */*" in text


async def test_the_tree_drops_detail_before_it_drops_a_stage():
    model = await traced_demo(f"GET /nope HTTP/1.1\r\nHost: x\r\n{MANY_HEADERS}\r\n".encode())
    tree = RequestTree(model.recent[-1])
    console = Console(color_system=None, width=80, file=None)
    heights = [len(console.render_lines(tree.tree(d))) for d in range(RequestTree.DETAILS)]
    assert heights == sorted(heights, reverse=True) and heights[0] > heights[-1]
    with console.capture() as capture:
        console.print(tree.tree(RequestTree.DETAILS - 1))
    least = capture.get()
    assert "dispatcher  404: no route" in least
    assert "middleware log_requests" in least and "response 404 Not Found" in least

"""The checks of the sketch exercises (00, 09, 11, 12) against right and plausible wrong answers.

The right answer is the full edition's solution cell, read from the notebook; each wrong
one is a mistake a learner makes. Each check must pass the right one and fail each wrong
one saying why; each still works (or names the cell to re-run) after the notebook's
closing cell has closed the server and client.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

from checks import FAILED, NOT_YET, PASSED, loopback_client  # noqa: E402
from exercise_checks import check_grace, check_greeting, check_pipelined  # noqa: E402
from websocket_checks import check_chat  # noqa: E402

import inspector  # noqa: E402
import sketch  # noqa: E402
from sketch import web  # noqa: E402


def _solution(notebook: str, name: str) -> object:
    """The name the notebook's solution cell defines, run as the full edition runs it."""
    cells = nbformat.read(NOTEBOOKS / notebook, as_version=4).cells
    [cell] = [c for c in cells if name in c.metadata.get("sketch", {}).get("defines", [])]
    namespace: dict = {"asyncio": asyncio}
    exec(cell.source, namespace)
    return namespace[name]


async def _verdict(check, answer, capsys) -> str:
    capsys.readouterr()
    await check(answer)
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith((PASSED, NOT_YET, FAILED))
    ]
    assert len(lines) == 1, lines
    return lines[0]


# 11: pipelining.

_READ_ONE = (
    "        head = await reader.readuntil(b'\\r\\n\\r\\n')\n"
    "        length = int(head.split(b'Content-Length: ')[1].split(b'\\r\\n')[0])\n"
    "        bodies.append((await reader.readexactly(length)).decode())\n"
)
_GET = "f'GET {p} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'.encode()"

WRONG_PIPELINES = {
    "a connection per request": (
        "async def pipelined(port, paths):\n"
        "    bodies = []\n"
        "    for p in paths:\n"
        "        reader, writer = await asyncio.open_connection('127.0.0.1', port)\n"
        f"        writer.write({_GET})\n" + _READ_ONE + "        writer.close()\n"
        "    return bodies\n",
        "the server saw 3 connections: send all three on one",
    ),
    "keep-alive: each request after the answer before": (
        "async def pipelined(port, paths):\n"
        "    reader, writer = await asyncio.open_connection('127.0.0.1', port)\n"
        "    bodies = []\n"
        "    for p in paths:\n"
        f"        writer.write({_GET})\n" + _READ_ONE + "    writer.close()\n"
        "    return bodies\n",
        "the requests came one at a time, each after the answer to the one before: that "
        "is keep-alive, not pipelining",
    ),
    "one read taken for all the answers": (
        "async def pipelined(port, paths):\n"
        "    reader, writer = await asyncio.open_connection('127.0.0.1', port)\n"
        f"    writer.write(b''.join({_GET} for p in paths))\n"
        "    data = await reader.read(65536)\n"
        "    writer.close()\n"
        "    return [part.split(b'\\r\\n\\r\\n')[1].decode() for part in "
        "data.split(b'HTTP/1.1 ')[1:]]\n",
        "the answers' bodies were ['slow', 'fast', 'fast'] and pipelined returned ['slow']",
    ),
    "reading until the connection closes": (
        "async def pipelined(port, paths):\n"
        "    reader, writer = await asyncio.open_connection('127.0.0.1', port)\n"
        f"    writer.write(b''.join({_GET} for p in paths))\n"
        "    data = await reader.read()\n"
        "    return [data.decode()]\n",
        "did not return within 5 s: read exactly one answer per path",
    ),
}


async def test_pipelined_the_reference_passes(capsys):
    pipelined = _solution("11_beyond_the_guide.ipynb", "pipelined")
    assert (await _verdict(check_pipelined, pipelined, capsys)).startswith(PASSED)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(WRONG_PIPELINES))
async def test_pipelined_a_wrong_answer_is_told_why(name, capsys):
    code, reason = WRONG_PIPELINES[name]
    namespace: dict = {"asyncio": asyncio}
    exec(code, namespace)
    with warnings.catch_warnings():  # a wrong answer may leave its connection unclosed
        warnings.simplefilter("ignore", ResourceWarning)
        verdict = await _verdict(check_pipelined, namespace["pipelined"], capsys)
        del namespace
        gc.collect()
    assert verdict.startswith(FAILED) and reason in verdict, verdict


# 09: the grace period.

WRONG_GRACES = {
    "True": (True, "grace is True, a bool: give a number of seconds"),
    "a string": ("1", "grace is '1', a str: give a number of seconds"),
    "zero": (0, "a grace period is a positive number of seconds"),
    "too short": (0.3, "grace is 0.3 s and the normal request takes 0.4 s"),
    "no margin": (0.41, "plus a margin for the loop (at least 0.5 s in all)"),
    "too long": (1.8, "closing would take about 1.8 s or more, and it must end within 2 s"),
    "an hour": (3600, "closing would take about 3600 s or more"),
}


@pytest.mark.timeout(30)
async def test_grace_the_reference_passes(capsys):
    grace = _solution("09_graceful_shutdown.ipynb", "grace")
    assert (await _verdict(check_grace, grace, capsys)).startswith(PASSED)


@pytest.mark.parametrize("name", sorted(WRONG_GRACES))
async def test_grace_a_wrong_answer_is_told_why(name, capsys):
    grace, reason = WRONG_GRACES[name]
    verdict = await _verdict(check_grace, grace, capsys)
    assert verdict.startswith(FAILED) and reason in verdict, verdict


# 00: the greeting, sent with the notebook's own client, seen in its live view.


async def _notebook_00():
    """00's server, client and live view, as its cells make them."""

    async def hello(request):
        return web.Response(text=f"Hello, {request.match_info['name']}!")

    app = web.Application()
    app.router.add_get("/hello/{name}", hello)
    live = inspector.watch(app)
    server = await sketch.serve(app)
    client = loopback_client(server.url)
    await client.get("/hello/world")
    return server, client, live


async def _close(server, client, live) -> None:  # 00's closing cell
    await client.aclose()
    live.close()
    await server.close()


async def test_greeting_passes_while_the_server_runs(capsys):
    server, client, live = await _notebook_00()
    try:
        greeting = (await client.get("/hello/Ada")).text
        verdict = await _verdict(
            lambda g: check_greeting(g, server, client, live), greeting, capsys
        )
        assert verdict.startswith(PASSED), verdict
    finally:
        await _close(server, client, live)


async def test_greeting_with_no_second_request_is_told_so(capsys):
    server, client, live = await _notebook_00()
    try:
        verdict = await _verdict(
            lambda g: check_greeting(g, server, client, live), "Hello, Ada!", capsys
        )
        assert verdict.startswith(FAILED) and "no second request" in verdict, verdict
    finally:
        await _close(server, client, live)


async def test_greeting_after_the_closing_cell_names_the_cell_to_rerun(capsys):
    """Run All, then solve: the closing cell has run; the learner is not blamed."""
    server, client, live = await _notebook_00()
    await _close(server, client, live)
    for greeting in (None, "Hello, Ada!"):
        verdict = await _verdict(
            lambda g: check_greeting(g, server, client, live), greeting, capsys
        )
        assert verdict.startswith(NOT_YET), verdict
        assert "has closed the server, the client and the live view" in verdict, verdict
        assert "'live = inspector.watch(app)'" in verdict, verdict


async def test_pipelined_and_grace_need_nothing_the_closing_cell_closed(capsys):
    """11 and 09's checks start their own servers: after 11's closing cell they still run."""
    server, client, live = await _notebook_00()
    await _close(server, client, live)
    pipelined = _solution("11_beyond_the_guide.ipynb", "pipelined")
    assert (await _verdict(check_pipelined, pipelined, capsys)).startswith(PASSED)


# 12: the chat room, over real sockets with four clients.

_JOIN = (
    "async def chat(request):\n"
    "    ws = web.WebSocketResponse()\n"
    "    await ws.prepare(request)\n"
    "    room.add(ws)\n"
)


def _broadcast(send: str) -> str:
    """A chat handler that removes leavers and sends each text as `send` says."""
    return (
        _JOIN + "    try:\n"
        "        async for msg in ws:\n"
        "            for other in list(room):\n"
        f"                await {send}\n"
        "    finally:\n"
        "        room.discard(ws)\n"
        "    return ws\n"
    )


WRONG_CHATS = {
    "an echo: only back to the sender": (
        _JOIN + "    async for msg in ws:\n"
        "        await ws.send_str(msg.data)\n"
        "    room.discard(ws)\n"
        "    return ws\n",
        "'hello from ada' and bob received nothing: send each message to every client "
        "in the room, not only back to the sender",
    ),
    "a client that leaves stays in the room": (
        _JOIN + "    async for msg in ws:\n"
        "        for other in list(room):\n"
        "            await other.send_str(msg.data)\n"
        "    return ws\n",
        "after two clients left (one closed, one dropped), your handler raised "
        "ConnectionResetError",
    ),
    "the message object broadcast, not its text": (
        _broadcast("other.send_str(str(msg))"),
        "instead of 'hello from ada': send the message's text, `msg.data`, not the message "
        "object or its frame",
    ),
    "the text broadcast as a binary frame": (
        _broadcast("other.send_bytes(msg.data.encode())"),
        "received a BINARY frame for the text 'hello from ada'",
    ),
    "everyone but the sender": (
        _broadcast("other.send_str(msg.data) if other is not ws else None"),
        "ada sent 'hello from ada' and did not get it back",
    ),
    "a plain function, not a coroutine": (
        "def chat(request):\n    return web.WebSocketResponse()\n",
        "write a handler, `async def chat(request):`",
    ),
}


def _chat(code: str) -> object:
    namespace: dict = {"asyncio": asyncio, "web": web, "room": set()}
    exec(code, namespace)
    return namespace["chat"]


def _reference_chat() -> object:
    cells = nbformat.read(NOTEBOOKS / "12_websockets.ipynb", as_version=4).cells
    [cell] = [c for c in cells if "chat" in c.metadata.get("sketch", {}).get("defines", [])]
    return _chat(cell.source)


@pytest.mark.timeout(30)
async def test_chat_the_reference_passes(capsys):
    verdict = await _verdict(check_chat, _reference_chat(), capsys)
    assert verdict.startswith(PASSED), verdict


@pytest.mark.timeout(30)
async def test_chat_the_learner_stub_is_not_yet(capsys):
    assert (await _verdict(check_chat, None, capsys)).startswith(NOT_YET)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(WRONG_CHATS))
async def test_chat_a_wrong_answer_is_told_why(name, capsys):
    code, reason = WRONG_CHATS[name]
    verdict = await _verdict(check_chat, _chat(code), capsys)
    assert verdict.startswith(FAILED) and reason in verdict, verdict


@pytest.mark.timeout(30)
async def test_chat_the_check_leaves_no_server_or_connection_open(capsys):
    """Run twice: the room is empty after each run (every client left and was removed)."""
    namespace: dict = {"asyncio": asyncio, "web": web}
    cells = nbformat.read(NOTEBOOKS / "12_websockets.ipynb", as_version=4).cells
    [cell] = [c for c in cells if "chat" in c.metadata.get("sketch", {}).get("defines", [])]
    exec(cell.source, namespace)
    for _ in range(2):
        assert (await _verdict(check_chat, namespace["chat"], capsys)).startswith(PASSED)
        assert namespace["room"] == set()

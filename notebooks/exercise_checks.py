"""Checks of the exercises on sketch: 00's greeting, 09's grace period, 11's pipelining.

Each check starts what it needs (its own app, server and client) and closes it, so it
still works after "Run All" has run the notebook's closing cell. Where an exercise uses
the notebook's own server and client (00), the check first looks whether the closing
cell closed them, and then names the cell to run again instead of blaming the learner.

    from exercise_checks import check_pipelined
    await check_pipelined(pipelined)
"""

from __future__ import annotations

import asyncio
import contextlib
import numbers
import time
from collections.abc import Callable
from typing import Any

from checks import NOT_YET, Problem, check, loopback_client

__all__ = ["check_greeting", "check_grace", "check_pipelined", "closed_by_the_last_cell"]

RERUN = (
    "the notebook's last cell ('Closing what we opened') has closed the server, the "
    "client and the live view this exercise uses. Run again the cells from the one holding "
    "{cell!r} down to this exercise (Shift-Enter through them), then your "
    "answer and this check"
)


def closed_by_the_last_cell(server: Any = None, client: Any = None, live: Any = None) -> bool:
    """True if `server` (sketch.serve's), `client` (httpx) or `live` (inspector) is closed."""
    runner = getattr(server, "runner", None)
    if runner is not None and runner.server is None:  # RunningServer.close() ran
        return True
    if getattr(live, "_closing", False):  # live.close() ran: it records nothing new
        return True
    return bool(getattr(client, "is_closed", False))


# 00: the first request of one's own.


async def check_greeting(greeting: Any, server: Any, client: Any, live: Any) -> None:
    """00: `greeting` is the text of a GET /hello/<name> sent with the notebook's client."""
    title = "greet yourself with GET /hello/your-name"
    if closed_by_the_last_cell(server, client, live):
        print(f"{NOT_YET} {title}: {RERUN.format(cell='live = inspector.watch(app)')}")
        return

    async def greeted(greeting: Any) -> None:
        if not isinstance(greeting, str) or not greeting.startswith("Hello, "):
            raise Problem(f"the server answers 'Hello, <name>!'; your greeting is {greeting!r}")
        sent = [t for t in live.model.recent if t.target.startswith("/hello/") and t.status == 200]
        if len(sent) < 2:
            raise Problem("the trace shows no second request to /hello/...: send it with `client`")

    await check(title, greeted, greeting)


# 09: a grace period that lets a normal request finish and cuts a stuck one.

NORMAL, LIMIT = 0.4, 2.0  # the exercise: a 0.4 s request finishes, closing takes < 2 s
MARGIN = 0.1  # a request that starts just before close still needs its whole 0.4 s


def _grace_in_words(grace: Any) -> None:
    """The number itself, judged before any server runs: what is wrong, said exactly."""
    if isinstance(grace, bool) or not isinstance(grace, numbers.Real):
        raise Problem(
            f"grace is {grace!r}, a {type(grace).__name__}: give a number of seconds, "
            "such as 0.75 (shutdown_timeout takes seconds as a float)"
        )
    if grace != grace or grace <= 0:  # NaN, zero, negative
        raise Problem(f"grace is {grace!r}: a grace period is a positive number of seconds")
    if grace < NORMAL + MARGIN:
        raise Problem(
            f"grace is {grace:g} s and the normal request takes {NORMAL:g} s: when the "
            f"shutdown starts just after it began, it needs all {NORMAL:g} s, plus a "
            f"margin for the loop (at least {NORMAL + MARGIN:g} s in all)"
        )
    if grace > LIMIT - 0.5:
        raise Problem(
            f"grace is {grace:g} s: the stuck request is cut only when the grace ends, "
            f"then the cleanup hooks run, so closing would take about {grace:g} s or more, "
            f"and it must end within {LIMIT:g} s with room for the cleanup (at most "
            f"{LIMIT - 0.5:g} s)"
        )


async def _grace_on_a_server(grace: float) -> None:
    from sketch import serve, web

    arrived: list[str] = []

    async def slow(request: Any) -> Any:
        arrived.append(request.query["s"])
        await asyncio.sleep(float(request.query["s"]))
        return web.Response(text="done")

    app = web.Application()
    app.router.add_get("/slow", slow)
    server = await serve(app, shutdown_timeout=grace)
    try:
        async with loopback_client(server.url, timeout=70) as c:
            normal = asyncio.ensure_future(c.get(f"/slow?s={NORMAL}"))
            stuck = asyncio.ensure_future(c.get("/slow?s=60"))
            for _ in range(500):  # both in flight before the server closes
                if len(arrived) >= 2:
                    break
                await asyncio.sleep(0.01)
            started = time.monotonic()
            await server.close()
            took = time.monotonic() - started
            results = await asyncio.gather(normal, stuck, return_exceptions=True)
    finally:
        await server.close()
    if isinstance(results[0], Exception) or results[0].text != "done":
        raise Problem(
            f"with grace = {grace:g} the {NORMAL:g} s request did not finish "
            f"({results[0]!r}): the grace period is too short"
        )
    if took > LIMIT:
        raise Problem(f"closing took {took:.1f} s: the grace period is too long for a stuck one")


async def check_grace(grace: Any) -> None:
    """09: `grace`, the shutdown_timeout that lets 0.4 s finish and closes within 2 s."""

    async def graceful(grace: Any) -> None:
        _grace_in_words(grace)
        await _grace_on_a_server(float(grace))

    await check("in-flight requests finish, stuck ones do not hold the shutdown", graceful, grace)


# 11: pipelining: every request written before the first answer is read.

PATHS = ["/slow", "/fast", "/fast"]
BODIES = {"/slow": "slow", "/fast": "fast"}
WAIT = 0.5  # seconds the check's server waits for the rest of a pipeline


class _Pipeline(asyncio.Protocol):
    """A server that answers only once every request of the pipeline has arrived.

    A pipelining client writes them all before it reads; a client that waits for each
    answer before the next request would wait forever, so after WAIT seconds the
    server answers what it has, and remembers that the requests came one by one.
    """

    def __init__(self, seen: dict[str, Any]) -> None:
        self.seen = seen
        self.received = b""
        self.answered = 0
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.seen["connections"] += 1
        self.seen["transports"].append(transport)
        self.timer = asyncio.get_running_loop().call_later(WAIT, self.answer_what_came)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if self.received.count(b"\r\n\r\n") >= len(PATHS) and self.answered == 0:
            self.seen["pipelined"] = True
            self.answer_what_came()

    def answer_what_came(self) -> None:
        heads = self.received.split(b"\r\n\r\n")[:-1]  # each complete request head
        targets = [head.split(b" ")[1].decode("latin-1") for head in heads if b" " in head]
        loop = asyncio.get_running_loop()
        for delay, target in enumerate(targets[self.answered :]):
            body = BODIES.get(target, "not found").encode()
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            # One answer per write, a little apart, as a real server sends them.
            loop.call_later(0.02 * delay, self.write, answer)
        if b"connection: close" in self.received.lower():  # the client asked (RFC 9112 9.6)
            loop.call_later(0.02 * len(targets), self.transport.close)
        self.seen["targets"] += targets[self.answered :]
        self.answered = len(targets)
        if self.answered < len(PATHS):  # the rest, if it ever comes, one at a time
            self.timer = loop.call_later(WAIT, self.answer_what_came)

    def write(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


async def _pipelines(pipelined: Callable) -> None:
    seen: dict[str, Any] = {"connections": 0, "pipelined": False, "targets": [], "transports": []}
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: _Pipeline(seen), "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        try:
            bodies = await asyncio.wait_for(pipelined(port, list(PATHS)), 5)
        except TimeoutError:
            raise Problem(
                "pipelined(port, paths) did not return within 5 s: read exactly one answer "
                "per path (its head up to the empty line, then Content-Length bytes), not "
                "until the connection closes"
            )
    finally:
        listener.close()
        for transport in seen["transports"]:  # a connection the answer left open, too
            transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.wait_closed(), 1)
    if seen["connections"] > 1:
        raise Problem(f"the server saw {seen['connections']} connections: send all three on one")
    if not seen["pipelined"]:
        raise Problem(
            "the requests came one at a time, each after the answer to the one before: that "
            "is keep-alive, not pipelining. Write all the requests first (one "
            "writer.write of them all), then read the answers"
        )
    want = [BODIES[p] for p in PATHS]
    if bodies != want:
        raise Problem(
            f"the answers' bodies were {want} and pipelined returned {bodies!r}: read each "
            "answer's head, then exactly Content-Length bytes of body, in order"
        )


async def check_pipelined(pipelined: Any) -> None:
    """11: `pipelined(port, paths)` writes every request, then reads the answers in order."""
    await check("three pipelined requests, one connection, answers in order", _pipelines, pipelined)

"""What one request costs in sketch's own Python, with no socket and no client.

    python bench/cost.py [--requests 20000] [--path hello] [--tracing off] [--clock cpu]
    python bench/cost.py --framework aiohttp|asgi [--path hello]

The benchmark app (bench/hello_app.py: two middlewares) gets the same pipelined GET
over and over through a transport that drops what is written; the best of eleven
timed batches is reported, in microseconds per request: untraced, traced into a
subscriber that does nothing, into one that only keeps the events, and into the
inspector's model. Under wrk the socket, the event loop and the client add to these;
bench/budget.py shows how much. `--clock cpu` times this process's CPU instead of the
wall clock: steadier on a machine that is busy with other work, to compare two versions.
`--framework aiohttp` runs the same app on aiohttp, the same way (untraced only), and
`--framework asgi` the bare ASGI app on uvicorn's protocol, so that
bench/instructions.py can compare them where wrk's rates drift.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hello_app import make_app  # noqa: E402

from sketch import web  # noqa: E402
from sketch.events import Event, ResponseEnd  # noqa: E402
from sketch.server import Server  # noqa: E402

REQUESTS = {
    "hello": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    "routed": b"GET /users/bob HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
}


class Sink(asyncio.Transport):
    """A transport that drops what is written (counting the writes), and says where the
    client is."""

    writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1

    def writelines(self, pieces: object) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )


def keep_event_lists() -> Callable[[Event], None]:
    """A subscriber that keeps each request's events in a list, the last 200 lists:
    what any recorder must at least do, against which the model's folding is measured."""
    in_flight: dict[tuple[int, int], list[Event]] = {}
    recent: deque[list[Event]] = deque(maxlen=200)

    def keep(event: Event) -> None:
        key = (event.conn, event.req)
        events = in_flight.setdefault(key, [])
        events.append(event)
        if type(event) is ResponseEnd:
            recent.append(in_flight.pop(key))

    return keep


async def best_of(
    one_request: Callable[[], Awaitable[None]],
    requests: int,
    clock: Callable[[], float],
    warmup: int,
    batches: int,
) -> float:
    """µs per request in the best of `batches` timed batches, after `warmup` requests."""
    for _ in range(warmup):
        await one_request()
    best = float("inf")
    for _ in range(batches):
        started = clock()
        for _ in range(requests):
            await one_request()
        best = min(best, (clock() - started) / requests)
        await asyncio.sleep(0)  # let answers held for the next turn go, outside the timing
    return best * 1e6


async def cost(
    path: str,
    tracing: str,
    requests: int,
    clock: Callable[[], float] = time.perf_counter,
    warmup: int = 2000,
    batches: int = 11,
) -> float:
    app = make_app(web)
    if tracing == "null subscriber":
        app.tracer.subscribe(lambda event: None)
    elif tracing == "event lists":
        app.tracer.subscribe(keep_event_lists())
    elif tracing == "inspector model":
        from inspector.model import Model

        app.tracer.subscribe(Model().feed_fields, safe=True, fields=True)
    app.freeze()
    server = Server(app._handle, tracer=app.tracer)
    protocol = server()
    protocol.connection_made(Sink())
    data = REQUESTS[path]

    async def one_request() -> None:
        protocol.data_received(data)
        while not protocol.idle:  # Python 3.11: the handler's Task starts next turn
            await asyncio.sleep(0)

    us = await best_of(one_request, requests, clock, warmup, batches)
    protocol.connection_lost(None)
    await server.shutdown(0)
    return us


async def peer_cost(
    framework: str, path: str, requests: int, clock: Callable[[], float], warmup: int, batches: int
) -> float:
    """The same request on a peer's own server protocol, untraced: aiohttp with the same
    app, or uvicorn's httptools protocol with the bare ASGI app (the floor under every
    framework on uvicorn)."""
    cleanup = None
    if framework == "aiohttp":
        from aiohttp import web as aiohttp_web

        runner = aiohttp_web.AppRunner(make_app(aiohttp_web), access_log=None)
        await runner.setup()
        protocol, cleanup = runner.server(), runner.cleanup
    else:
        from email.utils import formatdate

        from hello_app import bare_asgi
        from uvicorn.config import Config
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        from uvicorn.server import ServerState

        config = Config(bare_asgi, http="httptools", loop="asyncio", access_log=False,
                        lifespan="off", log_level="warning")  # fmt: skip
        config.load()
        state = ServerState()
        # What uvicorn's server sets for every answer (its main loop refreshes the date).
        date = formatdate(usegmt=True).encode()
        state.default_headers = [(b"date", date), *config.encoded_headers]
        protocol = HttpToolsProtocol(config, state, {})
    sink = Sink()
    protocol.connection_made(sink)
    data = REQUESTS[path]

    async def one_request() -> None:
        written = sink.writes
        protocol.data_received(data)
        while sink.writes == written:  # its handler's Task may answer on a later turn
            await asyncio.sleep(0)

    us = await best_of(one_request, requests, clock, warmup, batches)
    protocol.connection_lost(None)
    if cleanup is not None:
        await cleanup()
    return us


TRACING = ("off", "null subscriber", "event lists", "inspector model")


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


async def main(
    requests: int,
    paths: list[str],
    tracings: list[str],
    clock: str,
    warmup: int,
    batches: int,
    framework: str = "sketch",
) -> None:
    print(f"{'request':8} {'tracing':18} {'us/request':>10}")
    for path in paths:
        if framework != "sketch":
            us = await peer_cost(framework, path, requests, CLOCKS[clock], warmup, batches)
            print(f"{path:8} {f'off ({framework})':18} {us:>10.1f}")
            continue
        for tracing in tracings:
            us = await cost(path, tracing, requests, CLOCKS[clock], warmup, batches)
            print(f"{path:8} {tracing:18} {us:>10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="per timed batch")
    parser.add_argument("--path", choices=list(REQUESTS), help="only this request")
    parser.add_argument("--tracing", choices=TRACING, help="only this case (to profile it)")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall", help="what to time")
    parser.add_argument("--warmup", type=int, default=2000, help="requests before timing")
    parser.add_argument("--batches", type=int, default=11, help="timed batches (the best counts)")
    parser.add_argument(
        "--framework",
        choices=("sketch", "aiohttp", "asgi"),
        default="sketch",
        help="whose server (asgi: the bare ASGI app on uvicorn)",
    )
    args = parser.parse_args()
    if args.framework != "sketch" and args.tracing not in (None, "off"):
        parser.error(f"{args.framework} has no tracing to measure: use --tracing off")
    paths = [args.path] if args.path else list(REQUESTS)
    tracings = [args.tracing] if args.tracing else list(TRACING)
    asyncio.run(
        main(args.requests, paths, tracings, args.clock, args.warmup, args.batches, args.framework)
    )

"""The ceiling for this design: a bare httptools asyncio.Protocol answering a constant.

No Request, no routing, no Response objects: parse, then write fixed bytes. Whatever
sketch does on top costs the difference. `python bench/ceiling.py 8080`.

`--spin US` busy-waits that many microseconds per request before answering: a stand-in
for a framework's own Python work, to see what a given cost per request allows
(bench/budget.py). `--batch` holds answers until the loop's next turn, as sketch does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time

import httptools

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 13\r\nServer: ceiling\r\n\r\nHello, World!"
)

_held: list[asyncio.Transport] = []  # with --batch: transports owed an answer


def _send_held() -> None:
    batch = _held[:]
    _held.clear()
    for transport in batch:
        if not transport.is_closing():
            transport.write(RESPONSE)


class Ceiling(asyncio.Protocol):
    spin = 0.0  # seconds of busy work per request
    batch = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        if self.spin:
            until = time.perf_counter() + self.spin
            while time.perf_counter() < until:
                pass
        if not self.parser.should_keep_alive():
            self.transport.write(RESPONSE)
            self.transport.close()
        elif self.batch:
            if not _held:
                asyncio.get_running_loop().call_soon(_send_held)
            _held.append(self.transport)
        else:
            self.transport.write(RESPONSE)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Ceiling, "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--spin", type=float, default=0.0, help="microseconds per request")
    parser.add_argument("--batch", action="store_true", help="answer at the loop's next turn")
    args = parser.parse_args()
    Ceiling.spin, Ceiling.batch = args.spin / 1e6, args.batch
    asyncio.run(main(args.port))

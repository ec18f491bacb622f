"""Shared helpers: a raw HTTP/1.1 client over real loopback sockets, and an in-memory transport.

The suite talks to servers on 127.0.0.1 only, so the proxy settings of the machine it
runs on (managed laptops often set them) are taken out of its environment. A test that
is about proxies sets them itself: the `behind_a_closed_proxy` fixture.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import httptools
import pytest

# Child processes (the CLI, the doctor, run_app's apps) write UTF-8 to the pipes the tests
# read as UTF-8, on Windows too, where a pipe's default encoding is the ANSI code page.
os.environ.setdefault("PYTHONIOENCODING", "utf-8")

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
for _name in PROXY_VARIABLES:
    os.environ.pop(_name, None)
    os.environ.pop(_name.lower(), None)


@pytest.fixture
def behind_a_closed_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """HTTP_PROXY, HTTPS_PROXY and ALL_PROXY name a local port where nothing listens;
    no NO_PROXY. A client that obeys them fails with "All connection attempts failed".
    Subprocesses (a Jupyter kernel, the doctor) started meanwhile inherit them."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound and never listening: every connection is refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        for name in PROXY_VARIABLES[:3]:
            monkeypatch.setenv(name, url)
        yield url


@dataclass
class RawResponse:
    status: int = 0
    reason: str = ""
    version: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunked_pieces: int = 0

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def text(self) -> str:
        return self.body.decode()


class _ResponseCollector:
    """Callbacks for httptools' *response* parser: the client side of the wire."""

    def __init__(self) -> None:
        self.done: list[RawResponse] = []
        self.current = RawResponse()
        self.parser = httptools.HttpResponseParser(self)

    def on_status(self, status: bytes) -> None:
        self.current.reason += status.decode()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers.append((name.decode(), value.decode()))

    def on_headers_complete(self) -> None:
        self.current.status = self.parser.get_status_code()
        self.current.version = self.parser.get_http_version()

    def on_body(self, body: bytes) -> None:
        self.current.body += body

    def on_chunk_header(self) -> None:
        self.current.chunked_pieces += 1

    def on_message_complete(self) -> None:
        self.done.append(self.current)
        self.current = RawResponse()


def parse_responses(data: bytes, *, eof: bool = False) -> list[RawResponse]:
    """Every complete response in `data`, parsed by httptools.

    With `eof`, the connection is known to be closed, so a response with neither
    Content-Length nor chunked framing ends here (RFC 9112 6.3, rule 8).
    """
    collector = _ResponseCollector()
    collector.parser.feed_data(data)
    if eof and collector.current.status:
        collector.done.append(collector.current)
    return collector.done


async def exchange(
    port: int,
    *pieces: bytes,
    pause: float = 0.0,
    timeout: float = 5.0,
    until_closed: bool = True,
    expect: int = 1,
) -> bytes:
    """Send raw bytes over a real socket and return all the bytes that came back.

    With `until_closed`, read until the server closes; otherwise until `expect`
    complete responses have arrived.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        received = b""

        async def read() -> None:
            nonlocal received
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                received += chunk
                if not until_closed and len(parse_responses(received)) >= expect:
                    return

        await asyncio.wait_for(read(), timeout)
        return received
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def is_closed_by_server(reader: asyncio.StreamReader, timeout: float = 2.0) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), timeout) == b""
    except (TimeoutError, ConnectionError):
        return False


class MemoryTransport(asyncio.Transport):
    """A transport that keeps what the protocol writes: protocol tests need no socket."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def write(self, data: bytes) -> None:
        assert not self.closed, "the protocol wrote after closing the transport"
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closed = True  # nothing more goes out: for these tests, that is the close

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )


async def settle(protocol: object, rounds: int = 200) -> None:
    """Let the protocol's answering task run until it has nothing left to do."""
    for _ in range(rounds):
        await asyncio.sleep(0)
        if protocol.task is None:
            await asyncio.sleep(0)  # whole answers leave at the start of the next turn
            return
    raise AssertionError(f"the protocol is still answering after {rounds} loop turns")

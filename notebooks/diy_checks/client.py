"""The checks' HTTP client side: raw requests on real sockets, answers as a client reads them,
and what the loop was told meanwhile (the learner's exceptions), to explain a silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from checks import Problem

from .raised import LoopErrors
from .serving import WAIT, close_all, port_of


async def read_exactly(reader: asyncio.StreamReader, size: int) -> bytes | None:
    """Exactly `size` bytes; b'' + what came if the connection closed; None on silence."""
    try:
        return await asyncio.wait_for(reader.readexactly(size), WAIT)
    except asyncio.IncompleteReadError as closed:
        return b"" + closed.partial
    except TimeoutError:
        return None


async def exchange(start_server: Callable, Server: type, handler: Callable, requests: list):
    """Send `requests` on one connection, one after the other; all the bytes answered."""
    server = await start_server(lambda: Server(handler), "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    received = b""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server, "start_server"))
        writers.append(writer)
        for raw in requests:
            writer.write(raw)
            await writer.drain()
            while True:  # everything the server says until it pauses
                try:
                    more = await asyncio.wait_for(reader.read(65536), 0.2)
                except TimeoutError:
                    break
                received += more
                if not more:
                    break
    finally:
        await close_all(server, writers)
    return received


class Message:
    """A client's view of one response, from httptools' callbacks."""

    def __init__(self) -> None:
        self.body = b""
        self.headers: dict[str, str] = {}
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:  # the first response's, not the next one's
            self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


class Answer:
    """One response as a client reads it: status, headers (lower-case names), body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.text = body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"{self.status} {self.text!r}"


async def ask(
    port: int, method: str, target: str, writers: list, connection: tuple | None = None
) -> Answer | None:
    """Send one request on a new connection (or on `connection`, a (reader, writer) of an
    earlier one); its answer, or None if none came in time."""
    import httptools

    if connection is None:
        connection = await asyncio.open_connection("127.0.0.1", port)
        writers.append(connection[1])
    reader, writer = connection
    writer.write(f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    message = Message()
    parser = httptools.HttpResponseParser(message)
    received = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not message.complete:
        left = deadline - loop.time()
        try:
            more = await asyncio.wait_for(reader.read(65536), max(left, 0.001))
        except TimeoutError:
            return None
        except ConnectionError:
            more = b""
        if not more:
            if received:
                raise Problem(
                    f"{method} {target}: the connection closed in the middle of the response "
                    f"{received[:60]!r}"
                )
            return None
        received += more
        try:
            parser.feed_data(more)
        except httptools.HttpParserError as exc:
            raise Problem(f"{method} {target}: a client cannot parse the response: {exc}")
    return Answer(parser.get_status_code(), message.headers, message.body)


def expect(answer: Answer | None, method: str, target: str, status: int, errors: LoopErrors):
    if answer is None:
        why = errors.explain()
        raise Problem(
            f"{method} {target} got no answer within {WAIT:g} s"
            + (f": {why}" if why else ": does the Task write the response to the transport?")
        )
    if answer.status == 400 and status != 400:
        raise Problem(
            f"{method} {target} was answered 400 Bad Request: your Server answers 400 when "
            "the parser fails, and httptools reports an exception raised in a callback as a "
            "parse error, so hand_off raised. The Server calls it synchronously, from "
            "on_message_complete: it cannot run the handler there (asyncio.run, "
            "run_until_complete refuse inside the running loop). Start a Task with "
            "loop.create_task(...) and return b'' at once"
        )
    if answer.status != status:
        raise Problem(f"{method} {target} answered {answer!r}, expected a {status}")
    return answer

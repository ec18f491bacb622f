"""Chapter 01: a protocol on asyncio's transports, one object per connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks import Problem

from .client import read_exactly
from .serving import (
    WAIT,
    check_build,
    close_all,
    port_of,
)


async def _echo_per_connection(EchoProtocol: type, start_server: Callable) -> None:
    made: list[Any] = []

    def factory() -> Any:
        protocol = EchoProtocol()
        made.append(protocol)
        return protocol

    server = await start_server(factory, "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    try:
        port = port_of(server, "start_server")
        alice = await asyncio.open_connection("127.0.0.1", port)
        bob = await asyncio.open_connection("127.0.0.1", port)
        writers += [alice[1], bob[1]]
        await asyncio.sleep(0.05)  # both connected before anyone speaks
        if len(made) < 2:
            raise Problem(
                f"two clients connected and your start_server made {len(made)} protocol "
                "object: all connections share it. Give create_server the factory itself, "
                "so that it makes a new protocol per connection (not `lambda: protocol`)"
            )
        for turn in (1, 2):
            for name, (reader, writer), other in (("Alice", alice, bob), ("Bob", bob, alice)):
                sent = f"{name} says {turn}".encode()
                writer.write(sent)
                got = await read_exactly(reader, len(sent))
                if got is None:
                    elsewhere = await read_exactly(other[0], len(sent))
                    if elsewhere == sent:
                        raise Problem(
                            f"{name}'s message {sent!r} was echoed to the other client: the "
                            "protocols share one transport. Keep it on self in "
                            "connection_made, not on the class or in a global"
                        )
                    raise Problem(
                        f"{name} sent {sent!r} and got no answer within {WAIT:g} s: "
                        "data_received must write the data back with self.transport.write"
                    )
                if got == b"" and turn == 2:
                    raise Problem(
                        f"{name}'s connection closed after the first answer: do not close "
                        "the transport in data_received, a client may send more"
                    )
                if got == b"":
                    raise Problem(
                        f"{name}'s connection closed with no answer: data_received must "
                        "write the data back before anything closes the transport"
                    )
                if got != sent:
                    raise Problem(f"{name} sent {sent!r} and got back {got!r}: echo it as it is")
    finally:
        await close_all(server, writers)


async def check_protocol(folder: Path | None = None) -> None:
    """Chapter 01's build: diy/protocol.py, EchoProtocol and start_server."""
    await check_build(
        "each connection gets its own protocol, and its own echo",
        _echo_per_connection,
        [("01", "protocol", "EchoProtocol"), ("01", "protocol", "start_server")],
        "01",
        folder,
    )

"""Chapter 01: a protocol on asyncio's transports, one object per connection.

The inspector watches your EchoProtocol's connection_made and data_received (traced.py):
which protocol object each connection was given, and which connection each read came in
on, as your protocol saw it. Where it cannot watch, the check says what the echoes say.
"""

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
from .traced import Heard, watch_protocol

SHARED = (
    "Give create_server the factory itself, so that it makes a new protocol per "
    "connection (not `lambda: protocol`)"
)


def _connection_of(heard: Heard, writer: asyncio.StreamWriter) -> int:
    """The trace's number for the connection of this client (found by its address)."""
    return heard.connection_of(writer.get_extra_info("sockname"))


async def _one_object(heard: Heard | None, alice: tuple, bob: tuple, made: int) -> Problem:
    """Why one protocol object for two clients is wrong, from the trace if it saw it."""
    untraced = Problem(
        f"two clients connected and your start_server made {made} protocol object: all "
        f"connections share it. {SHARED}"
    )
    if heard is None:
        return untraced
    alices, bobs = _connection_of(heard, alice[1]), _connection_of(heard, bob[1])
    if not alices or not heard.same_object(alices, bobs):
        return untraced
    said = (
        "two clients connected and the trace shows one protocol object got both "
        f"connection_made calls (connections {alices} and {bobs})"
    )
    sent = b"Alice says 1"
    alice[1].write(sent)
    await read_exactly(bob[0], len(sent))  # wherever the echo goes, give it time to come
    if heard.read_on(sent) == [bobs]:
        said += (
            f"; Alice then sent {sent!r} on connection {alices}, and your data_received got "
            f"it as connection {bobs}'s, Bob's: the one object keeps the last transport it "
            "was given"
        )
    return Problem(f"{said}. {SHARED}")


async def _echo_per_connection(EchoProtocol: type, start_server: Callable) -> None:
    made: list[Any] = []

    def factory() -> Any:
        protocol = EchoProtocol()
        made.append(protocol)
        return protocol

    heard = watch_protocol(EchoProtocol)  # what your protocol saw, seen from outside
    server = await start_server(factory, "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    try:
        port = port_of(server, "start_server")
        alice = await asyncio.open_connection("127.0.0.1", port)
        bob = await asyncio.open_connection("127.0.0.1", port)
        writers += [alice[1], bob[1]]
        await asyncio.sleep(0.05)  # both connected before anyone speaks
        if len(made) < 2:
            raise await _one_object(heard, alice, bob, len(made))
        for turn in (1, 2):
            for name, (reader, writer), other in (("Alice", alice, bob), ("Bob", bob, alice)):
                sent = f"{name} says {turn}".encode()
                writer.write(sent)
                got = await read_exactly(reader, len(sent))
                if got is None:
                    elsewhere = await read_exactly(other[0], len(sent))
                    if elsewhere == sent:
                        own = _own_object(heard, sent, writer)
                        if own:
                            raise Problem(
                                f"{name}'s message {sent!r} was echoed to the other client, "
                                f"though {own}: so the protocols share one transport. Keep "
                                "it on self in connection_made, not on the class or in a "
                                "global"
                            )
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


def _own_object(heard: Heard | None, sent: bytes, writer: asyncio.StreamWriter) -> str:
    """'the trace shows ...': that `sent` reached its own connection's own object."""
    if heard is None:
        return ""
    own = _connection_of(heard, writer)
    if not own or heard.shared(own) or heard.read_on(sent) != [own]:
        return ""
    return (
        f"the trace shows it reached data_received on its own connection ({own}), in a "
        f"protocol object of its own"
    )


async def check_protocol(folder: Path | None = None) -> None:
    """Chapter 01's build: diy/protocol.py, EchoProtocol and start_server."""
    await check_build(
        "each connection gets its own protocol, and its own echo",
        _echo_per_connection,
        [("01", "protocol", "EchoProtocol"), ("01", "protocol", "start_server")],
        "01",
        folder,
    )

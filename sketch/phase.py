"""A connection's phase: where it is between requests, and where it may go next.

      IDLE       between requests        closed after keepalive_timeout
      READING    a head is arriving      408 after head_timeout
      ANSWERING  a handler runs          408 from read() if its body stalls body_timeout
      CLOSING    answering what is left  (none: the handler decides)
      CLOSED

One named phase instead of a handful of booleans decoded at each use (h11's model:
a connection is a state machine, its transitions written down in one place). The
connection (protocol.py, `_to()`) moves between phases and arms each phase's deadline.
"""

from __future__ import annotations

import enum

__all__ = ["NEXT", "Phase", "IDLE", "READING", "ANSWERING", "CLOSING", "CLOSED"]


class Phase(enum.Enum):
    IDLE = "idle"
    READING = "reading a head"
    ANSWERING = "answering"
    CLOSING = "closing"
    CLOSED = "closed"

    # Each member is the only one of its kind, so identity is its hash. (Enum's own
    # __hash__ is Python code, and `_to()` hashes phases twice a request.)
    __hash__ = object.__hash__


# Each phase under its own name as well, for the connection's code: a module's name is
# read about as cheaply as a local on Python 3.12+, where `Phase.CLOSED` goes through
# the Enum's metaclass at each read (about 250 instructions, measured with callgrind),
# and a request compares phases a dozen times.
IDLE, READING, ANSWERING = Phase.IDLE, Phase.READING, Phase.ANSWERING
CLOSING, CLOSED = Phase.CLOSING, Phase.CLOSED

# The phases each phase may move to. ANSWERING -> ANSWERING is the next pipelined
# request; ANSWERING -> READING, a head that began arriving while the last one was
# answered.
NEXT = {
    Phase.IDLE: {Phase.READING, Phase.ANSWERING, Phase.CLOSING, Phase.CLOSED},
    Phase.READING: {Phase.ANSWERING, Phase.CLOSING, Phase.CLOSED},
    Phase.ANSWERING: {Phase.IDLE, Phase.READING, Phase.ANSWERING, Phase.CLOSING, Phase.CLOSED},
    Phase.CLOSING: {Phase.CLOSING, Phase.CLOSED},
    Phase.CLOSED: {Phase.CLOSED},
}

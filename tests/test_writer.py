"""The writer on its own: a transport that records its writes, on a running loop."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from sketch.events import AnswersFlushed, Tracer
from sketch.writer import Batch, Writer

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OTHER = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
HOLD_LIMIT = 64 * 1024  # bytes held for the next turn at most (writer.py, Rule 3)


class Recorder:
    """Just what a Writer uses of a transport: write() and is_closing()."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing


class Broken(Recorder):
    def write(self, data: bytes) -> None:
        raise OSError("the socket is gone")


def make(transport=None, batch=None) -> tuple[Writer, Recorder]:
    transport = transport or Recorder()
    batch = batch or Batch(asyncio.get_running_loop())
    return Writer(transport, batch, Tracer(), conn=1), transport


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_a_whole_answer_is_held_until_the_loop_s_next_turn():
    writer, transport = make()
    writer.write_soon(HEAD)
    assert transport.writes == []
    await next_turn()
    assert transport.writes == [HEAD]


async def test_answers_made_in_one_turn_leave_in_one_write_per_connection_in_order():
    batch = Batch(asyncio.get_running_loop())
    first, one = make(batch=batch)
    second, two = make(batch=batch)
    first.write_soon(HEAD)
    second.write_soon(OTHER)
    first.write_soon(OTHER)
    await next_turn()
    assert one.writes == [HEAD + OTHER]
    assert two.writes == [OTHER]


async def test_two_answers_of_one_connection_both_leave():
    writer, transport = make()
    writer.write_soon(HEAD)
    writer.write_soon(OTHER)
    writer.flush()
    assert b"".join(transport.writes) == HEAD + OTHER


async def test_what_was_flushed_is_not_sent_again():
    writer, transport = make()
    writer.write_soon(HEAD)
    writer.flush()
    writer.flush()
    await next_turn()
    assert transport.writes == [HEAD]


async def test_a_batch_sends_every_turn_it_is_given_answers_in():
    writer, transport = make()
    writer.write_soon(HEAD)
    await next_turn()
    writer.write_soon(OTHER)
    await next_turn()
    assert transport.writes == [HEAD, OTHER]


async def test_a_written_piece_goes_at_once_after_what_was_held():
    writer, transport = make()
    writer.write_soon(HEAD)
    writer.write(b"piece")
    assert b"".join(transport.writes) == HEAD + b"piece"
    await next_turn()
    assert b"".join(transport.writes) == HEAD + b"piece"


async def test_an_interim_answer_goes_at_once_and_is_not_counted_as_the_response():
    writer, transport = make()
    writer.write_interim(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert writer.sent == 0


async def test_sent_counts_bytes_written_and_held():
    writer, _ = make()
    assert writer.sent == 0
    writer.write(b"abc")
    writer.write_soon(b"de")
    assert writer.sent == 5


async def test_the_hold_limit_itself_goes_at_once_one_byte_less_is_held():
    writer, transport = make()
    writer.write_soon(b"x" * (HOLD_LIMIT - 1))
    assert transport.writes == []
    writer.write_soon(b"y")
    assert transport.writes == [b"x" * (HOLD_LIMIT - 1) + b"y"]
    # The count starts again from nothing after a flush: the edge is the same next time.
    writer.write_soon(b"x" * (HOLD_LIMIT - 1))
    assert len(transport.writes) == 1
    writer.write_soon(b"y")
    assert len(transport.writes) == 2


async def test_the_hold_limit_in_one_answer_goes_at_once():
    writer, transport = make()
    writer.write_soon(b"x" * HOLD_LIMIT)
    assert transport.writes == [b"x" * HOLD_LIMIT]


@pytest.mark.parametrize("how", ["write", "write_soon", "write_interim"])
async def test_writing_to_a_closing_transport_raises_connection_reset(how):
    writer, transport = make()
    transport.closing = True
    with pytest.raises(ConnectionResetError):
        getattr(writer, how)(HEAD)
    await next_turn()
    assert transport.writes == []


@pytest.mark.parametrize("how", ["write", "write_soon", "write_interim"])
async def test_writing_after_the_connection_is_lost_raises_connection_reset(how):
    writer, transport = make()
    writer.lost(ConnectionResetError())
    with pytest.raises(ConnectionResetError):
        getattr(writer, how)(HEAD)
    await next_turn()
    assert transport.writes == []


async def test_what_is_held_when_the_connection_is_lost_is_dropped():
    writer, transport = make()
    writer.write_soon(HEAD)
    writer.lost(ConnectionResetError())
    await next_turn()
    assert transport.writes == []


async def test_one_broken_connection_does_not_keep_the_others_answers(caplog):
    batch = Batch(asyncio.get_running_loop())
    broken, _ = make(Broken(), batch)
    writer, transport = make(batch=batch)
    broken.write_soon(HEAD)
    writer.write_soon(OTHER)
    with caplog.at_level(logging.ERROR, logger="sketch.server"):
        await next_turn()
    assert transport.writes == [OTHER]
    [record] = caplog.records
    assert record.name == "sketch.server" and record.exc_info is not None
    assert record.getMessage().startswith("sending to <")


async def test_drain_returns_at_once_when_not_paused():
    writer, _ = make()
    assert not writer.paused
    await asyncio.wait_for(writer.drain(), 1)


async def test_drain_waits_while_paused_until_resumed():
    writer, _ = make()
    writer.pause()
    assert writer.paused
    draining = asyncio.ensure_future(writer.drain())
    for _ in range(3):
        await next_turn()
    assert not draining.done()
    writer.resume()
    assert not writer.paused
    await asyncio.wait_for(draining, 1)
    # Paused again, drain waits again; resuming with no one waiting is harmless.
    writer.resume()
    writer.pause()
    again = asyncio.ensure_future(writer.drain())
    await next_turn()
    assert not again.done()
    writer.resume()
    await asyncio.wait_for(again, 1)


async def test_a_lost_connection_wakes_drain_with_its_error():
    writer, _ = make()
    writer.pause()
    draining = asyncio.ensure_future(writer.drain())
    await next_turn()
    writer.lost(ConnectionAbortedError("the server shut down"))
    with pytest.raises(ConnectionAbortedError):
        await asyncio.wait_for(draining, 1)
    writer.lost(ConnectionResetError())  # lost twice, no one waiting: harmless
    writer.resume()


async def test_drain_does_not_wait_once_the_connection_is_lost():
    writer, _ = make()
    writer.pause()
    writer.lost(ConnectionResetError())
    await asyncio.wait_for(writer.drain(), 1)


async def test_a_flush_reports_how_long_its_answers_were_held_when_traced():
    tracer, events = Tracer(), []
    writer = Writer(Recorder(), Batch(asyncio.get_running_loop()), tracer, conn=7)
    writer.write_soon(HEAD)  # held before anyone listened: when is not known
    tracer.subscribe(events.append)
    writer.flush()
    writer.write_soon(HEAD)
    writer.write_soon(OTHER)
    time.sleep(0.01)  # the loop does not turn: the batch has not flushed them yet
    writer.flush()
    first, second = events
    assert isinstance(first, AnswersFlushed) and (first.conn, first.req) == (7, 0)
    assert (first.answers, first.size, first.held) == (1, len(HEAD), 0.0)
    assert (second.answers, second.size) == (2, len(HEAD) + len(OTHER))
    assert 0.01 <= second.held < 1.0


async def test_answers_held_while_tracing_was_off_report_held_0_after_an_earlier_traced_flush():
    tracer, events = Tracer(), []
    writer = Writer(Recorder(), Batch(asyncio.get_running_loop()), tracer, conn=7)
    stop = tracer.subscribe(events.append)
    writer.write_soon(HEAD)
    time.sleep(0.01)
    writer.flush()  # traced: held for 10 ms
    stop()
    writer.write_soon(OTHER)  # held while nobody listened: when is not known
    tracer.subscribe(events.append)
    writer.flush()
    first, second = events
    assert 0.01 <= first.held < 1.0
    assert (second.answers, second.size, second.held) == (1, len(OTHER), 0.0)

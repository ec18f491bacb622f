"""The pictures (SVG), drawn from requests traced over real sockets, read back as XML."""

from __future__ import annotations

import asyncio
import re
import sys
import xml.etree.ElementTree as ET

import sketch
from inspector import cli
from inspector.connections import connections, pauses
from inspector.journey import journey
from inspector.model import Model
from inspector.record import Recorder
from sketch import web

SVG = "{http://www.w3.org/2000/svg}"
GET = b"GET /users/7 HTTP/1.1\r\nHost: x\r\n\r\n"
SLOW = b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"


@web.middleware
async def timing(request, handler):
    return await handler(request)


@web.middleware
async def auth(request, handler):
    return await handler(request)


MIDDLEWARES = [timing, auth]


async def user(request: web.Request) -> web.Response:
    return web.Response(text="user " + request.match_info["id"])


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(0.02)
    return web.Response(text="slow")


async def turn(request: web.Request) -> web.Response:
    await asyncio.sleep(0)  # one turn of the loop
    return web.Response(text="turn")


def make_app() -> web.Application:
    app = web.Application(middlewares=MIDDLEWARES)
    app.router.add_get("/users/{id}", user)
    app.router.add_get("/slow", slow)
    app.router.add_get("/turn", turn)
    return app


async def answered(reader: asyncio.StreamReader, count: int) -> None:
    for _ in range(count):
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(re.search(rb"(?i)content-length: (\d+)", head).group(1)))


async def traced(*connections_sent: tuple[bytes, ...], together: bool = False, **kw) -> Model:
    """Each tuple is one connection's requests: sent in one write (pipelined) or in turn;
    with `together`, the connections run at the same time."""
    app = make_app()
    model = Model()
    app.tracer.subscribe(model.feed)
    for subscriber in kw.get("also", ()):
        app.tracer.subscribe(subscriber)
    async with await sketch.serve(app) as server:

        async def client(requests: tuple[bytes, ...]) -> None:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(b"".join(requests))  # all at once: pipelined when there are two
            await answered(reader, len(requests))
            writer.close()
            await writer.wait_closed()

        if together:
            await asyncio.gather(*(client(sent) for sent in connections_sent))
        else:
            for sent in connections_sent:
                await client(sent)
        for _ in range(100):  # until every connection has been seen to close
            if model.server.connections_open == 0:
                break
            await asyncio.sleep(0.01)
    return model


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(SVG + "g") if g.get("class") == cls]


async def test_a_journey_has_a_lane_per_layer_and_arrows_in_time_order():
    model = await traced((GET,))
    [trace] = model.recent
    root = parse(journey(trace).svg)
    lanes = [g.get("data-title") for g in groups(root, "lane")]
    names = [mw.__name__ for mw in MIDDLEWARES]
    assert lanes == [
        "client",
        "transport",
        "parser",
        "router",
        *names,
        user.__name__,
        "response",
        "wire",
    ]
    arrows = groups(root, "arrow")
    times = [float(a.get("data-t")) for a in arrows]
    rows = [float(a.find(SVG + "line").get("y1")) for a in arrows]
    assert times == sorted(times) and rows == sorted(rows) and len(set(rows)) == len(rows)
    ids = {g.get("data-lane") for g in groups(root, "lane")}
    assert all(a.get("data-src") in ids and a.get("data-dst") in ids for a in arrows)
    assert arrows[0].get("data-src") == "client" and arrows[-1].get("data-dst") == "wire"
    into_handler = [a for a in arrows if a.get("data-dst") == "handler"]
    out_of_handler = [a for a in arrows if a.get("data-src") == "handler"]
    assert len(into_handler) == len(out_of_handler) == 1
    back = out_of_handler[0]
    assert back.get("data-kind") == "return"
    assert back.find(SVG + "line").get("stroke-dasharray")  # a return is dashed, not only coloured
    assert "200 in " in back.find(SVG + "text").text  # and says its status and its time


async def test_two_pipelined_requests_are_two_bars_on_one_connection_the_second_waits():
    model = await traced((SLOW, GET))
    root = parse(connections(model).svg)
    [lane] = groups(root, "connection")
    bars = groups(lane, "request")
    assert [bar.get("data-req") for bar in bars] == ["1.1", "1.2"]
    waits = [float(_part(bar, "wait").get("data-ms")) for bar in bars]
    # The second was parsed with the first, and waited for the slow answer (20 ms)
    # before it; the first waited only for its Task to start (more on a busy machine).
    assert waits[1] >= 15 and waits[1] > waits[0] + 10, waits


async def test_concurrent_clients_are_one_lane_each_and_keep_alive_one_lane_for_all():
    together = await traced((SLOW,), (SLOW,), (SLOW,), together=True)
    lanes = groups(parse(connections(together).svg), "connection")
    assert len(lanes) == 3 and all(len(groups(lane, "request")) == 1 for lane in lanes)
    kept = await traced((GET,))
    assert len(groups(parse(connections(kept).svg), "connection")) == 1


async def test_connections_left_out_of_the_picture_are_counted_in_it():
    model = await traced(*[(GET,)] * 5)
    picture = connections(model, last=3)
    assert len(groups(parse(picture.svg), "connection")) == 3
    assert "the last 3 of 5 connections" in picture.svg
    assert str(picture).startswith("the last 3 of 5 connections")
    whole = connections(model)
    assert "5 connection(s)" in whole.svg and " of 5 " not in whole.svg


async def test_a_handler_that_awaited_is_marked_where_its_task_went_back_to_the_loop():
    model = await traced((SLOW, GET))
    lane = groups(parse(connections(model).svg), "connection")[0]
    slow_bar, user_bar = groups(lane, "request")
    [mark] = groups(slow_bar, "waited")
    assert "the handler awaited" in mark.find(SVG + "title").text
    # On 3.12+ a handler that never awaits is done before its Task is scheduled: no mark.
    assert len(groups(user_bar, "waited")) == (0 if sys.version_info >= (3, 12) else 1)


async def test_back_pressure_is_drawn_on_the_connection_while_reading_was_paused():
    # 300 pipelined requests to a handler that awaits: the protocol stops reading once
    # 16 wait for their answers (tests/inspector/test_waits.py), then reads on.
    model = await traced((b"GET /turn HTTP/1.1\r\nHost: x\r\n\r\n",) * 300)
    [lane] = groups(parse(connections(model, last=1).svg), "connection")
    spans = groups(lane, "paused")
    assert spans and {g.get("data-side") for g in spans} == {"reading"}
    assert "the client sends faster than we answer" in spans[0].find(SVG + "title").text
    [record] = model.connections
    for side, paused, resumed in pauses(record, record.closed):
        assert side == "reading" and record.opened <= paused <= resumed <= record.closed


async def test_a_request_in_flight_is_drawn_open_ended_and_then_finished():
    release = asyncio.Event()

    async def blocked(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="done")

    app = web.Application()
    app.router.add_get("/blocked", blocked)
    model = Model()
    app.tracer.subscribe(model.feed)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /blocked HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(200):
            if model.in_flight and next(iter(model.in_flight.values())).handler_start:
                break
            await asyncio.sleep(0.01)
        [bar] = groups(parse(connections(model).svg), "request")
        assert bar.get("data-state") == "in flight"
        outline = [r for r in bar.iter(SVG + "rect") if r.get("fill") == "none"]
        assert outline[0].get("stroke-dasharray")  # dashed: not only a colour says it
        assert "in flight" in "".join(t.text for t in bar.iter(SVG + "text"))
        release.set()
        await answered(reader, 1)
        writer.close()
        await writer.wait_closed()
    [bar] = groups(parse(connections(model).svg), "request")
    assert bar.get("data-state") == "finished"


def _part(bar: ET.Element, name: str) -> ET.Element:
    [part] = [r for r in bar.iter(SVG + "rect") if r.get("class") == name]
    return part


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_text_keeps_a_contrast_of_4_5_on_whatever_the_pictures_fill_under_it():
    model = await traced((SLOW, GET), (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",))
    for picture in (journey(model.recent[0]), journey(model.recent[-1]), connections(model)):
        root = parse(picture.svg)
        [card] = [r for r in root.iter(SVG + "rect") if r.get("class") == "background"]
        # The picture brings its own light card: a dark theme's page is never behind text.
        assert _luminance(card.get("fill")) > 0.9 and float(card.get("width")) > 0
        fills = {r.get("fill") for r in root.iter(SVG + "rect")}
        backgrounds = {fill for fill in fills if fill and fill.startswith("#")}
        inks = {t.get("fill") for t in root.iter(SVG + "text")}
        worst = min(_contrast(ink, bg) for ink in inks for bg in backgrounds)
        assert worst >= 4.5, (worst, inks, backgrounds)


async def test_picture_draws_a_recording_to_an_svg_file(tmp_path, capsys):
    recording = tmp_path / "session.jsonl"
    recorder = Recorder(recording)
    await traced((SLOW, GET), also=[recorder])
    recorder.close()
    out = tmp_path / "journey.svg"
    assert (
        cli.main(
            ["picture", str(recording), "journey", "--request", "GET /slow", "--out", str(out)]
        )
        == 0
    )
    root = parse(out.read_text(encoding="utf-8"))
    assert "GET /slow -> 200" in root.find(SVG + "title").text
    assert cli.main(["picture", str(recording), "connections"]) == 0
    drawn = tmp_path / "session.connections.svg"
    assert len(groups(parse(drawn.read_text(encoding="utf-8")), "request")) == 2
    assert cli.main(["picture", str(recording), "journey", "--request", "GET /nope"]) == 2
    error = capsys.readouterr().err
    assert "no request 'GET /nope'" in error and "GET /slow" in error  # it names what there is

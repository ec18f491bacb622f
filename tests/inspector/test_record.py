"""Recordings round-trip; exports open in the tools they are for."""

from __future__ import annotations

import json

import pytest

from inspector.model import Model
from inspector.record import Recorder, chrome_trace, decode, encode, export_view, load
from inspector.views import RequestTree
from sketch import events as ev

from .test_model import one_request


def an_event_of_each_type() -> list[ev.Event]:
    made = one_request()
    return made + [
        ev.HandlerWaited(10.0003, 1, 1),
        ev.ContinueSent(10.0003, 1, 1),
        ev.FlowControl(10.0003, 1, 1, "reading", True),
        ev.AnswersFlushed(10.0006, 1, 0, 1, 120, 0.0001),
        ev.WebSocketUpgrade(10.0007, 1, 1, "dGhlIHNhbXBsZSBub25jZQ==", "s3pP...", "chat", 90),
        ev.WebSocketFrame(
            10.0008, 1, 1, "in", "CLOSE", True, 0, True, 2, 90, b"\x88\x82abcd", 1000, "bye", ""
        ),
        ev.WebSocketClosed(10.0009, 1, 1, 1000, "client", ""),
        ev.ConnectionLost(11.0, 1, 1, "closed"),
        ev.ParseError(11.0, 2, 1, 400, "Invalid header token", 12),
        ev.HookStart(11.0, 0, 0, "on_shutdown", "close"),
        ev.HookEnd(11.1, 0, 0, "on_shutdown", "close", 0.1, ""),
        ev.ServerStart(9.0, 0, 0, "http://127.0.0.1:8080"),
        ev.ShutdownPhase(11.2, 0, 0, "drain", 0),
        ev.ServerStop(11.3, 0, 0, 0),
    ]


def test_every_event_type_survives_json_lines():
    events = an_event_of_each_type()
    assert {type(e).__name__ for e in events} == set(ev.EVENT_TYPES)
    for event in events:
        assert decode(encode(event)) == event


def test_a_recording_replays_into_the_same_views(tmp_path):
    path = tmp_path / "trace.jsonl"
    recorder = Recorder(path)
    live = Model()
    for event in one_request():
        recorder(event)
        live.feed(event)
    recorder.close()
    replayed = Model()
    for event in load(path):
        replayed.feed(event)
    assert replayed.recent[-1] == live.recent[-1]


def test_a_line_that_is_not_an_event_is_reported_with_its_place(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "Nonsense"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1: not a sketch event"):
        list(load(path))


def test_the_chrome_trace_has_requests_layers_and_handlers_as_complete_events():
    data = chrome_trace(an_event_of_each_type())
    json.dumps(data)  # it is JSON
    complete = [e for e in data["traceEvents"] if e["ph"] == "X"]
    names = {(e["cat"], e["name"]) for e in complete}
    assert ("request", "GET /users/bob") in names
    assert ("middleware", "auth") in names and ("handler", "user") in names
    assert ("hook", "on_shutdown close") in names
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in complete)


def test_views_export_to_svg_and_html(tmp_path):
    model = Model()
    for event in one_request():
        model.feed(event)
    svg = export_view(RequestTree(model.recent[-1]), tmp_path / "tree.svg").read_text(
        encoding="utf-8"
    )
    html = export_view(RequestTree(model.recent[-1]), tmp_path / "tree.html").read_text(
        encoding="utf-8"
    )
    assert svg.startswith("<svg") and "GET" in svg
    assert "<html" in html and "/users/bob" in html
    with pytest.raises(ValueError, match="export to .svg or .html"):
        export_view(RequestTree(model.recent[-1]), tmp_path / "tree.png")

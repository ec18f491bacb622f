"""Credentials are masked wherever the inspector prints or records, unless asked for."""

from __future__ import annotations

import asyncio

import sketch
from inspector import cli
from inspector.model import Model
from inspector.notebook import show
from inspector.record import Recorder, load
from inspector.secrets import Masker, mask_header, mask_query
from inspector.views import ByteRuler, RequestTree
from sketch import events as ev
from sketch import web

from .test_views import render as render_at

REQUEST = (
    b"GET /me?token=s3cret&page=2 HTTP/1.1\r\n"
    b"Host: x\r\n"
    b"Cookie: session=abc123\r\n"
    b"Authorization: Bearer xyz\r\n"
    b"Connection: close\r\n\r\n"
)
SECRETS = ("s3cret", "abc123", "Bearer xyz", "sid=42")


def render(view: object, width: int = 100) -> str:
    return render_at(view, width)


async def traced_request(subscriber) -> None:
    """One request with a cookie, a bearer token and a token in the query, over a socket."""

    async def me(request: web.Request) -> web.Response:
        response = web.Response(text="you")
        response.headers["Set-Cookie"] = "sid=42"
        return response

    app = web.Application()
    app.router.add_get("/me", me)
    app.tracer.subscribe(subscriber)
    async with await sketch.serve(app) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(REQUEST)
        await reader.read()  # to the end: Connection: close
        writer.close()
        await writer.wait_closed()


async def recorded(tmp_path, reveal: bool = False) -> list[ev.Event]:
    events: list[ev.Event] = []
    recorder = Recorder(tmp_path / "session.jsonl", reveal=reveal)
    await traced_request(lambda event: (events.append(event), recorder(event)))
    recorder.close()
    return list(load(tmp_path / "session.jsonl"))


def assert_masked(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


async def test_the_tree_ruler_and_recording_mask_credentials_keeping_names_and_lengths(tmp_path):
    events = await recorded(tmp_path)
    recording = (tmp_path / "session.jsonl").read_text(encoding="utf-8")
    assert_masked(recording)
    model = Model()
    for event in events:
        model.feed(event)
    [trace] = model.recent
    tree = render(RequestTree(trace))
    assert_masked(tree)
    assert "Cookie: " + "*" * len("session=abc123") in tree
    assert "Authorization: " + "*" * len("Bearer xyz") in tree
    assert "/me?token=******&page=2" in tree
    assert "Set-Cookie: ******" in tree
    ruler = render(ByteRuler(trace))
    assert_masked(ruler)
    assert f"{len(REQUEST)} bytes in 1 read(s)" in ruler
    assert "Cookie: **************\\r\\n" in ruler


async def test_a_live_model_masks_what_it_is_fed(tmp_path):
    model = Model()
    await traced_request(model.feed)
    assert_masked(render(RequestTree(model.recent[-1])) + render(ByteRuler(model.recent[-1])))


async def test_reveal_shows_the_credentials(tmp_path):
    events = await recorded(tmp_path, reveal=True)
    assert "abc123" in (tmp_path / "session.jsonl").read_text(encoding="utf-8")
    model = Model(reveal=True)
    for event in events:
        model.feed(event)
    trace = model.recent[-1]
    tree = render(RequestTree(trace)) + render(ByteRuler(trace))
    for secret in SECRETS:
        assert secret in tree, secret
    assert_masked(repr(show(trace, "all")))  # a notebook's show masks unless asked
    assert "Bearer xyz" in repr(show(trace, "all", reveal=True))


async def test_replay_masks_unless_show_secrets(tmp_path, capsys):
    await recorded(tmp_path, reveal=True)
    path = str(tmp_path / "session.jsonl")
    assert cli.main(["replay", path, "--view", "all"]) == 0
    masked = capsys.readouterr().out
    assert_masked(masked)
    assert "Cookie: **************" in masked
    assert cli.main(["replay", path, "--view", "all", "--show-secrets"]) == 0
    assert "Cookie: session=abc123" in capsys.readouterr().out


def test_a_cookie_split_across_reads_is_masked_in_both():
    masker = Masker()
    cut = REQUEST.index(b"abc") + 1
    first = masker(ev.DataReceived(1.0, 1, 0, 0, REQUEST[:cut]))
    second = masker(ev.DataReceived(1.0, 1, 0, cut, REQUEST[cut:]))
    joined = first.data + second.data
    assert len(joined) == len(REQUEST)
    assert b"Cookie: **************\r\n" in joined and b"?token=******&page=2" in joined


def test_secret_query_parameters_are_those_named_like_credentials():
    assert mask_query("/a?api_key=1&Password=abc&q=2&session_id=xy") == (
        "/a?api_key=*&Password=***&q=2&session_id=**"
    )
    assert mask_query("/search?q=token") == "/search?q=token"
    assert mask_header("Referer", "http://h/?secret=ab") == "http://h/?secret=**"
    assert mask_header("proxy-authorization", "Basic Zm9v") == "**********"

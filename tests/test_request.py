"""The Request: what the head said, and the body in every shape a client sends it."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sketch
from sketch import web

from .test_protocol import connect, feed, parse_responses


async def inspect_request(raw: bytes, probe) -> dict:
    """Feed `raw` to a protocol whose handler records `await probe(request)`."""
    seen: dict = {}

    async def handler(request):
        seen.update(await probe(request))
        return web.Response(text="ok")

    protocol, transport, _ = connect(handler)
    await feed(protocol, raw)
    assert parse_responses(bytes(transport.written))[0].status == 200, bytes(transport.written)
    return seen


async def test_the_head_is_exposed_as_aiohttp_does():
    async def probe(r):
        return dict(
            method=r.method,
            path=r.path,
            raw_path=r.raw_path,
            query=dict(r.query),
            query_string=r.query_string,
            version=tuple(r.version),
            url=str(r.url),
            host=r.host,
            remote=r.remote,
            accept=r.headers.getall("Accept"),
            content_type=r.content_type,
            keep_alive=r.keep_alive,
        )

    seen = await inspect_request(
        b"GET /a%20b/c?x=1&y=%C3%A9 HTTP/1.1\r\nHost: example.com:8080\r\n"
        b"Accept: text/html\r\nAccept: */*\r\n\r\n",
        probe,
    )
    assert seen == dict(
        method="GET",
        path="/a b/c",
        raw_path="/a%20b/c?x=1&y=%C3%A9",
        query={"x": "1", "y": "é"},
        query_string="x=1&y=é",
        version=(1, 1),
        url="http://example.com:8080/a%20b/c?x=1&y=%C3%A9",
        host="example.com:8080",
        remote="127.0.0.1",
        accept=["text/html", "*/*"],
        content_type="application/octet-stream",
        keep_alive=True,
    )


async def test_an_absolute_form_target_is_accepted():
    async def probe(r):
        return {"path": r.path, "query": r.query_string}

    seen = await inspect_request(
        b"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", probe
    )
    assert seen == {"path": "/p", "query": "q=1"}


async def test_text_uses_the_declared_charset():
    async def probe(r):
        return {"text": await r.text(), "charset": r.charset}

    body = "café".encode("latin-1")
    raw = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain; charset=latin-1\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    )
    assert await inspect_request(raw, probe) == {"text": "café", "charset": "latin-1"}


async def test_request_storage_is_per_request():
    async def probe(r):
        r["user"] = "ada"
        return {"user": r["user"], "keys": list(r)}

    assert await inspect_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", probe) == {
        "user": "ada",
        "keys": ["user"],
    }


@pytest.fixture
async def form_server():
    async def form(request):
        data = await request.post()
        fields = {}
        for key, value in data.items():
            if isinstance(value, web.FileField):
                fields[key] = [value.filename, value.content_type, value.file.read().decode()]
            else:
                fields[key] = value
        return web.json_response(fields)

    async def as_json(request):
        return web.json_response(await request.json())

    app = web.Application()
    app.router.add_post("/form", form)
    app.router.add_post("/json", as_json)
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            yield client


async def test_post_reads_urlencoded_forms(form_server):
    response = await form_server.post("/form", data={"name": "Ada Lovelace", "lang": "é"})
    assert response.json() == {"name": "Ada Lovelace", "lang": "é"}


async def test_post_reads_multipart_forms_with_files(form_server):
    response = await form_server.post(
        "/form",
        data={"title": "notes"},
        files={"upload": ("notes.txt", b"line one\nline two", "text/plain")},
    )
    assert response.json() == {
        "title": "notes",
        "upload": ["notes.txt", "text/plain", "line one\nline two"],
    }


async def test_json_reads_a_chunked_body_sent_in_pieces(form_server):
    async def pieces():
        for part in (b'{"a": ', b"[1, 2", b"]}"):
            yield part

    response = await form_server.post("/json", content=pieces())
    assert response.json() == {"a": [1, 2]}


async def test_a_body_split_across_many_reads_arrives_whole():
    async def probe(r):
        return {"body": await r.read()}

    protocol_body = b"x" * 5000
    seen: dict = {}

    async def handler(request):
        seen.update(await probe(request))
        return web.Response()

    protocol, transport, _ = connect(handler)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    protocol.data_received(head)
    for start in range(0, 5000, 700):
        protocol.data_received(protocol_body[start : start + 700])
    await feed(protocol, b"")
    assert seen["body"] == protocol_body


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["/", "a", "é", "%2F", "%25", "%41", "%zz", ".", "..", "?", "#", "=", "&", " ", ";"]
        ),
        max_size=12,
    ).map(lambda parts: "/" + "".join(parts))
)
def test_the_path_the_router_matches_is_yarls_path_safe(target):
    from multidict import CIMultiDict

    from sketch.http import HttpVersion11
    from sketch.request import Request, _target_to_url

    request = Request(None, "GET", target, HttpVersion11, CIMultiDict(), True)  # type: ignore[arg-type]
    assert request.match_path == _target_to_url(target).path_safe

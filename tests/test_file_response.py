"""Files: validators, conditional requests and ranges, beyond what the parity test covers
(tests/test_aiohttp_parity.py compares the common cases with aiohttp)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

import sketch
from sketch import web
from sketch.file_response import byte_range, precondition

DATA = bytes(range(256)) * 4097  # a bit over 1 MiB, every byte's place recognizable


@pytest.fixture
def public(tmp_path: Path) -> Path:
    (tmp_path / "big.bin").write_bytes(DATA)
    os.utime(tmp_path / "big.bin", (1_000_000_000, 1_000_000_000))  # 2001-09-09 01:46:40
    return tmp_path


async def fetch(public: Path, *requests: dict, method: str = "GET") -> list[httpx.Response]:
    app = web.Application()
    app.router.add_static("/files", public)
    async with await sketch.serve(app) as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as client:
            return [await client.request(method, "/files/big.bin", headers=h) for h in requests]


async def test_a_range_deep_in_a_big_file_is_exact_across_read_chunks(public):
    [whole, middle] = await fetch(public, {}, {"Range": "bytes=300000-700000"})
    assert whole.content == DATA
    assert whole.headers["Last-Modified"] == "Sun, 09 Sep 2001 01:46:40 GMT"
    assert middle.status_code == 206
    assert middle.content == DATA[300000:700001]
    assert middle.headers["Content-Range"] == f"bytes 300000-700000/{len(DATA)}"
    assert middle.headers["Content-Length"] == "400001"


async def test_if_range_with_an_entity_tag_uses_the_strong_comparison(public):
    [plain] = await fetch(public, {})
    etag = plain.headers["ETag"]
    same, other, weak = await fetch(
        public,
        {"Range": "bytes=0-9", "If-Range": etag},
        {"Range": "bytes=0-9", "If-Range": '"something-else"'},
        {"Range": "bytes=0-9", "If-Range": f"W/{etag}"},
    )
    assert (same.status_code, same.content) == (206, DATA[:10])
    # RFC 9110 13.1.5: the client's copy is not this file (or can't be told to be): all of it
    assert (other.status_code, len(other.content)) == (200, len(DATA))
    assert (weak.status_code, len(weak.content)) == (200, len(DATA))


async def test_head_with_a_range_says_the_length_of_the_range_and_sends_nothing(public):
    [head] = await fetch(public, {"Range": "bytes=10-19"}, method="HEAD")
    assert head.status_code == 206
    assert head.headers["Content-Length"] == "10"
    assert head.content == b""


def headers(**fields: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in fields.items()}))


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=0-0", (0, 1)),
        ("bytes=0-", (0, 100)),
        ("bytes=99-", (99, 1)),
        ("bytes=-1", (99, 1)),
        ("bytes=-500", (0, 100)),  # more than the file: all of it
        ("bytes=90-500", (90, 10)),
        ("BYTES=1-2", (1, 2)),
        ("bytes=-0", None),  # RFC 9110 14.1.1: a zero suffix can't be satisfied
        ("bytes=100-", None),
        ("bytes=5-4", None),
        ("bytes=-", None),
        ("bytes=1-2,4-5", None),
        ("items=1-2", None),
        ("bytes=1-2 ", None),
    ],
)
def test_byte_ranges_of_a_100_byte_file(header, expected):
    assert byte_range(header, 100) == expected


def test_preconditions_follow_the_rfc_order():
    etag, mtime = '"abc"', 1_000_000_000.0
    date = "Sun, 09 Sep 2001 01:46:40 GMT"
    before = "Sun, 09 Sep 2001 01:46:39 GMT"
    assert precondition(headers(), etag, mtime) is None
    assert precondition(headers(If_Match='"abc"'), etag, mtime) is None
    assert precondition(headers(If_Match='W/"abc"'), etag, mtime) == 412  # strong: no weak
    assert precondition(headers(If_Unmodified_Since=before), etag, mtime) == 412
    # If-Match present: If-Unmodified-Since is not looked at (RFC 9110 13.2.2, step 2)
    assert precondition(headers(If_Match='"abc"', If_Unmodified_Since=before), etag, mtime) is None
    assert precondition(headers(If_None_Match='W/"abc"'), etag, mtime) == 304  # weak: matches
    assert precondition(headers(If_Modified_Since=date), etag, mtime) == 304
    assert precondition(headers(If_Modified_Since=before), etag, mtime) is None
    # If-None-Match present and not matching: If-Modified-Since is not looked at (step 4)
    assert precondition(headers(If_None_Match='"x"', If_Modified_Since=date), etag, mtime) is None
    assert precondition(headers(If_Modified_Since="yesterday"), etag, mtime) is None

"""Files: validators, conditional requests and byte ranges, the body read off the loop.

How this works (RFC 9110, in the shape aiohttp gives it):

- Rule 1: a file's answer carries its validators, `ETag` (its modification time and
  size, in hex) and `Last-Modified`, and says `Accept-Ranges: bytes` (8.8, 14.3).
- Rule 2: preconditions are evaluated in the RFC's order (13.2.2): `If-Match`, or
  without it `If-Unmodified-Since`; failing, 412. Then `If-None-Match`, or without it
  `If-Modified-Since`; the client's copy is current, 304 and no body.
- Rule 3: one byte range (`bytes=0-99`, `bytes=100-`, `bytes=-100`) gets 206 with
  `Content-Range` and only those bytes (14.1.2, 15.3.7). A range that starts past the
  end, or a header that is not one range, gets 416 with `Content-Range: bytes */size`
  (15.5.17). `If-Range` with a validator the file no longer matches means the client
  wants the whole new file: 200 (13.1.5).
- The body is read in chunks in a thread, so a big file or a slow disk blocks nobody.
"""

from __future__ import annotations

import asyncio
import calendar
import math
import mimetypes
import os
import re
from email.utils import parsedate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .http import format_http_date
from .stream_response import StreamResponse

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

    from .request import Request

__all__ = ["FileResponse", "precondition", "byte_range"]

_ETAG = re.compile(r'(W/)?"([^"]*)"')  # an entity tag in a list: "abc", W/"abc"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII | re.IGNORECASE)


def _http_date(value: str | None) -> float | None:
    """An HTTP date (RFC 9110 5.6.7) as a timestamp; None when absent or not a date."""
    parsed = parsedate(value) if value else None
    if parsed is None:
        return None
    try:
        return float(calendar.timegm(parsed))
    except (ValueError, OverflowError):
        return None


def _matches(etag: str, header: str, *, weak: bool) -> bool:
    """Whether `etag` is in an If-Match / If-None-Match list (RFC 9110 8.8.3.2).

    The strong comparison (If-Match) never matches a weak tag; the weak one
    (If-None-Match) ignores the `W/` prefix.
    """
    if header.strip() == "*":
        return True
    return any(
        f'"{value}"' == etag and (weak or not is_weak) for is_weak, value in _ETAG.findall(header)
    )


def precondition(headers: CIMultiDictProxy[str], etag: str, mtime: float) -> int | None:
    """Rule 2: 412, 304, or None to serve the file."""
    if_match = headers.get("If-Match")
    if if_match:
        if not _matches(etag, if_match, weak=False):
            return 412
    else:
        since = _http_date(headers.get("If-Unmodified-Since"))
        if since is not None and mtime > since:
            return 412
    if_none_match = headers.get("If-None-Match")
    if if_none_match:
        if _matches(etag, if_none_match, weak=True):
            return 304
    else:
        since = _http_date(headers.get("If-Modified-Since"))
        if since is not None and mtime <= since:
            return 304
    return None


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """Rule 3: (first byte, count) for a Range header; None when it can't be satisfied."""
    found = _RANGE.fullmatch(header)
    if found is None:
        return None  # not one range of bytes: several, or another unit
    first, last = found.groups()
    if not first:  # bytes=-N: the last N bytes
        if not last or int(last) == 0:
            return None
        start = max(size - int(last), 0)
        return start, size - start
    start = int(first)
    end = min(int(last) + 1, size) if last else size  # `last` is inclusive
    if start >= size or (last and int(last) < start):
        return None
    return start, end - start


def _range_still_valid(if_range: str | None, etag: str, mtime: float) -> bool:
    """If-Range (RFC 9110 13.1.5): does the client's copy still match the file?"""
    if if_range is None:
        return True
    if if_range.startswith(('"', "W/")):
        return if_range == etag  # a strong comparison: a weak tag never matches
    date = _http_date(if_range)
    return date is not None and mtime <= date


class FileResponse(StreamResponse):
    """A file sent in chunks read off the event loop, so a big file blocks nobody."""

    def __init__(self, path: str | os.PathLike[str], chunk_size: int = 256 * 1024, **kwargs: Any):
        super().__init__(**kwargs)
        self._path = Path(path)
        self._chunk_size = chunk_size

    async def prepare(self, request: Request) -> None:
        if self._request is not None:
            return
        loop = asyncio.get_running_loop()
        stat = await loop.run_in_executor(None, self._path.stat)
        size, mtime = stat.st_size, stat.st_mtime
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        verdict = precondition(request.headers, etag, mtime)
        if verdict == 412:  # Rule 2: the client's condition fails, nothing is sent
            self.set_status(412)
            self.content_length = 0
            await super().prepare(request)
            return
        start, count = 0, size
        wanted = request.headers.get("Range")
        if verdict is None and wanted is not None:
            if _range_still_valid(request.headers.get("If-Range"), etag, mtime):
                found = byte_range(wanted, size)
                if found is None:  # Rule 3: an empty body says nothing more
                    self.set_status(416)
                    self._headers["Content-Range"] = f"bytes */{size}"
                    await super().prepare(request)
                    return
                start, count = found
                self.set_status(206)
                self._headers["Content-Range"] = f"bytes {start}-{start + count - 1}/{size}"
        # Rule 1, on 200, 206 and 304 (RFC 9110 15.4.5). Last-Modified rounds up, as
        # aiohttp does, so that a client sending it back in If-Modified-Since is never
        # told the file is newer than its copy.
        self._headers["ETag"] = etag
        self._headers["Last-Modified"] = format_http_date(math.ceil(mtime))
        if verdict == 304:  # Rule 2: the client's copy is current
            self.set_status(304)
            await super().prepare(request)
            return
        mime, _ = mimetypes.guess_type(self._path.name)
        self._headers.setdefault("Content-Type", mime or "application/octet-stream")
        self._headers["Accept-Ranges"] = "bytes"
        self.content_length = count
        await super().prepare(request)
        if self._empty_body or count == 0:
            return
        await self._send_body(loop, start, count)

    async def _send_body(self, loop: asyncio.AbstractEventLoop, start: int, count: int) -> None:
        with open(self._path, "rb") as file:
            file.seek(start)
            left = count
            while left:
                chunk = await loop.run_in_executor(None, file.read, min(self._chunk_size, left))
                if not chunk:
                    # The file shrank since its size was announced: the body can't be
                    # finished, and an error here closes the connection instead.
                    raise OSError(f"{self._path} shrank while it was being sent")
                left -= len(chunk)
                await self.write(chunk)

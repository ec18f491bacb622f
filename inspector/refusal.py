"""Where parsing stopped in a refused request's bytes: the byte the parser gave up at.

sketch says which read failed and why (a ParseError event); the byte itself is found
here, after the fact, so the server never pays for it.
"""

from __future__ import annotations

import httptools

from .model import RequestTrace

__all__ = ["error_offset"]


def error_offset(trace: RequestTrace) -> int | None:
    """The byte at which the parser gave up, found by re-parsing prefixes of the raw bytes.

    sketch only knows which read failed (parsing is one call per read); httptools finds
    the byte. A prefix either parses or fails, and every longer prefix of a failing one
    fails too, so a binary search finds the first failing length in log2(n) parses.
    """
    if trace.error is None or not trace.reads:
        return None
    raw = trace.raw

    def fails(length: int) -> bool:
        try:
            httptools.HttpRequestParser(_Quiet()).feed_data(raw[:length])
        except httptools.HttpParserUpgrade:
            return False
        except httptools.HttpParserError:
            return True
        return False

    if not fails(len(raw)):
        return None  # refused by sketch's own rules (a limit, Host, ...), not by the parser
    low, high = 1, len(raw)  # fails(high) is True
    while low < high:
        middle = (low + high) // 2
        if fails(middle):
            high = middle
        else:
            low = middle + 1
    return low - 1


class _Quiet:
    """Parser callbacks that do nothing: error_offset only wants to know where it fails."""

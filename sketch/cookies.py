"""Cookies: the Cookie header a client sends, the Set-Cookie lines a response sends.

How this works (RFC 6265):

- A client sends its cookies in one header, `Cookie: a=1; b="two"` (RFC 6265 4.2.1):
  name=value pairs split by `;`. A value may be wrapped in double quotes, which are
  not part of it (RFC 6265 4.1.1). Python's SimpleCookie escapes what a cookie-value
  may not hold (`;`, `"`, `\\`, spaces, non-ASCII) as `\\ooo` octal inside quotes,
  so the same escapes are undone here and a value read back is the value set.
- A server sets each cookie with a `Set-Cookie` line of its own (RFC 6265 3: folding
  several into one header would change their meaning), built by the stdlib's Morsel,
  which quotes the value and formats the attributes.
"""

from __future__ import annotations

import re
from http.cookies import Morsel, SimpleCookie

__all__ = ["parse_cookie_header", "update_cookie", "EXPIRED"]

# RFC 6265 4.1.1 says a cookie-name is a token (RFC 2616 2.2); real browsers also send
# names with ()[]{}<>=@:/?, so accept every visible ASCII character but `;`, `,`, `"`
# and `\`, as aiohttp does.
_NAME = re.compile(r"[!#$%&'()*+\-./0-9:<=>?@A-Z\[\]^_`a-z{|}~]+")
_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")

# What del_cookie sends: an empty value that expired long ago (RFC 6265 3.1, example).
EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match[1], 8)) if match[1] else match[2]


def _unquote(value: str) -> str:
    """`"x\\073y"` -> `x;y`: drop the quotes, undo SimpleCookie's escapes."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return _ESCAPE.sub(_unescape, value[1:-1])


def parse_cookie_header(header: str) -> dict[str, str]:
    """The cookies in a Cookie header, name -> value; when a name repeats, the last wins.

    A pair with no `=` is a cookie with an empty value, and a pair whose name is not
    a token is skipped, as aiohttp does. Attribute names (`path`, `secure`) are plain
    cookie names here: a Cookie header carries no attributes (RFC 6265 5.4).

    Where aiohttp reads malformed pairs differently, this follows RFC 6265: a value
    runs to the next `;` (5.2: `a=b c` is "b c", not "b" and a cookie named "c"), and
    `;` ends a pair even inside quotes, which a cookie-value may not hold (4.1.1).
    """
    cookies: dict[str, str] = {}
    for pair in header.split(";"):
        name, _, value = pair.partition("=")
        name = name.strip()
        if _NAME.fullmatch(name):
            cookies[name] = _unquote(value.strip())
    return cookies


def update_cookie(
    cookies: SimpleCookie,
    name: str,
    value: str,
    *,
    expires: str | None,
    domain: str | None,
    max_age: int | str | None,
    path: str,
    secure: bool | None,
    httponly: bool | None,
    samesite: str | None,
) -> None:
    """Set cookie `name` in `cookies`, keeping the attributes a new call leaves as None.

    Setting a cookie again after deleting it revives it: the deletion's expiry goes
    (aiohttp's rule, so a handler can del_cookie then set_cookie the same name).
    """
    cookies[name] = value  # SimpleCookie quotes it as RFC 6265 4.1.1 requires
    morsel: Morsel[str] = cookies[name]
    if expires is not None:
        morsel["expires"] = expires
    elif morsel.get("expires") == EXPIRED:
        del morsel["expires"]
    if domain is not None:
        morsel["domain"] = domain
    if max_age is not None:
        morsel["max-age"] = str(max_age)
    elif "max-age" in morsel:
        del morsel["max-age"]
    morsel["path"] = path
    if secure is not None:
        morsel["secure"] = secure
    if httponly is not None:
        morsel["httponly"] = httponly
    if samesite is not None:
        morsel["samesite"] = samesite

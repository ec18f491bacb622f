"""The opening handshake without a socket: sketch.websocket.handshake against RFC 6455 4.2."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from sketch.websocket.handshake import accept_key, check_handshake, choose_protocol

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3's example key


def headers(**changes: str | None) -> CIMultiDict[str]:
    fields = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return CIMultiDict(fields)


def test_the_rfc_example_accept_value():
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 1.3


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"Upgrade": "WebSocket"},  # tokens are case-insensitive
        {"Connection": "keep-alive, UPGRADE"},  # one token of a list
        {"Upgrade": "h2c, websocket"},
    ],
)
def test_valid_handshakes_give_the_key(changes):
    assert check_handshake("GET", (1, 1), headers(**changes)) == KEY


@pytest.mark.parametrize(
    ("method", "version", "changes", "status"),
    [
        ("POST", (1, 1), {}, 405),
        ("GET", (1, 0), {}, 400),
        ("GET", (1, 1), {"Upgrade": None}, 400),
        ("GET", (1, 1), {"Upgrade": "h2c"}, 400),
        ("GET", (1, 1), {"Connection": "keep-alive"}, 400),
        ("GET", (1, 1), {"Connection": "upgraded"}, 400),  # a token, not a substring
        ("GET", (1, 1), {"Sec-WebSocket-Key": None}, 400),
        ("GET", (1, 1), {"Sec-WebSocket-Key": "AAAA"}, 400),  # 3 bytes
        ("GET", (1, 1), {"Sec-WebSocket-Key": "%%%%%%%%%%%%%%%%%%%%%%%%"}, 400),
        ("GET", (1, 1), {"Sec-WebSocket-Version": None}, 426),
        ("GET", (1, 1), {"Sec-WebSocket-Version": "8"}, 426),
    ],
)
def test_invalid_handshakes_give_the_error_to_answer(method, version, changes, status):
    error = check_handshake(method, version, headers(**changes))
    assert not isinstance(error, str) and error.status == status
    if status == 426:
        assert error.headers["Sec-WebSocket-Version"] == "13"  # RFC 6455 4.4


@pytest.mark.parametrize(
    ("offered", "spoken", "chosen"),
    [
        ("chat, superchat", ("superchat", "chat"), "chat"),  # the client's order
        ("a,b", ("b",), "b"),
        ("  x , y ", ("y",), "y"),
        ("x", ("y",), None),
        ("", ("y",), None),
        ("chat", (), None),
    ],
)
def test_the_subprotocol_is_the_first_offered_that_the_server_speaks(offered, spoken, chosen):
    assert choose_protocol(offered, spoken) == chosen

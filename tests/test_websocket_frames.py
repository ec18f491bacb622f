"""WebSocket frames without a socket: sketch.websocket.frames against RFC 6455 section 5.

Client frames are built here by hand (`client_frame`), byte by byte from the RFC's
layout, not with the serializer under test.
"""

from __future__ import annotations

import struct

import pytest

from sketch.websocket.frames import (
    Failure,
    FrameReader,
    WSMessage,
    WSMsgType,
    close_payload,
    frame,
)


def client_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = b"\x12\x34\x56\x78",
    length: int | None = None,
) -> bytes:
    """RFC 6455 5.2, by hand: a frame as a client sends it (masked unless key=None)."""
    n = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if key is not None else 0
    if n < 126:
        head = bytes([first, mask_bit | n])
    elif n < 65536:
        head = bytes([first, mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, mask_bit | 127]) + n.to_bytes(8, "big")
    if key is None:
        return head + payload
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def test_the_rfc_example_a_masked_hello():
    # RFC 6455 5.7: "A single-frame masked text message" containing "Hello".
    data = bytes.fromhex("818537fa213d7f9f4d5158")
    assert FrameReader().feed(data) == [WSMessage(WSMsgType.TEXT, "Hello", "")]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_each_length_encoding_is_read(size):
    payload = bytes(i % 251 for i in range(size))
    assert FrameReader().feed(client_frame(0x2, payload)) == [
        WSMessage(WSMsgType.BINARY, payload, "")
    ]


def test_a_frame_fed_one_byte_at_a_time_comes_out_once():
    reader = FrameReader()
    data = client_frame(0x1, "é".encode() * 100)
    out = []
    for i in range(len(data)):
        out += reader.feed(data[i : i + 1])
    assert out == [WSMessage(WSMsgType.TEXT, "é" * 100, "")]


def test_fragments_are_reassembled_with_control_frames_between():
    data = (
        client_frame(0x1, b"fra", fin=False)
        + client_frame(0x9, b"ping?")
        + client_frame(0x0, b"gmen", fin=False)
        + client_frame(0x0, b"ted")
    )
    assert FrameReader().feed(data) == [
        WSMessage(WSMsgType.PING, b"ping?", ""),
        WSMessage(WSMsgType.TEXT, "fragmented", ""),
    ]


def test_a_character_split_between_fragments_is_decoded():
    euro = "€".encode()  # three bytes
    data = client_frame(0x1, euro[:1], fin=False) + client_frame(0x0, euro[1:])
    assert FrameReader().feed(data) == [WSMessage(WSMsgType.TEXT, "€", "")]


def failure(data: bytes, **kwargs) -> Failure:
    out = FrameReader(**kwargs).feed(data)
    assert isinstance(out[-1], Failure), out
    return out[-1]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (client_frame(0x1, b"hi", key=None), 1002),  # 5.1: unmasked
        (client_frame(0x1, b"hi", rsv=1), 1002),  # 5.2: RSV1 without an extension
        (client_frame(0x1, b"hi", rsv=4), 1002),
        (client_frame(0x3, b"hi"), 1002),  # reserved data opcode
        (client_frame(0xB, b"hi"), 1002),  # reserved control opcode
        (client_frame(0x9, b"x" * 126), 1002),  # 5.5: control frame over 125 bytes
        (client_frame(0x9, b"x", fin=False), 1002),  # 5.5: fragmented control frame
        (client_frame(0x0, b"x"), 1002),  # a continuation of nothing
        (client_frame(0x1, b"a", fin=False) + client_frame(0x1, b"b"), 1002),  # no FIN yet
        (client_frame(0x1, b"\xff"), 1007),  # 8.1: not UTF-8
        (client_frame(0x8, b"\x03"), 1002),  # 5.5.1: a 1-byte close payload
        (client_frame(0x8, struct.pack("!H", 1005)), 1002),  # 7.4.1: never sent
        (client_frame(0x8, struct.pack("!H", 1006)), 1002),
        (client_frame(0x8, struct.pack("!H", 1004)), 1002),
        (client_frame(0x8, struct.pack("!H", 1015)), 1002),
        (client_frame(0x8, struct.pack("!H", 999)), 1002),
        (client_frame(0x8, struct.pack("!H", 2000)), 1002),
        (client_frame(0x8, struct.pack("!H", 5000)), 1002),
        (client_frame(0x8, struct.pack("!H", 1000) + b"\xc3"), 1007),  # reason not UTF-8
    ],
)
def test_broken_rules_fail_with_the_rfc_close_code(data, code):
    assert failure(data).code == code


def test_invalid_utf8_fails_on_the_first_fragment_before_the_message_ends():
    # 8.1 and Autobahn 6.4: fail fast. The second fragment never comes.
    out = FrameReader().feed(client_frame(0x1, b"ok\xf8", fin=False))
    assert out == [Failure(1007, out[0].reason)]


def test_invalid_utf8_split_across_fragments_fails():
    # 0xE2 0x82 starts a three-byte character; 0x28 cannot end it.
    data = client_frame(0x1, b"\xe2", fin=False) + client_frame(0x0, b"\x82\x28")
    assert failure(data).code == 1007


def test_a_text_that_ends_inside_a_character_fails():
    assert failure(client_frame(0x1, b"\xe2\x82")).code == 1007


def test_a_message_over_max_msg_size_fails_with_1009_before_its_payload_arrives():
    head_only = client_frame(0x2, b"", length=2000)  # says 2000 bytes; none sent
    assert failure(head_only, max_msg_size=1000).code == 1009


def test_max_msg_size_counts_the_whole_fragmented_message():
    data = client_frame(0x2, b"x" * 600, fin=False) + client_frame(0x0, b"x" * 600)
    assert failure(data, max_msg_size=1000).code == 1009
    assert FrameReader(max_msg_size=1200).feed(data)[0].data == b"x" * 1200
    assert FrameReader(max_msg_size=0).feed(data)[0].data == b"x" * 1200  # 0: no limit


def test_a_64_bit_length_with_its_top_bit_set_fails():
    data = bytes([0x82, 0xFF]) + (1 << 63).to_bytes(8, "big") + b"\0\0\0\0"
    assert failure(data, max_msg_size=0).code == 1002


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 1012, 1014, 3000, 4999])
def test_valid_close_codes_and_reasons_are_read(code):
    data = client_frame(0x8, struct.pack("!H", code) + "au revoir é".encode())
    assert FrameReader().feed(data) == [WSMessage(WSMsgType.CLOSE, code, "au revoir é")]


def test_an_empty_close_reads_as_1005_and_nothing_after_a_close_is_parsed():
    reader = FrameReader()
    data = client_frame(0x8) + client_frame(0x1, b"late")
    assert reader.feed(data) == [WSMessage(WSMsgType.CLOSE, 1005, "")]
    assert reader.feed(client_frame(0x1, b"later")) == []


def test_nothing_is_parsed_after_a_failure():
    reader = FrameReader()
    assert isinstance(reader.feed(client_frame(0x3))[0], Failure)
    assert reader.feed(client_frame(0x1, b"hi")) == []


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_server_frames_are_unmasked_with_the_shortest_length(size):
    data = frame(0x2, b"z" * size)
    assert data[0] == 0x82
    assert data[1] & 0x80 == 0  # 5.1: a server never masks
    if size < 126:
        assert data[1] == size and len(data) == 2 + size
    elif size < 65536:
        assert data[1] == 126 and data[2:4] == size.to_bytes(2, "big")
    else:
        assert data[1] == 127 and data[2:10] == size.to_bytes(8, "big")


def test_a_fragment_without_fin_and_a_close_payload():
    assert frame(0x1, b"a", fin=False)[0] == 0x01
    assert close_payload(1001, "bye") == b"\x03\xe9bye"
    assert close_payload(None) == b""
    with pytest.raises(ValueError, match="123 bytes"):
        close_payload(1000, "x" * 124)


def test_wsmessage_json():
    assert WSMessage(WSMsgType.TEXT, '{"a": [1]}', "").json() == {"a": [1]}

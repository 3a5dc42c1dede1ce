"""The transport's own Content-Encoding decoder: bounded steps, every coding hossctl may meet.

httpx inflates each network read in one call, so a 2 KB body sent as ``gzip, gzip`` took
2 GB before the body cap could see it (``tests/integration/test_hostile_server.py``). The
transport now decodes bodies itself; these tests pin what it accepts and that no piece it
hands on is ever larger than INFLATE_STEP, whatever the compression ratio.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable

import pytest

from hossctl.live.transport import INFLATE_STEP, _BadEncoding, _Decoder

BODY = b'[{"name": "default", "description": "d"}]' * 1000


def _decode(header: str | None, chunks: Iterable[bytes]) -> list[bytes]:
    decoder = _Decoder(header)
    pieces: list[bytes] = []
    for chunk in chunks:
        pieces.extend(decoder.feed(chunk))
    pieces.extend(decoder.finish())
    return pieces


def _split(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("header", "encoded"),
    [
        (None, BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY, mtime=0)),
        ("x-gzip", gzip.compress(BODY, mtime=0)),
        ("GZIP", gzip.compress(BODY, mtime=0)),
        ("deflate", zlib.compress(BODY)),  # as the RFC says: zlib-wrapped
        ("deflate", _raw_deflate(BODY)),  # as some servers send it: raw
        ("gzip, identity", gzip.compress(BODY, mtime=0)),
        ("deflate, gzip", gzip.compress(zlib.compress(BODY), mtime=0)),  # applied in this order
    ],
)
def test_every_accepted_coding_decodes_exactly(header: str | None, encoded: bytes) -> None:
    assert b"".join(_decode(header, _split(encoded))) == BODY


def test_no_piece_is_larger_than_a_step_even_for_a_double_bomb() -> None:
    bomb = gzip.compress(gzip.compress(bytes(16 * INFLATE_STEP), 9), 9)
    assert len(bomb) < 2000
    decoder = _Decoder("gzip, gzip")
    total = 0
    for piece in decoder.feed(bomb):
        assert 0 < len(piece) <= INFLATE_STEP
        total += len(piece)
    for piece in decoder.finish():
        total += len(piece)
    assert total == 16 * INFLATE_STEP


def test_data_after_the_end_of_the_stream_is_dropped() -> None:
    assert b"".join(_decode("gzip", [gzip.compress(BODY) + b"trailing junk" * 100])) == BODY


def test_an_empty_body_with_a_coding_is_empty() -> None:
    assert _decode("gzip", []) == []


@pytest.mark.parametrize(
    ("header", "cause"),
    [
        ("br", "sent a body in a Content-Encoding hossctl cannot decode ('br')"),
        ("gzip, compress", "sent a body in a Content-Encoding hossctl cannot decode ('gzip, compress')"),
        ("gzip, gzip, gzip", "sent a body encoded 3 times over (Content-Encoding 'gzip, gzip, gzip')"),
    ],
)
def test_a_coding_hossctl_does_not_decode_is_refused(header: str, cause: str) -> None:
    with pytest.raises(_BadEncoding) as raised:
        _decode(header, [b"{}"])
    assert raised.value.cause == cause
    assert _decode(header, [b""]) == []  # an empty body in it is just empty


@pytest.mark.parametrize("header", ["gzip", "deflate"])
def test_a_body_that_does_not_decode_is_refused(header: str) -> None:
    with pytest.raises(_BadEncoding) as raised:
        _decode(header, [b"[" + bytes(range(256)) * 4])
    assert raised.value.cause == f"sent a body of invalid {header} data (its Content-Encoding)"

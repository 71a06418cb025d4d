"""fasthttp.decoders: lines, charsets and content codings, incremental and bounded."""

from __future__ import annotations

import gzip
import itertools
import random
import re
import struct
import tracemalloc
import zlib
from collections.abc import Iterable, Iterator
from functools import cache

import pytest

from fasthttp import decoders
from fasthttp.decoders import (
    DEFAULT_STEP,
    BrotliDecoder,
    ContentDecoder,
    DeflateDecoder,
    GZipDecoder,
    IdentityDecoder,
    LineDecoder,
    StackedDecoder,
    TextDecoder,
    build_decoder,
    charset_from_content_type,
)
from fasthttp.exceptions import DecodingError, ResponseTooLarge

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test-only extra
    HAVE_HYPOTHESIS = False
else:
    HAVE_HYPOTHESIS = True

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is optional
    brotli = None
needs_brotli = pytest.mark.skipif(brotli is None, reason="the brotli package is not installed")

MIB = 1024 * 1024


# --------------------------------------------------------------------------- helpers


def reference_lines(text: str) -> list[str]:
    """What splitting ``text`` on CRLF/LF/CR should give (no empty line after a final break)."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()
    return lines


def feed_lines(decoder: LineDecoder, chunks: Iterable[str]) -> list[str]:
    out: list[str] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out + decoder.flush()


def split_at(data: bytes | str, cuts: Iterable[int]) -> list:  # type: ignore[type-arg]
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def random_chunks(data: bytes, seed: int, biggest: int = 5000) -> Iterator[bytes]:
    rng = random.Random(seed)
    start = 0
    while start < len(data):
        size = rng.randint(1, biggest)
        yield data[start : start + size]
        start += size


def decode_all(decoder: ContentDecoder, chunks: Iterable[bytes]) -> bytes:
    out: list[bytes] = []
    for chunk in chunks:
        for piece in decoder.decode_iter(chunk):
            assert 0 < len(piece) <= decoder.step
            out.append(piece)
    out.extend(decoder.flush_iter())
    return b"".join(out)


def sample_payload(seed: int = 0, size: int = 300_000) -> bytes:
    rng = random.Random(seed)
    parts: list[bytes] = []
    while sum(map(len, parts)) < size:
        parts.append(rng.choice([b"hello world ", rng.randbytes(rng.randint(1, 200)), b"a" * 900]))
    return b"".join(parts)[:size]


def raw_deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return comp.compress(data) + comp.flush()


@cache
def gzip_of_zeros(mib: int) -> bytes:
    """A valid gzip member of ``mib`` MiB of zeros, built without compressing them all.

    Each MiB is compressed as an independent full-flush block; those blocks are
    byte-identical, so the stream is one block repeated, then the final block and
    the trailer (CRC-32 and size).
    """
    zero = bytes(MIB)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = comp.compress(zero) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(zero) + comp.flush(zlib.Z_FULL_FLUSH) == block
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zero, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return header + block * mib + comp.flush() + trailer


@cache
def gzip_gzip_bomb(mib: int) -> bytes:
    """A ``Content-Encoding: gzip, gzip`` body that decodes to ``mib`` MiB of zeros."""
    return gzip.compress(gzip_of_zeros(mib), compresslevel=9, mtime=0)


# --------------------------------------------------------------------------- LineDecoder


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb\n", ["a", "b"]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\rb\r", ["a", "b"]),
        ("a\nb\r\nc\rd", ["a", "b", "c", "d"]),
        ("a\n\nb\n", ["a", "", "b"]),
        ("\n\n", ["", ""]),
        ("\r\r\n", ["", ""]),
        ("\n\r", ["", ""]),
        ("no terminator", ["no terminator"]),
        ("", []),
    ],
)
def test_line_terminators(text: str, lines: list[str]) -> None:
    """LF, CRLF and CR each end a line; the terminator is removed and blank lines are kept."""
    assert feed_lines(LineDecoder(), [text]) == lines


def test_cr_then_lf_across_chunks_is_one_break() -> None:
    """A CR ending one chunk and a LF starting the next are one line break, not two."""
    decoder = LineDecoder()
    assert decoder.feed("a\r") == ["a"]
    assert decoder.feed("\nb\r") == ["b"]
    assert decoder.feed("\n") == []
    assert decoder.feed("c\n") == ["c"]
    assert decoder.flush() == []


def test_cr_line_is_returned_without_waiting_for_the_next_chunk() -> None:
    """A line ended by CR at the end of a chunk is returned at once (no latency for SSE)."""
    decoder = LineDecoder()
    assert decoder.feed("data: x\r") == ["data: x"]
    assert decoder.feed("\r") == [""]


def test_cr_then_other_text_is_a_break() -> None:
    """A CR at the end of a chunk followed by anything but LF still ended the line."""
    assert feed_lines(LineDecoder(), ["a\r", "b\r", "\r", "c"]) == ["a", "b", "", "c"]


def test_line_split_across_many_chunks() -> None:
    """A line fed one character at a time comes out whole, once."""
    text = "a long line that arrives one character at a time\r\nnext\n"
    assert feed_lines(LineDecoder(), list(text)) == ["a long line that arrives one character at a time", "next"]


def test_flush_returns_unterminated_last_line_once() -> None:
    """flush() returns the partial last line, and nothing on a second call."""
    decoder = LineDecoder()
    assert decoder.feed("a\nb") == ["a"]
    assert decoder.flush() == ["b"]
    assert decoder.flush() == []


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"])
def test_only_cr_and_lf_split_lines(separator: str) -> None:
    """Characters str.splitlines() treats as breaks (U+2028, FF, VT...) stay inside the line."""
    assert feed_lines(LineDecoder(), [f"a{separator}b\n"]) == [f"a{separator}b"]


def test_every_split_point_gives_the_same_lines() -> None:
    """Cutting a mixed-terminator text at every pair of points changes nothing."""
    text = "ab\r\ncd\ref\n\r\n\rgh\r"
    expected = reference_lines(text)
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            assert feed_lines(LineDecoder(), [text[:i], text[i:j], text[j:]]) == expected, (i, j)


def test_line_too_long_in_one_chunk() -> None:
    """A complete line longer than max_line_length raises DecodingError naming the limit."""
    with pytest.raises(DecodingError, match=r"longer than 10 characters.*max_line_length"):
        LineDecoder(max_line_length=10).feed("short\n" + "x" * 11 + "\n")


def test_partial_line_cannot_grow_without_bound() -> None:
    """An unterminated line growing chunk by chunk raises once it passes the limit."""
    decoder = LineDecoder(max_line_length=100)
    for _ in range(10):
        decoder.feed("x" * 10)
    with pytest.raises(DecodingError):
        decoder.feed("x")


def test_line_exactly_at_limit_is_accepted() -> None:
    """A line of exactly max_line_length characters is fine, split or not."""
    assert LineDecoder(max_line_length=10).feed("x" * 10 + "\n") == ["x" * 10]
    assert feed_lines(LineDecoder(max_line_length=10), ["x" * 5, "x" * 5, "\ny"]) == ["x" * 10, "y"]


def test_long_chunk_of_short_lines_is_not_refused() -> None:
    """The limit is per line: a chunk far longer than it, made of short lines, is fine."""
    assert len(LineDecoder(max_line_length=10).feed("abc\n" * 1000)) == 1000


def test_line_limit_none_is_unbounded() -> None:
    """max_line_length=None accepts any line."""
    assert LineDecoder(max_line_length=None).feed("x" * (3 * MIB) + "\n") == ["x" * (3 * MIB)]


def test_default_line_limit_is_one_mib() -> None:
    """The default limit is 1 MiB of characters."""
    assert LineDecoder().max_line_length == decoders.DEFAULT_MAX_LINE_LENGTH == MIB


def test_invalid_line_limit() -> None:
    """A zero or negative max_line_length is a ValueError."""
    with pytest.raises(ValueError, match="max_line_length"):
        LineDecoder(max_line_length=0)


# --------------------------------------------------------------------------- TextDecoder


def test_multibyte_characters_split_at_every_byte() -> None:
    """2-, 3- and 4-byte UTF-8 characters cut at every byte boundary decode correctly."""
    text = "aé€😀z" * 3
    data = text.encode()
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            decoder = TextDecoder("utf-8")
            parts = [decoder.decode(data[:i]), decoder.decode(data[i:j]), decoder.decode(data[j:])]
            assert "".join(parts) + decoder.flush() == text, (i, j)


def test_every_byte_fed_alone() -> None:
    """Feeding one byte at a time works for utf-8, utf-16 and gb18030."""
    text = "héllo wörld 日本語 😀"
    for encoding in ("utf-8", "utf-16", "utf-16-le", "gb18030"):
        data = text.encode(encoding)
        decoder = TextDecoder(encoding)
        assert "".join(decoder.decode(data[i : i + 1]) for i in range(len(data))) + decoder.flush() == text


def test_invalid_bytes_are_replaced() -> None:
    """Bytes that are not valid in the charset become U+FFFD (errors='replace')."""
    decoder = TextDecoder("utf-8")
    assert decoder.decode(b"a\xffb") + decoder.flush() == "a\ufffdb"


def test_truncated_character_at_end_becomes_replacement() -> None:
    """An incomplete character at the end of the body is U+FFFD after flush()."""
    decoder = TextDecoder("utf-8")
    assert decoder.decode("€".encode()[:2]) == ""
    assert decoder.flush() == "\ufffd"


def test_strict_errors_can_be_asked_for() -> None:
    """errors='strict' raises on invalid bytes."""
    with pytest.raises(UnicodeDecodeError):
        TextDecoder("utf-8", errors="strict").decode(b"\xff")


@pytest.mark.parametrize("charset", ["no-such-charset", "zlib", "base64", "rot13", "hex", "undefined", "", None])
def test_unknown_or_non_text_charset_falls_back_to_utf8(charset: str | None) -> None:
    """An unknown charset, or a bytes codec such as zlib (a bomb), falls back to utf-8."""
    decoder = TextDecoder(charset)
    assert decoder.encoding == "utf-8"
    assert decoder.decode("é".encode()) == "é"


def test_known_charset_is_used() -> None:
    """A known charset is normalised and used."""
    decoder = TextDecoder("Latin-1")
    assert decoder.encoding == "iso8859-1"
    assert decoder.decode(b"\xe9") == "é"


@pytest.mark.parametrize(
    ("value", "charset"),
    [
        ("text/html; charset=UTF-8", "utf-8"),
        ('text/html; charset="ISO-8859-1"', "iso-8859-1"),
        ("text/plain;charset=utf-8;format=flowed", "utf-8"),
        ("text/plain; format=flowed; CHARSET = koi8-r ", "koi8-r"),
        ("text/plain", None),
        ("text/plain; charset=", None),
        ('text/plain; charset=""', None),
        ("", None),
        (None, None),
        ("application/json; foo=bar", None),
    ],
)
def test_charset_from_content_type(value: str | None, charset: str | None) -> None:
    """The charset parameter is found case-insensitively, unquoted and lower-cased."""
    assert charset_from_content_type(value) == charset


def test_text_decoder_for_content_type() -> None:
    """TextDecoder.for_content_type picks the charset the header names."""
    assert TextDecoder.for_content_type("text/plain; charset=latin-1").decode(b"\xe9") == "é"
    assert TextDecoder.for_content_type(None).encoding == "utf-8"


# --------------------------------------------------------------------------- build_decoder


@pytest.mark.parametrize("header", [None, "", "identity", " Identity ", "identity, identity"])
def test_no_coding_is_identity(header: str | None) -> None:
    """No header, an empty one or identity gives the identity decoder."""
    decoder = build_decoder(header, max_decoded_size=None)
    assert isinstance(decoder, IdentityDecoder)
    assert decoder.decode(b"abc") == b"abc"


@pytest.mark.parametrize(
    ("header", "cls"),
    [("gzip", GZipDecoder), ("GZIP", GZipDecoder), ("x-gzip", GZipDecoder), (" deflate ", DeflateDecoder)],
)
def test_coding_names(header: str, cls: type[ContentDecoder]) -> None:
    """Coding names are case-insensitive, trimmed, and x-gzip means gzip."""
    assert isinstance(build_decoder(header, max_decoded_size=None), cls)


def test_identity_splits_into_steps_and_counts() -> None:
    """Identity output is cut into pieces of at most step bytes and counted."""
    decoder = build_decoder(None, max_decoded_size=None, step=100)
    pieces = list(decoder.decode_iter(b"x" * 250))
    assert [len(p) for p in pieces] == [100, 100, 50]
    assert decoder.decoded_size == 250


def test_identity_cap_message_does_not_mention_compression() -> None:
    """An uncompressed body over the cap raises ResponseTooLarge without talking about bombs."""
    decoder = build_decoder(None, max_decoded_size=10)
    decoder.decode(b"x" * 10)
    with pytest.raises(ResponseTooLarge, match="larger than 10 bytes") as info:
        decoder.decode(b"x")
    assert "bomb" not in str(info.value)
    assert info.value.request is None


def test_too_many_codings_refused_before_decoding() -> None:
    """Three stacked codings are refused by build_decoder itself, before any byte is decoded."""
    with pytest.raises(DecodingError, match=r"3 stacked content codings.*more than the 2 allowed"):
        build_decoder("gzip, gzip, gzip", max_decoded_size=None)


def test_max_codings_can_be_raised() -> None:
    """max_codings=3 accepts three gzip layers and decodes them."""
    body = gzip.compress(gzip.compress(gzip.compress(b"deep")))
    decoder = build_decoder("gzip, gzip, gzip", max_decoded_size=None, max_codings=3)
    assert decoder.decode(body) + decoder.flush() == b"deep"


def test_unknown_coding_passes_through_but_counts() -> None:
    """An unknown coding is passed through (as browsers do), listed in .ignored, and counted."""
    decoder = build_decoder("utf-8", max_decoded_size=None)
    assert decoder.ignored == ("utf-8",)
    assert decoder.decode(b"plain") == b"plain"
    with pytest.raises(DecodingError):
        build_decoder("foo, bar, gzip", max_decoded_size=None)


@pytest.mark.parametrize("coding", ["zstd", "compress", "x-compress"])
def test_known_unsupported_codings_are_refused(coding: str) -> None:
    """zstd and compress are known but unsupported: a DecodingError says so."""
    with pytest.raises(DecodingError, match=f"{coding} is"):
        build_decoder(coding, max_decoded_size=None)


def test_brotli_missing_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the brotli package, a br body raises DecodingError saying what to install."""
    monkeypatch.setattr(decoders, "_brotli", None)
    with pytest.raises(DecodingError, match="pip install brotli"):
        build_decoder("br", max_decoded_size=None)


def test_invalid_step() -> None:
    """A zero step is a ValueError."""
    with pytest.raises(ValueError, match="step"):
        build_decoder("gzip", max_decoded_size=None, step=0)


# --------------------------------------------------------------------------- round trips


CODINGS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw deflate": raw_deflate,
}


@pytest.mark.parametrize("name", list(CODINGS))
@pytest.mark.parametrize("seed", range(4))
def test_round_trip_random_chunks(name: str, seed: int) -> None:
    """gzip, zlib-wrapped deflate and raw deflate decode correctly under random chunk splits."""
    data = sample_payload(seed)
    header = "gzip" if name == "gzip" else "deflate"
    decoder = build_decoder(header, max_decoded_size=None, step=4096)
    assert decode_all(decoder, random_chunks(CODINGS[name](data), seed)) == data
    assert decoder.decoded_size == len(data)


@needs_brotli
@pytest.mark.parametrize("seed", range(4))
def test_brotli_round_trip_random_chunks(seed: int) -> None:
    """br decodes correctly under random chunk splits."""
    data = sample_payload(seed)
    decoder = build_decoder("br", max_decoded_size=None, step=4096)
    assert isinstance(decoder, BrotliDecoder)
    assert decode_all(decoder, random_chunks(brotli.compress(data), seed)) == data


@needs_brotli
def test_brotli_without_output_limit_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a brotli older than 1.2 (no output_buffer_limit), input slices still decode correctly."""
    monkeypatch.setattr(decoders, "_brotli_bounded", False)
    data = sample_payload(7)
    decoder = build_decoder("br", max_decoded_size=None, step=4096)
    assert decode_all(decoder, random_chunks(brotli.compress(data), 7)) == data


@pytest.mark.parametrize("header", ["gzip", "deflate", "br", "gzip, gzip"])
def test_every_byte_fed_alone_round_trip(header: str) -> None:
    """Feeding a compressed body one byte at a time works for every coding."""
    if header == "br" and brotli is None:
        pytest.skip("the brotli package is not installed")
    data = b"one byte at a time, " * 50
    body = {
        "gzip": gzip.compress(data),
        "deflate": zlib.compress(data),
        "br": brotli.compress(data) if brotli else b"",
        "gzip, gzip": gzip.compress(gzip.compress(data)),
    }[header]
    decoder = build_decoder(header, max_decoded_size=None)
    assert decode_all(decoder, (body[i : i + 1] for i in range(len(body)))) == data


def test_stacked_gzip_gzip() -> None:
    """Content-Encoding: gzip, gzip undoes both layers, lazily, into step-sized pieces."""
    data = sample_payload(3)
    decoder = build_decoder("gzip, gzip", max_decoded_size=None, step=1000)
    assert isinstance(decoder, StackedDecoder)
    assert decode_all(decoder, random_chunks(gzip.compress(gzip.compress(data)), 3, 300)) == data
    assert decoder.decoded_size == len(data)


@needs_brotli
def test_stacked_codings_are_undone_in_reverse_order() -> None:
    """gzip, br means gzip was applied first, so brotli is undone first."""
    data = sample_payload(4)
    body = brotli.compress(gzip.compress(data))
    decoder = build_decoder("gzip, br", max_decoded_size=None)
    assert [layer.coding for layer in decoder.layers] == ["br", "gzip"]  # type: ignore[attr-defined]
    assert decode_all(decoder, random_chunks(body, 4)) == data


def test_decode_and_decode_iter_agree() -> None:
    """decode() returns exactly what decode_iter() yields, joined."""
    body = gzip.compress(sample_payload(5))
    one, two = build_decoder("gzip", max_decoded_size=None), build_decoder("gzip", max_decoded_size=None)
    chunks = list(random_chunks(body, 5))
    assert (
        b"".join(one.decode(c) for c in chunks) + one.flush()
        == b"".join(b"".join(two.decode_iter(c)) for c in chunks) + two.flush()
    )


@pytest.mark.parametrize("header", ["gzip", "deflate", "br", "gzip, gzip"])
def test_empty_body_is_valid(header: str) -> None:
    """A body with no bytes at all (HEAD, 204) decodes to nothing, without a truncation error."""
    if header == "br" and brotli is None:
        pytest.skip("the brotli package is not installed")
    decoder = build_decoder(header, max_decoded_size=None)
    assert decoder.decode(b"") == b""
    assert decoder.flush() == b""


def test_gzip_multiple_members() -> None:
    """Concatenated gzip members decode to the concatenated data, even split mid-magic."""
    body = gzip.compress(b"first ") + gzip.compress(b"") + gzip.compress(b"second")
    expected = b"first second"
    for cut in range(len(body) + 1):
        decoder = GZipDecoder()
        assert decode_all(decoder, [body[:cut], body[cut:]]) == expected, cut


def test_gzip_trailing_garbage_is_ignored() -> None:
    """Bytes after a complete gzip member that are not another member are ignored."""
    decoder = GZipDecoder()
    assert decode_all(decoder, [gzip.compress(b"data") + b"\x00\x00 junk", b"more junk"]) == b"data"


def test_gzip_accepts_zlib_wrapped_body() -> None:
    """A zlib-wrapped stream sent as gzip is accepted."""
    assert decode_all(GZipDecoder(), [zlib.compress(b"mislabelled")]) == b"mislabelled"


def test_deflate_one_byte_then_rest() -> None:
    """The zlib/raw choice waits for two bytes when the first chunk has one."""
    for body in (zlib.compress(b"wrapped"), raw_deflate(b"raw")):
        decoder = DeflateDecoder()
        assert decoder.decode(body[:1]) == b""
        assert decoder.decode(body[1:]) + decoder.flush() in (b"wrapped", b"raw")


def test_trailing_bytes_after_deflate_end_are_ignored() -> None:
    """Bytes after the end of a deflate stream are ignored."""
    assert decode_all(DeflateDecoder(), [zlib.compress(b"x") + b"tail", b"more"]) == b"x"


@needs_brotli
@pytest.mark.parametrize("same_chunk", [True, False])
def test_trailing_bytes_after_brotli_end_are_corrupt(same_chunk: bool) -> None:
    """Bytes after the end of a brotli stream raise DecodingError, in the same chunk or later."""
    body = brotli.compress(b"y")
    chunks = [body + b"tail"] if same_chunk else [body, b"tail"]
    with pytest.raises(DecodingError, match="as br"):
        decode_all(BrotliDecoder(), chunks)


# --------------------------------------------------------------------------- corrupt and truncated


def test_corrupt_gzip_raises_decoding_error() -> None:
    """Bytes that are not gzip raise DecodingError with a sentence naming the coding."""
    decoder = build_decoder("gzip", max_decoded_size=None)
    with pytest.raises(DecodingError, match=r"could not be decoded as gzip.*Content-Encoding: gzip") as info:
        decoder.decode(b"this is not gzip at all")
    assert info.value.request is None


def test_gzip_with_bad_checksum_raises() -> None:
    """A gzip body whose CRC does not match raises DecodingError."""
    body = bytearray(gzip.compress(b"payload" * 100))
    body[-6] ^= 0xFF  # inside the CRC-32
    with pytest.raises(DecodingError):
        decode_all(GZipDecoder(), [bytes(body)])


def test_corrupt_deflate_and_brotli_raise_decoding_error() -> None:
    """Corrupt deflate and brotli bodies raise DecodingError."""
    body = bytearray(zlib.compress(sample_payload(1)))
    body[len(body) // 2 : len(body) // 2 + 8] = b"\xff" * 8
    with pytest.raises(DecodingError, match="deflate"):
        decode_all(DeflateDecoder(), [bytes(body)])
    if brotli is not None:
        with pytest.raises(DecodingError, match="as br"):
            decode_all(BrotliDecoder(), [b"\xff\xff\xff\xff not brotli"])


@pytest.mark.parametrize("header", ["gzip", "deflate", "br", "gzip, gzip"])
def test_truncated_body_raises_on_flush(header: str) -> None:
    """A compressed stream cut before its end marker raises DecodingError from flush()."""
    if header == "br" and brotli is None:
        pytest.skip("the brotli package is not installed")
    data = sample_payload(2, 50_000)
    body = {
        "gzip": gzip.compress(data),
        "deflate": zlib.compress(data),
        "br": brotli.compress(data) if brotli else b"",
        "gzip, gzip": gzip.compress(gzip.compress(data)),
    }[header]
    decoder = build_decoder(header, max_decoded_size=None)
    decoder.decode(body[:-10])
    with pytest.raises(DecodingError, match="truncated"):
        decoder.flush()


def test_single_byte_deflate_body_is_truncated() -> None:
    """A deflate body of one byte is an unfinished stream."""
    decoder = DeflateDecoder()
    decoder.decode(b"x")
    with pytest.raises(DecodingError, match="truncated"):
        decoder.flush()


# --------------------------------------------------------------------------- size caps and memory


def test_bomb_helper_builds_a_valid_stream() -> None:
    """The test's bomb builder produces a valid gzip body of the stated size."""
    assert gzip.decompress(gzip_gzip_bomb(4)) == gzip_of_zeros(4)
    assert gzip.decompress(gzip_of_zeros(4)) == bytes(4 * MIB)


def test_gzip_bomb_stops_at_cap_with_small_peak_memory() -> None:
    """A ~4 KB gzip,gzip body that would expand to 1 GiB raises ResponseTooLarge; peak < 10 MiB."""
    body = gzip_gzip_bomb(1024)
    assert len(body) < 4096
    decoder = build_decoder("gzip, gzip", max_decoded_size=10 * MIB)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            for chunk in random_chunks(body, 1, 512):
                for _piece in decoder.decode_iter(chunk):
                    pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * MIB, peak
    message = str(info.value)
    assert "10485760 bytes" in message
    assert "compressed (Content-Encoding: gzip, gzip)" in message
    assert "decompression bomb" in message
    assert "max_body_size" in message and "None" in message


def test_decode_iter_bounds_memory_without_a_cap() -> None:
    """With no cap, decoding 128 MiB through decode_iter never holds more than a few steps."""
    body = gzip_gzip_bomb(128)
    decoder = build_decoder("gzip, gzip", max_decoded_size=None)
    total = 0
    tracemalloc.start()
    try:
        for piece in decoder.decode_iter(body):
            assert len(piece) <= DEFAULT_STEP
            total += len(piece)
        decoder.flush()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 128 * MIB
    assert peak < 10 * MIB, peak


@needs_brotli
def test_brotli_bomb_stops_at_cap_with_small_peak_memory() -> None:
    """A brotli body expanding 64 MiB raises ResponseTooLarge at a 1 MiB cap with small peak memory."""
    body = brotli.compress(bytes(64 * MIB), quality=1)
    decoder = build_decoder("br", max_decoded_size=MIB)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge, match="Content-Encoding: br"):
            for _piece in decoder.decode_iter(body):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB, peak


@needs_brotli
def test_brotli_steps_are_bounded() -> None:
    """Every brotli output piece is at most step bytes even for a hugely compressible body."""
    body = brotli.compress(bytes(8 * MIB), quality=1)
    sizes = [len(p) for p in build_decoder("br", max_decoded_size=None, step=10_000).decode_iter(body)]
    assert max(sizes) <= 10_000
    assert sum(sizes) == 8 * MIB


def test_cap_is_inclusive() -> None:
    """A body of exactly max_decoded_size bytes is accepted; one more byte is refused."""
    data = b"z" * 5000
    ok = build_decoder("gzip", max_decoded_size=5000)
    assert decode_all(ok, [gzip.compress(data)]) == data
    with pytest.raises(ResponseTooLarge, match="more than 4999 bytes"):
        decode_all(build_decoder("gzip", max_decoded_size=4999), [gzip.compress(data)])


def test_cap_applies_to_inner_layers() -> None:
    """An intermediate layer over the cap is refused even when the final output is tiny."""
    empty_members = gzip.compress(b"", mtime=0) * 1000  # ~20 KB that decodes to nothing
    body = gzip.compress(empty_members)
    assert decode_all(build_decoder("gzip, gzip", max_decoded_size=None), [body]) == b""
    with pytest.raises(ResponseTooLarge):
        decode_all(build_decoder("gzip, gzip", max_decoded_size=1000), [body])


def test_decoded_size_counts_output() -> None:
    """decoded_size reports the bytes produced so far."""
    decoder = build_decoder("deflate", max_decoded_size=None)
    decoder.decode(zlib.compress(b"12345"))
    assert decoder.decoded_size == 5


# --------------------------------------------------------------------------- property-based


if HAVE_HYPOTHESIS:
    _fast = settings(max_examples=150, deadline=None, database=None)
    line_text = st.text(alphabet="ab\r\n é😀", max_size=60)
    cut_points = st.lists(st.integers(min_value=0, max_value=10_000), max_size=8)

    @_fast
    @given(text=line_text, cuts=cut_points)
    def test_property_lines_independent_of_chunking(text: str, cuts: list[int]) -> None:
        """Any split of any text gives the same lines as the unsplit text and the reference."""
        assert feed_lines(LineDecoder(), split_at(text, cuts)) == reference_lines(text)

    @_fast
    @given(
        text=st.text(max_size=80),
        encoding=st.sampled_from(["utf-8", "utf-16", "utf-32", "gb18030", "iso8859-1"]),
        cuts=cut_points,
    )
    def test_property_text_independent_of_chunking(text: str, encoding: str, cuts: list[int]) -> None:
        """Any split of encoded text decodes to the same string as the unsplit bytes."""
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
            encoding = "utf-8"
        decoder = TextDecoder(encoding)
        assert "".join(decoder.decode(part) for part in split_at(data, cuts)) + decoder.flush() == data.decode(
            encoding, "replace"
        )

    @settings(max_examples=60, deadline=None, database=None)
    @given(
        data=st.binary(max_size=3000) | st.text(alphabet="abc \n", max_size=3000).map(str.encode),
        header=st.sampled_from(["gzip", "deflate", "raw", "br", "gzip, gzip"]),
        cuts=cut_points,
        step=st.integers(min_value=1, max_value=2000),
    )
    def test_property_codings_independent_of_chunking(data: bytes, header: str, cuts: list[int], step: int) -> None:
        """Any split of a compressed body, at any step size, decodes to the original bytes."""
        if header == "br" and brotli is None:
            return
        body = {
            "gzip": gzip.compress,
            "deflate": zlib.compress,
            "raw": raw_deflate,
            "br": brotli.compress if brotli else bytes,
            "gzip, gzip": lambda d: gzip.compress(gzip.compress(d)),
        }[header](data)
        decoder = build_decoder("deflate" if header == "raw" else header, max_decoded_size=None, step=step)
        assert decode_all(decoder, split_at(body, cuts)) == data

else:  # pragma: no cover

    def test_property_tests_need_hypothesis() -> None:
        """The property-based tests run only when hypothesis is installed."""
        pytest.skip("hypothesis is not installed: pip install hypothesis")

"""Sans-IO body decoders: content codings, charsets and lines.

Nothing here touches a socket, a clock or a file. The transport feeds the bytes it
read; these objects hand back decoded pieces. Each one is incremental (state
carries over between calls, so a chunk may end anywhere: inside a gzip block,
inside a UTF-8 character, between ``\\r`` and ``\\n``) and bounded (a hostile
server cannot make it hold more than a fixed amount of memory).

Content codings (``Content-Encoding``, RFC 9110 §8.4)
------------------------------------------------------

* ``build_decoder(header, max_decoded_size=..., max_codings=2)`` parses the
  header, refuses more than ``max_codings`` codings *before decoding anything*
  (a chain of ``gzip, gzip, gzip, gzip`` turns 284 bytes into 50 MiB), and
  stacks one decoder per coding, undoing them in reverse order: ``gzip, br``
  means gzip was applied first, so brotli is undone first.
* ``identity`` (and an empty header) is a no-op and does not count as a coding.
  ``x-gzip`` is ``gzip``. ``compress`` and ``zstd`` are known but not supported:
  ``DecodingError``. Codings nobody has heard of are passed through untouched, as
  browsers and httpx do (listed in ``.ignored``); they still count towards
  ``max_codings``.
* ``gzip`` accepts several concatenated members (RFC 1952 §2.2). Bytes after a
  complete member that do not start a new member are ignored, as urllib3 and
  browsers do. A zlib-wrapped body sent as ``gzip`` is accepted too.
* ``deflate`` accepts both the zlib-wrapped stream RFC 9110 specifies and the raw
  deflate stream some servers send (browsers accept both): the first two bytes
  decide (a valid zlib header: method 8, window <= 32 KiB, ``(CMF*256+FLG) % 31
  == 0``).
* ``br`` needs the ``brotli`` package; without it ``DecodingError`` says so.
  Bytes after the end of a brotli stream are corrupt data (the library itself
  refuses them), unlike gzip's and deflate's trailing bytes, which are ignored.
* Memory: every decoder produces its output in steps of at most ``step`` bytes
  (default ``DEFAULT_STEP``, 64 KiB), using ``zlib``'s ``max_length`` and
  brotli's ``output_buffer_limit`` (brotli >= 1.2, whose output per call may
  overshoot the limit by one internal block, about 32 KiB, before being cut to
  ``step``). An older brotli cannot bound one call's output at all
  (CVE-2025-6176): it is fed 256-byte input slices, which bounds memory only to
  what 256 compressed bytes expand to (possibly tens of MiB) before the cap
  check; upgrade brotli. ``decode_iter()`` yields those steps lazily, so a 4 KB
  body that expands to 1 GiB never has more than about one step per coding
  alive at once. ``decode()`` joins the steps of one chunk into one ``bytes``;
  use it when the chunk's expansion is known to be small.
* ``max_decoded_size`` caps the output of *every* layer cumulatively (so an
  inner layer cannot burn CPU on a huge intermediate stream either), raising
  ``ResponseTooLarge`` as soon as a layer passes it. ``None`` lifts the cap.
* Corrupt input raises ``DecodingError``; so does ``flush()`` when a compressed
  stream that started never reached its end marker (a truncated body). An empty
  body is valid for every coding (a HEAD or 204 response with a coding header).
* Exhaust each ``decode_iter()`` before calling it again; abandoning one part
  way loses the rest of that chunk (do it only when the stream is being closed).
* After a decoder has raised, it must not be used again.

Text
----

* ``TextDecoder(encoding)`` decodes bytes to ``str`` incrementally with
  ``errors="replace"`` by default; a multi-byte character split across chunks
  decodes correctly, and ``flush()`` turns a trailing incomplete sequence into
  U+FFFD. An unknown charset, or one that is not a text encoding (``base64``,
  ``zlib``...: a ``charset=zlib_codec`` must not become a decompression bomb),
  falls back to ``utf-8``.
* ``charset_from_content_type(value)`` reads the ``charset`` parameter.

Lines
-----

* ``LineDecoder`` splits text on ``\\n``, ``\\r\\n`` and ``\\r`` only (not on the
  other characters ``str.splitlines`` knows, such as U+2028 or ``\\x0c``) and
  returns lines without their terminator. A ``\\r`` ending one chunk and a
  ``\\n`` starting the next are one line break; the line is returned as soon as
  its ``\\r`` arrives, without waiting for the next chunk.
* ``flush()`` returns the last line if the text did not end with a terminator;
  a final terminator does not produce an empty last line.
* ``max_line_length`` (characters, default ``DEFAULT_MAX_LINE_LENGTH`` = 1 MiB)
  bounds a complete line and the unterminated partial line kept between chunks;
  past it ``DecodingError`` is raised. ``None`` lifts it.
"""

from __future__ import annotations

import abc
import codecs
import zlib
from collections.abc import Iterator
from typing import Any, ClassVar

from .exceptions import DecodingError, ResponseTooLarge

__all__ = [
    "DEFAULT_MAX_CODINGS",
    "DEFAULT_MAX_LINE_LENGTH",
    "DEFAULT_STEP",
    "SUPPORTED_CODINGS",
    "BrotliDecoder",
    "ContentDecoder",
    "DeflateDecoder",
    "GZipDecoder",
    "IdentityDecoder",
    "LineDecoder",
    "StackedDecoder",
    "TextDecoder",
    "brotli_available",
    "build_decoder",
    "charset_from_content_type",
]

DEFAULT_STEP = 64 * 1024
"""Most bytes one decoding step produces (and roughly the peak memory per coding)."""

DEFAULT_MAX_CODINGS = 2
"""Most stacked content codings accepted (urllib3 allows 5, aiohttp's research says 2 is enough)."""

DEFAULT_MAX_LINE_LENGTH = 1024 * 1024
"""Longest line, in characters, ``LineDecoder`` accepts by default (1 MiB)."""

_BROTLI_INPUT_SLICE = 256  # input per call for a brotli without output_buffer_limit

try:  # optional: the "speed" extra
    import brotli as _brotli_module
except ImportError:  # pragma: no cover - depends on the environment
    _brotli: Any = None
else:
    _brotli = _brotli_module

_brotli_bounded: bool | None = None  # does Decompressor.process take output_buffer_limit?


def brotli_available() -> bool:
    """Whether ``br`` bodies can be decoded (the ``brotli`` package is importable)."""
    return _brotli is not None


def _brotli_has_output_limit() -> bool:
    global _brotli_bounded
    if _brotli_bounded is None:
        try:
            _brotli.Decompressor().process(b"", output_buffer_limit=1)
        except TypeError:  # brotli < 1.2: no way to bound one call's output
            _brotli_bounded = False
        else:
            _brotli_bounded = True
    return _brotli_bounded


# --------------------------------------------------------------------------- content codings


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


class ContentDecoder(abc.ABC):
    """Undoes one content coding incrementally, in steps of at most ``step`` bytes.

    ``max_decoded_size`` caps the total output (``ResponseTooLarge``);
    ``content_encoding`` is the whole header value, used in error messages.
    """

    coding: ClassVar[str] = ""
    compressed: ClassVar[bool] = True

    def __init__(
        self,
        *,
        step: int = DEFAULT_STEP,
        max_decoded_size: int | None = None,
        content_encoding: str | None = None,
    ) -> None:
        if step < 1:
            raise ValueError(f"step must be a positive number of bytes; got {step}.")
        if max_decoded_size is not None and max_decoded_size < 0:
            raise ValueError(f"max_decoded_size must be >= 0 or None; got {max_decoded_size}.")
        self.step = step
        self.max_decoded_size = max_decoded_size
        self.content_encoding = content_encoding or self.coding or "identity"
        self.decoded_size = 0  # bytes produced so far
        self.ignored: tuple[str, ...] = ()  # unknown codings build_decoder passed through

    # The public API ---------------------------------------------------------------------------

    def decode_iter(self, chunk: bytes) -> Iterator[bytes]:
        """Feed ``chunk``; yield the decoded output lazily, in pieces of at most ``step`` bytes."""
        return self._counted(self._decode_steps(chunk))

    def flush_iter(self) -> Iterator[bytes]:
        """Signal the end of the body; yield what is left and check the stream was complete."""
        return self._counted(self._flush_steps())

    def decode(self, chunk: bytes) -> bytes:
        """Feed ``chunk``; return all the output it produced (bounded by ``max_decoded_size``)."""
        return b"".join(self.decode_iter(chunk))

    def flush(self) -> bytes:
        """Signal the end of the body; return what is left."""
        return b"".join(self.flush_iter())

    # For subclasses ---------------------------------------------------------------------------

    @abc.abstractmethod
    def _decode_steps(self, chunk: bytes) -> Iterator[bytes]:
        """Yield the output of ``chunk`` in pieces of at most ``self.step`` bytes."""

    def _flush_steps(self) -> Iterator[bytes]:
        return iter(())

    def _counted(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        cap = self.max_decoded_size
        for piece in pieces:
            self.decoded_size += len(piece)
            if cap is not None and self.decoded_size > cap:
                raise self._too_large(cap)
            yield piece

    def _too_large(self, cap: int) -> ResponseTooLarge:
        if self.compressed:
            return ResponseTooLarge(
                f"The response body decoded to more than {cap} bytes ({_mib(cap)}), the "
                f"max_decoded_size limit. The body is compressed (Content-Encoding: "
                f"{self.content_encoding}), so a small download can expand enormously: this may "
                "be a decompression bomb. If you trust the server, raise the limit "
                "(SecurityConfig(max_body_size=...) on a session, max_decoded_size here) or set "
                "it to None to lift it."
            )
        return ResponseTooLarge(
            f"The response body is larger than {cap} bytes ({_mib(cap)}), the max_decoded_size "
            "limit. Raise the limit (SecurityConfig(max_body_size=...) on a session, "
            "max_decoded_size here) or set it to None to lift it."
        )

    def _corrupt(self, detail: object) -> DecodingError:
        return DecodingError(
            f"The response body could not be decoded as {self.coding}: the server sent "
            f"Content-Encoding: {self.content_encoding} but the bytes are corrupt or use another "
            f"format ({detail}). The server or a proxy on the way is at fault; retry, or ask for "
            "an uncompressed body with the header Accept-Encoding: identity."
        )

    def _truncated(self) -> DecodingError:
        return DecodingError(
            f"The response body ended in the middle of its {self.coding} stream (Content-Encoding:"
            f" {self.content_encoding}): the body was truncated, so the decoded data is "
            "incomplete. Retry the request; if it keeps happening, the server or a proxy cuts "
            "its compressed responses short."
        )

    def _sliced(self, data: bytes) -> Iterator[bytes]:
        step = self.step
        if len(data) <= step:
            if data:
                yield data
            return
        for start in range(0, len(data), step):
            yield data[start : start + step]


class IdentityDecoder(ContentDecoder):
    """No coding: the bytes pass through (still cut to ``step`` and counted against the cap)."""

    coding = "identity"
    compressed = False

    def _decode_steps(self, chunk: bytes) -> Iterator[bytes]:
        return self._sliced(chunk)


class _ZlibDecoder(ContentDecoder):
    """Shared zlib loop: ``decompress(data, max_length=step)`` until input and output run dry."""

    def __init__(
        self,
        *,
        step: int = DEFAULT_STEP,
        max_decoded_size: int | None = None,
        content_encoding: str | None = None,
    ) -> None:
        super().__init__(step=step, max_decoded_size=max_decoded_size, content_encoding=content_encoding)
        self._obj: Any = None  # zlib._Decompress, created when the format is known
        self._in_stream = False  # fed bytes of a stream that has not reached its end yet

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        """Run ``data`` through ``self._obj`` in bounded steps; stop at the stream's end."""
        obj = self._obj
        step = self.step
        self._in_stream = True
        while True:
            try:
                out: bytes = obj.decompress(data, step)
            except zlib.error as exc:
                raise self._corrupt(exc) from None
            if out:
                yield out
            if obj.eof:
                self._in_stream = False
                return
            data = obj.unconsumed_tail
            if not data and len(out) < step:
                return  # needs more input

    def _flush_steps(self) -> Iterator[bytes]:
        if self._in_stream:
            raise self._truncated()
        return iter(())


class GZipDecoder(_ZlibDecoder):
    """``gzip`` (RFC 1952), several members allowed; trailing non-gzip bytes are ignored."""

    coding = "gzip"
    _MAGIC = b"\x1f\x8b"

    def __init__(
        self,
        *,
        step: int = DEFAULT_STEP,
        max_decoded_size: int | None = None,
        content_encoding: str | None = None,
    ) -> None:
        super().__init__(step=step, max_decoded_size=max_decoded_size, content_encoding=content_encoding)
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip, or zlib sent as gzip
        self._members = 0  # complete members seen
        self._between = b""  # bytes after a complete member, too few to tell what follows
        self._ignoring = False  # trailing garbage after the last member

    def _decode_steps(self, chunk: bytes) -> Iterator[bytes]:
        if self._ignoring or not chunk:
            return
        data = chunk
        while data:
            if self._members and not self._in_stream:
                # Between members: another one must start with the gzip magic.
                data = self._between + data
                if len(data) < 2:
                    self._between = data
                    return
                self._between = b""
                if data[:2] != self._MAGIC:
                    self._ignoring = True
                    return
                self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16)
            yield from self._inflate(data)
            if self._in_stream:
                return
            self._members += 1
            data = self._obj.unused_data


class DeflateDecoder(_ZlibDecoder):
    """``deflate``: zlib-wrapped (RFC 1950) or raw (RFC 1951), told apart by the first two bytes."""

    coding = "deflate"

    def __init__(
        self,
        *,
        step: int = DEFAULT_STEP,
        max_decoded_size: int | None = None,
        content_encoding: str | None = None,
    ) -> None:
        super().__init__(step=step, max_decoded_size=max_decoded_size, content_encoding=content_encoding)
        self._head = b""  # the first byte, while waiting for the second
        self._done = False

    @staticmethod
    def _is_zlib_header(head: bytes) -> bool:
        cmf, flg = head[0], head[1]
        return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0

    def _decode_steps(self, chunk: bytes) -> Iterator[bytes]:
        if self._done or not chunk:
            return
        if self._obj is None:
            data = self._head + chunk
            if len(data) < 2:
                self._head = data
                self._in_stream = True  # a lone byte is an unfinished stream
                return
            self._head = b""
            wbits = zlib.MAX_WBITS if self._is_zlib_header(data) else -zlib.MAX_WBITS
            self._obj = zlib.decompressobj(wbits)
        else:
            data = chunk
        yield from self._inflate(data)
        if not self._in_stream:
            self._done = True  # bytes after the end of the stream are ignored


class BrotliDecoder(ContentDecoder):
    """``br`` (RFC 7932) through the ``brotli`` package, output bounded per call."""

    coding = "br"

    def __init__(
        self,
        *,
        step: int = DEFAULT_STEP,
        max_decoded_size: int | None = None,
        content_encoding: str | None = None,
    ) -> None:
        if _brotli is None:
            raise DecodingError(
                f"The response uses Content-Encoding: {content_encoding or 'br'} (brotli), but "
                "the brotli package is not installed. Install it with: pip install brotli "
                "(or pip install 'fasthttp-client[speed]'), or stop advertising br in "
                "Accept-Encoding."
            )
        super().__init__(step=step, max_decoded_size=max_decoded_size, content_encoding=content_encoding)
        self._dec: Any = _brotli.Decompressor()
        self._bounded = _brotli_has_output_limit()
        self._started = False

    def _decode_steps(self, chunk: bytes) -> Iterator[bytes]:
        if not chunk:
            return
        dec = self._dec
        if dec.is_finished():
            # The brotli format ends explicitly, and the library itself refuses extra
            # bytes fed in the same call: refuse them in a later call as well.
            raise self._corrupt("extra bytes after the end of the brotli stream")
        self._started = True
        if not self._bounded:
            yield from self._decode_unbounded(chunk)
            return
        data = chunk
        while True:
            try:
                out: bytes = dec.process(data, output_buffer_limit=self.step)
            except _brotli.error as exc:
                raise self._corrupt(exc) from None
            data = b""
            yield from self._sliced(out)
            if not out or dec.is_finished():
                return

    def _decode_unbounded(self, chunk: bytes) -> Iterator[bytes]:
        """brotli < 1.2: feed small input slices (a weaker bound; see the module docstring)."""
        dec = self._dec
        for start in range(0, len(chunk), _BROTLI_INPUT_SLICE):
            if dec.is_finished():
                return
            try:
                out: bytes = dec.process(chunk[start : start + _BROTLI_INPUT_SLICE])
            except _brotli.error as exc:
                raise self._corrupt(exc) from None
            yield from self._sliced(out)

    def _flush_steps(self) -> Iterator[bytes]:
        if self._started and not self._dec.is_finished():
            raise self._truncated()
        return iter(())


class StackedDecoder(ContentDecoder):
    """Several codings undone in turn; ``layers`` are in decoding order (the header reversed).

    Each layer's output is streamed lazily into the next, and each layer enforces
    the size cap on its own output, so no layer can run away either.
    """

    coding = "stacked"

    def __init__(self, layers: list[ContentDecoder]) -> None:
        if not layers:
            raise ValueError("StackedDecoder needs at least one layer.")
        last = layers[-1]
        super().__init__(step=last.step, max_decoded_size=None, content_encoding=last.content_encoding)
        self.layers = layers

    def _decode_steps(self, chunk: bytes) -> Iterator[bytes]:
        return self._through(0, chunk)

    def _flush_steps(self) -> Iterator[bytes]:
        # Flush every layer in order, pushing each one's remainder through the layers after it.
        for index, layer in enumerate(self.layers):
            for piece in layer.flush_iter():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self.layers):
            if data:
                yield data
        elif index == len(self.layers) - 1:
            yield from self.layers[index].decode_iter(data)
        else:
            for piece in self.layers[index].decode_iter(data):
                yield from self._through(index + 1, piece)


_DECODERS: dict[str, type[ContentDecoder]] = {
    "gzip": GZipDecoder,
    "x-gzip": GZipDecoder,
    "deflate": DeflateDecoder,
    "br": BrotliDecoder,
}
_KNOWN_UNSUPPORTED = {
    "compress": "the old LZW 'compress' format, which no modern server should send",
    "x-compress": "the old LZW 'compress' format, which no modern server should send",
    "zstd": "Zstandard, which this Python has no decoder for",
}

SUPPORTED_CODINGS: tuple[str, ...] = ("gzip", "deflate", "br") if _brotli else ("gzip", "deflate")
"""Codings worth advertising in ``Accept-Encoding`` in this environment."""


def build_decoder(
    content_encoding_header: str | None,
    *,
    max_decoded_size: int | None,
    max_codings: int = DEFAULT_MAX_CODINGS,
    step: int = DEFAULT_STEP,
) -> ContentDecoder:
    """The decoder for a ``Content-Encoding`` header value (``None`` or empty: identity).

    Refuses more than ``max_codings`` codings with ``DecodingError`` before any
    byte is decoded; ``max_decoded_size`` caps every layer's output
    (``ResponseTooLarge``), ``None`` lifts it.
    """
    header = (content_encoding_header or "").strip()
    codings = [token for token in (part.strip().lower() for part in header.split(",")) if token and token != "identity"]
    if len(codings) > max_codings:
        raise DecodingError(
            f"The response declares {len(codings)} stacked content codings (Content-Encoding: "
            f"{header}), more than the {max_codings} allowed; each layer can multiply the body's "
            "size, so fasthttp refuses to decode it. Raise max_codings only for a server you "
            "trust."
        )
    layers: list[ContentDecoder] = []
    ignored: list[str] = []
    for coding in reversed(codings):
        decoder_cls = _DECODERS.get(coding)
        if decoder_cls is None:
            if coding in _KNOWN_UNSUPPORTED:
                raise DecodingError(
                    f"The response uses Content-Encoding: {header}; {coding} is "
                    f"{_KNOWN_UNSUPPORTED[coding]}. Ask for another coding with Accept-Encoding "
                    f"(supported: {', '.join(SUPPORTED_CODINGS)}, identity)."
                )
            ignored.append(coding)  # unknown token: passed through, as browsers do
            continue
        layers.append(decoder_cls(step=step, max_decoded_size=max_decoded_size, content_encoding=header))
    decoder: ContentDecoder
    if not layers:
        decoder = IdentityDecoder(step=step, max_decoded_size=max_decoded_size, content_encoding=header or None)
    elif len(layers) == 1:
        decoder = layers[0]
    else:
        decoder = StackedDecoder(layers)
    decoder.ignored = tuple(ignored)
    return decoder


# --------------------------------------------------------------------------- charsets


def charset_from_content_type(value: str | None) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value, unquoted and lower-cased, or None."""
    if not value:
        return None
    for param in value.split(";")[1:]:
        name, sep, raw = param.partition("=")
        if not sep or name.strip().lower() != "charset":
            continue
        charset = raw.strip()
        if len(charset) >= 2 and charset[0] == charset[-1] == '"':
            charset = charset[1:-1].strip()
        return charset.lower() or None
    return None


def _text_codec(name: str | None, default: str) -> codecs.CodecInfo:
    if name:
        try:
            info = codecs.lookup(name)
        except LookupError:
            pass
        else:
            # base64, zlib, rot13...: not text encodings (a zlib "charset" is a bomb)
            if getattr(info, "_is_text_encoding", True) and info.name != "undefined":
                return info
    return codecs.lookup(default)


class TextDecoder:
    """Incremental bytes -> str in one charset; unknown or non-text charsets fall back to utf-8."""

    __slots__ = ("_decoder", "encoding", "errors")

    def __init__(self, encoding: str | None = "utf-8", errors: str = "replace", *, default: str = "utf-8") -> None:
        info = _text_codec(encoding, default)
        self.encoding: str = info.name
        self.errors = errors
        self._decoder = info.incrementaldecoder(errors)

    @classmethod
    def for_content_type(cls, content_type: str | None, errors: str = "replace") -> TextDecoder:
        """A decoder for the charset a ``Content-Type`` value names (utf-8 when none or unknown)."""
        return cls(charset_from_content_type(content_type), errors)

    def decode(self, data: bytes) -> str:
        """Decode ``data``; an incomplete character at its end waits for the next call."""
        text: str = self._decoder.decode(data, False)
        return text

    def flush(self) -> str:
        """End of the body: decode what is left (an incomplete character becomes U+FFFD)."""
        text: str = self._decoder.decode(b"", True)
        return text


# --------------------------------------------------------------------------- lines


class LineDecoder:
    """Incremental line splitter over text chunks (``\\n``, ``\\r\\n``, ``\\r``), bounded."""

    __slots__ = ("_buffer", "_buffered", "_pending_cr", "max_line_length")

    def __init__(self, max_line_length: int | None = DEFAULT_MAX_LINE_LENGTH) -> None:
        if max_line_length is not None and max_line_length < 1:
            raise ValueError(f"max_line_length must be >= 1 or None; got {max_line_length}.")
        self.max_line_length = max_line_length
        self._buffer: list[str] = []  # pieces of the unterminated line
        self._buffered = 0  # their total length
        self._pending_cr = False  # the last chunk ended with "\r": skip a leading "\n"

    def feed(self, text: str) -> list[str]:
        """Add ``text``; return the lines it completed, without their terminators."""
        if not text:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            self._pending_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        rest = lines.pop()
        limit = self.max_line_length
        if limit is not None and len(text) + self._buffered > limit:
            self._check(lines, rest, limit)
        if not lines:
            if rest:
                self._buffer.append(rest)
                self._buffered += len(rest)
            return []
        if self._buffer:
            self._buffer.append(lines[0])
            lines[0] = "".join(self._buffer)
            self._buffer = []
        if rest:
            self._buffer.append(rest)
        self._buffered = len(rest)
        return lines

    def flush(self) -> list[str]:
        """End of the text: return the unterminated last line, if any."""
        self._pending_cr = False
        if not self._buffer:
            return []
        line = "".join(self._buffer)
        self._buffer = []
        self._buffered = 0
        return [line]

    def _check(self, lines: list[str], rest: str, limit: int) -> None:
        first = self._buffered + (len(lines[0]) if lines else len(rest))
        longest = max(first, max((len(line) for line in lines[1:]), default=0))
        if lines:
            longest = max(longest, len(rest))
        if longest > limit:
            raise DecodingError(
                f"The response contains a line longer than {limit} characters, the "
                "max_line_length limit; a stream without line breaks would otherwise grow "
                "memory without bound. Raise max_line_length (None lifts it) if such lines are "
                "expected, or read the body with aiter_bytes()/aiter_text() instead of lines."
            )

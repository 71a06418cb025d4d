"""Server-Sent Events, sans-IO: the WHATWG event stream parser and the reconnection policy.

Nothing here reads a socket or sleeps. ``SSEDecoder`` turns lines into events,
``EventStreamDecoder`` turns raw bytes into events, ``aiter_sse`` /
``aiter_sse_bytes`` wrap them around any async iterator, and ``SSEReconnector``
decides whether and when the I/O loop (which lives elsewhere) reconnects.

The parsing rules (WHATWG HTML, "Server-sent events", §9.2.6 "Interpreting an
event stream"), applied exactly:

* The stream is always UTF-8, whatever the ``Content-Type`` charset says; one
  leading U+FEFF (BOM) is dropped at the start of the stream, and only there.
* Lines end with CRLF, LF or CR (see ``fasthttp.decoders.LineDecoder``).
* An empty line dispatches the event being built.
* A line starting with ``:`` is a comment and is ignored (servers use them as
  keep-alive heartbeats).
* Otherwise the field name is everything before the first ``:`` and the value
  everything after it, minus one leading space if there is one; a line with no
  ``:`` is a field name with an empty value.
* ``event``: sets the event type. ``data``: appends the value and a LF to the
  data buffer. ``id``: sets the last event ID, unless the value contains NUL
  (then the field is ignored); an empty value resets it. ``retry``: sets the
  reconnection time in milliseconds, only if the value is all ASCII digits.
  Any other field is ignored.
* Dispatch: the last event ID (which persists from event to event, and is
  updated even when nothing is dispatched) is recorded; if the data buffer is
  empty, the data and event type buffers are reset and nothing is dispatched;
  otherwise one trailing LF is removed from the data, the event is emitted with
  type ``message`` when no ``event`` field set one, and the buffers are reset.
* At the end of the stream an event without its closing empty line is
  discarded, not dispatched.

Limits, so a hostile stream cannot grow memory without bound:

* ``max_event_size`` (default ``DEFAULT_MAX_EVENT_SIZE``, 1 MiB) caps the data
  buffer of one event, in characters; past it ``DecodingError``.
* Lines are capped by ``max_line_length`` (1 MiB) in the byte-level helpers, so
  an ``id`` or ``event`` value cannot be longer than that either.
* A ``retry`` value of absurd length (``retry: 999...9`` with thousands of
  digits) is read as "very large" rather than fed to ``int()``; the
  reconnection policy caps it anyway.

Reconnection (``SSEReconnector``, the EventSource model):

* A response that is not ``200`` with ``Content-Type: text/event-stream`` fails
  the connection; ``204 No Content`` means "stop" and is not an error.
* When a stream ends (normally, or with a transport error such as a reset or a
  read timeout) the client waits the reconnection time (3 s unless the server
  sent ``retry:``; clamped to ``[min_retry_ms, max_retry_ms]``, default 100 ms
  to 60 s) and reconnects with ``Last-Event-ID`` set to the last event ID when
  it is not empty. Consecutive attempts without a successful response double
  the wait (capped at ``max_retry_ms``); ``max_attempts`` consecutive attempts
  without a successful response end the loop. Any other error (a decoding
  error, a security refusal, a bug, cancellation) is not retried.
"""

from __future__ import annotations

import codecs
import enum
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from .decoders import DEFAULT_MAX_LINE_LENGTH, LineDecoder
from .exceptions import DecodingError, TransportError

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_RETRY_MS",
    "EventStreamDecoder",
    "SSEAction",
    "SSEDecision",
    "SSEDecoder",
    "SSEReconnector",
    "ServerSentEvent",
    "aiter_sse",
    "aiter_sse_bytes",
    "is_event_stream",
]

DEFAULT_MAX_EVENT_SIZE = 1024 * 1024
"""Largest data buffer of one event, in characters (1 MiB)."""

DEFAULT_RETRY_MS = 3000
"""Reconnection time before the server sends ``retry:`` (the value browsers use)."""

_BOM = "\ufeff"
_HUGE_RETRY = 10**15  # what an absurdly long retry value is read as
_MAX_RETRY_DIGITS = 15


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    ``id`` is the stream's last event ID when the event was dispatched (it persists
    from event to event; ``None`` until the stream sets one, ``""`` after a reset).
    ``retry`` is the reconnection time a ``retry:`` field in this event's block set,
    else ``None``.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """``data`` parsed as JSON (orjson); raises ``orjson.JSONDecodeError``, a ValueError."""
        return orjson.loads(self.data)


class SSEDecoder:
    """The WHATWG event stream interpreter, fed one line (terminator removed) at a time."""

    __slots__ = (
        "_data",
        "_data_size",
        "_event",
        "_event_retry",
        "_last_event_id_buffer",
        "last_event_id",
        "max_event_size",
        "retry",
    )

    def __init__(
        self, *, max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE, last_event_id: str | None = None
    ) -> None:
        self.max_event_size = max_event_size
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._event_retry: int | None = None
        self._last_event_id_buffer = last_event_id
        self.last_event_id: str | None = last_event_id
        """The last event ID as of the last dispatch (what ``Last-Event-ID`` should carry)."""
        self.retry: int | None = None
        """The reconnection time the stream asked for with ``retry:``, in ms (None: never)."""

    def decode(self, line: str) -> ServerSentEvent | None:
        """Process one line; return the event an empty line dispatches, else None."""
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_size += len(value) + 1
            limit = self.max_event_size
            if limit is not None and self._data_size > limit:
                self._data = []
                self._data_size = 0
                raise DecodingError(
                    f"A server-sent event's data grew past {limit} characters, the max_event_size "
                    "limit; a stream that never ends its event would otherwise grow memory without "
                    "bound. Raise max_event_size (None lifts it) if the server sends such events."
                )
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._last_event_id_buffer = value
        elif name == "retry" and value and value.isascii() and value.isdigit():
            digits = value.lstrip("0")
            millis = int(digits or "0") if len(digits) <= _MAX_RETRY_DIGITS else _HUGE_RETRY
            self.retry = millis
            self._event_retry = millis
        return None

    def end_of_stream(self) -> None:
        """The stream ended: discard the event being built (its empty line never came).

        The last event ID and the reconnection time survive, for the next connection.
        """
        self._data = []
        self._data_size = 0
        self._event = ""
        self._event_retry = None

    def _dispatch(self) -> ServerSentEvent | None:
        self.last_event_id = self._last_event_id_buffer
        retry = self._event_retry
        self._event_retry = None
        if not self._data:
            self._event = ""
            return None
        data = "\n".join(self._data)
        event = ServerSentEvent(event=self._event or "message", data=data, id=self.last_event_id, retry=retry)
        self._data = []
        self._data_size = 0
        self._event = ""
        return event


class EventStreamDecoder:
    """Raw body bytes -> events: UTF-8 (BOM dropped), lines, then ``SSEDecoder``."""

    __slots__ = ("_at_start", "_lines", "_text", "decoder")

    def __init__(
        self,
        *,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        max_line_length: int | None = DEFAULT_MAX_LINE_LENGTH,
        last_event_id: str | None = None,
        decoder: SSEDecoder | None = None,
    ) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._lines = LineDecoder(max_line_length)
        self._at_start = True
        if decoder is None:
            decoder = SSEDecoder(max_event_size=max_event_size, last_event_id=last_event_id)
        self.decoder = decoder
        """The line interpreter; pass one in to carry its last event ID across connections."""

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Add body bytes; return the events they completed."""
        return self._feed_text(self._text.decode(data, False))

    def close(self) -> list[ServerSentEvent]:
        """The body ended: an unfinished event is discarded (always returns ``[]``)."""
        self._feed_text(self._text.decode(b"", True))
        self._lines.flush()  # an unterminated last line is not a line
        self.decoder.end_of_stream()
        return []

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if self._at_start:
            if not text:
                return []
            self._at_start = False
            if text[0] == _BOM:
                text = text[1:]
        events: list[ServerSentEvent] = []
        decode = self.decoder.decode
        for line in self._lines.feed(text):
            event = decode(line)
            if event is not None:
                events.append(event)
        return events


async def aiter_sse(
    lines: AsyncIterable[str],
    *,
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    decoder: SSEDecoder | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Events from an async iterable of lines (terminators removed), e.g. ``resp.aiter_lines()``.

    A BOM at the start of the first line is dropped. The event stream is UTF-8 by
    definition, so prefer ``aiter_sse_bytes(resp.aiter_bytes())`` when the lines
    come from a decoder that might use another charset. Pass ``decoder`` to keep
    its last event ID and reconnection time across connections.
    """
    machine = decoder if decoder is not None else SSEDecoder(max_event_size=max_event_size)
    first = True
    try:
        async for line in lines:
            if first:
                first = False
                if line[:1] == _BOM:
                    line = line[1:]
            event = machine.decode(line)
            if event is not None:
                yield event
    finally:
        machine.end_of_stream()


async def aiter_sse_bytes(
    chunks: AsyncIterable[bytes],
    *,
    max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
    max_line_length: int | None = DEFAULT_MAX_LINE_LENGTH,
    last_event_id: str | None = None,
    decoder: SSEDecoder | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Events from an async iterable of (already content-decoded) body bytes.

    Pass ``decoder`` (one per logical stream) to carry the last event ID and the
    reconnection time across connections; an unfinished event is discarded when
    the iteration ends, normally or not.
    """
    stream = EventStreamDecoder(
        max_event_size=max_event_size,
        max_line_length=max_line_length,
        last_event_id=last_event_id,
        decoder=decoder,
    )
    try:
        async for chunk in chunks:
            for event in stream.feed(chunk):
                yield event
    finally:
        stream.close()


# --------------------------------------------------------------------------- reconnection


def is_event_stream(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` value is ``text/event-stream`` (parameters ignored)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


class SSEAction(enum.Enum):
    """What the I/O loop should do next."""

    READ = "read"  # the response is an event stream: read it
    RECONNECT = "reconnect"  # wait next_delay() seconds, then connect again
    STOP = "stop"  # end quietly (the server answered 204)
    FAIL = "fail"  # end with an error; SSEDecision.reason says why


@dataclass(frozen=True, slots=True)
class SSEDecision:
    """An action and the sentence that explains it (used as the error message on FAIL)."""

    action: SSEAction
    reason: str


class SSEReconnector:
    """The reconnection policy of an SSE client: pure state, no I/O, no clock.

    The I/O loop uses it like this (one ``SSEDecoder`` for the whole logical
    stream, so ids and ``retry:`` from blocks that dispatched nothing count too)::

        policy, decoder = SSEReconnector(), SSEDecoder()
        while True:
            status, error = None, None
            try:
                async with session.stream("GET", url, headers=policy.headers_for_next_attempt()) as resp:
                    status = resp.status_code
                    decision = policy.check_response(status, resp.headers.get("content-type"))
                    if decision.action is SSEAction.READ:
                        async for event in aiter_sse_bytes(resp.aiter_bytes(), decoder=decoder):
                            policy.sync(decoder)
                            yield event
            except TransportError as exc:
                error = exc
            policy.sync(decoder)
            if decision.action is SSEAction.READ:  # or no response at all
                decision = policy.decide(status, error)
            if decision.action is SSEAction.STOP:
                return
            if decision.action is SSEAction.FAIL:
                raise SomeError(decision.reason) from error
            await asyncio.sleep(policy.next_delay())

    ``observe(event)`` keeps ``last_event_id`` and ``retry_ms`` current from events;
    ``sync(decoder)`` does the same from an ``SSEDecoder``.
    """

    def __init__(
        self,
        *,
        retry_ms: int = DEFAULT_RETRY_MS,
        min_retry_ms: int = 100,
        max_retry_ms: int = 60_000,
        max_attempts: int | None = 5,
        last_event_id: str | None = None,
    ) -> None:
        if not 0 <= min_retry_ms <= max_retry_ms:
            raise ValueError(f"Need 0 <= min_retry_ms <= max_retry_ms; got {min_retry_ms} and {max_retry_ms}.")
        if max_attempts is not None and max_attempts < 0:
            raise ValueError(f"max_attempts must be >= 0 or None; got {max_attempts}.")
        self.min_retry_ms = min_retry_ms
        self.max_retry_ms = max_retry_ms
        self.max_attempts = max_attempts
        self.retry_ms = self._clamp(retry_ms)
        self.last_event_id = last_event_id
        self.attempts = 0  # reconnection attempts since the last successful response

    @property
    def attempts_left(self) -> int | None:
        """Reconnections still allowed before a successful response (None: unlimited)."""
        if self.max_attempts is None:
            return None
        return max(0, self.max_attempts - self.attempts)

    def _clamp(self, millis: int) -> int:
        return min(max(millis, self.min_retry_ms), self.max_retry_ms)

    # What the stream told us -------------------------------------------------------------------

    def set_retry(self, millis: int) -> None:
        """The server sent ``retry: millis``; clamped to ``[min_retry_ms, max_retry_ms]``."""
        self.retry_ms = self._clamp(millis)

    def observe(self, event: ServerSentEvent) -> None:
        """Record a dispatched event's id and retry. An event is progress: it resets the attempt count."""
        self.attempts = 0
        if event.id is not None:
            self.last_event_id = event.id
        if event.retry is not None:
            self.set_retry(event.retry)

    def sync(self, decoder: SSEDecoder) -> None:
        """Take the last event ID and reconnection time from a decoder."""
        if decoder.last_event_id is not None:
            self.last_event_id = decoder.last_event_id
        if decoder.retry is not None:
            self.set_retry(decoder.retry)

    # Decisions ---------------------------------------------------------------------------------

    def check_response(self, status: int, content_type: str | None) -> SSEDecision:
        """Judge a response's head: READ it, STOP (204) or FAIL.

        A good head alone does not reset the attempt count (a server that answers 200 and then
        drops every connection must still run out of attempts); the first event does (``observe``)."""
        if status == 204:
            return SSEDecision(SSEAction.STOP, "The server answered 204 No Content: the stream is over.")
        if status != 200:
            return SSEDecision(
                SSEAction.FAIL,
                f"The event stream request got HTTP {status} instead of 200, so the stream cannot "
                "be read; EventSource clients give up here rather than retry.",
            )
        if not is_event_stream(content_type):
            return SSEDecision(
                SSEAction.FAIL,
                f"The response's Content-Type is {content_type!r}, not 'text/event-stream', so it "
                "is not a server-sent event stream. Check the URL, or that the server sends "
                "Content-Type: text/event-stream.",
            )
        return SSEDecision(SSEAction.READ, "The server answered 200 with an event stream.")

    def decide(self, status: int | None, error: BaseException | None) -> SSEDecision:
        """After an attempt ended: RECONNECT, STOP or FAIL, with the reason.

        ``status`` is the response's status (None if none arrived), ``error`` what
        ended the attempt (None for a normal close).
        """
        if status is not None and status != 200:
            return self.check_response(status, "text/event-stream")
        if error is not None and not isinstance(error, TransportError):
            return SSEDecision(
                SSEAction.FAIL,
                f"The event stream failed with {type(error).__name__}, which reconnecting would not fix.",
            )
        left = self.attempts_left
        if left is not None and left <= 0:
            what = f"the last error was {type(error).__name__}" if error else "the stream kept ending"
            return SSEDecision(
                SSEAction.FAIL,
                f"Gave up reconnecting to the event stream after {self.attempts} attempts without "
                f"receiving an event ({what}). Raise max_attempts (None: unlimited) to keep "
                "trying longer.",
            )
        why = "the connection failed" if error is not None else "the server closed the stream"
        return SSEDecision(SSEAction.RECONNECT, f"Reconnecting because {why}.")

    def should_reconnect(self, status: int | None, error: BaseException | None) -> bool:
        """Whether ``decide(status, error)`` says RECONNECT (it changes nothing)."""
        return self.decide(status, error).action is SSEAction.RECONNECT

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; counts the attempt.

        The reconnection time, doubled for each earlier attempt since the last
        successful response, capped at ``max_retry_ms``.
        """
        self.attempts += 1
        millis = self.retry_ms << min(self.attempts - 1, 32)
        return min(millis, self.max_retry_ms) / 1000.0

    def headers_for_next_attempt(self) -> dict[str, str]:
        """Request headers for the next connection (``Last-Event-ID`` when there is one)."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

"""fasthttp.sse: the WHATWG event stream parser, its limits and the reconnection policy."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import AsyncIterator, Iterable

import orjson
import pytest

from fasthttp.exceptions import ConnectError, DecodingError, ReadError, ReadTimeout, SSRFBlocked
from fasthttp.sse import (
    DEFAULT_MAX_EVENT_SIZE,
    EventStreamDecoder,
    ServerSentEvent,
    SSEAction,
    SSEDecoder,
    SSEReconnector,
    aiter_sse,
    aiter_sse_bytes,
    is_event_stream,
)

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test-only extra
    HAVE_HYPOTHESIS = False
else:
    HAVE_HYPOTHESIS = True

MIB = 1024 * 1024


def events_from_text(text: str, **kwargs: int | None) -> list[ServerSentEvent]:
    """Feed a whole stream as UTF-8 bytes in one chunk, then end it."""
    return events_from_chunks([text.encode()], **kwargs)


def events_from_chunks(chunks: Iterable[bytes], **kwargs: int | None) -> list[ServerSentEvent]:
    stream = EventStreamDecoder(**kwargs)  # type: ignore[arg-type]
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(stream.feed(chunk))
    return events + stream.close()


def events_from_lines(lines: Iterable[str]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for event in map(decoder.decode, lines) if event is not None]


def datas(events: list[ServerSentEvent]) -> list[str]:
    return [event.data for event in events]


async def agen(items: Iterable[str] | Iterable[bytes]) -> AsyncIterator:  # type: ignore[type-arg]
    for item in items:
        yield item


# --------------------------------------------------------------------------- ServerSentEvent


def test_event_defaults_and_frozen() -> None:
    """An event defaults to type 'message', empty data, no id, no retry, and is immutable."""
    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "x"  # type: ignore[misc]


def test_event_json() -> None:
    """json() parses the data with orjson, and raises a ValueError on bad JSON."""
    assert ServerSentEvent(data='{"a": [1, 2]}').json() == {"a": [1, 2]}
    with pytest.raises(ValueError):
        ServerSentEvent(data="[DONE]").json()


# --------------------------------------------------------------------------- WHATWG examples


def test_spec_stock_ticker_example() -> None:
    """data lines are joined with LF: 'YHOO', '+2', '10' -> 'YHOO\\n+2\\n10'."""
    (event,) = events_from_text("data: YHOO\ndata: +2\ndata: 10\n\n")
    assert event == ServerSentEvent(event="message", data="YHOO\n+2\n10", id=None, retry=None)


def test_spec_four_blocks_example() -> None:
    """The spec's example: comment ignored, ids set then reset, unfinished last event dropped."""
    stream = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
    events = events_from_text(stream)
    assert events == [
        ServerSentEvent(data="first event", id="1"),
        ServerSentEvent(data="second event", id=""),
    ]


def test_spec_empty_data_example() -> None:
    """'data' with no colon is an empty value; two such lines give one LF; the tail is dropped."""
    events = events_from_text("data\n\ndata\ndata\n\ndata:")
    assert datas(events) == ["", "\n"]


def test_spec_space_after_colon_example() -> None:
    """'data:test' and 'data: test' are the same event."""
    assert datas(events_from_text("data:test\n\ndata: test\n\n")) == ["test", "test"]


def test_event_types() -> None:
    """event sets the type; it resets to 'message' after each dispatch."""
    events = events_from_text("event: add\ndata: 1\n\nevent: remove\ndata: 2\n\ndata: 3\n\n")
    assert [(e.event, e.data) for e in events] == [("add", "1"), ("remove", "2"), ("message", "3")]


def test_only_one_leading_space_is_removed() -> None:
    """Exactly one space after the colon is removed; more spaces and tabs stay."""
    events = events_from_text("data:  two\n\ndata:\tfoo\n\ndata: \n\n")
    assert datas(events) == [" two", "\tfoo", ""]


def test_value_may_contain_colons() -> None:
    """Only the first colon separates field from value."""
    assert datas(events_from_text("data: a:b: c\n\n")) == ["a:b: c"]


def test_comments_are_ignored() -> None:
    """Lines starting with ':' are comments, wherever they appear."""
    events = events_from_text(":hello\ndata: a\n: keep-alive\n:\ndata: b\n\n")
    assert datas(events) == ["a\nb"]


def test_unknown_fields_and_bad_names_are_ignored() -> None:
    """Unknown fields, case variants and fields with leading spaces are ignored."""
    events = events_from_text("foo: bar\nDATA: x\n data: y\nEvent: z\ndata: ok\n\n")
    assert events == [ServerSentEvent(data="ok")]


def test_field_without_colon_has_empty_value() -> None:
    """'event' alone sets an empty type (so 'message'); 'id' alone resets the id."""
    events = events_from_text("id: 7\nevent\ndata: a\n\nid\ndata: b\n\n")
    assert [(e.event, e.id) for e in events] == [("message", "7"), ("message", "")]


def test_id_with_nul_is_ignored() -> None:
    """An id field containing NUL is ignored; the previous id stays."""
    events = events_from_text("id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "15 00", " 15", "", "1e3", "\uff15", "٣"])
def test_retry_must_be_ascii_digits(value: str) -> None:
    """retry is ignored unless its value is one or more ASCII digits."""
    decoder = SSEDecoder()
    decoder.decode(f"retry: {value}" if value else "retry")
    decoder.decode("data: x")
    event = decoder.decode("")
    assert event is not None and event.retry is None
    assert decoder.retry is None


def test_retry_sets_reconnection_time() -> None:
    """A valid retry is reported on the event of its block and kept on the decoder."""
    decoder = SSEDecoder()
    for line in ("retry: 1500", "data: a", ""):
        event = decoder.decode(line)
    assert event == ServerSentEvent(data="a", retry=1500)
    for line in ("data: b", ""):
        event = decoder.decode(line)
    assert event is not None and event.retry is None
    assert decoder.retry == 1500


def test_absurdly_long_retry_does_not_crash() -> None:
    """A retry of thousands of digits is read as very large instead of overflowing int()."""
    decoder = SSEDecoder()
    decoder.decode("retry: " + "9" * 10_000)
    assert decoder.retry is not None and decoder.retry >= 10**15
    decoder.decode("retry: " + "0" * 10_000 + "42")
    assert decoder.retry == 42


def test_empty_event_is_not_dispatched_but_updates_id() -> None:
    """A block with no data dispatches nothing, yet its id becomes the last event ID."""
    decoder = SSEDecoder()
    assert decoder.decode("id: 5") is None
    assert decoder.decode("event: ping") is None
    assert decoder.decode("") is None
    assert decoder.last_event_id == "5"
    decoder.decode("data: x")
    assert decoder.decode("") == ServerSentEvent(event="message", data="x", id="5")


def test_last_event_id_persists_across_events() -> None:
    """Events after one with an id carry that id until another id field changes it."""
    events = events_from_text("id: a\ndata: 1\n\ndata: 2\n\nid: b\ndata: 3\n\ndata: 4\n\n")
    assert [e.id for e in events] == ["a", "a", "b", "b"]


def test_id_is_set_at_dispatch_not_before() -> None:
    """last_event_id changes only when the block is dispatched."""
    decoder = SSEDecoder()
    decoder.decode("id: 9")
    assert decoder.last_event_id is None
    decoder.decode("")
    assert decoder.last_event_id == "9"


def test_event_without_trailing_blank_line_is_not_dispatched() -> None:
    """At the end of the stream, an event missing its closing empty line is discarded."""
    assert datas(events_from_text("data: complete\n\ndata: incomplete\n")) == ["complete"]
    assert datas(events_from_text("data: incomplete")) == []


def test_end_of_stream_keeps_id_and_retry() -> None:
    """end_of_stream drops the unfinished event but keeps the last event ID and retry."""
    decoder = SSEDecoder()
    for line in ("id: 3", "retry: 100", "data: x", "", "data: pending", "event: e"):
        decoder.decode(line)
    decoder.end_of_stream()
    assert (decoder.last_event_id, decoder.retry) == ("3", 100)
    decoder.decode("data: fresh")
    assert decoder.decode("") == ServerSentEvent(data="fresh", id="3")


def test_decoder_can_start_with_a_last_event_id() -> None:
    """A decoder created with last_event_id stamps it on events until the stream changes it."""
    decoder = SSEDecoder(last_event_id="41")
    decoder.decode("data: x")
    assert decoder.decode("") == ServerSentEvent(data="x", id="41")


# --------------------------------------------------------------------------- bytes, terminators, BOM


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_every_line_terminator(eol: str) -> None:
    """LF, CRLF and CR all work as line terminators in the byte stream."""
    text = eol.join(["event: e", "data: a", "data: b", "", "data: c", "", ""])
    assert [(e.event, e.data) for e in events_from_text(text)] == [("e", "a\nb"), ("message", "c")]


def test_mixed_terminators() -> None:
    """A stream mixing CRLF, LF and CR in one event parses as the spec says."""
    assert datas(events_from_text("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r")) == ["a\nb\nc", "d"]


def test_bom_is_stripped_at_start_only() -> None:
    """One leading BOM is dropped; a BOM later in the stream is data."""
    events = events_from_text("\ufeffdata: a\n\ndata: \ufeffb\n\n")
    assert datas(events) == ["a", "\ufeffb"]


def test_only_one_bom_is_stripped() -> None:
    """A second BOM right after the first makes the first line an unknown field."""
    assert datas(events_from_text("\ufeff\ufeffdata: a\n\ndata: b\n\n")) == ["b"]


def test_bom_split_across_chunks() -> None:
    """A BOM whose three bytes arrive in separate chunks is still stripped."""
    body = "\ufeffdata: a\n\n".encode()
    assert datas(events_from_chunks([body[:1], body[1:2], body[2:3], body[3:]])) == ["a"]


def test_empty_first_chunk_does_not_consume_bom_check() -> None:
    """An empty first chunk does not stop the BOM at the real start from being stripped."""
    assert datas(events_from_chunks([b"", "\ufeffdata: a\n\n".encode()])) == ["a"]


def test_stream_is_always_utf8_and_invalid_bytes_are_replaced() -> None:
    """The stream is decoded as UTF-8; invalid bytes become U+FFFD."""
    assert datas(events_from_chunks([b"data: caf\xc3\xa9 \xff\n\n"])) == ["café \ufffd"]


def test_field_split_across_chunks_at_every_byte() -> None:
    """Cutting the byte stream at every point, even inside characters and CRLF, changes nothing."""
    body = "\ufeffid: é1\r\nevent: upd\r\ndata: ☃ snow\r\ndata:x\r\n\r\nretry: 10\rdata: 2\r\r".encode()
    expected = events_from_chunks([body])
    assert [e.data for e in expected] == ["☃ snow\nx", "2"]
    for i in range(len(body) + 1):
        for j in range(i, len(body) + 1, 3):
            assert events_from_chunks([body[:i], body[i:j], body[j:]]) == expected, (i, j)


def test_one_byte_at_a_time() -> None:
    """Feeding the stream one byte at a time gives the same events."""
    body = 'data: {"x": "ü"}\r\n\r\n: c\r\ndata: y\n\n'.encode()
    assert events_from_chunks(body[i : i + 1] for i in range(len(body))) == events_from_chunks([body])


# --------------------------------------------------------------------------- OpenAI-style streams


def test_openai_style_stream() -> None:
    """data: {...} chunks parse as JSON and the terminal data: [DONE] arrives as plain data."""
    chunks = [{"choices": [{"delta": {"content": token}}]} for token in ("Hel", "lo", "!")]
    body = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    events = events_from_chunks([body[:17], body[17:40], body[40:]])
    assert [e.data for e in events][-1] == "[DONE]"
    tokens = [e.json()["choices"][0]["delta"]["content"] for e in events if e.data != "[DONE]"]
    assert "".join(tokens) == "Hello!"


# --------------------------------------------------------------------------- limits and hostile streams


def test_event_data_over_limit_raises() -> None:
    """An event whose data grows past max_event_size raises DecodingError naming the limit."""
    decoder = SSEDecoder(max_event_size=100)
    for _ in range(9):
        decoder.decode("data: " + "x" * 9)  # 10 characters each with the LF
    with pytest.raises(DecodingError, match=r"past 100 characters.*max_event_size"):
        decoder.decode("data: " + "x" * 10)


def test_event_limit_is_per_event() -> None:
    """Many events each under the limit are fine: the limit does not accumulate."""
    decoder = SSEDecoder(max_event_size=20)
    for _ in range(1000):
        decoder.decode("data: " + "x" * 15)
        assert decoder.decode("") is not None


def test_event_limit_none_and_default() -> None:
    """The default limit is 1 MiB; None lifts it."""
    assert SSEDecoder().max_event_size == DEFAULT_MAX_EVENT_SIZE == MIB
    decoder = SSEDecoder(max_event_size=None)
    for _ in range(3):
        decoder.decode("data: " + "x" * MIB)
    event = decoder.decode("")
    assert event is not None and len(event.data) == 3 * MIB + 2


def test_line_limit_in_byte_stream() -> None:
    """A line past max_line_length (e.g. an endless id) raises DecodingError in the byte decoder."""
    stream = EventStreamDecoder(max_line_length=1000)
    stream.feed(b"id: " + b"1" * 900)
    with pytest.raises(DecodingError, match="max_line_length"):
        stream.feed(b"1" * 200)


def test_hostile_but_valid_stream() -> None:
    """100k comments, a 500 KB id, 10k empty events and mixed terminators parse correctly."""
    long_id = "i" * 500_000
    parts = [":" + "c" * 10 + ("\n", "\r\n", "\r")[n % 3] for n in range(100_000)]
    parts += ["\r\n"] * 3_333 + ["\n"] * 3_333 + ["\r"] * 3_334 + ["event: x\n\n"]  # 10k empty blocks
    parts += [f"id: {long_id}\r\n", "data: payload\r", "\r", "id\n\n", "data: after\n\n"]
    body = "".join(parts).encode()
    stream = EventStreamDecoder()
    events = []
    for start in range(0, len(body), 65536):
        events.extend(stream.feed(body[start : start + 65536]))
    events += stream.close()
    assert events == [ServerSentEvent(data="payload", id=long_id), ServerSentEvent(data="after", id="")]
    assert stream.decoder._data == []  # nothing left buffered


# --------------------------------------------------------------------------- async helpers


async def test_aiter_sse_over_lines_strips_bom() -> None:
    """aiter_sse turns lines into events and drops a BOM at the start of the first line."""
    lines = ["\ufeffdata: a", "", ": c", "data: b", "", "data: unfinished"]
    assert [e.data async for e in aiter_sse(agen(lines))] == ["a", "b"]


async def test_aiter_sse_bytes_matches_sync_decoder() -> None:
    """aiter_sse_bytes yields the same events as EventStreamDecoder."""
    body = b"id: 1\r\ndata: x\r\n\r\ndata: y\n\n"
    chunks = [body[:5], body[5:20], body[20:]]
    assert [e async for e in aiter_sse_bytes(agen(chunks))] == events_from_chunks(chunks)


async def test_shared_decoder_carries_id_across_connections_and_drops_partial_event() -> None:
    """A decoder shared between connections keeps the last id; an event cut by an error is dropped."""
    decoder = SSEDecoder()

    async def broken() -> AsyncIterator[bytes]:
        yield b"id: 7\ndata: one\n\ndata: cut"
        raise ReadError("connection reset")

    seen = []
    with pytest.raises(ReadError):
        async for event in aiter_sse_bytes(broken(), decoder=decoder):
            seen.append(event)
    assert seen == [ServerSentEvent(data="one", id="7")]
    assert [e async for e in aiter_sse_bytes(agen([b"data: two\n\n"]), decoder=decoder)] == [
        ServerSentEvent(data="two", id="7")
    ]


# --------------------------------------------------------------------------- SSEReconnector


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("text/event-stream", True),
        ("Text/Event-Stream; charset=utf-8", True),
        ("text/plain", False),
        ("", False),
        (None, False),
    ],
)
def test_is_event_stream(value: str | None, ok: bool) -> None:
    """Only text/event-stream, any case and parameters, is an event stream."""
    assert is_event_stream(value) is ok


def test_first_attempt_headers() -> None:
    """Without an id yet, the headers ask for an event stream and carry no Last-Event-ID."""
    assert SSEReconnector().headers_for_next_attempt() == {
        "Accept": "text/event-stream",
        "Cache-Control": "no-store",
    }


def test_normal_close_reconnects_after_retry_with_last_event_id() -> None:
    """A stream closed normally is reopened after the retry time, sending Last-Event-ID."""
    policy = SSEReconnector()
    assert policy.check_response(200, "text/event-stream").action is SSEAction.READ
    policy.observe(ServerSentEvent(data="x", id="42"))
    assert policy.should_reconnect(200, None)
    assert policy.next_delay() == 3.0
    assert policy.headers_for_next_attempt()["Last-Event-ID"] == "42"


def test_empty_id_removes_the_header() -> None:
    """After the stream resets the id to empty, Last-Event-ID is no longer sent."""
    policy = SSEReconnector(last_event_id="1")
    policy.observe(ServerSentEvent(data="x", id=""))
    assert "Last-Event-ID" not in policy.headers_for_next_attempt()


def test_retry_field_changes_the_delay_and_is_capped() -> None:
    """retry: sets the delay, clamped to [min_retry_ms, max_retry_ms] (60 s by default)."""
    policy = SSEReconnector()
    policy.observe(ServerSentEvent(data="x", retry=1500))
    assert policy.retry_ms == 1500
    policy.set_retry(10**15)
    assert policy.retry_ms == 60_000
    policy.set_retry(0)
    assert policy.retry_ms == 100


def test_sync_reads_retry_and_id_from_dataless_blocks() -> None:
    """sync(decoder) picks up retry and id fields from blocks that dispatched no event."""
    decoder, policy = SSEDecoder(), SSEReconnector()
    for line in ("retry: 10000", "id: 8", ""):
        assert decoder.decode(line) is None
    policy.sync(decoder)
    assert (policy.retry_ms, policy.last_event_id) == (10_000, "8")
    assert policy.next_delay() == 10.0


def test_204_stops() -> None:
    """HTTP 204 means the server wants the client to stop: STOP, no reconnection."""
    policy = SSEReconnector()
    assert policy.check_response(204, None).action is SSEAction.STOP
    assert not policy.should_reconnect(204, None)


@pytest.mark.parametrize("status", [301, 401, 404, 500, 503])
def test_non_200_fails(status: int) -> None:
    """Any status other than 200 and 204 fails the stream with an explanatory reason."""
    policy = SSEReconnector()
    decision = policy.check_response(status, "text/event-stream")
    assert decision.action is SSEAction.FAIL
    assert f"HTTP {status}" in decision.reason
    assert not policy.should_reconnect(status, None)


def test_wrong_content_type_fails() -> None:
    """A 200 that is not text/event-stream fails, naming the content type it got."""
    decision = SSEReconnector().check_response(200, "text/html")
    assert decision.action is SSEAction.FAIL
    assert "'text/html'" in decision.reason


@pytest.mark.parametrize("error", [ReadError("reset"), ReadTimeout("quiet"), ConnectError("refused")])
def test_transport_errors_reconnect(error: Exception) -> None:
    """Network failures (reset, read timeout, refused) lead to a reconnection."""
    assert SSEReconnector().should_reconnect(None, error)


@pytest.mark.parametrize("error", [DecodingError("too big"), SSRFBlocked("internal"), ValueError("bug")])
def test_other_errors_fail(error: Exception) -> None:
    """Decoding errors, security refusals and bugs are not retried."""
    decision = SSEReconnector().decide(200, error)
    assert decision.action is SSEAction.FAIL
    assert type(error).__name__ in decision.reason


def test_attempts_run_out_and_backoff_doubles() -> None:
    """Failed attempts double the delay (capped) and stop after max_attempts."""
    policy = SSEReconnector(max_attempts=3, retry_ms=1000, max_retry_ms=3000)
    error = ConnectError("refused")
    delays = []
    while policy.should_reconnect(None, error):
        delays.append(policy.next_delay())
    assert delays == [1.0, 2.0, 3.0]
    assert policy.attempts_left == 0
    decision = policy.decide(None, error)
    assert decision.action is SSEAction.FAIL
    assert "after 3 attempts" in decision.reason and "ConnectError" in decision.reason


def test_an_event_resets_attempts_but_a_bare_200_does_not() -> None:
    """An event resets the attempt count and the backoff; a 200 head alone does not."""
    policy = SSEReconnector(max_attempts=2)
    policy.next_delay()
    assert policy.next_delay() == 6.0
    assert not policy.should_reconnect(None, None)
    policy.check_response(200, "text/event-stream")
    assert policy.attempts_left == 0
    policy.observe(ServerSentEvent(data="x"))
    assert policy.attempts_left == 2
    assert policy.should_reconnect(200, None)
    assert policy.next_delay() == 3.0


def test_unlimited_attempts() -> None:
    """max_attempts=None never runs out; the delay stays capped."""
    policy = SSEReconnector(max_attempts=None)
    for _ in range(100):
        assert policy.should_reconnect(None, ReadError("x"))
        delay = policy.next_delay()
    assert delay == 60.0
    assert policy.attempts_left is None


def test_should_reconnect_does_not_change_state() -> None:
    """should_reconnect and decide are queries: only next_delay counts an attempt."""
    policy = SSEReconnector(max_attempts=1)
    for _ in range(5):
        assert policy.should_reconnect(200, None)
    assert policy.attempts == 0


def test_invalid_policy_arguments() -> None:
    """Inconsistent bounds and negative attempts are ValueErrors."""
    with pytest.raises(ValueError):
        SSEReconnector(min_retry_ms=5000, max_retry_ms=1000)
    with pytest.raises(ValueError):
        SSEReconnector(max_attempts=-1)


# --------------------------------------------------------------------------- property-based


def reference_events(text: str) -> list[ServerSentEvent]:
    """A direct transcription of the spec over the whole text at once, for comparison."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)
    lines.pop()  # the last piece has no terminator: not a line
    events, data, kind, last_id, id_buffer = [], "", "", None, None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data == "":
                kind = ""
                continue
            events.append(ServerSentEvent(event=kind or "message", data=data.removesuffix("\n"), id=last_id))
            data, kind = "", ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data += value + "\n"
        elif name == "event":
            kind = value
        elif name == "id" and "\x00" not in value:
            id_buffer = value
    return events


if HAVE_HYPOTHESIS:
    field_line = st.sampled_from(
        [
            "data",
            "data:",
            "data: x",
            "data:y z",
            "event: t",
            "event",
            "id: 1",
            "id",
            "id: \x00",
            ": c",
            "retry: 5",
            "x: 1",
        ]
    )
    eol = st.sampled_from(["\n", "\r\n", "\r"])
    stream_text = st.lists(st.one_of(st.tuples(field_line, eol).map("".join), eol, st.just("\ufeff")), max_size=30).map(
        "".join
    )

    @settings(max_examples=200, deadline=None, database=None)
    @given(text=st.one_of(stream_text, stream_text.map(lambda t: "\ufeff" + t)), cuts=st.lists(st.integers(0, 500)))
    def test_property_events_independent_of_chunking(text: str, cuts: list[int]) -> None:
        """Any byte split of any stream gives the events the spec transcription gives."""
        body = text.encode()
        points = sorted({c % (len(body) + 1) for c in cuts})
        bounds = [0, *points, len(body)]
        chunks = [body[a:b] for a, b in itertools.pairwise(bounds)]
        expected = reference_events(text)
        got = events_from_chunks(chunks)
        assert [(e.event, e.data, e.id) for e in got] == [(e.event, e.data, e.id) for e in expected]
        assert got == events_from_chunks([body])

else:  # pragma: no cover

    def test_property_tests_need_hypothesis() -> None:
        """The property-based tests run only when hypothesis is installed."""
        pytest.skip("hypothesis is not installed: pip install hypothesis")

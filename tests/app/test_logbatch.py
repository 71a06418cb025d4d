"""Batched per-request lines: the same text as the handler's own formatting, in the same
order, and the usual path for any handler that is not plainly "format, write, flush"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fasthttp import FastHTTP
from fasthttp.logbatch import FLUSH_AFTER, MAX_PENDING, LineBatch, LineTemplate
from fasthttp.logging import ConsoleFormatter, logger
from fasthttp.response import Response
from fasthttp.testing import LocalServer

FORMATS = [
    ("%(asctime)s %(levelname)s %(name)s %(message)s", None),
    ("%(asctime)s | %(message)s | %(asctime)s", None),
    ("[%(asctime)s] %(levelname)-8s %(name)s:%(lineno)d %(message)s", "%H:%M:%S"),
    ("%(message)s", None),
    ("%(levelno)s %(process)d %(threadName)s %(message)s%%", "%Y"),
]
TIMES = [1_700_000_000.0, 1_700_000_000.999, 1_700_000_001.0015, 1_234_567.5]


def _record(message: str, created: float) -> logging.LogRecord:
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, message, (), None)
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return record


@pytest.mark.parametrize(("fmt", "datefmt"), FORMATS)
def test_template_renders_what_the_formatter_would(fmt: str, datefmt: str | None) -> None:
    formatter = logging.Formatter(fmt, datefmt)
    template = LineTemplate.for_formatter(formatter)
    assert template is not None
    for created in TIMES:
        message = f"✔ GET http://127.0.0.1/x?q=%s{{}} 200 {created:.2f}ms"
        expected = formatter.format(_record(message, created))
        assert template.render(message, created) == expected
        assert template.render(message, created) == expected  # again, from the per-ms cache


@pytest.mark.parametrize(("fmt", "datefmt"), FORMATS)
def test_a_batch_renders_what_the_formatter_would_line_by_line(fmt: str, datefmt: str | None) -> None:
    """render_all over times that cross milliseconds and seconds, back and forth."""
    formatter = logging.Formatter(fmt, datefmt)
    template = LineTemplate.for_formatter(formatter)
    assert template is not None
    created = [t + step for t in TIMES for step in (0.0, 0.0004, 0.0011, 0.9995, 0.0004)]
    args: list[tuple[object, ...]] = [("line", i, i / 7) for i in range(len(created))]
    messages = ["%s %d %.2f%%" % a for a in args]  # noqa: UP031  # the batch takes %-formats
    expected = [formatter.format(_record(m, c)) for m, c in zip(messages, created, strict=True)]
    assert template.format_all("%s %d %.2f%%", args, created) == expected


def test_template_of_a_converter_and_msec_format() -> None:
    formatter = logging.Formatter("%(asctime)s %(message)s")
    formatter.converter = time.gmtime
    formatter.default_msec_format = "%s.%03d"
    template = LineTemplate.for_formatter(formatter)
    assert template is not None
    assert template.render("m", 0.25) == "1970-01-01 00:00:00.250 m"


@pytest.mark.parametrize("colour", [True, False])
def test_template_of_the_console_formatter(colour: bool) -> None:
    formatter = ConsoleFormatter(colour=colour)
    template = LineTemplate.for_formatter(formatter)
    assert template is not None
    assert template.render("✔ GET / 200", 5.0) == formatter.format(_record("✔ GET / 200", 5.0))


@pytest.mark.parametrize(
    "fmt",
    [
        "%(created)f %(message)s",  # varies with time, not through asctime
        "%(relativeCreated)d %(message)s",
        "%(msecs)03d %(message)s",
        "%(message)-40s|",  # a width: padding would differ per message
        "%(message).10s",  # a precision: would cut the message
        "%(asctime)-30s %(message)s",
    ],
)
def test_formats_the_template_cannot_prove_are_left_to_the_formatter(fmt: str) -> None:
    assert LineTemplate.for_formatter(logging.Formatter(fmt)) is None


def test_custom_formatters_are_left_to_themselves() -> None:
    class Upper(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return super().format(record).upper()

    assert LineTemplate.for_formatter(Upper("%(message)s")) is None
    overridden = logging.Formatter("%(asctime)s %(message)s")
    overridden.formatTime = lambda record, datefmt=None: "T"  # type: ignore[method-assign]
    assert LineTemplate.for_formatter(overridden) is None


@contextlib.contextmanager
def only_handler(handler: logging.Handler) -> Iterator[logging.Handler]:
    """``handler`` as the only destination of ``fasthttp`` records (pytest's capture handlers
    are set aside, as in a program that configured a log file), restored afterwards.
    Used inside test bodies: pytest attaches its handlers after fixtures run."""
    saved = (list(logger.handlers), logger.level, logger.propagate)
    for existing in saved[0]:
        logger.removeHandler(existing)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        handler.close()
        for existing in saved[0]:
            logger.addHandler(existing)
        logger.setLevel(saved[1])
        logger.propagate = saved[2]


def _app(server: LocalServer) -> FastHTTP:
    app = FastHTTP(base_url=server.url, concurrency=3)

    async def handler(resp: Response) -> int:
        return resp.status

    for i in range(6):
        app.get(f"/anything/{i}", name=f"ok{i}")(handler)
    app.get("/status/404", name="missing")(handler)
    return app


LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|ERROR|WARNING) fasthttp (.*)"
)


async def test_a_log_file_gets_every_line_in_order(server: LocalServer, tmp_path: Path) -> None:
    """A FileHandler is batched: every line in the stdlib format, the ERROR line and the
    summary in their place after the lines written before them."""
    path = tmp_path / "run.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    with only_handler(handler):
        probe = LineBatch.start("%s")
        assert probe is not None
        probe.stop()
        results = await _app(server).arun()
        assert handler.filters == []  # the batch took its filter off again
    lines = path.read_text().splitlines()
    parsed = [LINE.fullmatch(line) for line in lines]
    assert all(parsed), lines
    levels = [m.group(1) for m in parsed if m]
    texts = [m.group(2) for m in parsed if m]
    assert texts[:2] == ["FastHTTP started", "Sending 7 requests"]
    assert texts[-1].startswith("7 succeeded, 0 failed")
    assert re.fullmatch(r"Done in \d+\.\d\ds", texts[-2])
    requests = texts[2:-2]
    assert all(re.fullmatch(r"[✔✘] GET \S+ \d{3} \d+\.\d\dms", t) for t in requests), requests
    assert sorted(t.split()[2] for t in requests) == sorted(
        [f"{server.url}/anything/{i}" for i in range(6)] + [f"{server.url}/status/404"]
    )
    for level, text in zip(levels[2:-2], requests, strict=True):
        assert level == ("ERROR" if "/status/404" in text else "INFO")
    assert len(results) == 7


async def test_a_rotating_file_handler_is_not_batched(server: LocalServer, tmp_path: Path) -> None:
    """A handler with its own emit (here: rollover) gets every record the usual way."""
    path = tmp_path / "rotating.log"
    with only_handler(logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000)):
        assert LineBatch.start("%s") is None
        await _app(server).arun()
    text = path.read_text()
    assert text.count("✔ GET ") == 6 and text.count("✘ GET ") == 1


async def test_a_filtered_handler_sees_every_record(server: LocalServer, tmp_path: Path) -> None:
    """A handler filter is honoured record by record: no batch."""
    seen: list[str] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record.getMessage())
        return "/anything/3" not in record.getMessage()

    path = tmp_path / "filtered.log"
    handler = logging.FileHandler(path)
    handler.addFilter(keep)
    with only_handler(handler):
        assert LineBatch.start("%s") is None
        await _app(server).arun()
    text = path.read_text()
    assert "/anything/3" not in text and text.count("✔ GET ") == 5
    assert any("/anything/3" in line for line in seen)


async def test_batched_lines_are_written_within_flush_after(tmp_path: Path) -> None:
    """Lines reach the file within FLUSH_AFTER, not only at the end of the run; another
    record writes the batch before itself; MAX_PENDING lines are written at once."""
    path = tmp_path / "pass.log"
    with only_handler(logging.FileHandler(path)):
        batch = LineBatch.start("%s")
        assert batch is not None
        try:
            batch.line(("✔ GET http://127.0.0.1/a 200 1.50ms",), time.perf_counter())
            assert path.read_text() == ""
            await asyncio.sleep(FLUSH_AFTER * 4)
            assert path.read_text() == "✔ GET http://127.0.0.1/a 200 1.50ms\n"
            batch.line(("✔ GET http://127.0.0.1/b 200 2.00ms",), time.perf_counter())
            logger.warning("in between")
            assert path.read_text().splitlines()[1:] == [
                "✔ GET http://127.0.0.1/b 200 2.00ms", "in between",
            ]
            for i in range(MAX_PENDING + 1):
                batch.line((f"line {i}",), time.perf_counter())
            written = path.read_text().splitlines()
            assert written[-1] == f"line {MAX_PENDING - 1}"  # the MAX_PENDING-th waiting line
            assert len(written) == 3 + MAX_PENDING  # a, b, "in between", then the full batch
        finally:
            batch.stop()
        assert path.read_text().splitlines()[-1] == f"line {MAX_PENDING}"


async def test_a_batched_line_carries_the_time_it_was_logged(tmp_path: Path) -> None:
    """The time of a line is when line() was called (converted from perf_counter), not
    when the batch was written."""
    path = tmp_path / "time.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s|%(message)s", "%H:%M:%S"))
    with only_handler(handler):
        batch = LineBatch.start("%s %d")
        assert batch is not None
        try:
            early = time.time()
            batch.line(("early", 1), time.perf_counter())
            await asyncio.sleep(1.1)  # the next line is logged in a later second
            late = time.time()
            batch.line(("late", 2), time.perf_counter())
        finally:
            batch.stop()
    lines = path.read_text().splitlines()
    stamp = [line.split("|")[0] for line in lines]
    assert [line.split("|")[1] for line in lines] == ["early 1", "late 2"]
    assert stamp[0] in {time.strftime("%H:%M:%S", time.localtime(early + d)) for d in (0, 0.05)}
    assert stamp[1] in {time.strftime("%H:%M:%S", time.localtime(late + d)) for d in (0, 0.05)}
    assert stamp[0] != stamp[1]

"""The log of one ``app.run()``: start, one line per request, the end summary, and a live
progress line on a terminal.

Lines (logger ``fasthttp``; the console formatter adds ``INFO    │ fasthttp    │ ✔``)::

    FastHTTP started
    Sending 3 requests
    ✔ GET http://127.0.0.1:8000/posts/1 200 1.52ms          INFO
    ✘ GET http://127.0.0.1:8000/status/404 404 0.91ms       ERROR (the handler still ran)
    Done in 0.02s
    2 succeeded, 1 failed; 1 response with a 4xx/5xx status  INFO, WARNING when a route failed

URLs are masked (``mask_url``). ``debug=True`` adds DEBUG lines on ``fasthttp.app``
with request and response bodies (truncated, secret-looking fields masked), the
timing of each step and the handler's return value; the session adds headers.

The progress line is drawn only when run() installed the console handler, its
stream is a terminal, the environment is not CI, and the run has more than
``PROGRESS_MIN_ROUTES`` routes. It is redrawn by a timer (no per-request cost)
and erased before any log record is written, so lines never interleave.

Cost: the per-request INFO line is on the hot path of 10,000-route runs, so its
record is cloned from a prototype (no stack walk, no thread/process lookups) and,
when every destination is a plain ``StreamHandler``/``FileHandler`` (fasthttp's
console handler, a log file, a pipe), lines are formatted by those handlers as usual
but written in batches at most 50 ms apart (same text, same order) rather
than one write and flush each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlencode

import orjson

from .logbatch import LineBatch
from .logging import logger
from .security.redact import REDACTED, is_secret_header, is_secret_param, mask_url

if TYPE_CHECKING:
    from .models import Request
    from .response import Response
    from .results import RunResults

__all__ = ["PROGRESS_MIN_ROUTES", "RunLog", "preview_body"]

app_logger = logging.getLogger("fasthttp.app")

PROGRESS_MIN_ROUTES = 50
RESPONSE_LINE = "✔ %s %s %d %.2fms"  # method, URL (masked), status, milliseconds
_BODY_PREVIEW = 300
_PROGRESS_INTERVAL = 0.1


def _secret_key(key: object) -> bool:
    return isinstance(key, str) and (is_secret_param(key) or is_secret_header(key))


def _mask_json(value: Any) -> Any:
    """Secret-looking keys (``password``, ``token``, ``Authorization``...) get REDACTED
    values, and URLs inside strings are masked, at any depth."""
    if isinstance(value, dict):
        return {k: (REDACTED if _secret_key(k) else _mask_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def preview_body(content: Any, content_type: str | None, limit: int = _BODY_PREVIEW) -> str:
    """A short, printable view of a body with secret-looking JSON/form fields masked."""
    if content is None or content == b"":
        return "(empty)"
    if not isinstance(content, (bytes, bytearray)):
        return "(streamed)"
    kind = (content_type or "").lower()
    if "json" in kind or content[:1] in (b"{", b"["):
        try:
            return _truncate(orjson.dumps(_mask_json(orjson.loads(content))).decode(), limit)
        except orjson.JSONDecodeError:
            pass
    if "x-www-form-urlencoded" in kind:
        try:
            pairs = parse_qsl(content.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            pairs = []
        masked = [(k, REDACTED if _secret_key(k) else v) for k, v in pairs]
        return _truncate(urlencode(masked), limit)
    try:
        text = bytes(content).decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(content)} bytes of binary data)"
    return _truncate(text, limit)


class _EraseProgress(logging.Filter):
    """Attached to the console handler while a progress line shows: clear it before a record."""

    def __init__(self, progress: _Progress) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self.progress.erase()
        return True


class _Progress:
    """``⠹ 1234/10000 requests · 3 failed · 1.2s`` redrawn in place on a terminal."""

    _SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, handler: logging.StreamHandler[TextIO], runlog: RunLog) -> None:
        self.handler = handler
        self.stream = handler.stream
        self.runlog = runlog
        self.shown = False
        self.frame = 0
        self.started = time.perf_counter()
        self.timer: asyncio.TimerHandle | None = None
        self.filter = _EraseProgress(self)

    def start(self) -> None:
        self.handler.addFilter(self.filter)
        self._tick()

    def _tick(self) -> None:
        log = self.runlog
        self.frame += 1
        spin = self._SPINNER[self.frame % len(self._SPINNER)]
        failed = f" · {log.failed} failed" if log.failed else ""
        line = (
            f"{spin} {log.finished}/{log.total} requests{failed} · "
            f"{time.perf_counter() - self.started:.1f}s"
        )
        try:
            self.stream.write(f"\r\x1b[K{line}")
            self.stream.flush()
            self.shown = True
        except (OSError, ValueError):
            return
        self.timer = asyncio.get_running_loop().call_later(_PROGRESS_INTERVAL, self._tick)

    def erase(self) -> None:
        if self.shown:
            self.shown = False
            with contextlib.suppress(OSError, ValueError):
                self.stream.write("\r\x1b[K")

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.erase()
        self.handler.removeFilter(self.filter)


class _RecordMaker:
    """INFO records for the per-request line, cloned from one prototype record.

    ``LogRecord.__init__`` looks up the thread, the process and the file name on every
    call, a quarter of the cost of a request line; these never change within a run, so
    each record copies them from a prototype and sets only its time, message and args.
    Used only when no custom record factory is installed (else ``makeRecord`` is used).
    """

    __slots__ = ("fast", "fields", "new")

    def __init__(self) -> None:
        prototype = logger.makeRecord(logger.name, logging.INFO, __file__, 0, "", (), None)
        self.fields = prototype.__dict__
        self.fast = logging.getLogRecordFactory() is logging.LogRecord
        self.new = logging.LogRecord.__new__

    def __call__(self, msg: str, args: tuple[Any, ...]) -> logging.LogRecord:
        if not self.fast:
            return logger.makeRecord(logger.name, logging.INFO, __file__, 0, msg, args, None)
        record: logging.LogRecord = self.new(logging.LogRecord)
        fields = self.fields
        record.__dict__.update(fields)
        now = time.time()
        record.created = now
        record.msecs = int((now - int(now)) * 1000) + 0.0
        record.relativeCreated = fields["relativeCreated"] + (now - fields["created"]) * 1000
        record.msg = msg
        record.args = args
        return record


def _wants_progress(handler: logging.Handler | None, total: int) -> bool:
    if handler is None or total <= PROGRESS_MIN_ROUTES or os.environ.get("CI"):
        return False
    stream = getattr(handler, "stream", None)
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


class RunLog:
    """Writes the log lines of one run; ``finished``/``failed`` feed the progress line."""

    __slots__ = (
        "_app_level",
        "_handler",
        "batch",
        "debug",
        "failed",
        "finished",
        "info",
        "progress",
        "record",
        "started",
        "total",
    )

    def __init__(self, total: int, *, debug: bool, console: logging.Handler | None) -> None:
        self.total = total
        self.debug = debug
        self.finished = 0
        self.failed = 0
        self.info = logger.isEnabledFor(logging.INFO)
        self.started = time.perf_counter()
        self.progress: _Progress | None = None
        self.batch: LineBatch | None = None
        self.record = _RecordMaker()
        self._handler = console
        self._app_level = app_logger.level

    # -- the run --------------------------------------------------------------------------
    def begin(self) -> None:
        """``FastHTTP started`` / ``Sending N requests``; start the progress line if wanted."""
        if self.debug:
            app_logger.setLevel(logging.DEBUG)
        logger.info("FastHTTP started")
        logger.info("Sending %d requests", self.total)
        self.info = logger.isEnabledFor(logging.INFO)
        self.record = _RecordMaker()
        self.started = time.perf_counter()
        handler = self._handler
        if _wants_progress(handler, self.total) and isinstance(handler, logging.StreamHandler):
            self.progress = _Progress(handler, self)
            self.progress.start()
        elif self.info:
            self.batch = LineBatch.start(RESPONSE_LINE)

    def end(self, results: RunResults) -> None:
        """``Done in X.XXs`` and the summary (or what finished, after an interruption)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self.batch is not None:
            self.batch.stop()
            self.batch = None
        if results.interrupted:
            logger.warning(
                "Interrupted after %.2fs: %d of %d requests finished; %s",
                results.elapsed, len(results), self.total, results.summary(),
            )
        else:
            logger.info("Done in %.2fs", results.elapsed)
            level = logging.WARNING if results.failed else logging.INFO
            logger.log(level, results.summary())
        if self.debug:
            app_logger.setLevel(self._app_level)

    # -- one request ------------------------------------------------------------------------
    def response(self, method: str, url: str, status: int, ms: float, at: float) -> None:
        """One line per response: INFO below 400, ERROR for 4xx/5xx (the handler still runs).
        ``at`` is when it arrived, as ``time.perf_counter()``."""
        self.finished += 1
        if status < 400:
            if self.info:  # logger.info() without its stack walk: this line runs per request
                if self.batch is not None and not logger.disabled:
                    self.batch.line((method, url, status, ms), at)
                else:
                    logger.handle(self.record(RESPONSE_LINE, (method, url, status, ms)))
        else:
            logger.error("✘ %s %s %d %.2fms", method, url, status, ms)

    def not_sent(self, method: str, url: str, error: BaseException) -> None:
        """The request never left: a dependency, validation or the security layer refused it."""
        self.finished += 1
        self.failed += 1
        logger.error("%s", error, extra={"fasthttp_quiet": True})

    def request_failed(self, method: str, url: str, error: BaseException, ms: float) -> None:
        """The request was sent but no response came back (timeout, connection error...)."""
        self.finished += 1
        self.failed += 1
        logger.error(
            "✘ %s %s failed after %.2fms: %s: %s", method, url, ms, type(error).__name__, error
        )

    def route_failed(self, name: str, error: BaseException, *, expected: bool) -> None:
        """After the response: raise_for_status, response validation or the handler raised."""
        self.failed += 1
        if expected:  # already explained by the request line or a full-sentence error
            if not _is_status_error(error):
                logger.error("%s", error, extra={"fasthttp_quiet": True})
            return
        logger.error(
            "Handler %s() raised %s: %s", name, type(error).__name__, error, exc_info=error
        )

    def details(
        self,
        name: str,
        request: Request,
        response: Response | None,
        send_ms: float,
        handler_ms: float,
        value: Any,
        *,
        failed: bool = False,
    ) -> None:
        """debug=True: bodies, the timing of each step and the handler's return value."""
        app_logger.debug(
            "%s → %s %s body: %s", name, request.method, _masked(request),
            preview_body(request.content, request.headers.get("content-type")),
        )
        if response is not None:
            app_logger.debug(
                "%s ← %d %s, %d bytes: %s", name, response.status_code, response.reason,
                len(response.content),
                preview_body(response.content, response.headers.get("content-type")),
            )
        if failed:
            app_logger.debug("%s timings: send %.2fms; failed with %r", name, send_ms, value)
        else:
            app_logger.debug(
                "%s timings: send %.2fms, handler %.2fms; returned %s",
                name, send_ms, handler_ms, _truncate(_show(value), _BODY_PREVIEW),
            )


def _show(value: Any) -> str:
    """A return value for the log: dicts and lists as JSON (as the seed says), else repr."""
    if isinstance(value, (dict, list)):
        try:
            return orjson.dumps(_mask_json(value), option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            pass
    return repr(value)


def _masked(request: Request) -> str:
    return mask_url(request.url)


def _is_status_error(error: BaseException) -> bool:
    from .exceptions import HTTPStatusError

    return isinstance(error, HTTPStatusError)

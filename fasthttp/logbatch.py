"""The per-request INFO lines of an ``app.run()``, written in batches.

A 10,000-route run writes 10,000 lines; through ``logger.handle`` each one costs a
record, a format, a write and a flush, as much as the rest of the route. When every
handler a ``fasthttp`` INFO record reaches is a plain ``StreamHandler`` or
``FileHandler`` with no filter (fasthttp's console handler, a log file, a pipe),
their ``emit`` is "format, write, flush", so ``LineBatch`` formats each line as that
handler would and writes the lines in batches: same text, same
order (any other record reaching those handlers writes the batch first), at most
``FLUSH_AFTER`` seconds late. Anything
else (rotating files, queues, syslog, filters, custom handlers) gets records the
usual way.

Formatting: a line waits as its message arguments and its time; the text is made
when the batch is written. For a stdlib ``Formatter`` or fasthttp's ``ConsoleFormatter``
the line is rendered from a template made once by formatting a probe record whose
message (and ``asctime``) are sentinels. Only the message and the time vary between
the lines of a run, so the text around the message is folded into the message's
%-format once per millisecond and each line is one ``%``; the ``asctime`` text
(localtime + strftime, half the cost of a stdlib format) is made once per second.
A format the probe cannot prove equivalent (a field that changes with time other
than ``asctime``, a width or precision on the message) uses the formatter itself.
This is hand-written: no logging library batches stdlib handlers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TextIO

from .logging import ConsoleFormatter, logger

__all__ = ["FLUSH_AFTER", "MAX_PENDING", "LineBatch", "LineTemplate"]

#: Handler classes whose ``emit`` is known to be "format, write, flush", so batching the
#: writes changes nothing but their number. Subclasses (rotating files, custom emit) are not.
_PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler)

_MESSAGE = "\x00fasthttp-message\x00"
_TIME = "\x00fasthttp-time\x00"
_PLACEHOLDER = re.compile(f"({re.escape(_MESSAGE)}|{re.escape(_TIME)})")

_StreamHandler = logging.StreamHandler[TextIO]

#: A formatted line is written at most this many seconds later (at once when another record
#: reaches the handler, when MAX_PENDING lines wait, or when the run ends): a write per loop
#: pass measured ~4 % of a 10,000-route run on asyncio's loop; ``tail -f`` still looks live.
FLUSH_AFTER = 0.05
MAX_PENDING = 1024


def _probe_record(message: str, asctime: str, created: float) -> logging.LogRecord:
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, message, (), None)
    record.created = created
    record.msecs = 123.0 if created < 1e9 else 456.0
    record.relativeCreated = created
    record.message = message
    record.asctime = asctime
    record.taskName = "probe-a" if created < 1e9 else "probe-b"  # Python 3.12+: varies per task
    return record


class LineTemplate:
    """One formatter's text for an INFO line of ``fasthttp``: the text before the message
    and after it, with the time filled in once per millisecond; ``render`` puts a message
    between them (two concatenations: a fraction of a ``Formatter.format``)."""

    __slots__ = (
        "after", "before", "formatter", "millisecond", "prefix", "second", "stamp", "suffix",
        "timed",
    )

    def __init__(self, formatter: logging.Formatter, parts: list[str]) -> None:
        self.formatter = formatter
        message_at = parts.index(_MESSAGE)
        self.before = parts[:message_at]
        self.after = parts[message_at + 1 :]
        self.timed = _TIME in parts
        self.prefix = "".join(self.before)
        self.suffix = "".join(self.after)
        self.second = -1
        self.stamp = ""
        self.millisecond = -1

    @classmethod
    def for_formatter(cls, formatter: logging.Formatter | None) -> LineTemplate | None:
        """The template of ``formatter``, or None when it is not one of the two classes
        whose ``format`` is known, or its format string does more than place the message
        and the time."""
        if type(formatter) is ConsoleFormatter:
            render = cls._console_text
        elif type(formatter) is logging.Formatter and not (
            {"format", "formatTime", "formatMessage", "usesTime"} & vars(formatter).keys()
        ):
            render = cls._stdlib_text
        else:
            return None
        first = render(formatter, _MESSAGE, _TIME, 1_000_000.5)
        if first.count(_MESSAGE) != 1:
            return None
        # Anything else that varies between records (created, msecs...) would differ here;
        # a width or precision on the message or time would not pad or cut the same way.
        longer = render(formatter, _MESSAGE + "x", _TIME + "y", 2_000_000_000.25)
        if longer != first.replace(_MESSAGE, _MESSAGE + "x").replace(_TIME, _TIME + "y"):
            return None
        return cls(formatter, [part for part in _PLACEHOLDER.split(first) if part])

    @staticmethod
    def _stdlib_text(formatter: logging.Formatter, message: str, asctime: str, created: float) -> str:
        # Formatter.format = message, asctime (when used), formatMessage; no exception here.
        return formatter.formatMessage(_probe_record(message, asctime, created))

    @staticmethod
    def _console_text(formatter: logging.Formatter, message: str, asctime: str, created: float) -> str:
        return formatter.format(_probe_record(message, asctime, created))

    def render(self, message: str, created: float) -> str:
        """The line of ``message`` logged at ``created`` (seconds since the epoch)."""
        return self.format_all("%s", [(message,)], [created])[0]

    def format_all(self, message_format: str, args: list[tuple[object, ...]], created: list[float]) -> list[str]:
        """The lines whose messages are ``message_format % args[i]``, logged at ``created[i]``.

        One ``%`` per line makes the whole line: the text before and after the message is
        folded into the format, once per millisecond of ``created``."""
        if not self.timed:
            line_format = self._line_format(message_format)
            return [line_format % values for values in args]
        lines = []
        line_format = ""
        since = until = 0.0  # the times [since, until) are in the millisecond of line_format
        for values, at in zip(args, created, strict=True):
            if not since <= at < until:
                self._retime(at)
                line_format = self._line_format(message_format)
                second = int(at)
                # A little short of the next millisecond, so no time below it can round into it.
                since, until = at, second + (self.millisecond - second * 1000 + 1) / 1000 - 1e-9
            lines.append(line_format % values)
        return lines

    def _line_format(self, message_format: str) -> str:
        return self.prefix.replace("%", "%%") + message_format + self.suffix.replace("%", "%%")

    def _retime(self, created: float) -> None:
        asctime = self.asctime(created)
        self.prefix = "".join(asctime if part == _TIME else part for part in self.before)
        self.suffix = "".join(asctime if part == _TIME else part for part in self.after)
        second = int(created)
        self.millisecond = second * 1000 + int((created - second) * 1000)  # LogRecord.msecs

    def asctime(self, created: float) -> str:
        """``Formatter.formatTime(record, formatter.datefmt)``, with the strftime part made once
        per second (strftime has no sub-second field; milliseconds are added here)."""
        formatter = self.formatter
        second = int(created)
        if second != self.second:
            self.stamp = time.strftime(
                formatter.datefmt or formatter.default_time_format, formatter.converter(created)
            )
            self.second = second
        msec_format = formatter.default_msec_format
        if msec_format and not formatter.datefmt:
            return msec_format % (self.stamp, int((created - second) * 1000))
        return self.stamp


class _FlushFirst(logging.Filter):
    """On each batched handler while lines are batched: write the batch before any other
    record reaches that handler, so the order of lines is kept."""

    def __init__(self, batch: LineBatch) -> None:
        super().__init__()
        self.batch = batch

    def filter(self, record: logging.LogRecord) -> bool:
        self.batch.flush()
        return True


class LineBatch:
    """Per-request INFO lines, kept as their message arguments and written to each
    destination handler's stream in batches (``FLUSH_AFTER``, ``MAX_PENDING``), formatted
    at that moment as the handler would have formatted them one by one. Build it with
    ``LineBatch.start(message_format)``; ``stop()`` writes what is left and takes its filter
    off the handlers.

    A request pays for one tuple and two appends; the text (``message_format % args``, the
    template) is made in one loop per batch, which measured about half the per-line cost of
    formatting each line as it came."""

    def __init__(self, handlers: list[_StreamHandler], message_format: str) -> None:
        self.sinks: list[tuple[_StreamHandler, LineTemplate | None]] = [
            (h, LineTemplate.for_formatter(h.formatter)) for h in handlers
        ]
        self.message_format = message_format
        self.pending: list[tuple[object, ...]] = []  # each waiting line's message arguments
        self.times: list[float] = []  # and its time, as time.perf_counter()
        # perf_counter() + this = time.time(): the lines' LogRecord.created, without a clock call per line.
        self.clock_offset = time.time() - time.perf_counter()
        self.timer: asyncio.TimerHandle | None = None  # the pending flush, while lines wait
        # For formatters without a template: one record, reused (it never leaves this object).
        self.scratch = logger.makeRecord(logger.name, logging.INFO, __file__, 0, "", (), None)
        self.born = self.scratch.created - self.scratch.relativeCreated / 1000
        self.filter = _FlushFirst(self)
        for handler in handlers:
            handler.addFilter(self.filter)

    @classmethod
    def start(cls, message_format: str) -> LineBatch | None:
        """A batch for the handlers an INFO record of ``fasthttp`` reaches (walked as
        ``Logger.callHandlers`` does), or None when one of them is not plain enough."""
        if logger.disabled or logger.filters:
            return None
        found: list[_StreamHandler] = []
        current: logging.Logger | None = logger
        while current is not None:
            for handler in current.handlers:
                if handler.level > logging.INFO:
                    continue
                if (
                    type(handler) not in _PLAIN_HANDLERS
                    or handler.filters
                    or getattr(handler, "stream", None) is None  # FileHandler(delay=True), unopened
                ):
                    return None
                found.append(handler)  # type: ignore[arg-type]  # a StreamHandler: checked above
            current = current.parent if current.propagate else None
        return cls(found, message_format) if found else None

    def line(self, args: tuple[object, ...], at: float) -> None:
        """One INFO line, ``message_format % args``, logged at ``at`` (a ``time.perf_counter()``)."""
        pending = self.pending
        pending.append(args)
        self.times.append(at)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_AFTER, self.flush)
        elif len(pending) >= MAX_PENDING:
            self.flush()

    def _scratch(self, message: str, now: float) -> logging.LogRecord:
        record = self.scratch
        record.msg = message
        record.args = ()
        record.created = now
        record.msecs = int((now - int(now)) * 1000) + 0.0
        record.relativeCreated = (now - self.born) * 1000
        return record

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()  # a no-op when it is the timer calling
            self.timer = None
        pending, times = self.pending, self.times
        if not pending:
            return
        self.pending, self.times = [], []
        message_format, offset = self.message_format, self.clock_offset
        created = [at + offset for at in times]
        messages: list[str] | None = None
        for handler, template in self.sinks:
            if template is not None:
                lines = template.format_all(message_format, pending, created)
            else:
                if messages is None:
                    messages = [message_format % args for args in pending]
                lines = [handler.format(self._scratch(m, c)) for m, c in zip(messages, created, strict=True)]
            terminator = handler.terminator
            text = terminator.join(lines) + terminator
            handler.acquire()
            try:
                handler.stream.write(text)
                handler.flush()
            except RecursionError:
                raise
            except Exception:
                handler.handleError(self.scratch)  # as StreamHandler.emit does
            finally:
                handler.release()

    def stop(self) -> None:
        self.flush()
        for handler, _ in self.sinks:
            handler.removeFilter(self.filter)

"""The logger tree and fasthttp's console format.

Loggers: ``fasthttp`` (the app's run summary, INFO), ``fasthttp.session``
(per-request lines: DEBUG, and one ERROR line for every request that returns
None), ``fasthttp.tls``. The library never calls ``basicConfig`` and never
touches the root logger. A console handler is added to the ``fasthttp`` logger
only when the program has configured no handler at all (``install_console_handler``),
which ``FastHTTP.run()`` and ``debug=True`` do.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["ConsoleFormatter", "install_console_handler", "logger", "session_logger"]

logger = logging.getLogger("fasthttp")
session_logger = logging.getLogger("fasthttp.session")

_COLOURS = {
    logging.DEBUG: "\x1b[36m",
    logging.INFO: "\x1b[32m",
    logging.WARNING: "\x1b[33m",
    logging.ERROR: "\x1b[31m",
    logging.CRITICAL: "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_MARKS = {logging.DEBUG: "·", logging.INFO: "✔", logging.WARNING: "!", logging.ERROR: "✘", logging.CRITICAL: "✘"}


class ConsoleFormatter(logging.Formatter):
    """``INFO    │ fasthttp    │ ✔ message``, coloured only when the stream is a terminal."""

    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        name = record.name.split(".", 1)[0]
        mark = _MARKS.get(record.levelno, "·")
        text = f"{record.levelname:<8}│ {name:<12}│ {mark} {record.getMessage()}"
        if record.exc_info and record.levelno >= logging.ERROR and not getattr(record, "fasthttp_quiet", False):
            text = f"{text}\n{self.formatException(record.exc_info)}"
        if self.colour:
            return f"{_COLOURS.get(record.levelno, '')}{text}{_RESET}"
        return text


_installed: logging.Handler | None = None


def install_console_handler(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler | None:
    """Attach fasthttp's console handler to the ``fasthttp`` logger, unless the
    program already configured logging (any handler on the way to the root).
    Returns the handler it installed (or that was installed before), else None."""
    global _installed
    if _installed is not None:
        if logger.level > level or logger.level == logging.NOTSET:
            logger.setLevel(level)
        return _installed
    if logger.hasHandlers():
        return None
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(ConsoleFormatter(colour=_is_terminal(out)))
    logger.addHandler(handler)
    logger.setLevel(level)
    _installed = handler
    return handler


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

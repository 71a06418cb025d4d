"""Constants shared by the modules of ``HTTP11Transport``'s connection: its states and its sizes.

The state numbers are ordered: ``WAITING <= state <= BODY`` means "a response is in progress"
(see the state machine in ``h11_protocol``).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BODY",
    "BULK_BUFFER",
    "CLOSED",
    "COMPLETE",
    "FIRST_READ_BUFFER",
    "HEAD",
    "HIGH_WATER",
    "IDLE",
    "INF",
    "LOW_WATER",
    "MAX_FIELDS",
    "MAX_HEAD",
    "MAX_LINE",
    "RAW_BODY_MIN",
    "READ_BUFFER",
    "SMALL_BODY",
    "WAITING",
    "WRITE_CHUNK",
]

IDLE: Final = 0
WAITING: Final = 1
HEAD: Final = 2
BODY: Final = 3
COMPLETE: Final = 4
CLOSED: Final = 5

INF: Final = float("inf")
# A connection starts reading into FIRST_READ_BUFFER bytes: every small response fits, and a new
# connection touches 4 pages instead of 16 (first-touch page faults cost ~3.5 µs each on the bench
# machine: 64 KiB was ~55 µs of the ~180 µs CPU a new connection cost). A read that fills it while a
# body arrives grows it to READ_BUFFER (the streamed chunk size), then BULK_BUFFER (see below).
FIRST_READ_BUFFER: Final = 16 * 1024
READ_BUFFER: Final = 64 * 1024
# A read that fills the whole buffer while a body arrives marks a bulk transfer (h11_bulk): a
# buffered identity body of at least RAW_BODY_MIN bytes with a Content-Length is received straight
# into its final buffer; any other body gets a BULK_BUFFER read buffer (fewer reads per MiB).
BULK_BUFFER: Final = 256 * 1024
RAW_BODY_MIN: Final = 128 * 1024
# Header bounds as the aiohttp transport sets them (RESEARCH.md section 6): at most 100 fields, each
# line at most 8190 bytes; the whole head is therefore bounded too, which also caps what is buffered
# while a head arrives in pieces.
MAX_FIELDS: Final = 100
MAX_LINE: Final = 8190
MAX_HEAD: Final = (MAX_FIELDS + 2) * (MAX_LINE + 2)
# A streamed body pauses reading above HIGH_WATER queued bytes and resumes at LOW_WATER (h11_stream).
HIGH_WATER: Final = 256 * 1024
LOW_WATER: Final = 64 * 1024
WRITE_CHUNK: Final = 256 * 1024  # large uploads go out in pieces of this size (h11_upload)
SMALL_BODY: Final = 64 * 1024  # bodies up to this size go out in the same write() as the head

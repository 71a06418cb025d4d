"""Side-by-side benchmarks of fasthttp against aiohttp and httpx (issue 2, item 11).

``python -m bench.run`` (or ``make bench``) runs every client in its own process,
interleaved over several rounds against one local server, and writes
``bench/RESULTS.md``. See ``bench/README.md``.

Modules imported by the client processes (``driver``, ``workloads``, ``clients``)
use only the standard library at import time, so a client can run from another
virtualenv (``bench/.venvs/NAME``) that has only its own library installed.
"""

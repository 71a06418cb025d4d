"""Tests of HTTP11Transport build their transport explicitly.

To run the whole suite on one HTTP/1.1 transport or the other, set the variable the
session itself reads: ``FASTHTTP_TRANSPORT=aiohttp .venv/bin/python -m pytest``
(the default is ``http11``); CI runs the suite both ways.
"""

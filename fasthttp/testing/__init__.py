"""Embedded local HTTP/1.1 test server (httpbin-like plus jsonplaceholder-like) on 127.0.0.1.

Use ``async with serve() as server`` inside an event loop, or ``with serve_in_thread() as
server`` from synchronous code; ``server.url`` is the base URL and ``server.requests`` the
record of everything received.  ``python -m fasthttp.testing`` runs it standalone.
"""

from .server import LocalServer, RecordedRequest, create_app, serve, serve_in_thread

__all__ = ["LocalServer", "RecordedRequest", "create_app", "serve", "serve_in_thread"]

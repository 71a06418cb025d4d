"""Tests of the transports themselves (the HTTP/1.1 transport on asyncio + httptools)."""

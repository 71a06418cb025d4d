"""Seed 001, "Raw Bytes Body": POST a serialized payload with content= and read it back in chunks."""

import asyncio
import json
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")
received = []


def process(chunk):
    received.append(chunk)


async def main():
    body = json.dumps({"query": "stream this"}).encode()

    async with AsyncSession(
        base_url=BASE,
        headers={"Authorization": "Bearer token"},
        security=False,
    ) as session:
        async with session.stream("POST", "/stream", content=body) as resp:
            async for chunk in resp.aiter_bytes(1024):
                process(chunk)
    print(b"".join(received).decode())


asyncio.run(main())

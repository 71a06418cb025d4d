"""Seed 001, "Session Headers with Streaming": session headers are merged into stream() calls."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(
        base_url=BASE,
        headers={"Authorization": "Bearer token"},
        security=False,
    ) as session:
        # Authorization header is included automatically
        async with session.stream("GET", "/events") as resp:
            async for line in resp.aiter_lines():
                print(line)


asyncio.run(main())

"""Seed 001, "Basic Usage": stream /stream/5 line by line."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(security=False) as session:
        async with session.stream("GET", f"{BASE}/stream/5") as resp:
            async for line in resp.aiter_lines():
                print(line)


asyncio.run(main())

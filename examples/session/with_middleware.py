"""Seed 000, "With Middleware": a CacheMiddleware on the session."""

import asyncio
import os

from fasthttp import AsyncSession, CacheMiddleware

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(
        base_url=BASE,
        middleware=CacheMiddleware(),
        security=False,
    ) as session:
        resp = await session.get("/data")


asyncio.run(main())

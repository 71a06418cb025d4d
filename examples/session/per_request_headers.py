"""Seed 000, "Per-Request Headers and Timeout": override headers or timeout for one request."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(base_url=BASE) as session:
        resp = await session.get(
            "/slow-endpoint",
            headers={"X-Custom": "value"},
            timeout=60.0,
        )


asyncio.run(main())

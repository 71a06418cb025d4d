"""Seed 000, "Working with Responses": status, JSON, text and headers."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(security=False) as session:
        resp = await session.get(f"{BASE}/posts/1")
        if resp:
            print(resp.status)          # 200
            print(resp.json())          # dict
            print(resp.text)            # raw string
            print(resp.headers)         # dict of response headers


asyncio.run(main())

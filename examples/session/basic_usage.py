"""Seed 000, "Basic Usage": GET a todo and print its JSON."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(base_url=BASE) as session:
        resp = await session.get("/todos/1")
        if resp:
            print(resp.json())


asyncio.run(main())

"""Seed 000, "Without Context Manager": open() and close() by hand."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    session = AsyncSession(base_url=BASE)
    await session.open()

    try:
        resp = await session.get("/users/1")
        if resp:
            print(resp.json())
    finally:
        await session.close()


asyncio.run(main())

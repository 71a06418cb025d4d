"""Seed 001, "Checking Status Before Reading": look at status_code before iterating."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(security=False) as session:
        async with session.stream("GET", f"{BASE}/stream/3") as resp:
            if resp.status_code != 200:
                print(f"Error: {resp.status_code}")
                return
            async for line in resp.aiter_lines():
                print(line)


asyncio.run(main())

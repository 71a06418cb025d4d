"""Seed 001, "Downloading Large Files": write a body to disk in 8 KiB chunks."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def download(url: str, dest: str) -> None:
    async with AsyncSession(security=False, timeout=300.0) as session:
        async with session.stream("GET", url) as resp:
            with open(dest, "wb") as f:
                async for chunk in resp.aiter_bytes(8192):
                    f.write(chunk)


asyncio.run(download(f"{BASE}/bytes/1048576", "file.zip"))

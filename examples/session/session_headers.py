"""Seed 000, "Session-Level Headers": headers set on the session go with every request."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(
        base_url=BASE,
        headers={
            "Authorization": "Bearer my-token",
            "Accept": "application/json",
        },
    ) as session:
        resp = await session.get("/users")   # Authorization header included
        resp = await session.get("/posts")   # Authorization header included


asyncio.run(main())

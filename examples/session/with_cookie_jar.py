"""Seed 000, cookie jar: cookies from Set-Cookie are stored and sent back automatically."""

import asyncio
import os

from fasthttp import AsyncSession, CookieJar

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(
        base_url=BASE,
        cookie_jar=CookieJar(),
    ) as session:
        await session.post("/login", json={"user": "admin"})
        # cookies from Set-Cookie are stored and sent automatically
        resp = await session.get("/dashboard")


asyncio.run(main())

"""Seed 000, "Dynamic Request Logic": log in, then use the token in the next request."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(base_url=BASE) as session:
        # Step 1: login
        auth = await session.post("/auth/login", json={"user": "admin", "pass": "secret"})
        if not auth:
            return

        token = auth.json()["token"]

        # Step 2: use token in next request
        resp = await session.get(
            "/protected/data",
            headers={"Authorization": f"Bearer {token}"},
        )
        if resp:
            print(resp.json())


asyncio.run(main())

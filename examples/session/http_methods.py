"""Seed 000, "HTTP Methods": every verb against the jsonplaceholder-like endpoints."""

import asyncio
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    async with AsyncSession(base_url=BASE) as session:
        # GET
        resp = await session.get("/posts/1")

        # GET with query params
        resp = await session.get("/posts", params={"userId": 1})

        # POST with JSON body
        resp = await session.post("/posts", json={"title": "hello", "userId": 1})

        # PUT
        resp = await session.put("/posts/1", json={"id": 1, "title": "updated", "userId": 1})

        # PATCH
        resp = await session.patch("/posts/1", json={"title": "patched"})

        # DELETE
        resp = await session.delete("/posts/1")

        # HEAD
        resp = await session.head("/posts")

        # OPTIONS
        resp = await session.options("/posts")

        # Generic
        resp = await session.request("GET", "/posts/1")


asyncio.run(main())

"""Seed 002, "Lifespan", collecting statistics.

Adapted minimally: two routes that update the counters, and ``app.run()``.
"""

import os
from contextlib import asynccontextmanager

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

@asynccontextmanager
async def lifespan(app: FastHTTP):
    # Initialize counters
    app.request_count = 0
    app.total_time = 0.0

    yield

    # Print statistics after execution
    print(f"Total requests: {app.request_count}")
    print(f"Total time: {app.total_time:.2f}s")

app = FastHTTP(lifespan=lifespan)


@app.get(url=f"{BASE}/posts/1")
async def get_post(resp):
    app.request_count += 1
    app.total_time += resp.elapsed.total_seconds()
    return resp.json()


@app.get(url=f"{BASE}/users/1")
async def get_user(resp):
    app.request_count += 1
    app.total_time += resp.elapsed.total_seconds()
    return resp.json()


if __name__ == "__main__":
    app.run()

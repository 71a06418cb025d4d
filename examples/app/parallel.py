"""Seed 002, "Parallel Execution": three requests in flight at once."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.get(url=f"{BASE}/posts/1")
async def get_post(resp: Response):
    return resp.json()


@app.get(url=f"{BASE}/users/1")
async def get_user(resp: Response):
    return resp.json()


@app.get(url=f"{BASE}/comments/1")
async def get_comment(resp: Response):
    return resp.json()


if __name__ == "__main__":
    # All three requests execute in parallel
    app.run()

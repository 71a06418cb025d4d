"""Seed 002, "Your First Request": GET a post and return its JSON."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.get(url=f"{BASE}/posts/1")
async def main(resp: Response) -> dict:
    """Gets post and returns JSON."""
    return resp.json()


if __name__ == "__main__":
    app.run()

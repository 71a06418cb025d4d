"""Seed 002, "Query Parameters": params= become the query string."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.get(
    url=f"{BASE}/anything/search",
    params={
        "q": "fasthttp",
        "page": 1,
        "limit": 10,
    }
)
async def search(resp: Response):
    """Search with pagination."""
    return resp.json()

# Actual URL: {BASE}/anything/search?q=fasthttp&page=1&limit=10

if __name__ == "__main__":
    app.run()

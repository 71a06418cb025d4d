"""Seed 002, "Error Handling": 404 and 500 responses still reach their handlers."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP(debug=True)


@app.get(url=f"{BASE}/status/404")
async def handle_error(resp: Response):
    """Handles 404 error."""
    return f"Status: {resp.status}"


@app.get(url=f"{BASE}/status/500")
async def handle_server_error(resp: Response):
    """Handles 500 error."""
    return f"Status: {resp.status}"


if __name__ == "__main__":
    app.run()

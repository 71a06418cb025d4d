"""Seed 002, "Headers": global headers for all requests, plus headers for one request."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

# Global headers for all requests
app = FastHTTP(
    get_request={
        "headers": {
            "Authorization": "Bearer my-secret-token",
            "User-Agent": "MyApp/1.0",
            "Accept": "application/json",
        },
    },
)


# Or locally for a specific request:
@app.get(
    url=f"{BASE}/anything/data",
    get_request={
        "headers": {
            "X-Custom-Header": "value",
        }
    }
)
async def with_headers(resp: Response):
    return resp.json()


if __name__ == "__main__":
    app.run()

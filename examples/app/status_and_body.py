"""Seed 002, "Accessing Status and Response Body": status, JSON, text and headers."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.get(url=f"{BASE}/anything/data")
async def handle_response(resp: Response):
    # Status code (200, 404, 500, etc.)
    status = resp.status

    # JSON body
    data = resp.json()

    # Text response
    text = resp.text

    # Response headers
    headers = resp.headers

    return {"status": status, "data": data}


if __name__ == "__main__":
    app.run()

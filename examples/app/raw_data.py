"""Seed 002, "Raw Data": data= bytes are sent as they are."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.post(
    url=f"{BASE}/anything/upload",
    data=b"raw bytes data",
)
async def upload(resp: Response):
    return resp.json()


if __name__ == "__main__":
    app.run()

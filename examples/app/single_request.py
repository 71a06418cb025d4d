"""Seed 002, "Single Request": one route, run at import like the seed."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.get(url=f"{BASE}/anything/data")
async def single_request(resp: Response):
    return resp.json()


app.run()  # Executes the single request

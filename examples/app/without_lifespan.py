"""Seed 002, "Without Lifespan": the app works as before."""

import os

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()  # Without lifespan

@app.get(url=f"{BASE}/anything/data")
async def get_data(resp):
    return resp.json()

app.run()

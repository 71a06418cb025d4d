"""Seed 002, "JSON Body": json= is sent as a JSON body."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.post(
    url=f"{BASE}/users",
    json={
        "name": "John",
        "email": "john@example.com",
        "age": 25,
    }
)
async def create_user(resp: Response):
    return resp.json()


if __name__ == "__main__":
    app.run()

"""Seed 002, "Tags": run only the routes tagged "users"."""

import os

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


@app.get(url=f"{BASE}/users", tags=["users"])
async def get_users(resp):
    return resp.json()


@app.post(url=f"{BASE}/users", tags=["users"])
async def create_user(resp):
    return resp.json()


@app.get(url=f"{BASE}/posts", tags=["posts"])
async def get_posts(resp):
    return resp.json()


# Run only users
app.run(tags=["users"])

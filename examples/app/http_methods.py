"""Seed 002, "HTTP Methods": one route per verb."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


# GET — retrieve data
@app.get(url=f"{BASE}/users")
async def get_users(resp: Response):
    """Get list of users."""
    return resp.json()


# POST — create new data
@app.post(url=f"{BASE}/users", json={"name": "John", "email": "john@example.com"})
async def create_user(resp: Response):
    """Create new user."""
    return resp.json()


# PUT — full data update
@app.put(url=f"{BASE}/users/1", json={"name": "Jane", "email": "jane@example.com"})
async def update_user(resp: Response):
    """Update user completely."""
    return resp.json()


# PATCH — partial data update
@app.patch(url=f"{BASE}/users/1", json={"age": 25})
async def patch_user(resp: Response):
    """Partially update user."""
    return resp.json()


# DELETE — delete data
@app.delete(url=f"{BASE}/users/1")
async def delete_user(resp: Response):
    """Delete user."""
    return resp.status


# HEAD — check endpoint headers
@app.head(url=f"{BASE}/users")
async def check_users(resp: Response):
    """Check if endpoint exists."""
    return resp.status


# OPTIONS — get allowed methods
@app.options(url=f"{BASE}/users")
async def allowed_methods(resp: Response):
    """Get allowed HTTP methods."""
    return {"allow": resp.headers.get("allow", "")}


if __name__ == "__main__":
    app.run()

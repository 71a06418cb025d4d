"""Seed 002, "Lifespan", basic example: startup before the requests, shutdown after."""

import os
from contextlib import asynccontextmanager

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

@asynccontextmanager
async def lifespan(app: FastHTTP):
    # Startup — runs before requests
    print("Starting up...")
    app.auth_token = "my-secret-token"  # Can add attributes to app

    yield  # Requests execute here

    # Shutdown — runs after requests
    print("Shutting down...")

app = FastHTTP(lifespan=lifespan)

@app.get(url=f"{BASE}/anything/data")
async def get_data(resp):
    return resp.json()

app.run()

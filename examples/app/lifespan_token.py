"""Seed 002, "Lifespan", loading an authorization token.

Adapted minimally: the seed leaves ``load_token_from_file()`` undefined, so it is
defined here (it reads ``token.txt`` next to this file, or returns a placeholder),
and one route plus ``app.run()`` were added so the example does something.
"""

import os
from contextlib import asynccontextmanager
from pathlib import Path

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def load_token_from_file():
    path = Path(__file__).with_name("token.txt")
    return path.read_text().strip() if path.exists() else "token-from-file"


@asynccontextmanager
async def lifespan(app: FastHTTP):
    # Load token from environment variable or file
    app.api_token = os.getenv("API_TOKEN") or await load_token_from_file()
    yield

app = FastHTTP(lifespan=lifespan)


@app.get(url=f"{BASE}/anything/data")
async def get_data(resp):
    return {"token_loaded": bool(app.api_token), "status": resp.status}


if __name__ == "__main__":
    app.run()

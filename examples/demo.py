"""fasthttp in one screen: a FastHTTP app with a dozen routes, run against the embedded
test server (started here, on 127.0.0.1), then its results table.

    python examples/demo.py

Shows: every HTTP method, tags, a dependency that adds a header, a request model
that stops an invalid body before it is sent, a 404 that still reaches its
handler, and raise_for_status turning a 500 into that route's error.
"""

from __future__ import annotations

import os
import sys

from pydantic import BaseModel, Field

from fasthttp import Depends, FastHTTP, Router
from fasthttp.response import Response
from fasthttp.testing import serve_in_thread


class NewPost(BaseModel):
    title: str = Field(min_length=3)
    userId: int = Field(ge=1)


async def add_api_key(route, config):
    """A dependency: every request of the 'admin' router carries an API key."""
    config.setdefault("headers", {})["X-API-Key"] = "demo-key-123"
    return config


def build_app(base: str) -> FastHTTP:
    app = FastHTTP(base_url=base, get_request={"headers": {"Accept": "application/json"}})

    @app.get("/posts/1", tags=["posts"])
    async def read_post(resp: Response) -> str:
        return resp.json()["title"]

    @app.get("/posts", params={"userId": 1}, tags=["posts"])
    async def posts_of_user(resp: Response) -> int:
        return len(resp.json())

    @app.post("/posts", json={"title": "hello fasthttp", "userId": 1}, request_model=NewPost,
              tags=["posts"])
    async def create_post(resp: Response) -> int:
        return resp.json()["id"]

    @app.post("/posts", json={"title": "", "userId": 0}, request_model=NewPost, tags=["posts"])
    async def create_invalid_post(resp: Response) -> int:
        return resp.json()["id"]  # never runs: the body fails NewPost, nothing is sent

    @app.put("/posts/1", json={"title": "replaced", "body": "new", "userId": 1}, tags=["posts"])
    async def replace_post(resp: Response) -> str:
        return resp.json()["title"]

    @app.patch("/posts/1", json={"title": "patched"}, tags=["posts"])
    async def patch_post(resp: Response) -> str:
        return resp.json()["title"]

    @app.delete("/posts/1", tags=["posts"])
    async def delete_post(resp: Response) -> int:
        return resp.status

    @app.get("/users", tags=["users"])
    async def list_users(resp: Response) -> list[str]:
        return [user["username"] for user in resp.json()[:3]]

    @app.head("/users", tags=["users"])
    async def users_exist(resp: Response) -> bool:
        return resp.ok

    @app.get("/posts/999", tags=["posts"])
    async def missing_post(resp: Response) -> str:
        return f"handled a {resp.status}"

    admin = Router(prefix="/anything/admin", tags=["admin"], dependencies=[Depends(add_api_key)])

    @admin.get("/stats")
    async def admin_stats(resp: Response) -> str:
        return resp.json()["headers"]["X-Api-Key"]

    @admin.options("/stats")
    async def admin_options(resp: Response) -> int:
        return resp.status

    app.include_router(admin)

    @app.get("/status/500", raise_for_status=True, tags=["status"])
    async def flaky_service(resp: Response) -> int:
        return resp.status  # never runs: raise_for_status makes the 500 this route's error

    return app


def main() -> int:
    # SSRF protection blocks internal addresses; allow the local demo server explicitly.
    allowed = os.environ.get("FASTHTTP_ALLOW_HOSTS", "")
    os.environ["FASTHTTP_ALLOW_HOSTS"] = ",".join(filter(None, (allowed, "127.0.0.1")))
    with serve_in_thread() as server:
        app = build_app(server.url)
        results = app.run()
    print()
    print(results.table(colour=sys.stdout.isatty()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

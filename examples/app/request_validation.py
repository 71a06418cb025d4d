"""Seed 002, "Request Validation": Pydantic models check json=/data= before sending.

The seed's three snippets in one app: the valid user is sent, the invalid one is
not (an ERROR line says which fields failed), the form login is sent. The two
handlers named ``create_user`` appear in the results as ``create_user`` and
``create_user_2``.
"""

import os

from pydantic import BaseModel, Field

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()

class UserRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=r"^[\w\.-]+@[\w\.-]+\.\w+$")
    age: int = Field(ge=0, le=150)

@app.post(
    url=f"{BASE}/users",
    json={"name": "John", "email": "john@example.com", "age": 25},
    request_model=UserRequest
)
async def create_user(resp):
    return resp.json()


# Validation with Error
@app.post(
    url=f"{BASE}/users",
    json={"name": "", "email": "invalid-email", "age": 200},
    request_model=UserRequest
)
async def create_user(resp):  # noqa: F811 (the seed reuses the name; the app keeps both)
    return resp.json()

# Request won't be sent, in logs:
# ERROR | Request validation failed: ...


# Validation with data
class FormData(BaseModel):
    username: str
    password: str = Field(min_length=8)

@app.post(
    url=f"{BASE}/anything/login",
    data={"username": "john", "password": "secret123"},
    request_model=FormData
)
async def login(resp):
    return resp.json()


if __name__ == "__main__":
    app.run()

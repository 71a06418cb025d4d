"""Seed 002, "Return Values": handlers return dicts, lists, strings, numbers or the Response."""

import os

from fasthttp import FastHTTP
from fasthttp.response import Response

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

app = FastHTTP()


# Return dict — automatically converted to JSON
@app.get(url=f"{BASE}/anything/data")
async def return_dict(resp: Response):
    return {"message": "Hello", "status": resp.status}


# Return list
@app.get(url=f"{BASE}/anything/items")
async def return_list(resp: Response):
    return [1, 2, 3, 4, 5]


# Return string
@app.get(url=f"{BASE}/anything/text")
async def return_string(resp: Response):
    return "Hello, World!"


# Return number (status code)
@app.get(url=f"{BASE}/anything/status")
async def return_number(resp: Response):
    return resp.status


# Return Response object
@app.get(url=f"{BASE}/anything/data")
async def return_response(resp: Response):
    return resp  # Returns the entire response object


if __name__ == "__main__":
    results = app.run()
    for name, value in results.items():
        print(f"{name}: {value!r}")

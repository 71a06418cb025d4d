"""Seed 002, "Application Structure": an app in debug mode with one route."""

import os

from fasthttp import FastHTTP

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")

# Create application
app = FastHTTP(debug=True)  # debug=True enables verbose logging


# Define request using decorator
@app.get(url=f"{BASE}/anything/data")
async def my_request(resp):
    # resp — response object
    return resp.json()


# Run it
if __name__ == "__main__":
    app.run()

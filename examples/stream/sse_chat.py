"""Seed 001, "Server-Sent Events": an OpenAI-style token stream, read line by line.

The embedded server's /v1/chat/completions answers like the real API does with
"stream": true (data: {...} lines, then data: [DONE]).
"""

import asyncio
import json
import os

from fasthttp import AsyncSession

BASE = os.environ.get("FASTHTTP_EXAMPLE_URL", "http://127.0.0.1:8000")


async def main():
    payload = json.dumps({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hello!"}],
        "stream": True,
    }).encode()

    async with AsyncSession(security=False, timeout=60.0) as session:
        async with session.stream(
            "POST",
            f"{BASE}/v1/chat/completions",
            headers={
                "Authorization": "Bearer YOUR_API_KEY",
                "Content-Type": "application/json",
            },
            content=payload,
        ) as resp:
            async for line in resp.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                token = chunk["choices"][0]["delta"].get("content", "")
                print(token, end="", flush=True)


asyncio.run(main())

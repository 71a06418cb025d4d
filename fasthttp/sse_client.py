"""Reconnecting Server-Sent Events: the I/O loop around ``fasthttp.sse.SSEReconnector``.

``session.sse(url)`` yields events across reconnections, EventSource style:
- each connection is a ``session.stream()`` (the whole pipeline, the read timeout
  as inactivity timeout) with ``Accept: text/event-stream`` and, after the first,
  ``Last-Event-ID`` set to the last event id seen;
- when a stream ends, or breaks with a transport error (reset, read timeout), the
  loop waits the reconnection time (the server's ``retry:``, else 3 s, doubled for
  consecutive failed attempts) and connects again;
- HTTP 204 ends the loop quietly; another status, a wrong content type, or more
  than ``max_attempts`` consecutive attempts without an event raise ``SSEError``;
- one ``SSEDecoder`` spans the connections, so ids and ``retry:`` carry over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .exceptions import SSEError, TransportError
from .sse import ServerSentEvent, SSEAction, SSEDecision, SSEDecoder, SSEReconnector, aiter_sse_bytes

if TYPE_CHECKING:
    from .models import HeadersInput
    from .session import AsyncSession

__all__ = ["aiter_sse_reconnecting"]


async def aiter_sse_reconnecting(
    session: AsyncSession,
    method: str,
    url: str,
    *,
    headers: HeadersInput = None,
    timeout: Any = None,
    max_attempts: int | None = 5,
    retry_ms: int = 3000,
    last_event_id: str | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncIterator[ServerSentEvent]:
    """Events from ``url`` across reconnections (see the module docstring)."""
    policy = SSEReconnector(retry_ms=retry_ms, max_attempts=max_attempts, last_event_id=last_event_id)
    decoder = SSEDecoder(last_event_id=last_event_id)
    base_headers = dict(headers.items() if hasattr(headers, "items") else headers or ())  # type: ignore[union-attr]
    stream_options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    while True:
        status: int | None = None
        error: BaseException | None = None
        decision = SSEDecision(SSEAction.READ, "")
        try:
            request_headers = {**base_headers, **policy.headers_for_next_attempt()}
            async with session.stream(method, url, headers=request_headers, **stream_options) as resp:
                status = resp.status_code
                decision = policy.check_response(status, resp.headers.get("content-type"))
                if decision.action is SSEAction.READ:
                    async for event in aiter_sse_bytes(resp.aiter_bytes(), decoder=decoder):
                        policy.sync(decoder)
                        policy.observe(event)  # progress: resets the attempt count
                        yield event
        except TransportError as exc:
            error = exc
        policy.sync(decoder)
        if decision.action is SSEAction.READ:
            decision = policy.decide(status, error)
        if decision.action is SSEAction.STOP:
            return
        if decision.action is SSEAction.FAIL:
            raise SSEError(decision.reason) from error
        await sleep(policy.next_delay())

"""Event hooks like httpx's: ``event_hooks={"request": [...], "response": [...]}``.

Each hook is called with the Request (before it is sent) or the Response (as it
comes back), on every hop of a redirect and every retry attempt; hooks may be
sync or async, and their return value is ignored. A hook may change the
request's headers in place, or raise (for example ``response.raise_for_status()``)
to fail the request. Sessions without hooks pay nothing: the hook layer is only
added to the chain when a hook is set.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ..models import Request
    from ..response import Response
    from .base import CallNext

__all__ = ["EventHooks", "normalize_event_hooks"]

Hook = Callable[[Any], Any]
_KINDS = ("request", "response")


def normalize_event_hooks(event_hooks: Mapping[str, Sequence[Hook] | Hook] | None) -> dict[str, list[Hook]]:
    """Check ``event_hooks=`` and return ``{"request": [...], "response": [...]}``."""
    result: dict[str, list[Hook]] = {"request": [], "response": []}
    if not event_hooks:
        return result
    if not isinstance(event_hooks, Mapping):
        raise TypeError(
            'event_hooks= must be a dict like {"request": [fn], "response": [fn]}; '
            f"got {type(event_hooks).__name__}."
        )
    for kind, hooks in event_hooks.items():
        if kind not in _KINDS:
            raise ValueError(f'event_hooks has an unknown key {kind!r}: use "request" and/or "response".')
        items: list[Hook] = list(hooks) if isinstance(hooks, (list, tuple)) else [cast(Hook, hooks)]
        for hook in items:
            if not callable(hook):
                raise TypeError(f"event_hooks[{kind!r}] must hold functions; got {type(hook).__name__}.")
        result[kind] = items
    return result


class EventHooks:
    """The chain layer that calls the hooks (the innermost middleware)."""

    def __init__(self, hooks: dict[str, list[Hook]]) -> None:
        self.request_hooks = hooks["request"]
        self.response_hooks = hooks["response"]

    async def __call__(self, request: Request, call_next: CallNext) -> Response:
        for hook in self.request_hooks:
            result = hook(request)
            if inspect.isawaitable(result):
                await result
        response = await call_next(request)
        for hook in self.response_hooks:
            result = hook(response)
            if inspect.isawaitable(result):
                await result
        return response

"""fasthttp's ``AsyncSession`` with the HTTP/1.1 transport named explicitly: ``transport="http11"``.

Since ``http11`` became the session's default, this measures the same thing as the ``fasthttp``
client; it stays (outside the default set) so older result files keep a matching client name,
together with its uvloop variant. The client process gets ``FASTHTTP_ALLOW_HOSTS=127.0.0.1``.
"""

from __future__ import annotations

from .base import ClientSpec
from .fasthttp_session import Adapter as SessionAdapter

_LABEL = (
    'AsyncSession(base_url=..., transport="http11"); `await session.get(path)`, resp.json() (orjson) / '
    "resp.content; `session.stream()` + aiter_bytes(65536)"
)

CLIENTS = (
    ClientSpec(
        name="fasthttp-http11",
        adapter=__name__.rpartition(".")[2],
        label=_LABEL,
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
    ClientSpec(
        name="fasthttp-http11-uvloop",
        adapter=__name__.rpartition(".")[2],
        label="same, on uvloop",
        loop="uvloop",
        env=(("FASTHTTP_ALLOW_HOSTS", "127.0.0.1"),),
        default=False,
    ),
)


class Adapter(SessionAdapter):
    transport = "http11"

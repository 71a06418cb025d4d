"""What a client adapter is: the base class and the spec that names a runnable variant.

Standard library only: client processes import this, possibly from another venv.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Adapter", "AppRunner", "ClientSpec", "LoopName"]

# A prepared declarative run: calling it runs ``app.run()`` (blocking, its own event loop)
# and returns how many routes succeeded.
AppRunner = Callable[[], int]

LoopName = Literal["asyncio", "uvloop"]


@dataclass(frozen=True)
class ClientSpec:
    """A runnable client variant: an adapter module plus how to start its process.

    ``name`` is the key used on the command line and in the tables; one adapter
    module may declare several specs (for example an ``asyncio`` and a ``uvloop``
    variant of the same client).
    """

    name: str
    adapter: str  # module name under bench.clients that defines ``Adapter``
    label: str  # how the tables describe the configuration
    loop: LoopName = "asyncio"
    # None: run with the interpreter running bench.run (/work/main/.venv). Otherwise the
    # client runs from bench/.venvs/<venv>/bin/python and nothing else (for packages that
    # must never be installed into the project venv, e.g. PyPI's unrelated fasthttp-client).
    venv: str | None = None
    env: tuple[tuple[str, str], ...] = ()  # extra environment variables for the client process
    default: bool = True  # part of a run that does not name its clients


class Adapter(ABC):
    """One client library, driven by ``bench.driver``.

    Rules for adapters:
    - import the library inside ``open()`` (or under TYPE_CHECKING), never at module
      level, so the parent process can list every adapter without importing them;
    - configure the client the way its documentation shows; say so in ``label``;
    - raise on any failed request (a non-2xx status, a short body); never return None.
    """

    #: The event loop of the spec the adapter was loaded for (``load_adapter`` sets it), for
    #: adapters whose ``prepare_app`` makes its own loop.
    loop_name: LoopName = "asyncio"

    @abstractmethod
    async def open(self, base_url: str) -> None:
        """Create the client/session pointed at ``base_url`` (``http://127.0.0.1:PORT``)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the client and its connections."""

    def target(self, base_url: str, path: str) -> str:
        """The URL string the request methods get (absolute by default)."""
        return base_url + path

    @abstractmethod
    async def get_json(self, url: str) -> Any:
        """GET ``url``, read the body and parse it as JSON; return the parsed value."""

    @abstractmethod
    async def get_bytes(self, url: str) -> bytes:
        """GET ``url`` and return the whole body."""

    @abstractmethod
    async def stream(self, url: str, chunk_size: int) -> int:
        """GET ``url`` and read the body as a stream of ``chunk_size`` chunks; return its length."""

    def prepare_app(self, base_url: str, path: str, routes: int, concurrency: int, log_file: str) -> AppRunner | None:
        """For ``app`` workloads: build a declarative app of ``routes`` GETs of ``path`` at
        ``concurrency``, logging to ``log_file``; return the callable that runs it (timed by the
        driver; building the app is not). None (the default): the client has no declarative app,
        and the driver sends the same requests through ``get_json`` with ``concurrency`` workers."""
        return None

    def unsupported(self, kind: str) -> str | None:
        """Why this client cannot run workloads of ``kind`` (shown in its table cell), or None."""
        return None

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of the libraries this adapter measures, e.g. ``{"aiohttp": "3.10.0"}``."""

"""Client adapters, one module per client library.

Each module defines ``CLIENTS`` (a tuple of ``ClientSpec``) and a class ``Adapter``
(a subclass of ``base.Adapter``). Adding a client is adding one such module: it is
found by ``discover()``. Modules must import nothing but the standard library at
import time (the library under test is imported in ``Adapter.open()``).
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Adapter, ClientSpec

__all__ = ["Adapter", "ClientSpec", "discover", "load_adapter"]

_NOT_ADAPTERS = frozenset({"base"})


def discover() -> dict[str, ClientSpec]:
    """Every client variant declared by the adapter modules, by name, in module order."""
    specs: dict[str, ClientSpec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_ADAPTERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for spec in getattr(module, "CLIENTS", ()):
            if spec.name in specs:
                raise ValueError(f"client name {spec.name!r} is declared twice ({info.name})")
            specs[spec.name] = spec
    return specs


def load_adapter(spec: ClientSpec) -> Adapter:
    """A fresh instance of the adapter class behind ``spec``."""
    module = importlib.import_module(f"{__name__}.{spec.adapter}")
    adapter_class: type[Adapter] = module.Adapter
    adapter = adapter_class()
    adapter.loop_name = spec.loop
    return adapter

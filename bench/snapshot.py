"""A frozen copy of the ``fasthttp`` package for one run, and a digest that names it.

Other engineers edit ``fasthttp/`` while a run takes a quarter of an hour: without a
snapshot, later rounds would measure other code than earlier ones. ``bench.run`` copies
the package once (each file read once, so the digest is of exactly what was copied) to
``bench/out/snapshots/<digest>/fasthttp`` and puts that first on the client processes'
``PYTHONPATH``. Standard library only: the fasthttp adapter uses ``tree_digest`` to
report which code it actually imported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

__all__ = ["snapshot_package", "tree_digest"]


def _files(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _digest(items: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in items:
        h.update(rel.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:12]


def tree_digest(package: Path) -> str:
    """Digest of every file under ``package`` (bytecode caches excluded)."""
    return _digest([(p.relative_to(package).as_posix(), p.read_bytes()) for p in _files(package)])


def snapshot_package(package: Path, snapshots: Path) -> tuple[Path, str]:
    """Copy ``package`` to ``snapshots/<digest>/<name>``; return (the directory for sys.path, digest)."""
    items = [(p.relative_to(package).as_posix(), p.read_bytes()) for p in _files(package)]
    digest = _digest(items)
    root = snapshots / digest
    if not (root / package.name).is_dir():
        staging = snapshots / f".{digest}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        for rel, data in items:
            target = staging / package.name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    return root, digest


def forget_repo_root() -> None:
    """Take the repository root off ``sys.path`` (``python -m`` put it first), so that from here on
    ``import fasthttp`` finds the run's snapshot (PYTHONPATH), the editable install or a venv's own
    package, never the live tree by accident. Call it once every bench module is imported."""
    root = Path(__file__).resolve().parent.parent
    sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != root]

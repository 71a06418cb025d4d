"""docs/migration.md's Python examples run as written against the embedded server.

Like tests/test_readme.py, every ```python block not preceded by ``<!-- not-a-test -->`` runs
with ``http://127.0.0.1:8000`` replaced by the embedded server's URL and
``FASTHTTP_ALLOW_HOSTS=127.0.0.1`` set, outside the test process. To keep the run short, one
subprocess runs them all, one after the other, each in a fresh ``__main__`` namespace (each
example calls ``asyncio.run()`` itself, so each gets its own event loop); an exception, or a
ResourceWarning / unraisable exception (an unclosed session or connection), fails its example.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fasthttp.testing import LocalServer

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "migration.md"
_BLOCK = re.compile(r"(<!-- not-a-test -->\n)?```python\n(.*?)```", re.S)
_HEADING = re.compile(r"^#{2,4} +(.+)$", re.M)
_DEADLINE = 120.0

_RUNNER = r"""
import gc, json, sys, traceback, warnings

warnings.simplefilter("error", ResourceWarning)
unraisable = []
sys.unraisablehook = lambda info: unraisable.append(f"{info.exc_type.__name__}: {info.exc_value} ({info.object!r})")
results = {}
for path in sys.argv[2:]:
    del unraisable[:]
    try:
        with open(path) as source:
            exec(compile(source.read(), path, "exec"), {"__name__": "__main__", "__file__": path})
        gc.collect()
        results[path] = "; ".join(unraisable) or None
    except BaseException:
        results[path] = traceback.format_exc()
with open(sys.argv[1], "w") as out:
    json.dump(results, out)
"""


@dataclass(frozen=True)
class Example:
    id: str  # its position and the heading it sits under
    code: str


def _examples() -> list[Example]:
    text = GUIDE.read_text()
    headings = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)]
    examples: list[Example] = []
    for index, match in enumerate(_BLOCK.finditer(text)):
        if match.group(1):
            continue
        above = [title for start, title in headings if start < match.start()]
        slug = re.sub(r"[^a-z0-9]+", "-", (above[-1] if above else "top").lower()).strip("-")[:40]
        examples.append(Example(f"{index}-{slug}", match.group(2)))
    return examples


EXAMPLES = _examples()


@pytest.fixture(scope="module")
def outcomes(shared_server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    """Run every example once, in one subprocess; example id -> None (it passed) or what went wrong."""
    directory = tmp_path_factory.mktemp("migration-examples")
    scripts: dict[str, Path] = {}
    for example in EXAMPLES:
        script = directory / f"{example.id}.py"
        script.write_text(example.code.replace("http://127.0.0.1:8000", shared_server.url))
        scripts[example.id] = script
    runner = directory / "run_examples.py"
    runner.write_text(_RUNNER)
    results = directory / "results.json"
    env = {**os.environ, "FASTHTTP_ALLOW_HOSTS": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, str(runner), str(results), *map(str, scripts.values())],
        cwd=directory, env=env, capture_output=True, text=True, timeout=_DEADLINE,
    )  # fmt: skip
    assert done.returncode == 0 and results.exists(), done.stderr
    by_path: dict[str, str | None] = json.loads(results.read_text())
    yield {example_id: by_path[str(script)] for example_id, script in scripts.items()}


def test_the_guide_has_examples() -> None:
    """The guide keeps a runnable example for each deliberate difference (at least seven)."""
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_migration_example_runs(example: Example, outcomes: dict[str, str | None]) -> None:
    """The example runs to its end, with no exception and nothing left unclosed."""
    assert outcomes[example.id] is None, outcomes[example.id]

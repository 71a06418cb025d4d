"""The README's Python examples run as written against the embedded server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fasthttp.testing import LocalServer

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"(<!-- not-a-test -->\n)?```python\n(.*?)```", re.S)


def _examples() -> list[str]:
    return [code for skip, code in _BLOCK.findall(README.read_text()) if not skip]


@pytest.mark.parametrize("code", _examples(), ids=lambda code: code.strip().splitlines()[-1][:40])
def test_readme_example_runs(code: str, shared_server: LocalServer, tmp_path: Path) -> None:
    """Each README example exits 0 when its URL points at the embedded server."""
    script = tmp_path / "example.py"
    script.write_text(code.replace("http://127.0.0.1:8000", shared_server.url))
    env = {**os.environ, "FASTHTTP_ALLOW_HOSTS": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr

"""docs/security.md: every Python example runs as written against the embedded server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fasthttp.testing import LocalServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
_BLOCK = re.compile(r"(<!-- not-a-test -->\n)?```python\n(.*?)```", re.S)


def _examples() -> list[str]:
    return [code for skip, code in _BLOCK.findall(DOC.read_text()) if not skip]


def test_the_page_has_examples() -> None:
    """The extraction finds the page's examples (a renamed fence would silently skip them all)."""
    assert len(_examples()) >= 8


@pytest.mark.parametrize("code", _examples(), ids=lambda code: code.strip().splitlines()[-1][:40])
def test_security_doc_example_runs(code: str, shared_server: LocalServer, tmp_path: Path) -> None:
    """Each example exits 0 when its URL points at the embedded server."""
    script = tmp_path / "example.py"
    script.write_text(code.replace("http://127.0.0.1:8000", shared_server.url))
    env = {**os.environ, "FASTHTTP_ALLOW_HOSTS": "127.0.0.1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

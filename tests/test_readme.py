"""README's usage example runs as written (so it cannot rot)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_readme_example_runs_and_prints_what_it_says() -> None:
    """Each ``print`` of README's example prints what its comment says."""
    text = (ROOT / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    expected = [c.strip() for c in re.findall(r"print\(.*\)  # (.*)", code)]
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    assert lines[: len(expected)] == expected

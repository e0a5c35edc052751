"""The examples of ``docs/testing.md`` run as the test modules they are (so they cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = re.findall(
    r"```python\n(.*?)```", (Path(__file__).parent.parent / "docs" / "testing.md").read_text(), re.S
)


def test_the_guide_has_its_examples() -> None:
    """The guide shows an oracle test, a contract test class and the contract as a function."""
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_guide_example_passes(pytester: pytest.Pytester, index: int) -> None:
    """Each example, saved as a test module of another project, passes in full."""
    pytester.makepyfile(test_example=EXAMPLES[index])
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()[-3000:]
    assert outcomes.get("error", 0) == 0, result.stdout.str()[-3000:]
    assert outcomes["passed"] >= 2

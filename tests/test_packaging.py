"""The package as its users install it: version, extras, entry points, licence metadata."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points, metadata, requires, version

import pytest

import meeting_rules


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def requirements(extra: str | None) -> dict[str, str]:
    """The installed package's requirements (of an extra), name to version specifier."""
    found = {}
    for line in requires("meeting_rules") or []:
        spec, _, marker = line.partition(";")
        wanted = f'extra == "{extra}"' in marker if extra else not marker.strip()
        if wanted:
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*\(?([^)]*)\)?", spec.strip())
            assert match, line
            found[match.group(1).lower().replace("_", "-")] = match.group(3).strip()
    return found


def test_version_is_the_installed_metadata() -> None:
    assert meeting_rules.__version__ == version("meeting_rules")


def test_every_dependency_has_a_lower_bound() -> None:
    """Lower bounds the suite passes with (CI's second job installs exactly these)."""
    for extra in (None, "testing", "test", "dev"):
        for name, specifier in requirements(extra).items():
            if name == "meeting-rules":
                continue
            assert specifier.startswith(">="), (extra, name, specifier)
    assert requirements(None)["cattrs"] == ">=26.1"  # every older cattrs fails


def test_testing_extra_is_hypothesis_and_pytest_only() -> None:
    assert set(requirements("testing")) == {"hypothesis", "pytest"}
    tools = {"ruff", "mypy", "coverage", "pytest-cov"}
    assert not tools & set(requirements("testing"))
    assert {"ruff", "mypy"} <= set(requirements("dev"))
    assert not {"ruff", "mypy"} & set(requirements("test"))


def test_licence_and_pythons_in_the_metadata() -> None:
    data = metadata("meeting_rules")
    assert data["License-Expression"] == "MIT"
    classifiers = data.get_all("Classifier") or []
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]


def test_hypothesis_entry_point_draws_from_the_kit() -> None:
    """``st.from_type`` of the three types goes through the kit's strategies (a fresh process:
    Hypothesis runs the entry point when it is imported)."""
    assert [e.value for e in entry_points(group="hypothesis") if e.name == "meeting_rules"] == [
        "meeting_rules.testing._hypothesis:_hypothesis_setup_hook"
    ]
    result = run_python(
        """
        from hypothesis import strategies as st
        from meeting_rules import CreateOrGetRequest, Instant, OnlineMeeting
        from meeting_rules.testing import strategies

        marks = {
            "instants": Instant.parse("2001-02-03T04:05:06.7000008Z"),
            "requests": CreateOrGetRequest(external_id="from the kit"),
            "meetings": OnlineMeeting(id="from the kit"),
        }
        for name, value in marks.items():
            setattr(strategies, name, lambda value=value, **_: st.just(value))
        for cls, name in ((Instant, "instants"), (CreateOrGetRequest, "requests"),
                          (OnlineMeeting, "meetings")):
            assert st.from_type(cls).example() == marks[name], cls
        print("ok")
        """
    )
    assert result.stdout == "ok\n", result.stderr


@pytest.mark.parametrize(
    "statement",
    [
        "from meeting_rules.testing import RepositoryContract",
        "import meeting_rules.testing.strategies",
    ],
)
def test_kit_without_hypothesis_says_what_to_install(statement: str) -> None:
    result = run_python(
        f"""
        import sys
        sys.modules["hypothesis"] = None  # as if it were not installed
        try:
            {statement}
        except ModuleNotFoundError as error:
            print(error.name)
            print(error)
        """
    )
    name, message = result.stdout.splitlines()
    assert name == "hypothesis"
    assert "pip install 'meeting_rules[testing]'" in message
    assert "pip install '.[testing]'" in message


def test_pytest_plugin_loads_without_hypothesis() -> None:
    """The plugin is loaded in every pytest run of an environment that has the package: it must
    not need Hypothesis."""
    result = run_python(
        """
        import sys
        sys.modules["hypothesis"] = None
        import meeting_rules.testing.plugin
        print("ok")
        """
    )
    assert result.stdout == "ok\n", result.stderr


def test_documented_wheel_commands_name_this_version() -> None:
    """The install commands of README.md and docs/testing.md name the wheel this version builds
    (CI's second job builds it and installs it with its extra)."""
    from pathlib import Path

    root = Path(__file__).parent.parent
    wheel = f"meeting_rules-{version('meeting_rules')}-py3-none-any.whl[testing]"
    for doc in ("README.md", "docs/testing.md"):
        text = (root / doc).read_text()
        assert "pip install '.[testing]'" in text, doc
        assert f"dist/{wheel}" in text, doc

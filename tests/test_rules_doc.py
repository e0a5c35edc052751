"""``docs/rules.md`` maps every rule of the catalogue to its code and its tests."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
RULE_IDS = (ROOT / "tests" / "data" / "rule-ids.txt").read_text().split()
ROWS = {
    match.group(1): match.group(0)
    for match in re.finditer(
        r"^\| (R-[A-Z]+-\d+) \|.*$", (ROOT / "docs" / "rules.md").read_text(), re.M
    )
}
TEST_TEXT = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))


def defined_tests(path: Path) -> set[str]:
    """``name`` and ``Class::name`` of every test class and function in a file."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found.add(node.name)
            found.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef)
            )
    return found


def cited(rule: str) -> bool:
    as_name = rule.lower().replace("-", "_")
    return rule in TEST_TEXT or as_name in TEST_TEXT


def test_every_catalogue_rule_is_mapped() -> None:
    """Each rule ID of the catalogue has its row; no row names an unknown rule."""
    assert len(RULE_IDS) == 43
    assert sorted(ROWS) == sorted(RULE_IDS)


@pytest.mark.parametrize("rule", RULE_IDS)
def test_named_tests_exist(rule: str) -> None:
    """Every test a row names exists in the file it names."""
    cells = [cell.strip() for cell in ROWS[rule].strip("|").split("|")]
    for reference in re.findall(r"(test_\w+\.py)::([\w:]+)", cells[3]):
        file, name = reference
        assert name in defined_tests(ROOT / "tests" / file), f"{rule}: {file}::{name}"


@pytest.mark.parametrize("rule", RULE_IDS)
def test_implemented_rules_are_cited_by_tests(rule: str) -> None:
    """A rule whose code is not planned is cited, by ID, in some test."""
    code = [cell.strip() for cell in ROWS[rule].strip("|").split("|")][2]
    if code != "planned":
        assert cited(rule), rule

"""``docs/rules.md`` maps every rule of the catalogue to its code and its tests."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
RULE_IDS = (ROOT / "tests" / "data" / "rule-ids.txt").read_text().split()
ROWS = {
    match.group(1): [cell.strip() for cell in match.group(0).strip("|").split("|")]
    for match in re.finditer(
        r"^\| (R-[A-Z]+-\d+) \|.*$", (ROOT / "docs" / "rules.md").read_text(), re.M
    )
}


@cache
def defined_tests(file: str) -> dict[str, str]:
    """``name`` and ``Class::name`` of every test in a file, each with its name and docstrings."""
    found: dict[str, str] = {}
    for node in ast.parse((ROOT / "tests" / file).read_text()).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = f"{node.name} {ast.get_docstring(node) or ''}"
        elif isinstance(node, ast.ClassDef):
            texts = [f"{node.name} {ast.get_docstring(node) or ''}"]
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    text = f"{item.name} {ast.get_docstring(item) or ''}"
                    found[f"{node.name}::{item.name}"] = text
                    texts.append(text)
            found[node.name] = "\n".join(texts)
    return found


def named_tests(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"(test_\w+\.py)::([\w:]+)", ROWS[rule][3])


def test_every_catalogue_rule_is_mapped() -> None:
    """Each rule ID of the catalogue has its row; no row names an unknown rule."""
    assert len(RULE_IDS) == 43
    assert sorted(ROWS) == sorted(RULE_IDS)


@pytest.mark.parametrize("rule", RULE_IDS)
def test_named_tests_exist(rule: str) -> None:
    """Every test a row names exists in the file it names."""
    for file, name in named_tests(rule):
        assert name in defined_tests(file), f"{rule}: {file}::{name}"


@pytest.mark.parametrize("rule", RULE_IDS)
def test_implemented_rules_are_cited_by_their_tests(rule: str) -> None:
    """A rule whose code is not just planned names tests, and one of them cites the rule's ID."""
    if ROWS[rule][2] == "planned":
        return
    spellings = (rule, rule.lower().replace("-", "_"))
    texts = [defined_tests(file)[name] for file, name in named_tests(rule)]
    assert texts, f"{rule} names no test"
    assert any(s in text for text in texts for s in spellings), rule

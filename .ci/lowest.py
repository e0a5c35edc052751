"""Print pip constraints pinning every declared dependency to its lower bound.

CI's second job installs the package with these constraints, so that the lower bounds in
pyproject.toml are versions the README example and the test suite really pass with. Where two of
the chosen extras bound one package (the `test` extra raises what schemathesis needs above the
testing kit's own bounds), the higher bound is the one pinned.
Usage: python .ci/lowest.py [EXTRA ...] > constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
wanted = list(project["dependencies"])
for extra in sys.argv[1:]:
    wanted += project["optional-dependencies"][extra]
BOUND = re.compile(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)")
pins: dict[str, tuple[str, tuple[int, ...], str]] = {}
for requirement in wanted:
    if requirement.startswith(project["name"]):
        continue  # the package's own extras
    match = BOUND.fullmatch(requirement)
    if match is None:
        sys.exit(f"no lower bound to pin in {requirement!r}")
    name, version = match.group(1), match.group(3)
    key = re.sub(r"[-_.]+", "-", name).lower()
    order = tuple(int(part) for part in re.findall(r"\d+", version))
    if key not in pins or order > pins[key][1]:
        pins[key] = (name, order, version)
for name, _, version in pins.values():
    print(f"{name}=={version}")

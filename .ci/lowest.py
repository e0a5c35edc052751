"""Print pip constraints pinning every declared dependency to its lower bound.

CI's second job installs the package with these constraints, so that the lower bounds in
pyproject.toml are versions the README example and the test suite really pass with.
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
for requirement in wanted:
    if requirement.startswith(project["name"]):
        continue  # the package's own extras
    match = BOUND.fullmatch(requirement)
    if match is None:
        sys.exit(f"no lower bound to pin in {requirement!r}")
    print(f"{match.group(1)}=={match.group(3)}")

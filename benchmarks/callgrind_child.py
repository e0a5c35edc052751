"""The entry point of a child that ``benchmarks.instructions`` counts under callgrind:
``python -P benchmarks/callgrind_child.py --child KEY SIDE CALLS PREPARED``.

Run with ``-P``, so that neither this directory nor the working directory joins ``sys.path``:
the package ``benchmarks`` is loaded from its own directory and the checkout is never searched.
Python lists every directory on its path once per change of that directory, so a checkout that
other processes write into meanwhile (coverage's data files, caches) would otherwise add tens of
thousands of instructions to a count, differently in two runs of the same command. So
``meeting_rules`` is found where it is installed (or through ``PYTHONPATH``, which would bring
that back), never from the working directory.
"""

import importlib.util
import sys
from pathlib import Path


def run() -> int:
    package = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "benchmarks", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks"] = module
    spec.loader.exec_module(module)
    from benchmarks.instructions import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())

"""The ladder of layers: the pure core at the bottom, the edges (clocks, identifiers, stores, the
command, the testing kit) above it, each importing only downwards (docs/design.md, "Layers").

Imports are read from the source with ``ast`` and resolved to absolute module names, relative ones
included, wherever they are (at the top, inside a function, under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import meeting_rules

PACKAGE = Path(meeting_rules.__file__).parent
ROOT = "meeting_rules"

EDGES = (
    "clocks", "ids", "adapters", "cli", "__main__", "asgi", "serve", "check", "recordings",
    "testing",
)  # fmt: skip
"""Modules and packages that reach out of the core: time, entropy, files, processes, servers,
terminals, streamed recordings, test tools."""
FACADE = ROOT
"""``meeting_rules/__init__.py`` re-exports the clocks and identifier factories, as api.md asks."""
FORBIDDEN_IN_CORE = {
    "time", "os", "random", "secrets", "uuid", "sqlite3", "socket", "subprocess", "io", "pathlib",
    "threading", "multiprocessing", "asyncio", "hypothesis", "pytest", "jwt", "uvicorn", "httpx",
    "psycopg", "psycopg_pool", "ijson", "rich",
}  # fmt: skip
JSON_CODEC = {"meeting_rules.object_reader", "meeting_rules.object_writer"}
"""The only modules that use cattrs."""
ONLY_USER = {"ijson": "meeting_rules.recordings", "rich": "meeting_rules.check"}
"""Libraries one module alone imports: ijson reads recordings, rich draws ``check``'s report."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_edge(name: str) -> bool:
    return any(name == f"{ROOT}.{e}" or name.startswith(f"{ROOT}.{e}.") for e in EDGES)


CORE = sorted(name for name in MODULES if not is_edge(name) and name != FACADE)


def imports(name: str) -> set[tuple[str, str | None]]:
    """``(module, imported name or None)`` for every import in the module, resolved: a relative
    import becomes absolute, and ``from . import x`` names the module ``x`` when it is one."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[tuple[str, str | None]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    found.add((f"{source}.{alias.name}", None))
                else:
                    found.add((source, alias.name))
    return found


def imported_modules(name: str) -> set[str]:
    return {module for module, _ in imports(name)}


def test_the_resolver_sees_relative_imports() -> None:
    """The resolver itself: relative imports of every form come out absolute."""
    assert ("meeting_rules.graph_json", "parse_create_or_get") in imports("meeting_rules.cli")
    assert ("meeting_rules.adapters", "open_store") in imports("meeting_rules.cli")
    assert ("meeting_rules.testing.strategies", None) in imports(
        "meeting_rules.testing._hypothesis"
    )
    assert ("meeting_rules.adapters.sqlite", "SqliteMeetingRepository") in imports(
        "meeting_rules.adapters"
    )
    assert "meeting_rules.clocks" in imported_modules(FACADE)
    assert len(CORE) >= 20
    assert "meeting_rules.graph_json" in CORE
    assert "meeting_rules.http" in CORE


@pytest.mark.parametrize("name", CORE)
def test_no_core_module_imports_an_edge(name: str) -> None:
    """The core never imports clocks, ids, adapters, cli, asgi or the testing kit."""
    assert {m for m in imported_modules(name) if is_edge(m)} == set()


@pytest.mark.parametrize("name", CORE)
def test_no_core_module_imports_the_facade(name: str) -> None:
    """The package's ``__init__`` re-exports edges (the clocks, the identifier factories): a core
    module that imported names from it would reach them."""
    assert {imported for module, imported in imports(name) if module == FACADE} == set()


@pytest.mark.parametrize("name", CORE)
def test_core_modules_touch_nothing_outside(name: str) -> None:
    """Core modules import no clock, randomness, environment, files, sockets or test tools."""
    top = {m.split(".")[0] for m in imported_modules(name)}
    assert top & FORBIDDEN_IN_CORE == set()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_only_the_object_codec_uses_cattrs(name: str) -> None:
    uses = any(m.split(".")[0] == "cattrs" for m in imported_modules(name))
    assert uses == (name in JSON_CODEC)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_ijson_and_rich_have_one_user_each(name: str) -> None:
    tops = {m.split(".")[0] for m in imported_modules(name)}
    assert {library for library in ONLY_USER if library in tops} == {
        library for library, user in ONLY_USER.items() if user == name
    }


def test_recordings_stand_on_the_core_alone() -> None:
    """The readers of recordings are pure parsing over a file object: no other edge (no
    command, no terminal), so that a user or the testing kit can take them alone."""
    edges = {m for m in imported_modules(f"{ROOT}.recordings") if is_edge(m)}
    assert edges == set()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(f"{ROOT}.testing")))
def test_the_testing_kit_uses_public_names_only(name: str) -> None:
    """The kit is written as a user would write it: no private module or name of the library."""
    for module, imported in imports(name):
        if module.startswith(f"{ROOT}.") and not module.startswith(f"{ROOT}.testing"):
            assert not any(part.startswith("_") for part in module.split(".")), module
            assert imported is None or not imported.startswith("_"), (module, imported)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(f"{ROOT}.adapters")))
def test_stores_stand_on_the_core_alone(name: str) -> None:
    """A store imports the core and its own package, never the command or the kit."""
    for module in imported_modules(name):
        if module.startswith(f"{ROOT}."):
            assert not is_edge(module) or module.startswith(f"{ROOT}.adapters"), module


def test_no_clock_calls_in_the_core() -> None:
    """No core module reads the system clock: time comes in through the ``Clock`` port."""
    reads_clock = re.compile(r"\b(?:datetime|date|pendulum)\.(?:now|today|utcnow)\(|\btime\.time\(")
    found = [n for n in CORE if reads_clock.search(MODULES[n].read_text())]
    assert found == []
    assert reads_clock.search("x = datetime.now()")  # the pattern does find a clock read


def test_no_module_is_over_500_lines() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: size for n, size in long.items() if size > 500} == {}


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def benchmark_imports() -> dict[str, set[str]]:
    """For each benchmark module, the benchmark modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(BENCHMARKS.glob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmarks"):
                parts = (node.module or "").split(".")
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found.update(alias.name for alias in node.names)
        graph[path.stem] = found - {path.stem}
    return graph


def test_benchmarks_import_without_a_circle() -> None:
    """The shared harness is a module of its own: the benchmark modules' imports form no cycle."""
    graph = benchmark_imports()
    assert "harness" in graph
    assert graph["harness"] == set()
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, " -> ".join((*trail, name))
        if name not in done:
            for imported in graph.get(name, set()):
                visit(imported, (*trail, name))
            done.add(name)

    for name in graph:
        visit(name, ())


def run_python(*arguments: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """This interpreter, run from the project's root with ``arguments``, its output kept."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("only", "row"),
    [
        ("a+dict", "parse_create_or_get(loads)"),
        ("b+ceiling", "unchecked build(loads), a ceiling"),
        ("w.400.c1", "uvicorn, 400"),
        ("s.sql.create8t", "SQLite, 8 threads"),
        ("o.", "Oracle.check, 400, end before start"),
    ],
)
def test_benchmarks_run(only: str, row: str) -> None:
    """``python -m benchmarks`` runs (a smoke run of one workload; nothing about its speed)."""
    result = run_python("-m", "benchmarks", "--quick", "--only", only, timeout=300)
    assert result.returncode == 0, result.stderr
    assert row in result.stdout


def test_the_serving_modules_import_without_the_serve_extra() -> None:
    """``meeting_rules.asgi``, the command and the stores import with neither uvicorn, PyJWT nor
    psycopg installed: only ``serve`` (at run time), ``adapters.jwt`` and ``adapters.postgres``
    need them, and a PostgreSQL URL without psycopg says which extra to install."""
    code = (
        "import sys\n"
        "for name in ('uvicorn', 'jwt', 'psycopg', 'psycopg_pool'): sys.modules[name] = None\n"
        "from meeting_rules.adapters import UnusableStoreError, open_store\n"
        "try: open_store('postgresql://127.0.0.1/x')\n"
        "except UnusableStoreError as e: assert \"'postgres' extra\" in e.message\n"
        "import meeting_rules.asgi, meeting_rules.serve, meeting_rules.adapters\n"
        "from meeting_rules.cli import main\n"
        "raise SystemExit(main(['serve', '--port', '0']))"
    )
    result = run_python("-c", code, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "pip install 'meeting_rules[serve]'" in result.stderr


def test_the_command_line_imports_only_what_its_command_needs() -> None:
    """``meeting-rules validate`` starts without the server or the oracle: building the parser
    of every command imports neither (their options live in ``cli``), so the cold start of a
    small command stays near the dependencies' own (docs/performance.md, goal 4)."""
    code = (
        "import sys\n"
        "import meeting_rules.cli as cli\n"
        "cli._parser()\n"
        "cli.main(['validate', 'tests/data/seed-example1-request.json'])\n"
        "heavy = ['asyncio', 'meeting_rules.asgi', 'meeting_rules.serve', 'meeting_rules.check',\n"
        "         'meeting_rules.oracle', 'rich', 'ijson', 'uvicorn']\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = run_python("-c", code, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"

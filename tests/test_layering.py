"""`make lint` keeps the layers: an import that breaks a contract, or dead code, fails it.

Each test copies the source tree to a temporary folder, adds one line, and runs the same
command `make lint` runs there; the unchanged copy passes, so the failure is the line's.
Modules are chosen from the import graph, not by name, so the tests survive renames.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUNTIME_RULE = "the runtime never imports the generator or a build-time library"
GENERATOR_RULE = "the generator imports only cortexdb._contract of the runtime"
CONTRACT_RULE = "the contract module imports nothing of the runtime"
CYCLE_RULE = "no import cycles inside cortexdb or generator"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("cortexdb", "generator", cache_dir=None)


def _copy_tree(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "_frozen.py", "_frozen_index.py")
    for folder in ("cortexdb", "generator", "build", "benchmarks"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    (destination / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "dead-code", destination / "tools" / "dead-code")
    shutil.copy2(ROOT / "pyproject.toml", destination / "pyproject.toml")
    return destination


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH: the copy, not the editable install of the work tree, is what is analysed.
    env = {"PATH": str(BIN), "PYTHONPATH": str(cwd), "HOME": str(cwd)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return _run([str(BIN / "lint-imports"), "--no-cache"], tree)


def _add_line(tree: Path, module: str, line: str) -> str:
    """Append `line` to `module`'s file in the copy; the importer as import-linter names it."""
    path = tree.joinpath(*module.split("."))
    file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    file.write_text(file.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return module


def _child(module: str, package: str) -> str:
    """The direct child of `package` that holds `module`."""
    return ".".join(module.split(".")[: package.count(".") + 2])


def _sibling_edge(graph: grimp.ImportGraph, package: str) -> tuple[str, str]:
    """Some import between two different children of `package`: (importer, imported)."""
    for importer in sorted(graph.find_descendants(package)):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.startswith(package + ".") and _child(importer, package) != _child(imported, package):
                return importer, imported
    raise AssertionError(f"no import between two modules of {package}")


def test_the_unchanged_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for rule in (RUNTIME_RULE, GENERATOR_RULE, CONTRACT_RULE, CYCLE_RULE):
        assert f"{rule} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "rule", "imported"),
    [
        ("cortexdb", "import generator", RUNTIME_RULE, "generator"),
        ("cortexdb._contract", "import sqlglot", RUNTIME_RULE, "sqlglot"),
        ("cortexdb._contract", "from jinja2 import Template", RUNTIME_RULE, "jinja2"),
        ("generator", "import cortexdb", GENERATOR_RULE, "cortexdb"),
        ("generator", "from cortexdb import _errors", GENERATOR_RULE, "cortexdb._errors"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, line: str, rule: str,
                                                imported: str) -> None:
    tree = _copy_tree(tmp_path)
    importer = _add_line(tree, module, line)
    result = _lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{rule} BROKEN" in result.stdout
    assert f"{importer} -> {imported} (l." in result.stdout


def test_the_contract_module_cannot_carry_the_generator_into_the_runtime(tmp_path: Path) -> None:
    """The generator may import cortexdb._contract only while that module imports nothing of the
    runtime: an indirect import through it breaks the contract too."""
    tree = _copy_tree(tmp_path)
    _add_line(tree, "cortexdb._contract", "from . import _errors")
    result = _lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{CONTRACT_RULE} BROKEN" in result.stdout
    assert "cortexdb._contract -> cortexdb._errors (l." in result.stdout


@pytest.mark.parametrize("package", ["cortexdb", "generator"])
def test_an_import_back_makes_a_cycle_and_breaks_the_contract(tmp_path: Path, graph: grimp.ImportGraph,
                                                              package: str) -> None:
    importer, imported = _sibling_edge(graph, package)
    tree = _copy_tree(tmp_path)
    _add_line(tree, imported, f"import {importer}")
    result = _lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{CYCLE_RULE} BROKEN" in result.stdout
    assert f"No cycles are allowed in {package}." in result.stdout


def test_dead_code_fails_and_an_allowed_entry_that_matches_nothing_too(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    clean = _run([sys.executable, "tools/dead-code"], tree)
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stdout + clean.stderr

    _add_line(tree, "cortexdb._contract", "def forgotten_helper() -> int:\n    return 1")
    dead = _run([sys.executable, "tools/dead-code"], tree)
    assert dead.returncode == 1
    assert "cortexdb/_contract.py:" in dead.stdout and "unused function 'forgotten_helper'" in dead.stdout

    hook = tree / "build" / "hook.py"
    hook.write_text(hook.read_text(encoding="utf-8").replace("PLUGIN_NAME", "PLUGIN_LABEL"), encoding="utf-8")
    stale = _run([sys.executable, "tools/dead-code"], tree)
    assert stale.returncode == 1
    assert "build/hook.py: 'PLUGIN_NAME' is allowed here but no longer found: remove its entry" in stale.stdout

"""Building small throwaway cortexdb projects in tests: a manifest, SQL files, the real generator."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def env() -> dict[str, str]:
    """The environment for running `python -m generator` / `python -m cortexdb` from the source tree."""
    values = dict(os.environ)
    values["PYTHONPATH"] = str(ROOT)
    return values


def write_project(path: Path, migrations: Mapping[str, str], *, database: str = "main",
                  descriptions: Mapping[str, str] | None = None,
                  allow: Mapping[str, Mapping[str, str]] | None = None,
                  original_runner_through: int | None = None) -> Path:
    """A project folder with one database and the given `{file: sql}` migrations, in order."""
    (path / "migrations").mkdir(parents=True, exist_ok=True)
    through = [] if original_runner_through is None else [f"original_runner_through = {original_runner_through}"]
    lines = [
        "[generator]", 'migrations = "migrations"', 'output = "cortexdb/_frozen.py"', *through, "",
        f"[databases.{database}]", f'file = "{database}.db"', 'purpose = "test"', "",
    ]
    for file, sql in migrations.items():
        (path / "migrations" / file).write_bytes(sql.encode("utf-8"))
        description = (descriptions or {}).get(file, file[4:-4].replace("_", " "))
        lines += ["[[migration]]", f"file = {json.dumps(file)}", f'database = "{database}"',
                  f"description = {json.dumps(description, ensure_ascii=False)}"]
        if allow and file in allow:
            pairs = ", ".join(f"{code} = {json.dumps(reason)}" for code, reason in allow[file].items())
            lines.append(f"allow = {{ {pairs} }}")
        lines.append("")
    (path / "manifest.toml").write_text("\n".join(lines), encoding="utf-8")
    return path


def generator(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `python -m generator` in `project`."""
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=project, env=env(),
                          capture_output=True, text=True, timeout=120)


def copy_source_tree(target: Path) -> Path:
    """The files a clone of this repository would hold, with their working-tree content."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def load_frozen(path: Path) -> ModuleType:
    """Import a generated module from its file, as data."""
    spec = importlib.util.spec_from_file_location(f"frozen_{abs(hash(str(path)))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_pure_data(path: Path) -> None:
    """A docstring and assignments of literals to names: nothing in the module can run."""
    tree = ast.parse(path.read_bytes())
    assert tree.body
    for node in tree.body:
        if isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        else:
            assert isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)
            ast.literal_eval(node.value)

"""The layers import only downward: library <- agents <- application (``starling_env.lab``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "starling_env"
AGENTS = ROOT / "agents"
APPLICATION = "starling_env.lab"


def module_name(path: Path) -> str:
    """The import name of a source file (``agents/`` installs as ``starling_agents``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "agents":
        parts[0] = "starling_agents"
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved, at any depth of the file (lazy imports too)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # "from . import lab" imports a module too
    return found


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module_name(f)} imports {m}"
        for f in files
        for m in sorted(imported_modules(f))
        if any(m == name or m.startswith(name + ".") for name in forbidden)
    ]


LIBRARY_FILES = [p for p in sorted(LIBRARY.rglob("*.py")) if APPLICATION.replace(".", "/") not in p.as_posix()]


def test_the_library_imports_neither_the_agents_nor_the_application():
    assert LIBRARY_FILES and not violations(LIBRARY_FILES, ("starling_agents", APPLICATION))


def test_the_agents_import_only_the_library():
    files = sorted(AGENTS.rglob("*.py"))
    assert files and not violations(files, (APPLICATION,))


@pytest.mark.parametrize(
    "line",
    [
        "from starling_agents import load_agent",
        "import starling_agents.drrn",
        "from ..lab import cli",
        "from ..lab.evaluate import evaluate",
        "from .. import lab",
    ],
)
def test_the_check_catches_an_upward_import(tmp_path, monkeypatch, line):
    """The check itself can fail: a library module with an upward import is reported (also lazily, in a function)."""
    fake = LIBRARY / "envs" / "_layering_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: f"def f():\n    {line}\n")
    assert violations([fake], ("starling_agents", APPLICATION))

"""After a non-editable ``pip install .``, the ``starling`` command works inside a checkout of the project and
outside it: the project's child processes (the verifier, evaluation workers) import the installed package, never
the checkout's ``starling_env/`` that a ``python -m`` child would find first on its path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from starling_env.collection import load_manifest
from tests.conftest import ROOT, UserInstall


def starling(install: UserInstall, cwd: Path, *args: str) -> str:
    """Run ``starling ARGS`` as the user's shell would (the install's venv first on PATH); its output."""
    result = install.run(["starling", *args], cwd)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in output, f"starling {' '.join(args)} in {cwd}:\n{output}"
    return output


@pytest.fixture
def checkout(user_install: UserInstall, tmp_path: Path) -> Path:
    return user_install.copy_checkout(tmp_path / "checkout")


def test_build_publishes_inside_a_checkout(user_install: UserInstall, checkout: Path) -> None:
    starling(user_install, checkout, "build", "game_seeds/make_tea/example.json", "--out", "X")
    assert [g.id for g in load_manifest(checkout / "X").games] == ["make-tea-example"]


def test_generate_publishes_inside_a_checkout(user_install: UserInstall, checkout: Path) -> None:
    starling(user_install, checkout, "generate", "--n", "2", "--backend", "offline", "--out", "Y")
    games = load_manifest(checkout / "Y").games
    assert len(games) == 2 and all((checkout / "Y" / g.id / "game.z8").is_file() for g in games)


BOIL = ("--env", "starling/boil-water-e4b0ab7-v1")


def test_evaluate_in_worker_processes_inside_a_checkout(user_install: UserInstall, checkout: Path) -> None:
    starling(user_install, checkout, "evaluate", "--agent", "random", *BOIL, "--episodes", "2", "--workers", "2")


def test_evaluate_from_a_fresh_folder(user_install: UserInstall, tmp_path: Path) -> None:
    output = starling(user_install, tmp_path, "evaluate", "--agent", "random", *BOIL, "--episodes", "1")
    assert "overall" in output and (tmp_path / "runs" / "eval").is_dir()


def test_every_package_of_the_source_is_installed() -> None:
    """A new sub-package missing from pyproject's package list imports in a checkout but not in a user install."""
    block = re.search(r"^packages = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    assert block, "pyproject.toml lists its packages under [tool.setuptools]"
    listed = set(re.findall(r'"([\w.]+)"', block[1]))
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "starling_env").rglob("__init__.py")}
    assert found - listed == set()

"""Shared fixtures: the seed examples and small helpers to make broken variants of them."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "game_seeds"
SEED_EXAMPLES = sorted(SEEDS.glob("*/example.json"))
BOIL = SEEDS / "boil_water" / "example.json"

CLI = [sys.executable, "-m", "starling_env.lab.cli"]  # the `starling` command, in this interpreter


@pytest.fixture
def boil_data() -> dict:
    """The boil-water example as a dict, fresh for each test to mutate."""
    return copy.deepcopy(json.loads(BOIL.read_text()))


def as_text(data: dict) -> str:
    return json.dumps(data)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder ``build`` fills once per test run: under pytest-xdist, the first worker to ask builds it and the
    others wait for it and share it (read-only use only), instead of each building its own."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    folder, built = root / name, root / f"{name}.built"
    with FileLock(f"{folder}.lock"):
        if not built.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed build in another worker left
            folder.mkdir()
            build(folder)
            built.touch()
    return folder


@pytest.fixture(scope="session")
def seed_collection(tmp_path_factory) -> Path:
    """Every seed example built, verified and published by the real CLI (the README's main job)."""

    def build(out: Path) -> None:
        result = subprocess.run(
            [*CLI, "build", str(SEEDS), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    return built_once(tmp_path_factory, "seed_games", build)


@pytest.fixture(scope="session")
def seed_ids(seed_collection) -> list[str]:
    import starling_env

    return starling_env.register_games(seed_collection)


@dataclass(frozen=True)
class UserInstall:
    """A fresh venv holding a non-editable install of the working tree (the way a user installs it)."""

    venv: Path
    source: Path  # the copy of the working tree it was installed from

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user shell with the venv activated (no PYTHONPATH, no dev venv)."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        path = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return {**env, "PATH": path, "VIRTUAL_ENV": str(self.venv), **extra}

    def run(self, args: list[str], cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
        """Run ``args`` in ``cwd`` from a shell where the venv is activated (``env`` added); output captured."""
        return subprocess.run(
            args, cwd=cwd, env=self.env(**env), input=stdin, capture_output=True, text=True, timeout=900
        )

    def copy_checkout(self, dest: Path) -> Path:
        """A copy of the working tree (tracked and untracked, not ignored files), as a user's checkout."""
        shutil.copytree(self.source, dest, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        return dest


def copy_working_tree(dest: Path) -> Path:
    """The working tree's files that git tracks or would track (uncommitted edits included; no .venv)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # files deleted in the working tree are still listed by --cached
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="session")
def user_install(tmp_path_factory) -> UserInstall:
    """``pip install .`` of the working tree into a fresh venv, built once per run.

    The heavy dependencies (textworld, jericho, torch, ...) come from this venv's site-packages through a
    plain path line in a ``.pth`` file: only ``.pth`` files in the venv's own site dir are executed, so the
    dev venv's editable finder is not, and ``starling_env`` is imported from the installed copy only.
    """
    base = built_once(tmp_path_factory, "user_install", install)
    return UserInstall(base / "venv", base / "checkout")


def install(base: Path) -> None:
    """:func:`user_install`'s venv (``base/venv``), from a copy of the working tree (``base/checkout``)."""
    venv, source = base / "venv", copy_working_tree(base / "checkout")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dev_sites = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (Path(site) / "dev-venv-dependencies.pth").write_text("".join(f"{path}\n" for path in dev_sites))
    pip = ["-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed"]
    subprocess.run([python, *pip, "--disable-pip-version-check", str(source)], check=True, capture_output=True)
    where = subprocess.run(
        [python, "-P", "-c", "import starling_env as s, starling_agents as a; print(s.__file__, a.__file__)"],
        cwd=source,  # inside the checkout, where a shadowing copy would be found first
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(site) for path in where), where


def third_party_data(name: str) -> Path:
    """The folder of third-party data set ``name``; the test is skipped (with the reason) when it is not installed."""
    from starling_env.targets import data_dir

    try:
        return data_dir(name)
    except FileNotFoundError as exc:
        pytest.skip(f"third-party game data is not installed: {exc}")

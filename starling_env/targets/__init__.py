"""Target environments with the StarlingEnv contract: TextWorld Commonsense, ScienceWorld, any Z-machine game.

Registered on ``import starling_env`` (lazily: nothing is loaded until ``gymnasium.make``):

- ``starling/TWC-easy-v0``, ``starling/TWC-medium-v0``, ``starling/TWC-hard-v0`` (:mod:`.twc`);
- ``starling/ScienceWorld-v0`` (:mod:`.scienceworld`, needs the ``targets`` extra and Java);
- ``starling/ZMachine-v0`` (:mod:`.zmachine`, make kwarg ``game_path``).

Third-party game data is never shipped: it is looked up with :func:`data_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "STARLING_DATA"
TWC_LEVELS = ("easy", "medium", "hard")


def data_dir(name: str, override: str | Path | None = None) -> Path:
    """The folder of third-party data set ``name`` (``twc``, ``zork1``).

    Looked up in ``override``, then ``$STARLING_DATA/<name>``, then ``shared/data/<name>`` beside the source
    checkout (or the working folder) or beside any folder above it; a clear error says how to provide it.
    """
    candidates = [Path(override)] if override is not None else []
    if os.environ.get(DATA_ENV_VAR):
        candidates.append(Path(os.environ[DATA_ENV_VAR]) / name)
    for start in (Path(__file__).resolve().parents[2], Path.cwd().resolve()):  # the checkout, the working folder
        candidates += [
            folder / "shared" / "data" / name
            for folder in start.parents
            if folder / "shared" / "data" / name not in candidates
        ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"no {name} data: looked in {', '.join(map(str, candidates[:4]))}{' ...' if len(candidates) > 4 else ''}; "
        f"pass data_dir=... to gymnasium.make or set ${DATA_ENV_VAR} to a folder holding {name}/"
    )


def register_targets() -> None:
    from ..registration import register

    for level in TWC_LEVELS:
        register(f"starling/TWC-{level}-v0", "starling_env.targets.twc:TWCEnv", level=level)
    register("starling/ScienceWorld-v0", "starling_env.targets.scienceworld:ScienceWorldEnv")
    register("starling/ZMachine-v0", "starling_env.targets.zmachine:ZMachineEnv")

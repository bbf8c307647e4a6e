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
DATA_SOURCES = {  # where each data set comes from, said in the error when it is missing
    "twc": "Get it with: git clone https://github.com/IBM/commonsense-rl, then "
    "starling data prepare twc commonsense-rl/games/twc. ",
    "zork1": "Get zork1.z3 from https://github.com/historicalsource/zork1 (COMPILED/zork1.z3, MIT). ",
}
TWC_LEVELS = ("easy", "medium", "hard")


def data_root() -> Path:
    """Where third-party data sets live, one folder each: ``$STARLING_DATA``, else ``~/.local/share/starling``
    (``$XDG_DATA_HOME/starling``); ``starling data prepare`` writes there."""
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "starling"


def data_dir(name: str, override: str | Path | None = None) -> Path:
    """The folder of third-party data set ``name`` (``twc``, ``zork1``).

    Looked up in ``override``, then ``data_root()/<name>``, then (unless ``$STARLING_DATA`` is set)
    ``shared/data/<name>`` beside the source checkout (or the working folder) or beside any folder above it;
    a clear error says how to get and provide it.
    """
    candidates = [Path(override)] if override is not None else []
    candidates.append(data_root() / name)
    if not os.environ.get(DATA_ENV_VAR):
        for start in (Path(__file__).resolve().parents[2], Path.cwd().resolve()):  # the checkout, the working folder
            candidates += [
                folder / "shared" / "data" / name
                for folder in start.parents
                if folder / "shared" / "data" / name not in candidates
            ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(map(str, candidates[:3])) + (" ..." if len(candidates) > 3 else "")
    raise FileNotFoundError(
        f"no {name} data (looked in {looked}). {DATA_SOURCES.get(name, '')}Put it in {data_root() / name}/ "
        f"(or set $STARLING_DATA) or pass data_dir=... to gymnasium.make; the README's 'Third-party data' section "
        "has the steps."
    )


def register_targets() -> None:
    from ..registration import register

    for level in TWC_LEVELS:
        register(f"starling/TWC-{level}-v0", "starling_env.targets.twc:TWCEnv", level=level)
    register("starling/ScienceWorld-v0", "starling_env.targets.scienceworld:ScienceWorldEnv")
    register("starling/ZMachine-v0", "starling_env.targets.zmachine:ZMachineEnv")

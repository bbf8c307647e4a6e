"""The disk cache of loaded games: what a later process reads plays exactly as a game loaded from its files."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

from starling_env import game_cache
from starling_env.collection import shipped_collection

# A two-skill game: rules of its own beside the knowledge base's, quests and every-turn rules.
GAME = shipped_collection() / "bake-cookies-charge-phone-h111f92"

# Plays the walkthrough with both engines and prints what the logic said at each step. With "--no-build", a game
# built from its files instead of read from the cache fails the run.
PLAY = """
import json, sys
from starling_env.envs import engine as inform7
from starling_env.native import world

if "--no-build" in sys.argv:
    def built(*args, **kwargs):
        raise AssertionError("the game was built from its files, not read from the cache")
    inform7.load_game = world.load_game = built
from starling_env.native.engine import NativeEngine

game = sys.argv[1]
record = {}
for name, make in (("inform7", inform7.Engine), ("native", NativeEngine)):
    engine = make(game, track_quests=True)
    steps = [[engine.reset(seed=3), engine.admissible_commands(), engine.policy_commands()]]
    for command in engine.game.metadata["walkthrough"]:
        steps.append([engine.step(command), engine.admissible_commands(), engine.facts(), engine.score])
    record[name] = {"steps": steps, "won": engine.won}
print(json.dumps(record))
"""


def play(cache: str, hash_seed: int, *flags: str) -> dict:
    env = {**os.environ, game_cache.CACHE_ENV: cache, "PYTHONHASHSEED": str(hash_seed)}
    command = [sys.executable, "-c", PLAY, str(GAME / "game.z8"), *flags]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_a_game_read_from_the_cache_in_another_process_plays_as_one_loaded_from_its_files(tmp_path):
    # TextWorld's logic objects keep their hash, and str hashes differ between processes: pickled naively, they come
    # back in a process with another hash seed unable to find each other (no admissible commands at all).
    reference = play("off", 1)
    assert reference["inform7"]["won"] and reference["native"]["won"]
    assert all(step[1] for step in reference["inform7"]["steps"])  # admissible commands at every step
    cache = tmp_path / "cache"
    assert play(str(cache), 2) == reference  # builds the games and writes them
    assert sorted(p.parent.name for p in cache.glob("*/*.pickle")) == ["game", "native-world"]
    assert play(str(cache), 3, "--no-build") == reference  # reads them, in a process with another hash seed


def test_an_unreadable_entry_is_rebuilt_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv(game_cache.CACHE_ENV, str(tmp_path))
    builds: list[int] = []

    def build() -> dict:
        builds.append(1)
        return {"rooms": ["kitchen"]}

    assert game_cache.cached("thing", b"content", build) == {"rooms": ["kitchen"]}
    (entry,) = tmp_path.glob("thing/*.pickle")
    assert game_cache.cached("thing", b"content", build) == {"rooms": ["kitchen"]} and len(builds) == 1
    entry.write_bytes(entry.read_bytes()[:7])  # cut short, as by a crash or a full disk
    assert game_cache.cached("thing", b"content", build) == {"rooms": ["kitchen"]} and len(builds) == 2
    assert pickle.loads(entry.read_bytes()) == {"rooms": ["kitchen"]}
    assert game_cache.cached("thing", b"other content", build) and len(builds) == 3  # other bytes, another entry
    assert len(list(tmp_path.glob("thing/*.pickle"))) == 2
    assert not list(tmp_path.glob("thing/.*.tmp")), "no temporary file left behind"


def test_the_cache_is_keyed_by_the_code_that_builds_a_game(tmp_path, monkeypatch):
    monkeypatch.setenv(game_cache.CACHE_ENV, str(tmp_path))
    game_cache.cached("thing", b"content", lambda: 1)
    monkeypatch.setattr(game_cache, "code_fingerprint", lambda: "another version of starling_env")
    assert game_cache.cached("thing", b"content", lambda: 2) == 2  # not the entry of the other code
    assert len(list(tmp_path.glob("thing/*.pickle"))) == 2


def test_a_cache_folder_that_cannot_be_written_is_no_failure(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv(game_cache.CACHE_ENV, str(blocked))
    assert game_cache.cached("thing", b"content", lambda: 5) == 5
    assert game_cache.cache_dir() == Path(blocked)
    monkeypatch.setenv(game_cache.CACHE_ENV, "off")
    assert game_cache.cache_dir() is None

"""ZMachine-v0 on Z-machine games jericho does not know: admissible recall, status-line leaks, score and win.

Three suites, each replayed along a winning walkthrough against an independent ground truth:

- ``zork``: the MIT release of Zork I (unknown to jericho) with jericho's zork1 walkthrough and seed (12);
  truth: the game's own answer to ``score`` after each step (peeked), a win at 350;
- ``twc``: the 45 TextWorld Commonsense games, each copied under a neutral name (jericho treats ``tw-*``
  files as TextWorld's and would clean their text); truth: TextWorld's score after each step of the TWC
  solver's walkthrough (:class:`~starling_env.targets.twc.TWCGameEnv`) and its win;
- ``generated``: the newest shipped benchmark's ``game.z8`` files; truth: StarlingEnv's score and win
  along each game's walkthrough.

Every game of a suite is checked for leaks (a status line in an observation), score (the env's score
equals the truth after every step) and the ending (terminated, ``won`` as the truth, final score). The
admissible recall, the costly part, runs on the first ``--recall-games`` games of each suite (spread over
the TWC levels): at each step the admissible commands are computed (timed, cache cleared) and the
walkthrough's command counts as recalled when it is among them or one has the same effect on the world
(as the env's world view sees it); steps whose command changes nothing in that view (``look``, ``examine
map``) cannot be admissible and are counted apart. ``--visible`` adds a stricter check that does not rely
on that view: some admissible command leads to the same score, room description and inventory text.

jericho's own recall on Jericho-suite games cannot be compared here: those games are not available offline.
The last line is a JSON object.

    python benchmarks/zmachine_admissible.py [--suite zork twc generated] [--steps N] [--recall-games N]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from starling_env.collection import shipped_collection
from starling_env.envs.game_env import StarlingEnv
from starling_env.targets import TWC_LEVELS, data_dir
from starling_env.targets.twc import TWC_SPLITS, TWCGameEnv
from starling_env.targets.zmachine import ZEngine, ZMachineEnv

ROOT = Path(__file__).resolve().parents[1]
# A status line in the text: "Busy StreetScore: 0Moves: 2", "Score: 0   Moves: 1", TextWorld's "-= Kitchen =-0/3".
LEAK = re.compile(r"Score: ?-?\d+\s*Moves|Moves: ?\d|-= [^\n]* =-\s*-?\d+/\d+| {60,}")


@dataclass
class Case:
    """One game and its ground truth along a winning walkthrough."""

    name: str
    path: Path  # the story file ZMachine-v0 plays
    walkthrough: list[str]
    seed: int | None
    scores: list[int] | None  # the true score after each step (None: the game's own ``score`` answer)
    max_score: int


def zork_cases(steps: int) -> list[Case]:
    path = data_dir("zork1") / "zork1.z3"
    env = ZMachineEnv(path, admissible=False)
    walkthrough, seed = env.walkthrough(), env.walkthrough_seed
    env.close()
    return [Case("zork1", path, walkthrough[:steps] if steps else walkthrough, seed, None, 350)]


def _truth(env: StarlingEnv, walkthrough: list[str]) -> list[int]:
    env.reset(seed=0)
    return [env.step(command)[4]["score"] for command in walkthrough]


def twc_cases(copies: Path) -> list[Case]:
    """The TWC games, levels interleaved: the first --recall-games cases span the levels."""
    folder, cases = data_dir("twc"), []
    stories = [
        (split, i, level, story)
        for split in TWC_SPLITS
        for level in TWC_LEVELS
        for i, story in enumerate(sorted((folder / level / split).glob("*.z8")))
    ]
    for split, _, level, story in sorted(stories, key=lambda s: (TWC_SPLITS.index(s[0]), s[1], TWC_LEVELS.index(s[2]))):
        env = TWCGameEnv(story, level, split, admissible=False, max_episode_steps=None)
        walkthrough = env.walkthrough()
        scores, max_score = _truth(env, walkthrough), env.engine.max_score
        env.close()
        copy = copies / story.stem / "game.z8"  # jericho must not recognise a "tw-" file
        copy.parent.mkdir()
        shutil.copy(story, copy)
        cases.append(Case(f"{level}/{split}/{story.stem[-8:]}", copy, walkthrough, 0, scores, max_score))
    return cases


def generated_cases() -> list[Case]:
    cases = []
    for story in sorted(shipped_collection().glob("*/game.z8")):
        env = StarlingEnv(story, admissible=False, max_episode_steps=None)
        walkthrough = env.walkthrough()
        cases.append(Case(story.parent.name, story, walkthrough, 0, _truth(env, walkthrough), env.engine.max_score))
        env.close()
    return cases


def outcome(engine: ZEngine, command: str) -> tuple[int, str, str]:
    """(score, room description, inventory) after ``command``, undone."""
    snapshot = engine.snapshot()
    engine.step(command)
    seen = (engine.score, engine.peek("look"), engine.peek("inventory"))
    engine.restore(snapshot)
    return seen


def play(case: Case, recall: bool, visible: bool, verbose: bool) -> Counter:
    """Counts for one game: steps, leaks, score checks and misses, the ending and (if ``recall``) the recall."""
    env = ZMachineEnv(case.path, admissible=False, max_episode_steps=None)
    engine = env.engine
    assert isinstance(engine, ZEngine)
    counts: Counter = Counter(games=1)
    obs, info = env.reset(seed=case.seed)
    counts["leaks"] += bool(LEAK.search(obs))
    counts["max_score_right"] += info["max_score"] == case.max_score
    terminated = False
    for i, command in enumerate(case.walkthrough):
        if recall:
            engine._cache.clear()  # time the full computation, never a cache hit
            started = time.perf_counter()
            admissible = engine.admissible_commands()
            counts["admissible_ms"] += round(1000 * (time.perf_counter() - started))
            counts["admissible_commands"] += len(admissible)
            counts["recall_steps"] += 1
            effect = engine.effect(command)
            if visible:
                counts["visible"] += outcome(engine, command) in {outcome(engine, a) for a in admissible}
            if command.lower() in admissible:
                counts["exact"] += 1
            elif effect in {engine.effect(a) for a in admissible}:
                counts["same_effect"] += 1
            elif effect == engine.effect("look") or effect == engine.effect("inventory"):
                counts["noop"] += 1  # the walkthrough's command changes nothing the world view tracks
            else:
                counts["missed"] += 1
                if verbose:
                    print(f"{case.name} step {i}: {command!r} missed; admissible: {admissible}")
        obs, _, terminated, _, info = env.step(command)
        leaked = bool(LEAK.search(obs) or (engine.status and engine.status in obs))
        counts["steps"] += 1
        counts["leaks"] += leaked
        truth = case.scores[i] if case.scores is not None else None
        if truth is None and not terminated:
            truth = engine._peek_score()[0]  # the game's own word
        if truth is not None:
            counts["score_checked"] += 1
            counts["score_wrong"] += info["score"] != truth
        if verbose and (leaked or (truth is not None and info["score"] != truth)):
            print(f"{case.name} step {i}: {command!r} score {info['score']} (truth {truth}); obs {obs[-200:]!r}")
        if terminated:
            break
    final = case.scores[-1] if case.scores else case.max_score
    counts["ended_won"] += terminated and info["won"] and not info["lost"]
    counts["final_score_right"] += info["score"] == final
    env.close()
    return counts


def summary(suite: str, counts: Counter) -> dict:
    changing = counts["recall_steps"] - counts["noop"]
    recalled = counts["exact"] + counts["same_effect"]
    result = {
        "suite": suite,
        "games": counts["games"],
        "steps": counts["steps"],
        "leak_steps": counts["leaks"],
        "score_checked_steps": counts["score_checked"],
        "score_wrong_steps": counts["score_wrong"],
        "won_at_end": counts["ended_won"],
        "final_score_right": counts["final_score_right"],
        "max_score_right": counts["max_score_right"],
        "recall_games": counts["recall_games"],
        "recall_steps": counts["recall_steps"],
        "recall": round(recalled / changing, 4) if changing else None,
        "recall_all_steps": round(recalled / counts["recall_steps"], 4) if counts["recall_steps"] else None,
        "exact_matches": counts["exact"],
        "same_effect_matches": counts["same_effect"],
        "missed": counts["missed"],
        "admissible_mean": round(counts["admissible_commands"] / counts["recall_steps"], 1)
        if counts["recall_steps"]
        else None,
        "ms_per_step_mean": round(counts["admissible_ms"] / counts["recall_steps"], 1)
        if counts["recall_steps"]
        else None,
    }
    if counts["visible"]:
        result["recall_same_visible_outcome"] = round(counts["visible"] / counts["recall_steps"], 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    suites = ["zork", "twc", "generated"]
    parser.add_argument("--suite", nargs="+", choices=suites, default=suites)
    parser.add_argument("--steps", type=int, default=0, help="Zork I walkthrough steps to replay (0: all)")
    parser.add_argument("--recall-games", type=int, default=3, help="games per suite (TWC, generated) for recall")
    parser.add_argument("--visible", action="store_true", help="also check recall by visible outcome (slow)")
    parser.add_argument("--verbose", action="store_true", help="print every miss, leak and wrong score")
    args = parser.parse_args()

    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="zmachine-bench-") as copies:
        for suite in args.suite:
            cases = {
                "zork": lambda: zork_cases(args.steps),
                "twc": lambda: twc_cases(Path(copies)),
                "generated": generated_cases,
            }[suite]()
            counts: Counter = Counter()
            for i, case in enumerate(cases):
                recall = suite == "zork" or i < args.recall_games
                counts += play(case, recall, args.visible, args.verbose) + Counter(recall_games=int(recall))
            results.append(summary(suite, counts))
            r = results[-1]
            print(
                f"{suite}: {r['games']} games, {r['steps']} steps; leaks {r['leak_steps']}; score wrong on "
                f"{r['score_wrong_steps']} of {r['score_checked_steps']} steps; won at the end {r['won_at_end']}/"
                f"{r['games']}, final score right {r['final_score_right']}/{r['games']}, max score right "
                f"{r['max_score_right']}/{r['games']}; recall {r['recall']} over {r['recall_steps']} steps of "
                f"{r['recall_games']} games ({r['exact_matches']} exact, {r['same_effect_matches']} same effect, "
                f"{r['missed']} missed), {r['admissible_mean']} admissible, {r['ms_per_step_mean']} ms per step"
            )
    print("jericho-suite comparison: not run (the Jericho-suite games are not available offline)")
    print(json.dumps({"suites": results, "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()

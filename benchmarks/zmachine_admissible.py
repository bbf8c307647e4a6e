"""Admissible commands of ZMachine-v0 on Zork I: recall against jericho's walkthrough, and cost per step.

Replays jericho's zork1 walkthrough (with its seed, 12) on the MIT release of Zork I. At each step it
computes the admissible commands (timed, cache cleared) and asks whether the walkthrough's command is
among them, or one with the same effect on the world (as the env's world view sees it). Steps whose
command changes nothing in that view (``look``, ``examine map``) cannot be admissible and are counted
apart. A stricter check that does not rely on that view: some admissible command leads to the same
score, room description and inventory text as the walkthrough's command. The last line is a JSON object.

    python benchmarks/zmachine_admissible.py [--steps N] [--game PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from starling_env.targets.zmachine import ZEngine, ZMachineEnv


def outcome(engine: ZEngine, command: str) -> tuple[int, str, str]:
    """(score, room description, inventory) after ``command``, undone."""
    snapshot = engine.snapshot()
    engine.step(command)
    seen = (engine.score, engine.peek("look"), engine.peek("inventory"))
    engine.restore(snapshot)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=0, help="walkthrough steps to replay (0: all)")
    parser.add_argument("--game", default=None, help="story file (default: the MIT Zork I from the data folder)")
    parser.add_argument("--verbose", action="store_true", help="print every missed walkthrough command")
    args = parser.parse_args()

    env = ZMachineEnv(args.game, admissible=False, max_episode_steps=None)
    engine = env.engine
    walkthrough = env.walkthrough()
    steps = walkthrough[: args.steps] if args.steps else walkthrough
    env.reset(seed=env.walkthrough_seed)
    costs, sizes, exact, same, noop, visible, missed = [], [], 0, 0, 0, 0, []
    for i, command in enumerate(steps):
        engine._cache.clear()  # time the full computation, never a cache hit
        started = time.perf_counter()
        admissible = engine.admissible_commands()
        costs.append(1000 * (time.perf_counter() - started))
        sizes.append(len(admissible))
        effect = engine.effect(command)
        visible += outcome(engine, command) in {outcome(engine, a) for a in admissible}
        if command.lower() in admissible:
            exact += 1
        elif effect in {engine.effect(a) for a in admissible}:
            same += 1
        elif effect == engine.effect("look") or effect == engine.effect("inventory"):
            noop += 1  # the walkthrough's command changes nothing the world view tracks
        else:
            missed.append((i, command))
            if args.verbose:
                print(f"step {i}: {command!r} missed; admissible: {admissible}")
        _, _, _, _, info = env.step(command)
    env.close()
    changing = len(steps) - noop
    result = {
        "game": env.game_id,
        "steps": len(steps),
        "state_changing_steps": changing,
        "recall": round((exact + same) / changing, 4) if changing else None,
        "recall_all_steps": round((exact + same) / len(steps), 4),
        "recall_same_visible_outcome": round(visible / len(steps), 4),
        "exact_matches": exact,
        "same_effect_matches": same,
        "missed": len(missed),
        "admissible_mean": round(statistics.fmean(sizes), 1),
        "ms_per_step_mean": round(statistics.fmean(costs), 1),
        "ms_per_step_median": round(statistics.median(costs), 1),
        "ms_per_step_p95": round(sorted(costs)[int(0.95 * (len(costs) - 1))], 1),
        "final_score": info["score"],
        "max_score": info["max_score"],
        "won": info["won"],
    }
    print(f"missed walkthrough commands (step, command): {missed}")
    print(
        f"recall {result['recall']:.1%} of {changing} state-changing steps ({exact} exact, {same} same effect); "
        f"same visible outcome on {result['recall_same_visible_outcome']:.1%} of all {len(steps)} steps; "
        f"{result['admissible_mean']} admissible commands per step; {result['ms_per_step_mean']} ms per step "
        f"(median {result['ms_per_step_median']}, p95 {result['ms_per_step_p95']}); "
        f"final score {info['score']}/{info['max_score']}, won {info['won']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""`starling generalisation`: do skills learned on STARLING's train split carry over to new games?

For seeds 0..S-1 a learner (DRRN by default) trains on the train split of a shipped benchmark (the newest by
default) into ``DIR/seed<k>/train/``, then plays every game of each evaluated split (train, test, test-compose)
a fixed number of greedy episodes through the evaluation harness (``DIR/seed<k>/eval-<split>/``). Each seed is
a resumable unit like a transfer unit: ``spec.json`` first (must match on rerun), ``done.json`` last; an
interrupted training resumes from its checkpoint and the harness plays only missing episodes.

The results (``DIR/generalisation.json``, ``DIR/generalisation.md``, ``DIR/per_game.csv``) cover every finished
seed: per split the mean with a t interval over seeds and the mean and IQM with stratified bootstrap intervals
over seeds (:mod:`starling_env.lab.stats`), the gaps train - test and train - test-compose paired by seed, one
row per seed, one per game, the commands that ran and their wall time (``DIR/runs.jsonl``).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..collection import load_manifest, shipped_collection
from ..envs.text_env import DEFAULT_MAX_STEPS
from ..files import append_jsonl, write_atomic
from ..records import EpisodeRecord, read_records
from . import stats
from .evaluate import EvalConfig, evaluate, split_env_ids
from .transfer.results import read_curve
from .transfer.run import UnitProgress, train_stage
from .transfer.units import Unit

TRAIN_SPLIT = "train"
EVAL_SPLITS = ("train", "test", "test-compose")
GAPS = (("train", "test"), ("train", "test-compose"))


class GeneralisationError(ValueError):
    """A generalisation run cannot start or continue (bad settings, a folder holding another run)."""


@dataclass(frozen=True)
class GeneralisationConfig:
    agent: str = "drrn"
    steps: int = 20_000  # training env steps per seed
    seeds: int = 5  # seeds 0 .. seeds-1
    episodes: int = 1  # greedy episodes per game of each evaluated split (episode k uses seed k)
    games: int | None = None  # evaluate only the first N games of each split (a quick check); None: every game
    max_steps: int = DEFAULT_MAX_STEPS
    workers: int = 1  # evaluation processes
    envs: int = 1  # parallel training envs
    device: str = "auto"
    agent_options: dict[str, Any] = field(default_factory=dict)
    engine: str = "native"  # plays the same episodes as inform7, ~75x faster
    benchmark: int | None = None  # version of the shipped benchmark; None: the newest

    def command(self, out: Path) -> str:
        """The ``starling generalisation`` command line of this run (every setting spelled out)."""
        args = ["starling", "generalisation", "--out", str(out), "--agent", self.agent, "--steps", str(self.steps)]
        args += ["--seeds", str(self.seeds), "--episodes", str(self.episodes), "--max-steps", str(self.max_steps)]
        args += ["--workers", str(self.workers), "--envs", str(self.envs), "--device", self.device]
        args += ["--engine", self.engine] + (["--games", str(self.games)] if self.games is not None else [])
        args += ["--benchmark", str(self.benchmark)] if self.benchmark is not None else []
        for key, value in sorted(self.agent_options.items()):
            args += ["--option", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
        return shlex.join(args)

    def learner_options(self) -> dict[str, Any]:
        return {**self.agent_options, **({} if self.device == "auto" else {"device": self.device})}

    def collection(self) -> Path:
        return shipped_collection(self.benchmark)

    def eval_env_ids(self, split: str) -> list[str]:
        ids = split_env_ids(split, self.collection())
        return ids if self.games is None else ids[: self.games]


def seed_unit(out: Path, seed: int, config: GeneralisationConfig) -> Unit:
    manifest = load_manifest(config.collection())
    return Unit(
        out / f"seed{seed}",
        {
            "stage": "generalisation",
            "agent": config.agent,
            "suite": manifest.suite,
            "suite_version": manifest.version,
            "train_split": TRAIN_SPLIT,
            "steps": config.steps,
            "seed": seed,
            "episodes": config.episodes,
            "games": config.games,
            "eval_splits": list(EVAL_SPLITS),
            "max_steps": config.max_steps,
            "envs": config.envs,
            "engine": config.engine,
            "agent_options": config.agent_options,
        },
    )


def _check(config: GeneralisationConfig) -> None:
    from starling_agents import learner_class

    for name in ("steps", "seeds", "episodes", "max_steps", "workers", "envs"):
        if getattr(config, name) < 1:
            raise GeneralisationError(f"--{name.replace('_', '-')} must be at least 1")
    if config.games is not None and config.games < 1:
        raise GeneralisationError("--games must be at least 1 (or left out for every game)")
    try:
        learner_class(config.agent)(seed=0, **config.learner_options())
    except (ValueError, TypeError) as exc:
        raise GeneralisationError(f"cannot make the {config.agent} learner: {exc}") from exc
    try:
        for split in EVAL_SPLITS:
            config.eval_env_ids(split)
    except (ValueError, FileNotFoundError) as exc:
        raise GeneralisationError(f"benchmark {config.benchmark or 'newest'}: {exc}") from exc


@contextmanager
def sole_run(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` while a run works in ``out``: a second run there is an error, not a second writer."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GeneralisationError(
                f"another starling generalisation is running in {out}: wait for it to end (or stop it), then rerun"
            ) from None
        yield


def run_generalisation(config: GeneralisationConfig, out: Path, progress: UnitProgress | None = None) -> dict[str, Any]:
    """Run every missing seed of ``config`` into ``out``, then write and return the results (see the module doc)."""
    _check(config)
    with sole_run(out):
        return _run(config, out, progress or UnitProgress())


def _run(config: GeneralisationConfig, out: Path, progress: UnitProgress) -> dict[str, Any]:
    import gymnasium as gym
    from starling_agents import learner_class

    import starling_env  # noqa: F401  (registers the ids)

    units = [seed_unit(out, seed, config) for seed in range(config.seeds)]
    for unit in units:
        if unit.folder.exists():
            try:
                unit.claim()  # a folder holding another run is an error before any work starts
            except ValueError as exc:
                raise GeneralisationError(str(exc)) from exc
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    record_run(out, config.command(out), "started")
    extra = list(learner_class(config.agent).extra_info)

    def make_env() -> gym.Env:
        return gym.make(
            "starling/Suite-v0",
            collection=str(config.collection()),
            split=TRAIN_SPLIT,
            extra_info=extra,
            max_episode_steps=config.max_steps,
            engine=config.engine,
        )

    def show(step: int, metrics: dict) -> None:
        progress.advance(step, " ".join(f"{k} {metrics[k]:.3g}" for k in ("mean_score", "steps_per_s") if k in metrics))

    for unit in units:
        if unit.done:
            continue
        unit.claim()
        seed = unit.spec["seed"]
        train_folder = unit.folder / "train"
        result: dict[str, Any] = {}
        if (train_folder / "done.json").exists():
            result["train"] = json.loads((train_folder / "done.json").read_text())
        else:
            progress.unit(f"seed {seed}: train on {TRAIN_SPLIT}", config.steps)
            result["train"] = train_stage(make_env, train_folder, config.steps, seed, config, show)
            write_atomic(train_folder / "done.json", json.dumps(result["train"], indent=2) + "\n")
            progress.unit_done()
        result["eval"] = {}
        for split in EVAL_SPLITS:
            eval_config = EvalConfig(
                agent=config.agent,
                env_ids=tuple(config.eval_env_ids(split)),
                episodes=config.episodes,
                seed=0,
                max_steps=config.max_steps,
                checkpoint=str(train_folder),
                agent_options=config.learner_options(),
                env_kwargs={"engine": config.engine} if config.engine != "inform7" else {},
            )
            progress.unit(f"seed {seed}: evaluate on {split}", len(eval_config.jobs()))
            eval_started, played = time.perf_counter(), [0]

            def episode_done(record, played=played) -> None:
                played[0] += 1
                progress.advance(played[0], f"last score {record.normalized_score:.2f}")

            records = evaluate(
                eval_config,
                unit.folder / f"eval-{split}",
                workers=config.workers,
                on_episode=episode_done,
                mp_context="spawn",
            )  # fmt: skip  (this process ran torch: fresh workers)
            progress.unit_done()
            result["eval"][split] = {
                "summary": stats.summarize(records)["overall"]["all"],
                "wall_s": round(time.perf_counter() - eval_started, 1),
            }
        unit.finish(result)
        write_results(collect(out), out)  # the tables so far: a run stopped midway still has them
    record_run(out, config.command(out), "finished", round(time.perf_counter() - started, 1))
    results = collect(out)
    write_results(results, out)
    return results


def record_run(out: Path, command: str, event: str, wall_s: float | None = None) -> None:
    """A line in ``runs.jsonl``: the command, when it started or finished, and its wall time."""
    line = {"command": command, "event": event, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": wall_s}
    append_jsonl(out / "runs.jsonl", [json.dumps(line)])


# -- results -------------------------------------------------------------------------------------
def finished_seeds(out: Path) -> list[tuple[dict[str, Any], dict[str, Any], Path]]:
    """Each finished seed under ``out``, in seed order: its spec, its results (``done.json``) and its folder."""
    finished = []
    for done in sorted(out.glob("seed*/done.json"), key=lambda p: int(p.parent.name[4:])):
        spec = json.loads((done.parent / "spec.json").read_text())
        if spec.get("stage") == "generalisation":
            finished.append((spec, json.loads(done.read_text()), done.parent))
    return finished


def split_records(
    finished: list[tuple[dict[str, Any], dict[str, Any], Path]], split: str
) -> dict[int, list[EpisodeRecord]]:
    """The evaluation episodes of each of ``finished``'s seeds (:func:`finished_seeds`) on ``split``."""
    return {
        spec["seed"]: list(read_records(folder / f"eval-{split}" / "episodes.jsonl")) for spec, _, folder in finished
    }


def collect(out: Path) -> dict[str, Any]:
    """The statistics over every finished seed under ``out`` (see the module doc)."""
    finished = finished_seeds(out)
    settings = sorted({json.dumps({k: v for k, v in s.items() if k != "seed"}, sort_keys=True) for s, _, _ in finished})
    if len(settings) > 1:
        raise GeneralisationError(f"{out} holds seeds of different settings: {settings}")
    splits: dict[str, Any] = {}
    per_seed_means: dict[str, dict[int, float]] = {}
    for split in EVAL_SPLITS:
        by_seed = split_records(finished, split)
        if not by_seed:
            continue
        seeds, games, matrix = stats.score_matrix(by_seed)
        wins = [r.won for rs in by_seed.values() for r in rs]
        splits[split] = {
            **stats.aggregate(matrix),
            "win_rate": round(float(np.mean(wins)), 4),
            "episodes": len(wins),
            "per_game": stats.per_game(games, matrix),
        }
        per_seed_means[split] = dict(zip(seeds, splits[split]["per_seed"], strict=True))
    gaps = []
    for a, b in GAPS:
        if a in per_seed_means and b in per_seed_means:
            common = sorted(set(per_seed_means[a]) & set(per_seed_means[b]))
            diff = stats.paired_difference(
                [per_seed_means[a][s] for s in common], [per_seed_means[b][s] for s in common]
            )
            gaps.append({"gap": f"{a} - {b}", **diff})
    wall = {
        str(spec["seed"]): {
            "train_s": result["train"].get("wall_s"),
            "eval_s": round(sum(e["wall_s"] for e in result["eval"].values()), 1),
        }
        for spec, result, _ in finished
    }
    runs = (
        [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
        if (out / "runs.jsonl").exists()
        else []
    )
    return {
        "settings": json.loads(settings[0]) if settings else {},
        "seeds": [spec["seed"] for spec, _, _ in finished],
        "splits": splits,
        "gaps": gaps,
        "wall_s": wall,
        "runs": runs,
        "learning_curve": stats.curve_band(
            read_curve(folder / "train" / "learning_curve.csv") for _, _, folder in finished
        ),
        "method": {"t": stats.T_METHOD, "bootstrap": stats.BOOTSTRAP_METHOD, "resamples": stats.RESAMPLES},
    }


def _interval(values: list[float] | None) -> str:
    return "n/a" if values is None else f"[{values[0]:.3f}, {values[1]:.3f}]"


def markdown(results: dict[str, Any]) -> str:
    s = results["settings"]
    lines = [
        f"# Generalisation: {s.get('agent', '?').upper()} trained on {s.get('suite', '?')} "
        f"v{s.get('suite_version', '?')} {s.get('train_split', 'train')}",
        "",
        f"{s.get('steps', '?')} training env steps per seed ({s.get('engine', '?')} engine), then "
        f"{s.get('episodes', '?')} greedy episode(s) on every game of each split"
        + (f" (the first {s['games']} games only)" if s.get("games") else "")
        + f". n = {len(results['seeds'])} seeds ({', '.join(map(str, results['seeds']))}).",
        "",
        "Statistics: a seed's score on a split is its mean normalised score over the split's games; intervals are "
        f"95% and over seeds, never over episodes: **t** = {results['method']['t']}; **bootstrap** = "
        f"{results['method']['bootstrap']}, {results['method']['resamples']} resamples. IQM = interquartile mean "
        f"of all (seed, game) scores. n/a: a t interval needs 2 seeds, a bootstrap interval "
        f"{stats.MIN_BOOTSTRAP_SEEDS}.",
        "",
        "| split | games | seeds | mean | 95% t CI | 95% bootstrap CI | IQM | IQM 95% bootstrap CI | win rate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split, r in results["splits"].items():
        lines.append(
            f"| {split} | {r['games']} | {r['seeds']} | {r['mean']:.3f} | {_interval(r['mean_t'])} | "
            f"{_interval(r['mean_bootstrap'])} | {r['iqm']:.3f} | {_interval(r['iqm_bootstrap'])} | "
            f"{r['win_rate']:.2f} |"
        )
    if results["gaps"]:
        lines += ["", "Gaps (paired by seed; t interval over seeds; paired t-test p-value):", ""]
        lines += ["| gap | difference | 95% t CI | p | seeds |", "|---|---|---|---|---|"]
        for g in results["gaps"]:
            p = "n/a" if g["p_value"] is None else f"{g['p_value']:.3g}"
            lines.append(f"| {g['gap']} | {g['difference']:+.3f} | {_interval(g['t'])} | {p} | {g['seeds']} |")
    splits = list(results["splits"])
    lines += ["", "Per seed (mean over the split's games) and wall time:", ""]
    lines += [f"| seed | {' | '.join(splits)} | train s | eval s |", "|---" * (len(splits) + 3) + "|"]
    for i, seed in enumerate(results["seeds"]):
        wall = results["wall_s"].get(str(seed), {})
        scores = " | ".join(f"{results['splits'][sp]['per_seed'][i]:.3f}" for sp in splits)
        lines.append(f"| {seed} | {scores} | {wall.get('train_s')} | {wall.get('eval_s')} |")
    if results["runs"]:
        lines += ["", "Commands (each invocation, resumed runs included; wall time once finished):", ""]
        lines += [
            f"- {r.get('event', 'finished')} {r.get('at', '')}: `{r['command']}`"
            + (f" ({r['wall_s']} s)" if r.get("wall_s") is not None else "")
            for r in results["runs"]
        ]
    lines += ["", "Per game: `per_game.csv` (mean over seeds and its t interval half-width)."]
    if results.get("learning_curve"):
        lines += ["", "![learning curve](learning_curve.png)"]
    return "\n".join(lines) + "\n"


def per_game_csv(results: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["split", "game", "mean", "ci95", "seeds"])
    writer.writeheader()
    for split, r in results["splits"].items():
        writer.writerows({"split": split, **row} for row in r["per_game"])
    return buffer.getvalue()


def plot_curve(results: dict[str, Any], out: Path) -> list[Path]:
    """``learning_curve.png``: the training score (last 50 episodes) vs env steps, mean over seeds, t band."""
    band = results.get("learning_curve") or []
    if not band:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import _save
    from .transfer.render import band_of

    fig, ax = plt.subplots(figsize=(6, 4))
    (line,) = ax.plot([r["step"] for r in band], [r["mean"] for r in band], label=f"{len(results['seeds'])} seeds")
    band_of(ax, band, line.get_color())
    title = "Training on the train split (95% t band over seeds)"
    path = out / "learning_curve.png"
    return [_save(fig, ax, "env steps", "training mean normalised score (last 50 episodes)", path, title, True)]


def write_results(results: dict[str, Any], out: Path) -> list[Path]:
    """``generalisation.json``, ``generalisation.md``, ``per_game.csv`` and ``learning_curve.png`` into ``out``."""
    paths = [out / "generalisation.json", out / "generalisation.md", out / "per_game.csv"]
    for path, text in zip(
        paths, (json.dumps(results, indent=2) + "\n", markdown(results), per_game_csv(results)), strict=True
    ):
        write_atomic(path, text)
    return paths + plot_curve(results, out)

"""`starling transfer`: does pre-training on STARLING's games help an agent learn other text games?

For each seed, DRRN is pre-trained on the benchmark's train split (``DIR/pretrain/seed<k>/``); then,
for each target env and each arm, it trains on the target's train split and is evaluated greedily on
the target's test split by the evaluation harness (``DIR/<target>/seed<k>/<arm>/{train,eval}/``):

- ``pretrained``: starts from the weights of that seed's pre-trained network;
- ``scratch``: starts from a fresh network.

The two arms differ **only in the initial weights**. Both start with the same config and seed, a fresh
Adam optimizer, an empty replay buffer, a target network equal to the online one, and the step counter
at 0: the target budget is exactly ``--steps`` env steps for both, and both follow the same
epsilon schedule (1.0 -> 0.05 over the first half of the budget), so exploration restarts on the target
for the pre-trained network too. A pre-trained arm that starts greedy would mix two effects (better
weights and less exploration); this design measures the first alone.

Every unit is resumable: a finished unit has a ``done.json`` (written atomically last) and is skipped on
rerun; a unit's ``spec.json`` (its settings, written first) must match on rerun; an interrupted
training resumes from its ``checkpoint.pt`` (the pre-trained arm's first checkpoint is the copied
pre-trained weights); the harness resumes an interrupted evaluation itself.

The results table covers every finished unit under ``DIR``: per target and arm, the normalised test
score averaged over seeds (each seed's score is the mean over its evaluation episodes) with a 95%
confidence interval over seeds, the win rate and the mean episode steps, plus the paired gain
(pretrained - scratch, per seed). Written to ``DIR/transfer.json`` and ``DIR/transfer.md`` with one
learning-curve plot per target (``DIR/learning_curves-<target>.png``: the training curve's mean score,
averaged over seeds, for both arms).
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..records import read_records
from .evaluate import EvalConfig, evaluate, mean_ci, summarize

ARMS = ("pretrained", "scratch")
PRETRAIN_SPLIT = "train"
TRAIN_SPLIT, TEST_SPLIT = "train", "test"
AGENTS = ("drrn",)


class TransferError(ValueError):
    """A transfer run cannot start or continue (bad target, missing data, a folder holding another run)."""


@dataclass(frozen=True)
class Target:
    """A target env id and the extra ``gymnasium.make`` kwargs it is made with (besides ``split``)."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """Folder name: the id without its namespace, then ``-key-value`` for each kwarg."""
        parts = [self.env_id.split("/")[-1]] + [f"{k}-{v}" for k, v in sorted(self.kwargs.items())]
        return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts)).strip("-")

    def make_kwargs(self, split: str) -> dict[str, Any]:
        return {**self.kwargs, "split": split}


@dataclass(frozen=True)
class TransferConfig:
    targets: tuple[Target, ...]
    agent: str = "drrn"
    pretrain_steps: int = 3000
    steps: int = 2000
    seeds: int = 1  # seeds 0 .. seeds-1
    episodes: int = 5  # greedy test episodes per (target, seed, arm); episode k uses seed k on every unit
    max_steps: int = 50  # episode step limit in pre-training, target training and evaluation
    workers: int = 1  # evaluation processes
    envs: int = 1  # parallel training envs
    device: str = "auto"


def parse_targets(env_ids: list[str], kwargs_json: str | None = None) -> tuple[Target, ...]:
    """Targets from ``--target`` ids and ``--target-kwargs`` JSON.

    The JSON is either an object keyed by target ids (``{"starling/ScienceWorld-v0": {"task": "boil"}}``),
    each value the kwargs of that target, or a plain kwargs object given to every target (``{"task": "boil"}``).
    """
    if not env_ids:
        raise TransferError("give at least one --target ENV_ID")
    if len(set(env_ids)) != len(env_ids):
        raise TransferError(f"a --target is given twice: {env_ids}")
    try:
        given = json.loads(kwargs_json) if kwargs_json else {}
    except json.JSONDecodeError as exc:
        raise TransferError(f"--target-kwargs is not valid JSON ({exc}): {kwargs_json!r}") from exc
    if not isinstance(given, dict):
        raise TransferError(f"--target-kwargs must be a JSON object, not {kwargs_json!r}")
    keyed = [k for k in given if k in env_ids]
    if keyed and len(keyed) != len(given):
        stray = sorted(set(given) - set(keyed))
        raise TransferError(f"--target-kwargs mixes target ids and kwargs (or names ids not given with --target): {stray}")
    targets = []
    for env_id in env_ids:
        kwargs = (given.get(env_id) or {}) if keyed else dict(given)
        if not isinstance(kwargs, dict):
            raise TransferError(f"--target-kwargs for {env_id} must be an object, not {kwargs!r}")
        reserved = sorted({"split", "extra_info", "max_episode_steps"} & set(kwargs))
        if reserved:
            raise TransferError(f"--target-kwargs may not set {reserved}: transfer trains on the target's "
                                f"{TRAIN_SPLIT!r} split and evaluates on its {TEST_SPLIT!r} split itself")
        targets.append(Target(env_id, kwargs))
    return tuple(targets)


def check_targets(targets: tuple[Target, ...], extra_info: list[str]) -> None:
    """Unknown ids, missing data or packages, or kwargs a target does not take: a TransferError that says so."""
    import gymnasium as gym

    import starling_env  # noqa: F401  (registers the ids)

    for target in targets:
        if target.env_id not in gym.registry:
            known = sorted(i for i in gym.registry if i.startswith("starling/") and not re.search(r"-[0-9a-f]{7}-v\d+$", i))
            raise TransferError(f"unknown target {target.env_id!r}; registered starling ids (besides the benchmark's "
                                f"games): {', '.join(known)}")
        for split in (TRAIN_SPLIT, TEST_SPLIT):
            try:
                env = gym.make(target.env_id, **target.make_kwargs(split), extra_info=extra_info)
            except (FileNotFoundError, ImportError, RuntimeError, ValueError, TypeError) as exc:
                raise TransferError(f"cannot make target {target.env_id} with {target.make_kwargs(split)}: {exc}") from exc
            env.close()


def drrn_config(steps: int, seed: int, config: TransferConfig):
    """The DRRN settings of one training stage (pre-training or a target arm): its schedule scales with ``steps``."""
    from starling_agents.drrn import DRRNConfig

    return DRRNConfig(steps=steps, envs=config.envs, seed=seed, max_episode_steps=config.max_steps,
                      device=config.device, epsilon_decay_steps=max(1, steps // 2), log_every=max(10, steps // 20),
                      checkpoint_every=max(100, steps // 4))


# -- units -------------------------------------------------------------------------------------------
@dataclass
class Unit:
    """One resumable piece of work: a folder, its settings (``spec.json``) and its completion (``done.json``)."""

    folder: Path
    spec: dict[str, Any]

    @property
    def done(self) -> bool:
        return (self.folder / "done.json").exists()

    def claim(self) -> None:
        """Write ``spec.json``, or check that the folder's one is the same."""
        path = self.folder / "spec.json"
        if path.exists():
            existing = json.loads(path.read_text())
            if existing != self.spec:
                diff = {k: (existing.get(k), v) for k, v in self.spec.items() if existing.get(k) != v}
                raise TransferError(f"{self.folder} holds a different run ({diff}: (there, asked)); use another --out")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(self.spec, indent=2) + "\n")

    def finish(self, result: dict[str, Any]) -> None:
        write_atomic(self.folder / "done.json", json.dumps(result, indent=2) + "\n")


def pretrain_unit(out: Path, seed: int, config: TransferConfig) -> Unit:
    return Unit(out / "pretrain" / f"seed{seed}", {
        "stage": "pretrain", "agent": config.agent, "suite": "STARLING-100", "split": PRETRAIN_SPLIT,
        "steps": config.pretrain_steps, "seed": seed, "max_steps": config.max_steps, "envs": config.envs})


def target_unit(out: Path, target: Target, seed: int, arm: str, config: TransferConfig) -> Unit:
    return Unit(out / target.slug / f"seed{seed}" / arm, {
        "stage": "target", "agent": config.agent, "target": target.env_id, "target_kwargs": target.kwargs,
        "slug": target.slug, "arm": arm, "seed": seed, "steps": config.steps,
        "pretrain_steps": config.pretrain_steps if arm == "pretrained" else 0, "max_steps": config.max_steps,
        "episodes": config.episodes, "envs": config.envs, "train_split": TRAIN_SPLIT, "test_split": TEST_SPLIT})


def init_from_pretrained(pretrained: Path, checkpoint: Path, steps: int, seed: int, config: TransferConfig) -> None:
    """The pre-trained arm's starting checkpoint: only the network weights are taken from ``pretrained``.

    The target network is set equal to them; the optimizer is fresh and the step and update counters are 0,
    exactly as in a scratch run, so the two arms differ in their initial weights alone.
    """
    import torch
    from starling_agents.drrn import DRRNAgent

    agent = DRRNAgent(drrn_config(steps, seed, config))
    state = torch.load(pretrained, map_location=agent.device, weights_only=False)
    agent.net.load_state_dict(state["net"])
    agent.target.load_state_dict(state["net"])
    agent.env_steps = agent.updates = 0
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    agent.save(checkpoint)


def train_drrn(make_env: Callable, folder: Path, steps: int, seed: int, config: TransferConfig,
               on_step: Callable[[int, dict], None]) -> dict[str, Any]:
    from starling_agents.drrn import DRRNAgent

    started = time.perf_counter()
    learner = DRRNAgent(drrn_config(steps, seed, config))
    metrics = learner.train(make_env, folder, progress=on_step)
    return {"env_steps": learner.env_steps, "final_metrics": metrics, "wall_s": round(time.perf_counter() - started, 1)}


class Reporter:
    """What a run tells its caller: which unit runs (with how much work) and how far it got."""

    def unit(self, label: str, total: int) -> None: ...

    def advance(self, completed: int, status: str = "") -> None: ...

    def unit_done(self) -> None: ...


def run_transfer(config: TransferConfig, out: Path, reporter: Reporter | None = None) -> dict[str, Any]:
    """Run every missing unit of ``config`` into ``out``, then write and return the results (see the module doc)."""
    import gymnasium as gym

    import starling_env  # noqa: F401  (registers the ids)

    from ..registration import shipped_collection

    reporter = reporter or Reporter()
    if config.agent not in AGENTS:
        raise TransferError(f"transfer supports --agent {' | '.join(AGENTS)} (a learner that is pre-trained), "
                            f"not {config.agent!r}")
    for name in ("pretrain_steps", "steps", "seeds", "episodes", "max_steps", "workers", "envs"):
        if getattr(config, name) < 1:
            raise TransferError(f"--{name.replace('_', '-')} must be at least 1")
    from starling_agents.drrn import DRRNAgent

    extra = list(DRRNAgent.extra_info)
    seeds = list(range(config.seeds))
    pretrains = {seed: pretrain_unit(out, seed, config) for seed in seeds}
    units = {(t.slug, seed, arm): target_unit(out, t, seed, arm, config) for seed in seeds for t in config.targets for arm in ARMS}
    for unit in [*pretrains.values(), *units.values()]:
        if unit.folder.exists():
            unit.claim()  # a folder holding another run is an error before any work starts
    pending = [t for t in config.targets if any(not units[(t.slug, s, a)].done for s in seeds for a in ARMS)]
    if pending:
        check_targets(tuple(pending), extra)
    collection = shipped_collection()
    if not (collection / "manifest.json").exists():
        raise TransferError(f"no STARLING benchmark to pre-train on at {collection}")

    def make_suite() -> gym.Env:
        return gym.make("starling/Suite-v0", collection=str(collection), split=PRETRAIN_SPLIT, extra_info=extra,
                        max_episode_steps=config.max_steps)

    def show(step: int, metrics: dict) -> None:
        reporter.advance(step, f"score {metrics.get('mean_score', 0):.2f} eps {metrics.get('epsilon', 0):.2f} "
                               f"{metrics.get('steps_per_s', 0):.1f} steps/s")

    for seed in seeds:
        pre = pretrains[seed]
        needed = any(not units[(t.slug, seed, "pretrained")].done for t in config.targets)
        if not pre.done and needed:
            pre.claim()
            reporter.unit(f"pre-train seed {seed} on STARLING-100 {PRETRAIN_SPLIT}", config.pretrain_steps)
            pre.finish(train_drrn(make_suite, pre.folder, config.pretrain_steps, seed, config, show))
            reporter.unit_done()
        for target in config.targets:
            for arm in ARMS:
                unit = units[(target.slug, seed, arm)]
                if unit.done:
                    continue
                unit.claim()
                train_folder, eval_folder = unit.folder / "train", unit.folder / "eval"
                checkpoint = train_folder / "checkpoint.pt"
                label = f"{target.slug} seed {seed} {arm}"
                result: dict[str, Any] = {}
                if (train_folder / "done.json").exists():
                    result["train"] = json.loads((train_folder / "done.json").read_text())
                else:
                    if arm == "pretrained" and not checkpoint.exists():
                        if not (pre.folder / "checkpoint.pt").exists():
                            raise TransferError(f"{pre.folder} is finished but its checkpoint.pt is gone (results keep "
                                                f"no checkpoints): rerun into another --out")
                        init_from_pretrained(pre.folder / "checkpoint.pt", checkpoint, config.steps, seed, config)

                    def make_target(target: Target = target) -> gym.Env:
                        return gym.make(target.env_id, **target.make_kwargs(TRAIN_SPLIT), extra_info=extra,
                                        max_episode_steps=config.max_steps)

                    reporter.unit(f"train {label}", config.steps)
                    result["train"] = train_drrn(make_target, train_folder, config.steps, seed, config, show)
                    write_atomic(train_folder / "done.json", json.dumps(result["train"], indent=2) + "\n")
                    reporter.unit_done()
                eval_config = EvalConfig(
                    agent=config.agent, env_ids=(target.env_id,), episodes=config.episodes, seed=0,
                    max_steps=config.max_steps, checkpoint=str(checkpoint),
                    agent_options={} if config.device == "auto" else {"device": config.device},
                    env_kwargs=target.make_kwargs(TEST_SPLIT))
                reporter.unit(f"evaluate {label}", config.episodes)
                started, played = time.perf_counter(), [0]

                def episode_done(record, played=played) -> None:
                    played[0] += 1
                    reporter.advance(played[0], f"last score {record.normalized_score:.2f}")

                records = evaluate(eval_config, eval_folder, workers=config.workers, on_episode=episode_done,
                                   mp_context="spawn")  # this process ran torch: fresh workers
                reporter.unit_done()
                result["eval"] = {"summary": summarize(records)["overall"]["all"],
                                  "wall_s": round(time.perf_counter() - started, 1)}
                unit.finish(result)
    results = collect(out)
    write_results(results, out)
    return results


# -- results -----------------------------------------------------------------------------------------
def read_curve(path: Path) -> dict[int, float]:
    """A learning curve's mean_score by step (the last row of a step wins: a resumed run may repeat steps)."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {int(row["step"]): float(row["mean_score"]) for row in csv.DictReader(f) if row.get("step")}


def unit_results(out: Path) -> list[dict[str, Any]]:
    """Every finished target unit under ``out``: its spec, its eval summary (from the records) and its curve."""
    found = []
    for done in sorted(out.glob("*/seed*/*/done.json")):
        folder = done.parent
        spec_path, episodes = folder / "spec.json", folder / "eval" / "episodes.jsonl"
        if not spec_path.exists() or not episodes.exists():
            continue
        spec = json.loads(spec_path.read_text())
        if spec.get("stage") != "target":
            continue
        records = list(read_records(episodes))
        if not records:
            continue
        found.append({"spec": spec, "summary": summarize(records)["overall"]["all"],
                      "curve": read_curve(folder / "train" / "learning_curve.csv")})
    return found


def _slug_order(slug: str) -> str:
    """Sort key of target folders: alphabetical, but TWC-easy < TWC-medium < TWC-hard."""
    return re.sub(r"(?<![A-Za-z])(easy|medium|hard)(?![A-Za-z])", lambda m: str(("easy", "medium", "hard").index(m[1])), slug)


def aggregate(units: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target and arm: score mean and 95% CI over seeds, win rate, steps; per target the paired gain."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for u in units:
        groups[(u["spec"]["slug"], u["spec"]["arm"])].append(u)
    rows = []
    for (slug, arm), members in sorted(groups.items(), key=lambda kv: (_slug_order(kv[0][0]), ARMS.index(kv[0][1]))):
        members.sort(key=lambda u: u["spec"]["seed"])
        scores = [u["summary"]["score"] for u in members]
        score, ci = mean_ci(scores)
        spec = members[0]["spec"]
        rows.append({
            "target": spec["target"], "target_kwargs": spec["target_kwargs"], "slug": slug, "arm": arm,
            "seeds": len(members), "score": round(score, 4), "ci95": round(ci, 4) if len(members) > 1 else None,
            "win_rate": round(statistics.fmean(u["summary"]["win_rate"] for u in members), 4),
            "steps": round(statistics.fmean(u["summary"]["steps"] for u in members), 2),
            "episodes": sum(u["summary"]["episodes"] for u in members),
            "train_steps": sorted({u["spec"]["steps"] for u in members}),
            "pretrain_steps": sorted({u["spec"]["pretrain_steps"] for u in members}),
            "per_seed": {str(u["spec"]["seed"]): u["summary"]["score"] for u in members},
        })
    gains = []
    for slug in sorted({r["slug"] for r in rows}, key=_slug_order):
        arms = {r["arm"]: r for r in rows if r["slug"] == slug}
        if set(ARMS) <= set(arms):
            common = sorted(set(arms["pretrained"]["per_seed"]) & set(arms["scratch"]["per_seed"]), key=int)
            if common:
                diffs = [arms["pretrained"]["per_seed"][s] - arms["scratch"]["per_seed"][s] for s in common]
                gain, ci = mean_ci(diffs)
                gains.append({"slug": slug, "target": arms["pretrained"]["target"], "seeds": len(common),
                              "gain": round(gain, 4), "ci95": round(ci, 4) if len(common) > 1 else None})
    return {"rows": rows, "gains": gains}


def mean_curves(units: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Per target and arm: the training curves' mean_score averaged over seeds, at the steps every seed logged."""
    curves: dict[str, dict[str, list[dict[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for u in units:
        if u["curve"]:
            curves[u["spec"]["slug"]][u["spec"]["arm"]].append(u["curve"])
    result: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for slug, arms in curves.items():
        result[slug] = {}
        for arm, members in arms.items():
            steps = sorted(set.intersection(*(set(m) for m in members)))
            result[slug][arm] = [(s, round(statistics.fmean(m[s] for m in members), 4)) for s in steps]
    return result


def collect(out: Path) -> dict[str, Any]:
    units = unit_results(out)
    return {**aggregate(units), "curves": mean_curves(units)}


def _ci(value: float | None) -> str:
    return "n/a (1 seed)" if value is None else f"{value:.3f}"


def markdown(results: dict[str, Any]) -> str:
    lines = ["| target | arm | score (mean over seeds) | 95% CI | win rate | steps | seeds | episodes | pre-train steps | target steps |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        lines.append(f"| {r['slug']} | {r['arm']} | {r['score']:.3f} | ± {_ci(r['ci95'])} | {r['win_rate']:.2f} | "
                     f"{r['steps']:.1f} | {r['seeds']} | {r['episodes']} | {', '.join(map(str, r['pretrain_steps']))} | "
                     f"{', '.join(map(str, r['train_steps']))} |")
    if results["gains"]:
        lines += ["", "Gain of pre-training (pretrained - scratch, paired by seed):", "",
                  "| target | gain | 95% CI | seeds |", "|---|---|---|---|"]
        lines += [f"| {g['slug']} | {g['gain']:+.3f} | ± {_ci(g['ci95'])} | {g['seeds']} |" for g in results["gains"]]
    return "\n".join(lines) + "\n"


def plot_curves(results: dict[str, Any], out: Path) -> list[Path]:
    """One PNG per target: mean training score vs env steps, both arms."""
    if not results["curves"]:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import _save

    paths = []
    for slug, arms in sorted(results["curves"].items(), key=lambda kv: _slug_order(kv[0])):
        fig, ax = plt.subplots(figsize=(6, 4))
        for arm in ARMS:
            if arms.get(arm):
                ax.plot([s for s, _ in arms[arm]], [v for _, v in arms[arm]], label=arm, marker=".")
        ax.set_title(slug)
        ax.set_ylim(-0.02, 1.02)
        paths.append(_save(fig, ax, "target env steps", "training mean normalised score (last 50 episodes)",
                           out / f"learning_curves-{slug}.png"))
    return paths


def write_results(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_curves(results, out)
    write_atomic(out / "transfer.json", json.dumps(results, indent=2) + "\n")
    text = ["# Transfer: DRRN pre-trained on STARLING-100 vs from scratch", "",
            ("Normalised score on each target's test split, greedy policy; the score of a seed is the mean over "
             "its evaluation episodes, the 95% CI is over seeds; win rate and steps are means over seeds."), "",
            markdown(results)]
    text += [f"![{p.stem}]({p.name})" for p in plots]
    write_atomic(out / "transfer.md", "\n".join(text) + "\n")
    return [out / "transfer.json", out / "transfer.md", *plots]


def rich_table(results: dict[str, Any]):
    from rich.table import Table

    table = Table(title="transfer: normalised test score (mean over seeds, 95% CI over seeds)")
    for column in ("target", "arm", "score (95% CI)", "win rate", "steps", "seeds", "episodes", "target steps"):
        table.add_column(column)
    gains = {g["slug"]: g for g in results["gains"]}
    for r in results["rows"]:
        ci = "" if r["ci95"] is None else f" ± {r['ci95']:.3f}"
        table.add_row(r["slug"], r["arm"], f"{r['score']:.3f}{ci}", f"{r['win_rate']:.2f}", f"{r['steps']:.1f}",
                      str(r["seeds"]), str(r["episodes"]), ", ".join(map(str, r["train_steps"])))
        if r["arm"] == ARMS[-1] and r["slug"] in gains:
            g = gains[r["slug"]]
            table.add_row("", "gain", f"{g['gain']:+.3f}" + ("" if g["ci95"] is None else f" ± {g['ci95']:.3f}"),
                          "", "", str(g["seeds"]), "", "", end_section=True)
    return table


def main(config: TransferConfig, out: Path, console) -> dict[str, Any]:
    """Run with a rich progress display (overall units + the current unit), then print the table."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    class Bars(Reporter):
        def __init__(self, progress: Progress):
            self.progress = progress
            self.current = None

        def unit(self, label: str, total: int) -> None:
            self.current = self.progress.add_task(label, total=total, status="")

        def advance(self, completed: int, status: str = "") -> None:
            if self.current is not None:
                self.progress.update(self.current, completed=completed, status=status)

        def unit_done(self) -> None:
            if self.current is not None:
                self.progress.update(self.current, completed=self.progress.tasks[self.current].total)
                self.current = None

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console) as progress:
        results = run_transfer(config, out, Bars(progress))
    console.print(rich_table(results))
    console.print(f"wrote {out}/transfer.json, {out}/transfer.md and {len(results['curves'])} learning-curve plot(s)")
    return results


__all__ = ["ARMS", "Target", "TransferConfig", "TransferError", "aggregate", "collect", "main", "parse_targets",
           "run_transfer", "write_results"]

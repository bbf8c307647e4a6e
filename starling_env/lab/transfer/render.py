"""How a transfer run is shown: the Markdown table, the learning-curve plots, the results files, the rich table,
and :func:`main`, the run behind a rich progress display."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ...files import write_atomic
from .. import stats
from .config import ARMS, TransferConfig
from .results import slug_order


def _ci(value: float | None) -> str:
    return "n/a (1 seed)" if value is None else f"{value:.3f}"


def _interval(values: list[float] | None) -> str:
    return "n/a" if values is None else f"[{values[0]:.3f}, {values[1]:.3f}]"


EVERY_GAME = "every game of the test split the same number of times"
RANDOM_GAMES = (
    "games drawn at random: units made before evaluation covered every game, so games weigh unequally and the "
    "IQM and per-game rows use the games every seed played"
)
METHOD = (
    "Statistics: a seed's score is the mean over its evaluation episodes (greedy policy, {games}); 95% intervals "
    "are over seeds, never over episodes: **t** = "
    f"{stats.T_METHOD}; **bootstrap** = {stats.BOOTSTRAP_METHOD}, {stats.RESAMPLES} resamples. IQM = interquartile "
    "mean of the (seed, game) scores. The gain is paired by seed (same seed, same games); P(pre > scratch) is the "
    "probability of improvement (Agarwal et al. 2021): over games, the chance that a pre-trained seed scores above "
    "a scratch seed, ties half. n/a: a t interval needs 2 seeds, a bootstrap interval "
    f"{stats.MIN_BOOTSTRAP_SEEDS}."
)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| target | arm | score (mean over seeds) | 95% t CI | IQM | IQM 95% bootstrap CI | win rate | steps | seeds "
        "| games | episodes | pre-train steps | target steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        iqm = "-" if r.get("iqm") is None else f"{r['iqm']:.3f}"
        lines.append(
            f"| {r['slug']} | {r['arm']} | {r['score']:.3f} | ± {_ci(r['ci95'])} | {iqm} | "
            f"{_interval(r.get('iqm_bootstrap'))} | {r['win_rate']:.2f} | {r['steps']:.1f} | {r['seeds']} | "
            f"{r.get('games', '-')} | {r['episodes']} | {', '.join(map(str, r['pretrain_steps']))} | "
            f"{', '.join(map(str, r['train_steps']))} |"
        )
    if results["gains"]:
        lines += [
            "",
            "Gain of pre-training (pretrained - scratch, paired by seed; t interval, paired t-test):",
            "",
            "| target | gain | 95% t CI | p | P(pre > scratch) | 95% bootstrap CI | seeds |",
            "|---|---|---|---|---|---|---|",
        ]
        for g in results["gains"]:
            p = "n/a" if g.get("p_value") is None else f"{g['p_value']:.3g}"
            poi = g.get("p_improvement") or {}
            value = "-" if "value" not in poi else f"{poi['value']:.2f}"
            lines.append(
                f"| {g['slug']} | {g['gain']:+.3f} | ± {_ci(g['ci95'])} | {p} | {value} | "
                f"{_interval(poi.get('bootstrap'))} | {g['seeds']} |"
            )
        areas = [g for g in results["gains"] if g.get("curve_area")]
        if areas:
            lines += [
                "",
                "Learning efficiency: area under the training curve (the mean training score over the logged steps, "
                "epsilon-greedy; 1.0 = a perfect score from the first step), gain paired by seed (t interval, "
                "paired t-test):",
                "",
                "| target | pretrained | scratch | gain | 95% t CI | p | seeds |",
                "|---|---|---|---|---|---|---|",
            ]
            for g in areas:
                a = g["curve_area"]
                p = "n/a" if a.get("p_value") is None else f"{a['p_value']:.3g}"
                lines.append(
                    f"| {g['slug']} | {a['pretrained']:.3f} | {a['scratch']:.3f} | {a['difference']:+.3f} | "
                    f"± {_ci(a['ci95'])} | {p} | {a['seeds']} |"
                )
        for g in results["gains"]:
            if g.get("per_game"):
                lines += ["", f"Per game, {g['slug']} (mean over seeds; gain paired by seed, t interval):", ""]
                lines += ["| game | pretrained | scratch | gain | 95% t CI | seeds |", "|---|---|---|---|---|---|"]
                lines += [
                    f"| {r['game']} | {r['pretrained']:.3f} | {r['scratch']:.3f} | {r['gain']:+.3f} | "
                    f"± {_ci(r['ci95'])} | {r['seeds']} |"
                    for r in g["per_game"]
                ]
    return "\n".join(lines) + "\n"


def plot_curves(results: dict[str, Any], out: Path) -> list[Path]:
    """One PNG per target: mean training score vs env steps, both arms."""
    if not results["curves"]:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report import _save

    paths = []
    bands = results.get("curve_bands", {})
    for slug, arms in sorted(results["curves"].items(), key=lambda kv: slug_order(kv[0])):
        fig, ax = plt.subplots(figsize=(6, 4))
        for arm in ARMS:
            if arms.get(arm):
                (line,) = ax.plot([s for s, _ in arms[arm]], [v for _, v in arms[arm]], label=arm, marker=".")
                band_of(ax, bands.get(slug, {}).get(arm, []), line.get_color())
        ax.set_title(f"{slug} (band: 95% t interval over seeds)")
        ax.set_ylim(-0.02, 1.02)
        paths.append(
            _save(
                fig,
                ax,
                "target env steps",
                "training mean normalised score (last 50 episodes)",
                out / f"learning_curves-{slug}.png",
            )
        )
    return paths


def band_of(ax, band: list[dict[str, Any]], color: Any) -> None:
    """Shade a curve's t interval over seeds (nothing where a step has one seed)."""
    shown = [row for row in band if row["t"] is not None]
    if shown:
        ax.fill_between(
            [r["step"] for r in shown], [r["t"][0] for r in shown], [r["t"][1] for r in shown], color=color, alpha=0.2
        )


def write_results(results: dict[str, Any], out: Path, agent: str = "DRRN") -> list[Path]:
    """``transfer.json``, ``transfer.md`` and the learning-curve plots into ``out``; ``agent`` names the learner."""
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_curves(results, out)
    write_atomic(out / "transfer.json", json.dumps(results, indent=2) + "\n")
    text = [
        f"# Transfer: {agent} pre-trained on STARLING-100 vs from scratch",
        "",
        METHOD.format(games=EVERY_GAME if all(r.get("every_game") for r in results["rows"]) else RANDOM_GAMES)
        + " Win rate and steps are means over seeds.",
        "",
        markdown(results),
    ]
    text += [f"![{p.stem}]({p.name})" for p in plots]
    write_atomic(out / "transfer.md", "\n".join(text) + "\n")
    return [out / "transfer.json", out / "transfer.md", *plots]


def rich_table(results: dict[str, Any]):
    from rich.table import Table

    table = Table(title="transfer: normalised test score (mean over seeds, 95% t interval over seeds)")
    for column in ("target", "arm", "score (95% t CI)", "win rate", "steps", "seeds", "episodes", "target steps"):
        table.add_column(column)
    gains = {g["slug"]: g for g in results["gains"]}
    for r in results["rows"]:
        ci = "" if r["ci95"] is None else f" ± {r['ci95']:.3f}"
        table.add_row(
            r["slug"],
            r["arm"],
            f"{r['score']:.3f}{ci}",
            f"{r['win_rate']:.2f}",
            f"{r['steps']:.1f}",
            str(r["seeds"]),
            str(r["episodes"]),
            ", ".join(map(str, r["train_steps"])),
        )
        if r["arm"] == ARMS[-1] and r["slug"] in gains:
            g = gains[r["slug"]]
            gain = f"{g['gain']:+.3f}" + ("" if g["ci95"] is None else f" ± {g['ci95']:.3f}")
            table.add_row("", "gain", gain, "", "", str(g["seeds"]), "", "", end_section=True)
    return table


def rich_progress(progress):
    """A :class:`~.run.UnitProgress` that shows one bar per unit in a ``rich.progress.Progress`` and prints a line
    as each unit ends (so a log of a run in the background says how far it got)."""
    from .run import UnitProgress

    class Bars(UnitProgress):
        def __init__(self) -> None:
            self.current = None
            self.started = 0.0

        def unit(self, label: str, total: int) -> None:
            self.current = progress.add_task(label, total=total, status="")
            self.started = time.perf_counter()

        def advance(self, completed: int, status: str = "") -> None:
            if self.current is not None:
                progress.update(self.current, completed=completed, status=status)

        def unit_done(self) -> None:
            if self.current is not None:
                task = progress.tasks[self.current]
                progress.update(self.current, completed=task.total)
                progress.console.print(
                    f"done: {task.description} ({time.perf_counter() - self.started:.0f} s) {task.fields['status']}",
                    highlight=False,
                )
                self.current = None

    return Bars()


def progress_columns() -> tuple:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )


def main(config: TransferConfig, out: Path, console) -> dict[str, Any]:
    """Run with a rich progress display (one bar per unit), then print the table."""
    from rich.progress import Progress

    from .run import run_transfer  # run writes its results with this module: imported when used

    with Progress(*progress_columns(), console=console) as progress:
        results = run_transfer(config, out, rich_progress(progress))
    console.print(rich_table(results))
    console.print(f"wrote {out}/transfer.json, {out}/transfer.md and {len(results['curves'])} learning-curve plot(s)")
    return results

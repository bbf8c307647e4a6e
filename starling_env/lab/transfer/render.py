"""How a transfer run is shown: the Markdown table, the learning-curve plots, the results files, the rich table,
and :func:`main`, the run behind a rich progress display."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...files import write_atomic
from .config import ARMS, TransferConfig
from .results import slug_order


def _ci(value: float | None) -> str:
    return "n/a (1 seed)" if value is None else f"{value:.3f}"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| target | arm | score (mean over seeds) | 95% CI | win rate | steps | seeds | episodes | pre-train steps "
        "| target steps |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        lines.append(
            f"| {r['slug']} | {r['arm']} | {r['score']:.3f} | ± {_ci(r['ci95'])} | {r['win_rate']:.2f} | "
            f"{r['steps']:.1f} | {r['seeds']} | {r['episodes']} | {', '.join(map(str, r['pretrain_steps']))} | "
            f"{', '.join(map(str, r['train_steps']))} |"
        )
    if results["gains"]:
        lines += [
            "",
            "Gain of pre-training (pretrained - scratch, paired by seed):",
            "",
            "| target | gain | 95% CI | seeds |",
            "|---|---|---|---|",
        ]
        lines += [f"| {g['slug']} | {g['gain']:+.3f} | ± {_ci(g['ci95'])} | {g['seeds']} |" for g in results["gains"]]
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
    for slug, arms in sorted(results["curves"].items(), key=lambda kv: slug_order(kv[0])):
        fig, ax = plt.subplots(figsize=(6, 4))
        for arm in ARMS:
            if arms.get(arm):
                ax.plot([s for s, _ in arms[arm]], [v for _, v in arms[arm]], label=arm, marker=".")
        ax.set_title(slug)
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


def write_results(results: dict[str, Any], out: Path, agent: str = "DRRN") -> list[Path]:
    """``transfer.json``, ``transfer.md`` and the learning-curve plots into ``out``; ``agent`` names the learner."""
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_curves(results, out)
    write_atomic(out / "transfer.json", json.dumps(results, indent=2) + "\n")
    text = [
        f"# Transfer: {agent} pre-trained on STARLING-100 vs from scratch",
        "",
        (
            "Normalised score on each target's test split, greedy policy; the score of a seed is the mean over "
            "its evaluation episodes, the 95% CI is over seeds; win rate and steps are means over seeds."
        ),
        "",
        markdown(results),
    ]
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


def main(config: TransferConfig, out: Path, console) -> dict[str, Any]:
    """Run with a rich progress display (one bar per unit), then print the table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from .run import UnitProgress, run_transfer  # run writes its results with this module: imported when used

    class Bars(UnitProgress):
        def __init__(self, progress: Progress):
            self.progress = progress
            self.current: TaskID | None = None

        def unit(self, label: str, total: int) -> None:
            self.current = self.progress.add_task(label, total=total, status="")

        def advance(self, completed: int, status: str = "") -> None:
            if self.current is not None:
                self.progress.update(self.current, completed=completed, status=status)

        def unit_done(self) -> None:
            if self.current is not None:
                self.progress.update(self.current, completed=self.progress.tasks[self.current].total)
                self.current = None

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console) as progress:
        results = run_transfer(config, out, Bars(progress))
    console.print(rich_table(results))
    console.print(f"wrote {out}/transfer.json, {out}/transfer.md and {len(results['curves'])} learning-curve plot(s)")
    return results

"""`starling report`: compare evaluation runs in a table, as Markdown / CSV / JSON, and as plots."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..records import EpisodeRecord, read_records
from .stats import summarize, walkthrough_lengths

TIERS = ("easy", "medium", "hard")


def load_run(folder: Path) -> tuple[dict[str, Any], list[EpisodeRecord]]:
    """A run folder's header and records (a folder of human play records may have no header)."""
    header_path = folder / "header.json"
    files = [folder / "episodes.jsonl"] if header_path.exists() else sorted(folder.glob("*.jsonl"))
    records = [r for f in files if f.exists() for r in read_records(f)]
    if not records:
        raise ValueError(f"{folder} holds no episode records")
    header = json.loads(header_path.read_text()) if header_path.exists() else {"agent": records[0].agent}
    return header, records


def label(header: dict[str, Any]) -> str:
    """The agent's name, with its checkpoint's folder when that says more."""
    training = _training_folder(header)
    folder = training.name if training else None
    return header["agent"] + (f" ({folder})" if folder and folder != header["agent"] else "")


def comparison(runs: list[tuple[dict, list[EpisodeRecord]]]) -> list[dict[str, Any]]:
    """One row per run: overall and per-tier scores, win rate, steps."""
    lengths = walkthrough_lengths()
    rows = []
    for header, records in runs:
        summary = summarize(records, lengths)
        overall = summary["overall"]["all"]
        row = {
            "agent": label(header),
            "episodes": overall["episodes"],
            "score": overall["score"],
            "ci95": overall["ci95"],
            "win_rate": overall["win_rate"],
            "steps": overall["steps"],
            "steps_vs_walkthrough": overall["steps_vs_walkthrough"],
        }
        for tier in TIERS:
            row[f"score_{tier}"] = summary["difficulty"].get(tier, {}).get("score")
        row["summary"] = summary
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| agent | score (95% CI) | win rate | steps | steps / walkthrough | easy | medium | hard | episodes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tiers = " | ".join("-" if r[f"score_{t}"] is None else f"{r[f'score_{t}']:.2f}" for t in TIERS)
        ratio = "-" if r["steps_vs_walkthrough"] is None else f"{r['steps_vs_walkthrough']:.2f}"
        lines.append(
            f"| {r['agent']} | {r['score']:.3f} ± {r['ci95']:.3f} | {r['win_rate']:.2f} | {r['steps']:.1f} | "
            f"{ratio} | {tiers} | {r['episodes']} |"
        )
    return "\n".join(lines) + "\n"


def write_report(runs: list[tuple[dict, list[EpisodeRecord]]], out: Path) -> list[Path]:
    """Write report.md, report.csv, report.json and the PNG plots into ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    rows = comparison(runs)
    flat = [{k: v for k, v in r.items() if k != "summary"} for r in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
    writer.writeheader()
    writer.writerows(flat)
    write_atomic(out / "report.md", "# Evaluation\n\n" + markdown(rows))
    write_atomic(out / "report.csv", buffer.getvalue())
    write_atomic(out / "report.json", json.dumps(rows, indent=2) + "\n")
    return [out / "report.md", out / "report.csv", out / "report.json", *plots(runs, rows, out)]


def plots(runs: list[tuple[dict, list[EpisodeRecord]]], rows: list[dict[str, Any]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    skills = sorted({s for r in rows for s in r["summary"]["skill"]})
    fig, ax = plt.subplots(figsize=(max(6, len(skills) * 0.9), 4))
    width = 0.8 / max(1, len(rows))
    for i, r in enumerate(rows):
        values = [r["summary"]["skill"].get(s, {}).get("score", 0) for s in skills]
        errors = [r["summary"]["skill"].get(s, {}).get("ci95", 0) for s in skills]
        ax.bar(np.arange(len(skills)) + i * width, values, width, yerr=errors, label=r["agent"], capsize=2)
    ax.set_xticks(np.arange(len(skills)) + width * (len(rows) - 1) / 2, skills, rotation=30, ha="right")
    paths.append(
        _save(
            fig, ax, "", "normalised score (mean, 95% CI)", out / "per_skill.png", title="Score per skill", unit_y=True
        )
    )

    lengths = walkthrough_lengths()
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        by_game = r["summary"]["game"]
        ax.scatter([lengths.get(g, 0) for g in by_game], [v["score"] for v in by_game.values()], label=r["agent"], s=14)
    paths.append(
        _save(
            fig,
            ax,
            "walkthrough length (commands)",
            "normalised score (mean per game)",
            out / "score_vs_walkthrough.png",
            title="Score vs the length of the game",
            unit_y=True,
        )
    )

    curves = [
        (r["agent"], folder / "learning_curve.csv")
        for (h, _), r in zip(runs, rows, strict=True)
        if (folder := _training_folder(h)) and (folder / "learning_curve.csv").exists()
    ]
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, path in curves:
            data = list(csv.DictReader(open(path)))
            ax.plot([int(d["step"]) for d in data], [float(d["mean_score"]) for d in data], label=name)
        paths.append(
            _save(
                fig,
                ax,
                "environment steps",
                "normalised score (training, last 50 episodes)",
                out / "learning_curves.png",
                title="Learning curves",
                unit_y=True,
            )
        )
    return paths


def _training_folder(header: dict[str, Any]) -> Path | None:
    """The training run an evaluated checkpoint came from: the checkpoint's folder, or the checkpoint file's."""
    if not header.get("checkpoint"):
        return None
    checkpoint = Path(header["checkpoint"])
    return checkpoint if checkpoint.is_dir() else checkpoint.parent


def _save(fig, ax, xlabel: str, ylabel: str, path: Path, title: str = "", unit_y: bool = False) -> Path:
    """Label, title and save a plot; the legend goes outside the data; ``unit_y``: a normalised score, 0 to 1."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if unit_y:
        ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

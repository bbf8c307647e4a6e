"""`starling report`: compare evaluation runs in a table, as Markdown / CSV / JSON, and as plots."""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..records import EpisodeRecord, read_records
from .stats import summarize, walkthrough_lengths

TIERS = ("easy", "medium", "hard")
HUMAN = "human"  # the agent name of human play (starling play)


def load_run(folder: Path) -> tuple[dict[str, Any], list[EpisodeRecord]]:
    """A run folder's header and records (a folder of ``starling play --record`` files may have no header); a
    folder of one player's recordings (``starling play --sample``) names the player after the folder."""
    header_path = folder / "header.json"
    files = [folder / "episodes.jsonl"] if header_path.exists() else sorted(folder.glob("*.jsonl"))
    records = [r for f in files if f.exists() for r in read_records(f)]
    if not records:
        raise ValueError(f"{folder} holds no episode records")
    if not header_path.exists():
        return {"agent": records[0].agent}, records
    header = json.loads(header_path.read_text())
    if header["agent"] == HUMAN:  # one player's recordings
        header.setdefault("player", Path(folder).resolve().name)
    return header, records


def label(header: dict[str, Any]) -> str:
    """The agent's name, with its checkpoint's folder (or a human's recordings folder) when that says more."""
    training = _training_folder(header)
    folder = training.name if training else header.get("player")
    return header["agent"] + (f" ({folder})" if folder and folder != header["agent"] else "")


def human_games(runs: list[tuple[dict, list[EpisodeRecord]]]) -> dict[str, Any] | None:
    """The human baseline, per game: on every game a human run played, each run's mean normalised score and its
    episodes there; and per run, the mean over those games it has a score on, beside the humans' on the same
    games (each game weighs one). None when no run is a human's."""
    labels = [label(h) for h, _ in runs]
    per_game = [summarize(records)["game"] for _, records in runs]
    humans = [i for i, (h, _) in enumerate(runs) if h["agent"] == HUMAN]
    if not humans:
        return None
    about = {r.game_id: r for _, records in runs for r in records}
    played = sorted({g for i in humans for g in per_game[i]}, key=lambda g: (about[g].split or "", g))
    pooled = summarize(r for i in humans for r in runs[i][1] if r.game_id in played)["game"]
    games = [
        {
            "game": g,
            "split": about[g].split,
            "difficulty": about[g].difficulty,
            "runs": {
                name: {k: scores[g][k] for k in ("score", "episodes")} if g in scores else None
                for name, scores in zip(labels, per_game, strict=True)
            },
        }
        for g in played
    ]
    means = {}
    for name, scores in zip(labels, per_game, strict=True):
        shared = [g for g in played if g in scores]
        means[name] = {
            "games": len(shared),
            "score": statistics.fmean(scores[g]["score"] for g in shared) if shared else None,
            "humans": statistics.fmean(pooled[g]["score"] for g in shared) if shared else None,
        }
    return {"human_runs": [labels[i] for i in humans], "games": games, "means": means}


def human_markdown(table: dict[str, Any]) -> str:
    """The per-game human comparison as Markdown: score (episodes) per run and game, then the means."""
    names = list(table["means"])
    lines = [
        "| game | split | difficulty | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for g in table["games"]:
        cells = ["-" if (c := g["runs"][n]) is None else f"{c['score']:.2f} (n={c['episodes']})" for n in names]
        lines.append(f"| {g['game']} | {g['split'] or '-'} | {g['difficulty'] or '-'} | " + " | ".join(cells) + " |")
    means = [table["means"][n] for n in names]
    lines.append(
        "| mean per game (games) | | | "
        + " | ".join("-" if m["score"] is None else f"{m['score']:.2f} ({m['games']})" for m in means)
        + " |"
    )
    lines.append(
        "| humans on the same games | | | "
        + " | ".join("-" if m["humans"] is None else f"{m['humans']:.2f} ({m['games']})" for m in means)
        + " |"
    )
    return "\n".join(lines) + "\n"


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
        "| agent | score (95% t CI over episodes) | win rate | steps | steps / walkthrough | easy | medium | hard "
        "| episodes |",
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
    text = "# Evaluation\n\n" + markdown(rows)
    written = [out / "report.md", out / "report.csv", out / "report.json"]
    humans = human_games(runs)
    if humans is not None:
        text += (
            f"\n## Human baseline, per game\n\nOn the {len(humans['games'])} game(s) played by "
            f"{', '.join(humans['human_runs'])}: mean normalised score (n = episodes) of each run on each game; "
            "the last rows average over the games a run has a score on (each game weighs one), and the humans' "
            "mean on those same games.\n\n" + human_markdown(humans)
        )
        write_atomic(out / "human.json", json.dumps(humans, indent=2) + "\n")
        written.append(out / "human.json")
    write_atomic(out / "report.md", text)
    write_atomic(out / "report.csv", buffer.getvalue())
    write_atomic(out / "report.json", json.dumps(rows, indent=2) + "\n")
    return [*written, *plots(runs, rows, out)]


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
            fig,
            ax,
            "",
            "normalised score (mean, 95% t CI over episodes)",
            out / "per_skill.png",
            title="Score per skill",
            unit_y=True,
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

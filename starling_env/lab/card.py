"""The benchmark card: a collection's README, with every statistic computed from its manifest."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

from ..collection import Manifest, env_id, load_manifest
from ..collection.signature import NEAR_DUPLICATE_JACCARD
from ..collection.variety import collection_specs, measured, variety

SPLITS = ("train", "test", "test-compose")
TIERS = ("easy", "medium", "hard")


def _stats(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{min(values)} / {statistics.median(values):g} / {max(values)}"


def _generated_tiers() -> list[str]:
    """How the tiers of a collection without calibration were made (STARLING-100 v1)."""
    return [
        "- **easy**: one room, a short walkthrough (one skill).",
        "- **medium**: several rooms, an item hidden in a closed container, distractor objects (one skill).",
        "- **hard**: two skills composed into one game, 5+ rooms, a locked door and its key, a locked container,",
        "  walkthroughs of 20+ commands.",
        "- **train**: for training. **test**: held-out variants of the training skills and skill pairs (no test",
        "  game shares its spec with a training game). **test-compose**: hard games whose pair of skills no",
        "  training game combines.",
    ]


def _bands(recipe: str) -> list[str]:
    """The recipe's calibration bands, one line per tier (none when the recipe is not installed)."""
    from importlib import resources

    from ..generate.recipe import Recipe

    try:
        calibration = Recipe.load(Path(str(resources.files("starling_env.game_seeds"))) / Path(recipe).name).calibration
    except ValueError:
        return []
    if calibration is None:
        return []
    bands = ", ".join(f"{tier} {low:g} to {high:g}" for tier, (low, high) in calibration.heuristic_score.items())
    return [
        "",
        f"The recipe's checks: {calibration.episodes} episodes per agent; the random agent may win at most "
        f"{calibration.max_random_wins}; the heuristic agent's mean normalised score per tier: {bands}.",
    ]


def _calibrated_tiers(recipe: str) -> list[str]:
    """How the tiers of a calibrated collection were made and checked."""
    return [
        "Every game was played before it was published: seeded episodes of the random agent and of a simple",
        "heuristic agent (`--agent heuristic`: the least-tried admissible command, progress-making verbs first).",
        "A game the random agent won in more than one of those episodes was rejected, and each game's tier was",
        "checked against the band of heuristic scores the recipe sets for it (the measured figures are below).",
        "The letter after the skills in a game id is the variation level it was generated at.",
        "",
        "- **easy**: one skill, few changes to its example; the heuristic agent scores well.",
        "- **medium**: one skill in a larger house: extra rooms, a hidden item, distractors.",
        "- **hard**: two skills composed, 5+ rooms, a locked door and its key, a locked container.",
        "- **train**: for training. **test**: skills that no training game uses (held out whole).",
        "  **test-compose**: training skills in pairs that no training game combines.",
        "  No game of a test split shares its template signature with a training game (see Variety).",
        *_bands(recipe),
    ]


def _measured_table(manifest: Manifest, splits: list[str]) -> list[str]:
    """Per split and tier, the calibration's measured scores (none for a collection without calibration)."""
    overall = measured(manifest.games)
    if overall is None:
        return []
    rows = []
    for split in splits:
        for tier in TIERS:
            m = measured([g for g in manifest.games if g.split == split and g.difficulty == tier])
            if m is not None:
                rows.append(
                    f"| {split} | {tier} | {m['games']} | {m['random_win_rate']:.2f} | {m['random_score']:.2f} | "
                    f"{m['heuristic_win_rate']:.2f} | {m['heuristic_score']:.2f} | 1.00 |"
                )
    episodes = "/".join(map(str, overall["episodes_per_game"]))
    return [
        "## Measured difficulty",
        "",
        f"Mean over games of {episodes} seeded episodes per agent and game (default step limit);",
        "wins = episodes won / episodes played; score = normalised score. The walkthrough wins every game.",
        "",
        "| split | tier | games | random wins | random score | heuristic wins | heuristic score | walkthrough |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _variety(collection: Path, manifest: Manifest) -> list[str]:
    """The variety and leakage figures of :func:`starling_env.collection.variety.variety`."""
    figures = variety(collection_specs(collection), {g.id: g.split for g in manifest.games})
    overlap = ", ".join(
        f"{split} {o['sharing_a_train_signature']} of {o['games']}"
        for split, o in figures["train_test_template_overlap"].items()
    )
    return [
        "## Variety",
        "",
        f"- distinct objectives: {figures['distinct_objectives']}",
        f"- distinct walkthrough template signatures (names and directions abstracted): "
        f"{figures['distinct_walkthrough_signatures']}",
        f"- distinct custom command templates: {figures['custom_command_templates']}",
        f"- skills used: {figures['skills_used']}",
        f"- near-duplicate clusters (equal signature or template Jaccard >= {NEAR_DUPLICATE_JACCARD}): "
        f"{len(figures['near_duplicate_clusters'])}, holding {figures['games_in_near_duplicate_clusters']} games",
        f"- test games sharing a template signature with a training game: {overlap or 'no test split'}",
        "",
    ]


def _recipe(collection: Path) -> str:
    """The recipe the collection's generation report names (the command that regenerates it)."""
    try:
        return str(json.loads((collection / "generation_report.json").read_text(encoding="utf-8"))["recipe"])
    except (OSError, ValueError, KeyError, TypeError):
        return "RECIPE.json"


def render_card(collection: Path) -> str:
    manifest: Manifest = load_manifest(collection)
    recipe = _recipe(collection)
    games = manifest.games
    skills = sorted({s for g in games for s in g.skills})
    backends = Counter(str(g.provenance.get("backend", "unknown")) for g in games)
    splits = [s for s in SPLITS if any(g.split == s for g in games)] + sorted({g.split for g in games} - set(SPLITS))
    columns = [(s, t) for s in splits for t in TIERS if any(g.split == s and g.difficulty == t for g in games)]
    lines = [
        f"# {manifest.suite} v{manifest.version}",
        "",
        "<!-- Generated by `starling card`: edit starling_env/lab/card.py, not this file. -->",
        "",
        f"{len(games)} verified text games of household skills, made from the seed ideas in `game_seeds/` "
        f"({', '.join(f'{n} by the {b} backend' for b, n in sorted(backends.items()))})",
        "and checked by the verifier (the walkthrough wins at max score; TextWorld's logic and",
        "the Inform 7 code agree on every admissible command along seeded random walks, and the game refuses",
        "commands the logic forbids). Each is a Gymnasium environment, "
        f"`{env_id('<game-id>', manifest.version)}`; the suite is `{env_id('Benchmark', manifest.version)}`.",
        "",
        "## Tiers and splits",
        "",
        *(_calibrated_tiers(recipe) if any(g.calibration for g in games) else _generated_tiers()),
        "",
        "## Counts",
        "",
        "| skill | " + " | ".join(f"{s} {t}" for s, t in columns) + " | total |",
        "|---|" + "---|" * (len(columns) + 1),
    ]
    for skill in skills:
        counts = [sum(skill in g.skills and g.split == s and g.difficulty == t for g in games) for s, t in columns]
        lines.append(f"| {skill} | " + " | ".join(map(str, counts)) + f" | {sum(skill in g.skills for g in games)} |")
    totals = [sum(g.split == s and g.difficulty == t for g in games) for s, t in columns]
    lines.append("| **games** | " + " | ".join(map(str, totals)) + f" | {len(games)} |")
    lines += [
        "",
        "A composed game counts once under each of its skills; the last row counts games.",
        "",
        "## Size (min / median / max)",
        "",
        "| tier | games | walkthrough length | rooms | objects | max score |",
        "|---|---|---|---|---|---|",
    ]
    for tier in TIERS:
        tier_games = [g for g in games if g.difficulty == tier]
        lines.append(
            f"| {tier} | {len(tier_games)} | {_stats([g.walkthrough_length for g in tier_games])} | "
            f"{_stats([g.rooms for g in tier_games])} | {_stats([g.objects for g in tier_games])} | "
            f"{_stats([g.max_score for g in tier_games])} |"
        )
    pairs = Counter(" + ".join(g.skills) for g in games if len(g.skills) > 1)
    lines += ["", f"Skill combinations in composed games: {len(pairs)} distinct.", ""]
    lines += _measured_table(manifest, splits) + _variety(collection, manifest)
    lines += [
        "## Regenerate",
        "",
        "```bash",
        f"starling generate --recipe {recipe} --backend offline --out generated_games/{collection.name} --into-shipped",
        "```",
        "",
        "The recipe fixes every batch's skills, tier, split and seed, and each game's randomness comes only",
        "from (batch seed, index), so the command reproduces every game's `content_hash` on any machine.",
        "Changing a game means a new suite version (new ids), never a silent change.",
        "",
        "## Cite",
        "",
        f"Cite the suite with its version: *{manifest.suite} v{manifest.version}*, STARLING environment suite",
        "(starling-env), and the STARLING paper (ACL Findings 2024, arXiv 2406.05872).",
        "",
    ]
    return "\n".join(lines)

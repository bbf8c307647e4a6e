"""The differential check: the native engine against the Inform 7 build, step by step.

Both engines play the same commands in lockstep: the walkthrough, and seeded random walks of the
reference's admissible commands. After every step they must agree on the facts, the score, won /
lost, the sorted admissible commands and the text (whitespace-normalised). At states along the way
both are also fed a corpus of non-admissible and free-text commands (synonyms, typos, absent
objects, unknown verbs: :func:`starling_env.native.parse.free_text_corpus`), and where they differ
is reported; those steps are undone in both. ``starling verify --engine-diff GAME`` prints a game's
report; ``benchmarks/engine_diff.py`` runs every shipped game and writes ``results/engine-diff``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..envs.engine import Engine
from .engine import NativeEngine
from .parse import free_text_corpus

FIELDS = ("facts", "score", "won", "lost", "admissible", "text")


def normalise(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Difference:
    """One step where the engines disagree on ``field``: both values (texts in full)."""

    walk: str  # "walkthrough", "walk-<seed>" or "corpus"
    step: int
    command: str
    field: str
    reference: str
    native: str


@dataclass
class GameDiff:
    """The differential check of one game: steps compared, steps equal per field, and the differences."""

    game: str
    steps: int = 0  # steps of admissible commands (walkthrough and walks)
    equal: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    corpus_steps: int = 0
    corpus_equal: int = 0  # corpus commands whose text, facts and score agree
    differences: list[Difference] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(self.equal[f] == self.steps for f in FIELDS)

    def to_dict(self) -> dict:
        return asdict(self)


def _observe(engine: Engine | NativeEngine, text: str) -> dict[str, str]:
    return {
        "facts": "\n".join(engine.facts()),
        "score": str(engine.score),
        "won": str(engine.won),
        "lost": str(engine.lost),
        "admissible": "\n".join(engine.admissible_commands()),  # as listed: both engines list them sorted
        "text": normalise(text),
    }


def _compare(report: GameDiff, walk: str, step: int, command: str, ref: dict, nat: dict, count: bool) -> bool:
    same = True
    for name in FIELDS:
        if ref[name] == nat[name]:
            if count:
                report.equal[name] += 1
        else:
            same = False
            report.differences.append(Difference(walk, step, command, name, ref[name], nat[name]))
    return same


def engine_diff(
    game_dir: str | Path,
    walks: int = 4,
    walk_length: int = 50,
    seed: int = 0,
    corpus_every: int = 10,
    corpus_size: int = 12,
) -> GameDiff:
    """Play the walkthrough and ``walks`` seeded random walks in both engines; compare every step.

    Every ``corpus_every`` steps of a walk (0: never), ``corpus_size`` free-text commands are tried in
    both engines from that state and undone.
    """
    game_dir = Path(game_dir)
    z8 = game_dir / "game.z8"
    reference, native = Engine(z8), NativeEngine(z8)
    report = GameDiff(game=game_dir.name)
    try:
        plans: list[tuple[str, list[str] | None]] = [("walkthrough", native.world.walkthrough)]
        plans += [(f"walk-{seed + w}", None) for w in range(walks)]
        for walk, commands in plans:
            rng = random.Random(f"{seed}-{walk}")
            ref_text, nat_text = reference.reset(seed=0), native.reset(seed=0)
            _compare(report, walk, 0, "", _observe(reference, ref_text), _observe(native, nat_text), count=False)
            length = len(commands) if commands is not None else walk_length
            for step in range(1, length + 1):
                if reference.won or reference.lost:
                    break
                if commands is None and corpus_every and step % corpus_every == 0:
                    _corpus(report, reference, native, rng, corpus_size, step)
                admissible = sorted(reference.admissible_commands())
                command = commands[step - 1] if commands is not None else rng.choice(admissible)
                ref = _observe(reference, reference.step(command))
                nat = _observe(native, native.step(command))
                report.steps += 1
                if not _compare(report, walk, step, command, ref, nat, count=True) and ref["facts"] != nat["facts"]:
                    break  # the logic has drifted: every later step would differ too
    finally:
        reference.close()
        native.close()
    return report


def _corpus(
    report: GameDiff, reference: Engine, native: NativeEngine, rng: random.Random, size: int, step: int
) -> None:
    """Free-text commands from this state in both engines (undone); disagreements are recorded, not counted."""
    world = native.world
    corpus = free_text_corpus(world.game, world.spec, world.decode(native.state), native.admissible_commands(), rng)
    saved_ref, saved_nat = reference.snapshot(), native.snapshot()
    for command in corpus[:size]:
        ref = _observe(reference, reference.step(command))
        nat = _observe(native, native.step(command))
        report.corpus_steps += 1
        if all(ref[f] == nat[f] for f in ("facts", "score", "won", "lost", "text")):
            report.corpus_equal += 1
        else:
            bad = [f for f in ("facts", "score", "won", "lost", "text") if ref[f] != nat[f]]
            report.differences += [Difference("corpus", step, command, f, ref[f], nat[f]) for f in bad]
        reference.restore(saved_ref)
        native.restore(saved_nat)


def describe_diff(report: GameDiff, limit: int = 3) -> str:
    """A readable account: rates per field and the first differing steps with both texts."""
    lines = [f"{report.game}: {report.steps} steps of admissible commands"]
    for name in FIELDS:
        rate = report.equal[name] / report.steps if report.steps else 1.0
        lines.append(f"  {name:<11} equal at {report.equal[name]}/{report.steps} steps ({rate:.1%})")
    if report.corpus_steps:
        lines.append(f"  free text   equal at {report.corpus_equal}/{report.corpus_steps} commands")
    played = [d for d in report.differences if d.walk != "corpus"]
    for d in played[:limit]:
        lines.append(f"first difference: {d.walk} step {d.step} {d.command!r}: {d.field}")
        lines.append(f"  inform7: {d.reference}")
        lines.append(f"  native:  {d.native}")
    return "\n".join(lines)

"""The ``starling`` command line: validate, build and verify games.

typer gives typed options, ``--help`` for every command and shell completion from plain function
signatures; rich prints the tables and coloured verdicts.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, TextColumn
from rich.table import Table

from ..builder.failures import Failure, FailureKind, VerificationReport
from ..builder.verify import Limits, verify_game_dir
from ..collection import ManifestEntry, load_manifest, shipped_collection, shipped_collections
from ..collection.publish import build_and_publish
from ..envs.text_env import DEFAULT_MAX_STEPS
from ..files import write_atomic
from ..registration import find_game
from ..spec import GameSpec, SpecError, json_schema
from ..spec.model import read_spec_text

app = typer.Typer(
    help="STARLING: text-game RL environments grown from seed ideas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long its paths (the terminal folds it)

DEFAULT_OUT = Path("starling_games")

TimeoutOpt = Annotated[float, typer.Option(help="seconds allowed for building + verifying one game")]
MemoryOpt = Annotated[int, typer.Option(help="memory limit (MB) of the verifying process")]
WalksOpt = Annotated[int, typer.Option(help="seeded random walks checking logic / Inform 7 agreement")]
WalkLengthOpt = Annotated[int, typer.Option(help="steps per random walk")]
ProbesOpt = Annotated[
    int, typer.Option(help="commands the logic forbids, tried before each step: the game must refuse them")
]
ModelOpt = Annotated[
    Path | None, typer.Option(help="llm-rl, llm-grpo: a local transformers checkpoint folder (see init-model)")
]
EngineOpt = Annotated[
    str,
    typer.Option(
        help="what plays the STARLING games: inform7 (the story file, the reference) | native (from the spec)"
    ),
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        metavar="[ADDRESS]",
        help="run on Ray (the scale extra): --ray alone starts Ray on this machine; --ray ADDRESS joins the cluster "
        "there (`ray start --head` prints it; auto: the one started on this machine)",
    ),
]
LearnerOptionsOpt = Annotated[
    list[str] | None,
    typer.Option(help="learner setting KEY=VALUE, repeatable (VALUE read as JSON when it parses), e.g. lr=1e-5"),
]


def _limits(timeout: float, memory: int, walks: int, walk_length: int, probes: int) -> Limits:
    return Limits(timeout_s=timeout, memory_mb=memory, walks=walks, walk_length=walk_length, probes=probes)


def _print_report(report: VerificationReport) -> None:
    if report.passed:
        console.print(f"[green]PASS[/green] {escape(report.summary())}")
    else:
        err.print(f"[red]FAIL[/red] {escape(report.summary())}", highlight=False)


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="GameSpec JSON file")]) -> None:
    """Check a spec against the schema and its references (fast; builds nothing)."""
    try:
        game = GameSpec.load(spec)
    except SpecError as exc:
        for path, message in exc.errors:
            err.print(f"[red]{escape(str(spec))}[/red] {path}: {escape(message)}", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"[green]valid[/green] {game.id}: {len(game.rooms)} rooms, {len(game.objects)} objects, "
        f"{len(game.actions)} custom actions, {len(game.goals)} goals, walkthrough of {len(game.walkthrough)}"
    )


def _guard_shipped(out: Path, allowed: bool) -> None:
    """Games a user makes never land in the installed benchmark by accident."""
    if any(out.resolve() == c.resolve() for c in shipped_collections()) and not allowed:
        err.print(
            f"{out} is the installed benchmark; pass --into-shipped to change it (that makes a new suite version)"
        )
        raise typer.Exit(2)


def _spec_files(paths: list[Path]) -> list[Path]:
    """Spec files from files and folders (a folder contributes its */example.json or *.json)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob("*/example.json")) or sorted(path.glob("*.json"))
        else:
            found.append(path)
    return found


@app.command()
def build(
    specs: Annotated[list[Path], typer.Argument(help="GameSpec JSON files, or folders of them (e.g. game_seeds)")],
    out: Annotated[Path, typer.Option(help="collection folder to publish into")] = DEFAULT_OUT,
    split: Annotated[str, typer.Option(help="split recorded in the manifest")] = "train",
    workers: Annotated[int, typer.Option(help="games built in parallel")] = os.cpu_count() or 1,
    into_shipped: Annotated[bool, typer.Option(help="allow writing into the installed benchmark")] = False,
    timeout: TimeoutOpt = Limits.timeout_s,
    memory: MemoryOpt = Limits.memory_mb,
    walks: WalksOpt = Limits.walks,
    walk_length: WalkLengthOpt = Limits.walk_length,
    probes: ProbesOpt = Limits.probes,
) -> None:
    """Build and verify specs; publish each into OUT's collection only if it passes."""
    _guard_shipped(out, into_shipped)
    files = _spec_files(specs)
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        err.print(f"no such spec file: {', '.join(map(str, missing))}" if missing else "no spec files found")
        raise typer.Exit(2)
    limits = _limits(timeout, memory, walks, walk_length, probes)

    def one(path: Path) -> tuple[Path, VerificationReport, ManifestEntry | None]:
        try:
            text = read_spec_text(path)
        except SpecError as exc:  # not UTF-8, unreadable, too large: a failure like any other
            failures = [Failure(kind=FailureKind.invalid_json, message=m, path=p) for p, m in exc.errors]
            return path, VerificationReport(passed=False, failures=failures), None
        report, entry = build_and_publish(
            text,
            out,
            limits,
            split=split,
            provenance={"backend": "hand-written", "source": path.as_posix()},
        )
        return path, report, entry

    failed = 0
    with Progress(
        *Progress.get_default_columns(), TextColumn("{task.fields[status]}"), console=console, transient=len(files) == 1
    ) as progress:
        task = progress.add_task("building + verifying", total=len(files), status="")
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # each build is its own subprocess
            for path, report, entry in pool.map(one, files):
                failed += entry is None
                progress.console.print(f"{path}:", end=" ")
                _print_report(report)
                if entry is not None:
                    progress.console.print(f"  published {entry.id} into {out}/ ({entry.content_hash[:19]}...)")
                progress.update(task, advance=1, status=f"{failed} failed")
    if failed:
        err.print(f"{failed} of {len(files)} spec(s) failed; nothing was published for them")
        raise typer.Exit(1)


@app.command()
def verify(
    game: Annotated[str, typer.Argument(help="game id (in --collection or the shipped benchmark) or game folder")],
    collection: Annotated[list[Path] | None, typer.Option(help="collection folder(s) to look ids up in")] = None,
    timeout: TimeoutOpt = Limits.timeout_s,
    memory: MemoryOpt = Limits.memory_mb,
    walks: WalksOpt = Limits.walks,
    walk_length: WalkLengthOpt = Limits.walk_length,
    probes: ProbesOpt = Limits.probes,
    text: Annotated[
        bool, typer.Option("--text", help="also run the text-fidelity gate: what the player reads agrees with the game")
    ] = False,
    engine_diff: Annotated[
        bool,
        typer.Option(
            "--engine-diff",
            help="instead, play the native engine against the Inform 7 build (walkthrough + --walks random walks of "
            "--walk-length steps, free text) and print the first differing step",
        ),
    ] = False,
) -> None:
    """Re-check a built game: walkthrough wins at max score, logic and Inform 7 agree (and, with --text, its text)."""
    try:
        folder = find_game(game, collection)
    except FileNotFoundError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    if engine_diff:
        from ..native.diff import describe_diff
        from ..native.diff import engine_diff as run_diff

        result = run_diff(folder, walks=walks, walk_length=walk_length)
        console.print(escape(describe_diff(result)), highlight=False)
        if not result.passed:
            raise typer.Exit(1)
        return
    report = verify_game_dir(folder, _limits(timeout, memory, walks, walk_length, probes))
    if text and report.game_id is not None and FailureKind.schema not in report.kinds:  # a spec and a game to read
        from ..builder.fidelity import check_text

        failures = check_text(GameSpec.load(folder / "spec.json"), folder)
        report = report.model_copy(
            update={"passed": report.passed and not failures, "failures": report.failures + failures}
        )
    _print_report(report)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def generate(
    n: Annotated[int, typer.Option("--n", help="games to publish")] = 10,
    seeds: Annotated[Path | None, typer.Option(help="seed folder (default: the installed game_seeds)")] = None,
    skill: Annotated[list[str] | None, typer.Option(help="skills to draw from (repeatable; default: all)")] = None,
    difficulty: Annotated[str, typer.Option(help="easy | medium | hard")] = "easy",
    compose: Annotated[int | None, typer.Option(help="skills combined per game (default 1, 2 for hard)")] = None,
    backend: Annotated[
        str, typer.Option(help="offline (no network) | openai (any OpenAI-compatible endpoint)")
    ] = "offline",
    out: Annotated[Path, typer.Option(help="collection folder to publish into")] = DEFAULT_OUT,
    seed: Annotated[int, typer.Option(help="random seed: candidate i draws from (seed, i)")] = 0,
    split: Annotated[str, typer.Option(help="split recorded in the manifest")] = "train",
    recipe: Annotated[
        Path | None, typer.Option(help="recipe file listing batches (overrides the batch options)")
    ] = None,
    model: Annotated[str, typer.Option(help="model name (openai backend)")] = "gpt-4o-mini",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    ] = None,
    api_key_env: Annotated[str, typer.Option(help="environment variable holding the API key")] = "OPENAI_API_KEY",
    llm_timeout: Annotated[
        float | None,
        typer.Option(help="seconds to wait for one LLM reply (default: $STARLING_LLM_TIMEOUT, else 120)"),
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option(help="attempts per game, the LLM repair loop (default: 3, or the recipe's)")
    ] = None,
    review: Annotated[bool, typer.Option(help="show each verified game and ask to keep it")] = False,
    workers: Annotated[int, typer.Option(help="games built and verified in parallel")] = os.cpu_count() or 1,
    ray: RayOpt = None,
    into_shipped: Annotated[bool, typer.Option(help="allow writing into the installed benchmark")] = False,
    timeout: TimeoutOpt = Limits.timeout_s,
    memory: MemoryOpt = Limits.memory_mb,
    walks: WalksOpt = Limits.walks,
    walk_length: WalkLengthOpt = Limits.walk_length,
    probes: ProbesOpt = Limits.probes,
) -> None:
    """Grow new verified games from seed ideas, offline or with an LLM; publish them into OUT."""
    import threading

    from ..generate.pipeline import Generator, plan_batch
    from ..generate.recipe import Batch, Recipe
    from ..generate.seeds import load_seeds
    from ..llm import TIMEOUT_ENV
    from .calibrate import calibrator

    _guard_shipped(out, into_shipped)
    if llm_timeout is not None:
        os.environ[TIMEOUT_ENV] = str(llm_timeout)  # what the LLM client reads
    try:
        seed_ideas = load_seeds(seeds or Path(str(resources.files("starling_env.game_seeds"))))
        existing = load_manifest(out, missing_ok=True)
        plan = (
            Recipe.load(recipe)
            if recipe
            else Recipe(
                suite=existing.suite,
                version=existing.version,
                max_attempts=max_attempts or 3,
                batches=[
                    Batch.model_validate(
                        {  # validated: a bad --difficulty is a clear error
                            "name": "cli",
                            "skills": skill,
                            "difficulty": difficulty,
                            "count": n,
                            "split": split,
                            "seed": seed,
                            "compose": compose or (2 if difficulty == "hard" else 1),
                        }
                    )
                ],
            )
        )
        chosen = _generation_backend(backend, seed_ideas, model, base_url, api_key_env)
        for problem in seed_ideas.problems + getattr(chosen, "skipped", []):  # the other seeds still serve
            err.print(f"skipped: {escape(problem)}")
        tasks = [t for b in plan.batches for t in plan_batch(chosen.seeds, b, chosen.compatible)]
    except ValueError as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    counts, counting = {"done": 0, "failed": 0, "retried": 0}, threading.Lock()
    with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[status]}"), console=console) as progress:
        bar = progress.add_task(f"generating ({chosen.name})", total=len(tasks), status="")

        def show(key: str) -> None:  # retries are counted from the worker threads
            with counting:
                counts[key] += 1
                status = " / ".join(f"{v} {k}" for k, v in counts.items())
            progress.update(bar, advance=key != "retried", status=status)

        if plan.timeout_s and timeout == Limits.timeout_s:  # the recipe's, unless --timeout says otherwise
            timeout = plan.timeout_s
        generator = Generator(
            chosen,
            out,
            _limits(timeout, memory, walks, walk_length, probes),
            max_attempts=max_attempts or plan.max_attempts,
            workers=workers,
            review=_reviewer(progress) if review else None,
            on_progress=lambda o: show("done" if o.status in ("published", "existing") else "failed"),
            on_retry=lambda task, failures: show("retried"),
            distinct=plan.distinct,
            calibrate=calibrator(plan.calibration) if plan.calibration else None,
            ray=ray,
        )
        try:
            outcomes = generator.run(tasks, suite=plan.suite, version=plan.version)
        except ValueError as exc:  # Ray missing or no cluster at the address
            err.print(escape(str(exc)))
            raise typer.Exit(2) from None
    header = {
        "backend": chosen.name,
        "recipe": str(recipe) if recipe else None,
        "model": model if backend == "openai" else None,
    }
    if backend == "openai":
        header["usage"] = chosen.client.usage.as_dict()
    report = generator.write_report(out / "generation_report.json", header)
    table = Table(title=f"generated into {out}/")
    for column in ("task", "skills", "difficulty", "status", "id", "attempts"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(
            str(o.task.index), ", ".join(o.task.skills), o.task.difficulty, o.status, o.game_id or "-", str(o.attempts)
        )
    console.print(table)
    console.print(
        f"{report['counts']}; failures and reasons in {out}/generation_report.json"
        + (f"; tokens {header['usage']}" if "usage" in header else "")
    )
    if report["counts"]["failed"]:
        raise typer.Exit(1)


def _generation_backend(name: str, seeds: dict, model: str, base_url: str | None, api_key_env: str):
    if name == "offline":
        from ..generate.offline import OfflineBackend

        return OfflineBackend(seeds)
    if name == "openai":
        from ..generate.llm_backend import LLMBackend
        from ..llm import LLMClient, LLMConfig

        return LLMBackend(seeds, LLMClient(LLMConfig(model=model, base_url=base_url, api_key_env=api_key_env)))
    raise ValueError(f"unknown backend {name!r}: use offline or openai")


def _reviewer(progress: Progress):
    """The paper's human approval step: show a verified game, ask whether to keep it."""

    def review(spec: GameSpec) -> bool:
        progress.stop()
        console.rule(f"{spec.id}: {spec.title}")
        console.print(f"objective: {spec.objective}")
        console.print(f"rooms: {', '.join(r.name for r in spec.rooms)}")
        console.print(f"objects: {', '.join(o.name for o in spec.objects)}")
        console.print(f"walkthrough ({len(spec.walkthrough)}): {' / '.join(spec.walkthrough)}")
        keep = typer.confirm("keep this game?", default=True)
        progress.start()
        return keep

    return review


@app.command("list")
def list_games(
    collection: Annotated[Path | None, typer.Option(help="collection folder (default: the shipped benchmark)")] = None,
    split: Annotated[str | None, typer.Option(help="only this split")] = None,
    skill: Annotated[str | None, typer.Option(help="only games exercising this skill")] = None,
    difficulty: Annotated[str | None, typer.Option(help="only this tier")] = None,
) -> None:
    """List the games of a collection (default: the shipped benchmark)."""
    try:
        manifest = load_manifest(collection or shipped_collection())
    except (FileNotFoundError, ValueError) as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    games = manifest.select(split, skill, difficulty)
    table = Table(title=f"{manifest.suite} v{manifest.version}: {len(games)} of {len(manifest.games)} games")
    for column in ("id", "skills", "difficulty", "split", "rooms", "walkthrough", "max score"):
        table.add_column(column)
    for g in games:
        table.add_row(
            g.id, ", ".join(g.skills), g.difficulty, g.split, str(g.rooms), str(g.walkthrough_length), str(g.max_score)
        )
    console.print(table)


@app.command()
def show(
    game: Annotated[str, typer.Argument(help="game id or game folder")],
    collection: Annotated[list[Path] | None, typer.Option(help="collection folder(s) to look ids up in")] = None,
) -> None:
    """One game's card: objective, rooms, objects, skills, tier, walkthrough, max score, env id."""
    try:
        folder = find_game(game, collection or shipped_collections()[::-1])
    except FileNotFoundError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    spec = GameSpec.load(folder / "spec.json")
    manifest = load_manifest(folder.parent, missing_ok=True)
    entry = manifest.get(spec.id)
    console.rule(f"{spec.id}: {spec.title}")
    rows = [
        ("env id", manifest.env_id(spec.id)),
        ("objective", spec.objective),
        ("skills", ", ".join(spec.skills)),
        ("difficulty", spec.difficulty),
        ("split", entry.split if entry else "-"),
        ("rooms", ", ".join(r.name for r in spec.rooms)),
        ("objects", ", ".join(o.name for o in spec.objects)),
        ("custom actions", ", ".join(a.command for a in spec.actions) or "-"),
        ("max score", str(sum(g.points for g in spec.goals))),
        ("walkthrough", f"{len(spec.walkthrough)} commands: " + " / ".join(spec.walkthrough)),
    ]
    for key, value in rows:
        console.print(f"[bold]{key}[/bold]: {escape(value)}")


@app.command()
def card(
    collection: Annotated[Path | None, typer.Option(help="collection folder (default: the shipped benchmark)")] = None,
    write: Annotated[bool, typer.Option(help="write it to COLLECTION/README.md instead of printing it")] = False,
) -> None:
    """The benchmark card: statistics computed from the collection's manifest."""
    from .card import render_card

    folder = collection or shipped_collection()
    try:
        text = render_card(folder)
    except (FileNotFoundError, ValueError) as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    if write:
        write_atomic(folder / "README.md", text)
        console.print(f"wrote {folder / 'README.md'}")
    else:
        print(text)


@app.command()
def play(
    game: Annotated[
        str | None, typer.Argument(help="game id (in --collection or the shipped benchmark) or game folder")
    ] = None,
    collection: Annotated[list[Path] | None, typer.Option(help="collection folder(s) to look ids up in")] = None,
    record: Annotated[
        Path | None, typer.Option(help="append the episode (an EpisodeRecord, agent 'human') to this JSONL file")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed passed to reset")] = None,
    max_steps: Annotated[
        int, typer.Option(help="commands before the episode is truncated (0: no limit)")
    ] = DEFAULT_MAX_STEPS,
    sample: Annotated[
        Path | None,
        typer.Option(
            help="human baseline: instead of GAME, play the next unrecorded games of the fixed human sample "
            "(docs/human-baseline.md) into this recordings folder; rerun for the next session"
        ),
    ] = None,
    games: Annotated[int | None, typer.Option(help="with --sample: at most this many games this session")] = None,
) -> None:
    """Play a game yourself at the terminal (type 'help' in the game); optionally record the episode."""
    from .play import play as play_game
    from .play import play_sample

    if max_steps < 0:
        err.print("--max-steps must be 0 (no limit) or more")
        raise typer.Exit(2)
    if sample is not None:
        if game is not None or record is not None or seed is not None or collection:
            err.print(
                "--sample plays the human sample's games with seed 0 into its folder: give no GAME, --record, "
                "--seed or --collection with it"
            )
            raise typer.Exit(2)
        try:
            play_sample(sample, games=games, max_steps=max_steps)
        except ValueError as exc:
            err.print(escape(str(exc)))
            raise typer.Exit(2) from None
        return
    if game is None or games is not None:
        err.print("give a GAME to play, or --sample DIR for the human baseline (--games goes with --sample)")
        raise typer.Exit(2)
    try:
        folder = find_game(game, collection or shipped_collections()[::-1])
    except FileNotFoundError as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    play_game(folder, record=record, seed=seed, max_steps=max_steps or None)


@app.command()
def train(
    agent: Annotated[str, typer.Option(help="a learner: drrn | ppo | llm-rl | llm-grpo | module:Class")] = "drrn",
    out: Annotated[Path, typer.Option(help="folder for checkpoints, the learning curve and logs")] = Path("runs/train"),
    steps: Annotated[
        int, typer.Option(help="environment steps in all (a resumed run counts the ones it took)")
    ] = 20_000,
    split: Annotated[str, typer.Option(help="benchmark split to train on (ignored with --env)")] = "train",
    benchmark: Annotated[
        int | None, typer.Option(help="version of the shipped benchmark the split is of (default: the newest)")
    ] = None,
    env: Annotated[str | None, typer.Option(help="train on this Gymnasium id instead of a split")] = None,
    envs: Annotated[int, typer.Option(help="parallel environments")] = 1,
    seed: Annotated[int, typer.Option(help="random seed of a fresh run")] = 0,
    max_steps: Annotated[int, typer.Option(help="episode step limit")] = DEFAULT_MAX_STEPS,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda (the learner's device option)")] = None,
    model: ModelOpt = None,
    option: LearnerOptionsOpt = None,
    engine: EngineOpt = "inform7",
    ray: RayOpt = None,
) -> None:
    """Train a learner; rerunning with the same --out resumes from its checkpoint (up to --steps in all)."""
    import gymnasium as gym
    from starling_agents import learner_class
    from starling_agents.base import rollouts_on_ray

    try:
        cls = learner_class(agent)
        options = dict(_option(o) for o in option or [])
        options.update({k: str(v) for k, v in (("device", device), ("model", model)) if v is not None})
        learner = cls(seed=seed, **options)
    except (ValueError, TypeError) as exc:  # TypeError: an option the learner does not take
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None

    def make_env() -> gym.Env:
        if env:
            kwargs: dict[str, Any] = {"engine": engine} if engine != "inform7" else {}  # other envs take none
            return gym.make(env, extra_info=list(cls.extra_info), max_episode_steps=max_steps, **kwargs)
        return gym.make(
            "starling/Suite-v0",
            collection=str(shipped_collection(benchmark)),
            split=split,
            extra_info=list(cls.extra_info),
            max_episode_steps=max_steps,
            engine=engine,
        )

    try:
        make_env().close()  # an unknown id, missing data or a missing package: one line now, not a traceback later
    except _env_errors() as exc:
        err.print(f"cannot train: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[status]}"), console=console) as progress:
        bar = progress.add_task(f"training {agent}", total=steps, status="")

        def show(step: int, metrics: dict) -> None:
            shown = ("mean_score", "win_rate", "loss", "steps_per_s")
            progress.update(
                bar, completed=step, status=", ".join(f"{k} {v:.3g}" for k, v in metrics.items() if k in shown)
            )

        try:
            with rollouts_on_ray(ray):  # the envs in Ray actors; the learner itself stays here
                metrics = learner.train(make_env, out, steps=steps, envs=envs, seed=seed, progress=show)
        except ValueError as exc:  # Ray missing, no cluster at the address, a learner that cannot use it
            err.print(f"cannot train: {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
    console.print(f"trained {agent} to {learner.env_steps} env steps; checkpoint in {out}/")
    table = Table()
    table.add_column("metric (last log)")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key.replace("_", " "), f"{float(value):.3g}")
    if metrics:  # none when a finished run is rerun
        console.print(table)


@app.command("init-model")
def init_model(
    path: Annotated[Path, typer.Argument(help="folder to write the model and tokenizer to")],
    width: Annotated[int, typer.Option(help="hidden size")] = 64,
    layers: Annotated[int, typer.Option(help="transformer blocks")] = 2,
    heads: Annotated[int, typer.Option(help="attention heads")] = 2,
    vocab: Annotated[int, typer.Option(help="vocabulary size (at least)")] = 1024,
    seed: Annotated[int, typer.Option(help="initialisation seed")] = 0,
) -> None:
    """Write a randomly initialised GPT-2 and a game-text tokenizer: a starting point for llm-rl without downloads."""
    from starling_agents.llm_rl import build_random_model

    if width % heads:
        err.print(f"--width ({width}) must be a multiple of --heads ({heads})")
        raise typer.Exit(2)
    build_random_model(path, width=width, layers=layers, heads=heads, vocab_size=vocab, seed=seed)
    config = json.loads((path / "config.json").read_text())
    console.print(
        f"wrote a random {config['n_layer']}-layer, {config['n_embd']}-wide GPT-2 "
        f"(vocabulary {config['vocab_size']}) to {path}/; train it with "
        f"`starling train --agent llm-rl --model {path}`"
    )


@app.command()
def evaluate(
    agent: Annotated[
        str, typer.Option(help="random | walkthrough | drrn | ppo | llm | llm-rl | llm-grpo | module:Class")
    ] = "random",
    split: Annotated[str, typer.Option(help="train | test | test-compose | all (ignored with --env)")] = "test",
    benchmark: Annotated[
        int | None, typer.Option(help="version of the shipped benchmark the split is of (default: the newest)")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="Gymnasium id(s) to evaluate on instead of a split")] = None,
    episodes: Annotated[int, typer.Option(help="seeded episodes per game")] = 3,
    seed: Annotated[int, typer.Option(help="first seed; episode k uses seed + k on every game")] = 0,
    max_steps: Annotated[int, typer.Option(help="step limit per episode")] = DEFAULT_MAX_STEPS,
    checkpoint: Annotated[
        Path | None, typer.Option(help="trained agent to load (drrn: checkpoint.pt, ppo: model.zip)")
    ] = None,
    workers: Annotated[int, typer.Option(help="parallel processes")] = os.cpu_count() or 1,
    out: Annotated[
        Path | None,
        typer.Option(help="run folder (default runs/eval/<agent>[-<model>]-<split or env name>); rerun to resume"),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(help="agent option KEY=VALUE, repeatable (VALUE read as JSON when it parses), e.g. mode=react"),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="llm: the model name; llm-rl, llm-grpo: a local checkpoint folder")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="llm: an OpenAI-compatible server (default OpenAI; key from $OPENAI_API_KEY)")
    ] = None,
    engine: EngineOpt = "inform7",
    ray: RayOpt = None,
) -> None:
    """Evaluate an agent on every game of a split, K seeded episodes each; print the summary table."""
    import gymnasium as gym

    from .evaluate import EvalConfig, split_env_ids
    from .evaluate import evaluate as run_evaluation
    from .report import comparison

    try:
        env_ids = tuple(env) if env else tuple(split_env_ids(split, shipped_collection(benchmark)))
    except (ValueError, FileNotFoundError) as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    unknown = [i for i in env_ids if i not in gym.registry]
    if unknown:
        err.print(
            f"unknown env id(s) {', '.join(unknown)}: `starling list` shows the benchmark's games; the "
            "targets are starling/TWC-{easy,medium,hard}-v0, starling/ScienceWorld-v0, starling/ZMachine-v0"
        )
        raise typer.Exit(2)
    try:
        agent_options = dict(_option(o) for o in option or [])
        agent_options.update({k: v for k, v in (("model", model), ("base_url", base_url)) if v is not None})
    except ValueError as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    config = EvalConfig(
        agent=agent,
        env_ids=env_ids,
        episodes=episodes,
        seed=seed,
        max_steps=max_steps,
        checkpoint=str(checkpoint) if checkpoint else None,
        agent_options=agent_options,
        env_kwargs={"engine": engine} if engine != "inform7" else {},  # the default keeps old runs resumable
    )
    who = agent.replace(":", ".") + (f"-{Path(model).name}" if model else "")  # two models, two folders
    folder = out or Path("runs/eval") / f"{who}-{_envs_label(env) if env else split}"
    games = f"{_count(len(env_ids), 'game')} x {_count(episodes, 'episode')}"
    with Progress(*Progress.get_default_columns(), console=console, transient=True) as progress:
        bar = progress.add_task(f"evaluating {agent} on {games}", total=len(config.jobs()))
        try:
            records = run_evaluation(
                config, folder, workers=workers, on_episode=lambda r: progress.advance(bar), ray=ray
            )
        except _env_errors() as exc:  # from a worker too
            err.print(f"cannot evaluate: {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
    rows = comparison([(json.loads((folder / "header.json").read_text()), records)])
    table = Table(title=f"{agent} on {'the given envs' if env else split}: {games}")
    for column in ("level", "score (95% t CI over episodes)", "win rate", "steps", "episodes"):
        table.add_column(column)
    for level, key in [("overall", "all")] + [("difficulty", t) for t in ("easy", "medium", "hard")]:
        row = rows[0]["summary"][level].get(key)
        if row:
            table.add_row(
                key if level == "difficulty" else "overall",
                f"{row['score']:.3f} ± {row['ci95']:.3f}",
                f"{row['win_rate']:.2f}",
                f"{row['steps']:.1f}",
                str(row["episodes"]),
            )
    console.print(table)
    console.print(f"episodes in {folder}/episodes.jsonl; compare runs with `starling report {folder} ...`")


def _env_errors() -> tuple[type[Exception], ...]:
    """What making or playing an env raises for a user's mistake: an unknown id, missing data, a missing package."""
    import gymnasium as gym

    return (ValueError, FileNotFoundError, ImportError, RuntimeError, gym.error.Error)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _envs_label(env_ids: list[str]) -> str:
    """A run folder's name for evaluations on given ids: the first id's name, and how many more."""
    first = env_ids[0].split("/")[-1]
    return first if len(env_ids) == 1 else f"{first}-and-{len(env_ids) - 1}-more"


def _option(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE parsed as JSON when it parses (numbers, booleans), else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"agent option {text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="evaluation run folders (or folders of play recordings)")],
    out: Annotated[Path, typer.Option(help="where report.md/.csv/.json and the PNG plots go")] = Path("runs/report"),
) -> None:
    """Compare evaluation runs: a table here, and Markdown, CSV, JSON and PNG plots in OUT."""
    from .report import comparison, human_games, load_run, write_report

    try:
        loaded = [load_run(folder) for folder in runs]
    except (ValueError, FileNotFoundError) as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    table = Table(title="comparison")
    for column in (
        "agent",
        "score (95% t CI over episodes)",
        "win rate",
        "steps",
        "easy",
        "medium",
        "hard",
        "episodes",
    ):
        table.add_column(column)
    for r in comparison(loaded):
        tiers = ["-" if r[f"score_{t}"] is None else f"{r[f'score_{t}']:.2f}" for t in ("easy", "medium", "hard")]
        table.add_row(
            r["agent"],
            f"{r['score']:.3f} ± {r['ci95']:.3f}",
            f"{r['win_rate']:.2f}",
            f"{r['steps']:.1f}",
            *tiers,
            str(r["episodes"]),
        )
    console.print(table)
    humans = human_games(loaded)
    if humans is not None:  # the human baseline: per game humans played, score (episodes) of every run
        names = list(humans["means"])
        games = Table(title=f"on the {_count(len(humans['games']), 'game')} humans played: score (episodes)")
        for column in ("game", "difficulty", *names):
            games.add_column(column)
        for g in humans["games"]:
            cells = ["-" if (c := g["runs"][n]) is None else f"{c['score']:.2f} ({c['episodes']})" for n in names]
            games.add_row(g["game"], g["difficulty"] or "-", *cells)
        console.print(games)
    for path in write_report(loaded, out):
        console.print(f"wrote {path}")


@app.command()
def transfer(
    target: Annotated[list[str], typer.Option(help="target env id, repeatable (e.g. starling/TWC-easy-v0)")],
    out: Annotated[Path, typer.Option(help="experiment folder; rerun to resume (finished units are skipped)")],
    agent: Annotated[str, typer.Option(help="the learner: drrn | ppo | llm-rl | module:Class")] = "drrn",
    pretrain_steps: Annotated[
        int, typer.Option(help="pre-training env steps on the STARLING-100 train split, per seed")
    ] = 3000,
    steps: Annotated[
        int, typer.Option(help="training env steps on each target's train split, per seed and arm")
    ] = 2000,
    seeds: Annotated[int, typer.Option(help="seeds 0..K-1, each with its own pre-training")] = 1,
    episodes: Annotated[
        int, typer.Option(help="greedy evaluation episodes per game of each target's test split (every game)")
    ] = 1,
    max_steps: Annotated[
        int, typer.Option(help="episode step limit (pre-training, training and evaluation)")
    ] = DEFAULT_MAX_STEPS,
    workers: Annotated[int, typer.Option(help="evaluation processes")] = 1,
    envs: Annotated[int, typer.Option(help="parallel training environments")] = 1,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    target_kwargs: Annotated[
        str | None,
        typer.Option(
            help='JSON make kwargs: {"ENV_ID": {...}} per target, or {...} for every target, e.g. '
            '\'{"starling/ScienceWorld-v0": {"task": "boil"}}\''
        ),
    ] = None,
    model: ModelOpt = None,
    option: LearnerOptionsOpt = None,
    engine: EngineOpt = "inform7",
) -> None:
    """Pre-train on STARLING-100, then train pre-trained and from-scratch learners on each target and compare."""
    from .transfer import TransferConfig, parse_targets
    from .transfer import main as transfer_main

    try:
        options = dict(_option(o) for o in option or [])
        options.update({"model": str(model)} if model is not None else {})
        config = TransferConfig(
            targets=parse_targets(target, target_kwargs),
            agent=agent,
            pretrain_steps=pretrain_steps,
            steps=steps,
            seeds=seeds,
            episodes=episodes,
            max_steps=max_steps,
            workers=workers,
            envs=envs,
            device=device,
            agent_options=options,
            engine=engine,
        )
        transfer_main(config, out, console)
    except (ValueError, FileNotFoundError) as exc:  # TransferError is a ValueError
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None


export_app = typer.Typer(
    help="Episodes as a Hugging Face datasets dataset (Arrow + Parquet + card, chat layout); needs the datasets extra.",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")
ExportOutOpt = Annotated[Path, typer.Option(help="the dataset folder (replaced whole when it exists)")]
ExportEngineOpt = Annotated[
    str, typer.Option(help="what plays the STARLING games again: native (fast) | inform7 (the story file)")
]


def _need_datasets() -> None:
    """The export commands need the optional `datasets` library: say how to get it before any work."""
    try:
        import datasets
    except ImportError:
        err.print("starling export needs Hugging Face datasets: pip install 'starling-env[datasets]'")
        raise typer.Exit(2) from None
    datasets.disable_progress_bars()


def _export(command: str, out: Path, rows: Any) -> None:
    """Write the dataset and say where; shared by the export commands."""
    from .export import write_dataset

    files = write_dataset(rows, out, command)
    counts = ", ".join(f"{name} {len(r)}" for name, r in sorted(rows.items()))
    size = sum(f.stat().st_size for f in files) / 1e6
    console.print(f"exported {counts} episodes to {out}/ ({len(files)} files, {size:.1f} MB); card: {out}/README.md")


@export_app.command("walkthroughs")
def export_walkthroughs(
    out: ExportOutOpt = Path("runs/export/walkthroughs"),
    benchmark: Annotated[
        int | None, typer.Option(help="version of the shipped benchmark (default: the newest)")
    ] = None,
    split: Annotated[str | None, typer.Option(help="only this split's games")] = None,
    game: Annotated[list[str] | None, typer.Option(help="only these game ids (repeatable)")] = None,
    engine: ExportEngineOpt = "native",
) -> None:
    """Expert demonstrations: every game's walkthrough played through the real env (one episode per game)."""
    from .export import walkthrough_episodes

    _need_datasets()
    try:
        rows = walkthrough_episodes(benchmark, split, game, engine)
        _export(f"starling export walkthroughs{f' --benchmark {benchmark}' if benchmark else ''}", out, rows)
    except (ValueError, FileNotFoundError) as exc:
        err.print(escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None


@export_app.command("records")
def export_records(
    runs: Annotated[list[Path], typer.Argument(help="run folders (starling evaluate --out, starling play --sample)")],
    out: ExportOutOpt = Path("runs/export/records"),
    replay: Annotated[
        bool, typer.Option(help="play each record's commands again to add the admissible commands of every turn")
    ] = False,
    engine: ExportEngineOpt = "native",
) -> None:
    """Evaluation or play records, one dataset split per run folder."""
    from .export import run_episodes

    _need_datasets()
    try:
        rows = run_episodes(runs, replay=replay, engine=engine)
        _export("starling export records " + " ".join(str(r) for r in runs), out, rows)
    except (ValueError, FileNotFoundError) as exc:
        err.print(escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None


@app.command()
def generalisation(
    out: Annotated[Path, typer.Option(help="experiment folder; rerun to resume (finished seeds are skipped)")],
    agent: Annotated[str, typer.Option(help="the learner: drrn | ppo | llm-rl | module:Class")] = "drrn",
    steps: Annotated[int, typer.Option(help="training env steps on the benchmark's train split, per seed")] = 20_000,
    seeds: Annotated[int, typer.Option(help="seeds 0..K-1, each trained and evaluated on its own")] = 5,
    episodes: Annotated[int, typer.Option(help="greedy episodes per game of each evaluated split")] = 1,
    games: Annotated[
        int | None, typer.Option(help="evaluate only the first N games of each split (a quick check)")
    ] = None,
    benchmark: Annotated[
        int | None, typer.Option(help="version of the shipped benchmark (default: the newest)")
    ] = None,
    max_steps: Annotated[int, typer.Option(help="episode step limit (training and evaluation)")] = DEFAULT_MAX_STEPS,
    workers: Annotated[int, typer.Option(help="evaluation processes")] = 1,
    envs: Annotated[int, typer.Option(help="parallel training environments")] = 1,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    option: LearnerOptionsOpt = None,
    engine: EngineOpt = "native",
) -> None:
    """Train on the benchmark's train split, score greedily on train, test and test-compose: the generalisation gap."""
    from rich.progress import Progress

    from .generalisation import GeneralisationConfig, run_generalisation
    from .transfer.render import progress_columns, rich_progress

    try:
        config = GeneralisationConfig(
            agent=agent,
            steps=steps,
            seeds=seeds,
            episodes=episodes,
            games=games,
            max_steps=max_steps,
            workers=workers,
            envs=envs,
            device=device,
            agent_options=dict(_option(o) for o in option or []),
            engine=engine,
            benchmark=benchmark,
        )
        with Progress(*progress_columns(), console=console) as progress:
            run_generalisation(config, out, rich_progress(progress))
    except (ValueError, FileNotFoundError) as exc:  # GeneralisationError is a ValueError
        err.print(escape(str(exc)))
        raise typer.Exit(2) from None
    console.print((out / "generalisation.md").read_text(), markup=False, highlight=False)
    console.print(f"wrote {out}/generalisation.json, {out}/generalisation.md and {out}/per_game.csv")


data_app = typer.Typer(help="Third-party game data (TWC, Zork I): where it is, and preparing it.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def data_prepare(
    name: Annotated[str, typer.Argument(help="the data set: twc")],
    source: Annotated[Path, typer.Argument(help="the downloaded data, e.g. commonsense-rl/games/twc")],
    out: Annotated[
        Path | None, typer.Option(help="where to write it (default: the data folder, see `data status`)")
    ] = None,
) -> None:
    """Make a downloaded data set playable here (TWC: recompile each game's .json to .z8); rerun to resume."""
    from ..targets import data_root
    from ..targets.twc import prepare

    if name != "twc":
        err.print(f"nothing to prepare for {name!r}: only twc needs it (Zork I's zork1.z3 is used as it is)")
        raise typer.Exit(2)
    dest = out or data_root() / name
    games = len(list(source.glob("*/*/*.json")))
    try:
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task(f"compiling TWC games into {dest}", total=games)
            made = prepare(source, dest, on_game=lambda _: progress.advance(bar))
    except FileNotFoundError as exc:
        err.print(escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None
    console.print(f"prepared {_count(games, 'TWC game')} in {dest} ({len(made)} compiled now)")


@data_app.command("status")
def data_status() -> None:
    """Where each third-party data set is found, or how to get it."""
    from ..targets import DATA_SOURCES, data_dir

    for name in DATA_SOURCES:
        try:
            console.print(f"[green]{name}[/green]: {data_dir(name)}")
        except FileNotFoundError as exc:
            console.print(f"[red]{name}[/red]: {escape(str(exc))}", highlight=False)


@app.command()
def schema() -> None:
    """Print the GameSpec JSON schema."""
    print(json.dumps(json_schema(), indent=2))


_PLACEHOLDERS = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "path": "PATH", "Path": "PATH"}


def _plain_placeholders(command: Any) -> None:
    """Help shows INTEGER / PATH / TEXT placeholders and none on flags, where typer (>= 0.2x) shows <int>,
    <list[Path]>, and <bool> even on flags and --help."""
    ctx = command.context_class(command)
    for param in command.get_params(ctx):  # the help option included
        if param.metavar is None and hasattr(param, "display_type"):
            label = param.display_type(ctx).strip("<>").removeprefix("list[").removesuffix("]")
            shown = "" if getattr(param, "is_flag", False) else _PLACEHOLDERS.get(label, label.upper())
            param.display_type_rich = lambda ctx, shown=shown: shown
            if param.param_type_name == "argument":
                param.metavar = param.name.upper()  # "Usage: starling validate SPEC", not "{spec}"
    for sub in getattr(command, "commands", {}).values():
        _plain_placeholders(sub)


def _optional_values(args: list[str]) -> list[str]:
    """``--ray`` alone means ``--ray local`` (typer has no option whose value may be left out)."""
    out = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append("local")
    return out


def main() -> None:
    """The ``starling`` console script."""
    command = typer.main.get_command(app)
    _plain_placeholders(command)
    command(args=_optional_values(sys.argv[1:]))


if __name__ == "__main__":
    main()

"""The verifier: the gate a spec passes to become a benchmark game.

:func:`verify_spec` builds a spec and checks the result in a subprocess under a time and a memory
limit, returning a :class:`~starling_env.builder.failures.VerificationReport`. The checks:

1. the spec validates and compiles (Inform 7 + Inform 6) into a z8 under 512 KB;
2. the walkthrough, played in the compiled game, wins with score == max score;
3. TextWorld's logic and the Inform 7 code agree, both ways, along seeded random walks: at every
   state visited, every admissible command is played (then undone) in the game and in a copy of
   TextWorld's logic, and the facts TextWorld tracked from the game's action traces must equal the
   copy's, and the game's score must equal the points of the goals met; and before
   each step a few commands the logic does not allow are tried (then undone): the game must not
   perform any action the logic cannot follow. Pure look / examine / inventory commands change no
   facts, so the game may answer them as it likes. The game must end lost exactly when the logic
   holds one of the spec's lose conditions;
4. (spec 1.1) no state a random walk reaches is a dead end that no lose condition declares: a state
   from which some unmet goal can no longer be reached, even by the relaxation of TextWorld's logic
   that never removes a fact (so a reported dead end is certain; a dead end that only the order of
   actions or facts that must hold together make is not found);
5. (spec 1.1) the text-fidelity gate (:func:`~starling_env.builder.fidelity.check_text`): the texts name
   only things of the game, and ``look`` in every reachable room lists nothing fixed on the floor and
   names every door.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Set
from dataclasses import asdict, dataclass
from pathlib import Path

from textworld.logic import Proposition

from ..files import owned_dir
from ..spec import GameSpec, SpecError
from .failures import BuildFailed, Failure, FailureKind, VerificationReport


@dataclass(frozen=True)
class Limits:
    """Resource limits and effort of one verification (all overridable from the CLI)."""

    timeout_s: float = 120.0  # wall time for build + checks
    memory_mb: int = 2048  # address-space limit of the verifying process and its compilers
    walks: int = 4  # seeded random walks
    walk_length: int = 40  # steps per walk
    probes: int = 3  # non-admissible commands tried (and undone) before each step: the game must refuse them
    seed: int = 0


# -- checks on a compiled game (in process) -----------------------------------------------------
def check_game(z8: Path, limits: Limits) -> dict:
    """Run the walkthrough and the random-walk agreement checks; raise BuildFailed on a failure."""
    from ..envs.engine import Engine

    engine = Engine(z8)
    try:
        _check_walkthrough(engine)
        outcomes = Outcomes.of(engine.game)
        dead_ends = DeadEnds(engine, outcomes.goals) if engine.game.metadata["starling"].get("spec_version") else None
        candidates = sorted(set(engine.game.possible_commands))
        rng = random.Random(limits.seed)
        steps = probes = commands_checked = 0
        checked: set[frozenset] = set()
        for _ in range(limits.walks):
            engine.reset()
            if dead_ends is not None:
                dead_ends.start()
            history: list[str] = []
            met: set[int] = set()
            for _ in range(limits.walk_length):
                admissible = engine.admissible_commands()
                others = [
                    c for c in rng.sample(candidates, min(len(candidates), limits.probes * 3)) if c not in admissible
                ]
                for command in others[: limits.probes]:
                    probes += 1
                    # Inform 7's waiting changes nothing (the world's every-turn rules have traces of their own)
                    unfollowed = [e for e in engine.probe(command) if e != "waiting"]
                    if unfollowed:
                        raise BuildFailed.one(
                            FailureKind.logic_mismatch,
                            f"after {' / '.join(history) or 'the start'}: the game performs {command!r} ({unfollowed}) "
                            "but TextWorld's logic does not allow it there",
                        )
                command = rng.choice(admissible)
                actions = command_actions(engine.inform7, engine.progression.valid_actions)
                state_key = frozenset(engine.progression.state.facts)
                if state_key not in checked:  # walks revisit states (look, examine): check each once
                    checked.add(state_key)
                    commands_checked += check_state(engine, history, met, outcomes, skip=command)
                history.append(command)
                met = check_step(engine, command, actions[command], history, met, outcomes)
                commands_checked += 1
                steps += 1
                if engine.won or engine.lost:
                    break
                if dead_ends is not None:
                    dead_ends.check(met, history)
        return {
            "random_steps": steps,
            "commands_checked": commands_checked,
            "probes": probes,
            "z8_bytes": z8.stat().st_size,
        }
    finally:
        engine.close()


def command_actions(inform7, valid: list) -> dict:
    """The action each admissible command plays (see :func:`~starling_env.builder.build.best_action`)."""
    from .build import best_action

    commands = inform7.gen_commands_from_actions(valid)
    return {command: best_action(command, commands, valid) for command in dict.fromkeys(commands)}


@dataclass(frozen=True)
class Outcomes:
    """A game's goals (facts, points) and lose conditions, as the verifier reads them from ``game.json``."""

    goals: list[tuple[list[Proposition], int]]
    losses: list[list[Proposition]]

    @classmethod
    def of(cls, game) -> Outcomes:
        return cls(
            goals=[(q.win_events[0].condition.preconditions, q.reward) for q in game.quests],
            losses=[[Proposition.deserialize(p) for p in props] for props in game.metadata["starling"].get("lose", [])],
        )

    def met(self, state, before: Set[int] = frozenset()) -> set[int]:
        """``before`` and the goals whose facts all hold in the logic ``state`` (goals stay met once met)."""
        return set(before) | {i for i, (props, _) in enumerate(self.goals) if all(state.is_fact(p) for p in props)}

    def points(self, met: Set[int]) -> int:
        """What the goals ``met`` are worth: the score the game must show."""
        return sum(self.goals[i][1] for i in met)

    def lost(self, state) -> bool:
        return any(all(state.is_fact(p) for p in props) for props in self.losses)


def check_state(
    engine, history: list[str], met: Set[int], outcomes: Outcomes | None = None, skip: str | None = None
) -> int:
    """The verifier's check at the engine's current state: every admissible command but ``skip``, played then
    undone, must do in the game what TextWorld's logic predicts (:func:`check_step`). ``met``: the goals met
    before. Raises BuildFailed (logic_mismatch, score_mismatch) on the first disagreement; the engine is left
    as it was. Returns the number of commands checked."""
    outcomes = outcomes or Outcomes.of(engine.game)
    actions = command_actions(engine.inform7, engine.progression.valid_actions)
    saved = engine.snapshot()
    checked = 0
    try:
        for command in engine.admissible_commands():
            if command != skip:
                check_step(engine, command, actions[command], [*history, command], met, outcomes)
                engine.restore(saved)
                checked += 1
    finally:
        engine.restore(saved)
    return checked


def check_step(
    engine, command: str, action, history: list[str], met: Set[int], outcomes: Outcomes | None = None
) -> set[int]:
    """Play an admissible command in the game and its action (see :func:`command_actions`) in a copy of the
    logic state; they must agree on the facts, on the score and on whether the game is lost, or BuildFailed is
    raised (``history``, ending with ``command``, names the moment). Returns the goals met so far."""
    from .build import play_turn

    outcomes = outcomes or Outcomes.of(engine.game)
    expected_state = engine.progression.state.copy()
    play_turn(expected_state, action, engine.game.kb)
    said = engine.step(command)
    _compare(engine, expected_state, history, said)
    lost = outcomes.lost(expected_state)
    if lost != engine.lost:
        raise BuildFailed.one(
            FailureKind.logic_mismatch,
            f"after {' / '.join(history)}: "
            + (
                "a lose condition holds but the game goes on"
                if lost
                else "the game ended lost, but no lose condition holds"
            )
            + f"; the game answered {' '.join(said.split())[:200]!r}",
        )
    now_met = outcomes.met(expected_state, met)
    expected = outcomes.points(now_met)
    if engine.score != expected:
        raise BuildFailed.one(
            FailureKind.score_mismatch,
            f"after {' / '.join(history)}: the game's score is {engine.score} but the goals met are worth {expected}",
        )
    return now_met


class DeadEnds:
    """Finds states from which some unmet goal can no longer be reached (spec 1.1 games must declare them).

    The test relaxes TextWorld's logic: from the state, every applicable action only adds its facts, until
    nothing new appears. A goal whose facts are not all among them cannot be met by any real play either.
    """

    def __init__(self, engine, goals: list):
        self.engine, self.goals = engine, goals
        self.kb = engine.game.kb
        self.missing: dict[tuple[frozenset, frozenset], frozenset] = {}  # (state facts, needed) -> never reached
        self.last: tuple[frozenset, frozenset] | None = None  # the last state found winnable, and what it needed

    def start(self) -> None:
        """A new walk starts: the next state has no checked predecessor."""
        self.last = None

    def unreachable(self, state, needed: frozenset) -> frozenset:
        """The facts of ``needed`` that the relaxed logic never reaches from ``state``. The relaxation stops as
        soon as every needed fact has appeared (rounds on the relaxed state grow with every fact it gains)."""
        key = (frozenset(state.facts), needed)
        if key not in self.missing:
            relaxed, seen = state.copy(), set(key[0])
            while not needed <= seen:
                actions = relaxed.all_applicable_actions(self.kb.rules.values(), self.kb.types.constants_mapping)
                new = {p for a in actions for p in a.added if p not in seen}
                if not new:
                    break
                seen |= new
                relaxed.add_facts(new)
            self.missing[key] = needed - seen
        return self.missing[key]

    def check(self, met: set[int], history: list[str]) -> None:
        state = self.engine.progression.state
        facts = frozenset(state.facts)
        unmet = [i for i in range(len(self.goals)) if i not in met]
        needed = frozenset(p for i in unmet for p in self.goals[i][0])
        # The relaxation is monotone: if it brings back every fact the last step removed, it reaches all the last
        # (winnable) state reached, so this state is winnable too; that needs a round or two on the real state.
        if self.last is not None and needed <= self.last[1] and not self.unreachable(state, self.last[0] - facts):
            self.last = (facts, needed)
            return
        missing = self.unreachable(state, needed)
        for i in unmet:
            lacking = [p for p in self.goals[i][0] if p in missing]
            if lacking:
                found = [str(self.engine.inform7.get_human_readable_fact(p)) for p in lacking]
                raise BuildFailed.one(
                    FailureKind.undeclared_dead_end,
                    f"after {' / '.join(history)}: the game can no longer be won (goals[{i}] needs {found}, which "
                    "nothing can make true any more), but no lose condition holds: add one to lose",
                )
        self.last = (facts, needed)


def _check_walkthrough(engine) -> None:
    engine.reset()
    walkthrough = engine.game.metadata["walkthrough"]
    for i, command in enumerate(walkthrough):
        if engine.won or engine.lost:
            raise BuildFailed.one(
                FailureKind.walkthrough_invalid, f"the game ended before step {i + 1}", f"$.walkthrough[{i}]"
            )
        engine.step(command)
    if not engine.won or engine.score != engine.max_score:
        raise BuildFailed.one(
            FailureKind.walkthrough_does_not_win,
            f"the compiled game ends the walkthrough with score {engine.score}/{engine.max_score}, won={engine.won}",
            path="$.walkthrough",
        )


def _compare(engine, expected_state, history: list[str], said: str) -> None:
    tracked, expected = set(engine.progression.state.facts), set(expected_state.facts)
    if tracked == expected:
        return
    missing = sorted(map(str, expected - tracked))
    extra = sorted(map(str, tracked - expected))
    answer = f"the Inform 7 game answered {' '.join(said.split())[:200]!r}"
    if engine.refused == "untracked":  # the engine's safety net undid the turn
        answer = "the game's turn could not be followed (more than one turn, or an action the logic cannot match), so "
        answer += "the engine undid it"
    elif engine.refused:
        answer = f"the engine refused the command ({engine.refused}) without playing it"
    raise BuildFailed.one(
        FailureKind.logic_mismatch,
        f"after {' / '.join(history)}: {answer}, but TextWorld's logic expected {missing or 'no new facts'} (and "
        f"the game's trace gave {extra or 'nothing else'})",
    )


def build_and_check(spec_text: str, out_dir: Path, limits: Limits) -> VerificationReport:
    """Validate, build and check in this process (what the sandboxed worker runs)."""
    from .build import build_game

    started = time.perf_counter()
    try:
        spec = GameSpec.parse_text(spec_text)
    except SpecError as exc:
        kind = (
            FailureKind.invalid_json
            if exc.errors and exc.errors[0][1].startswith("not valid JSON")
            else FailureKind.schema
        )
        return VerificationReport(passed=False, failures=[Failure(kind=kind, message=m, path=p) for p, m in exc.errors])
    try:
        built = build_game(spec, out_dir)
        build_s = time.perf_counter() - started
        stats = check_game(built.z8, limits)
        if spec.spec_version != "1.0":  # the text-fidelity gate (STARLING-100 v1's 1.0 games are known to fail it)
            from .fidelity import check_text

            if text_failures := check_text(spec, built.z8):
                raise BuildFailed(text_failures)
    except BuildFailed as exc:
        return VerificationReport(game_id=spec.id, passed=False, failures=exc.failures)
    except MemoryError:
        return _failed(spec.id, FailureKind.out_of_memory, f"ran out of its {limits.memory_mb} MB memory limit")
    except Exception:  # noqa: BLE001 - every other error is a bug of ours; report it, never crash the caller
        return _internal_error(spec.id, traceback.format_exc())
    stats |= {
        "build_s": round(build_s, 2),
        "verify_s": round(time.perf_counter() - started - build_s, 2),
        "walks": limits.walks,
        "walk_length": limits.walk_length,
        "seed": limits.seed,
    }
    return VerificationReport(game_id=spec.id, passed=True, stats=stats)


def recheck(game_dir: Path, limits: Limits) -> VerificationReport:
    """Re-run the game checks on an already built game folder (no rebuild)."""
    game_id = game_dir.name
    try:
        GameSpec.load(game_dir / "spec.json")
        stats = check_game(game_dir / "game.z8", limits)
    except SpecError as exc:
        return VerificationReport(
            game_id=game_id,
            passed=False,
            failures=[Failure(kind=FailureKind.schema, message=m, path=p) for p, m in exc.errors],
        )
    except BuildFailed as exc:
        return VerificationReport(game_id=game_id, passed=False, failures=exc.failures)
    except Exception:  # noqa: BLE001
        return _internal_error(game_id, traceback.format_exc())
    return VerificationReport(game_id=game_id, passed=True, stats=stats)


def _failed(game_id: str | None, kind: FailureKind, message: str) -> VerificationReport:
    return VerificationReport(game_id=game_id, passed=False, failures=[Failure(kind=kind, message=message)])


def log_dir() -> Path:
    """Where full tracebacks of internal errors are kept: ``$STARLING_LOG_DIR``, else ``<tmp>/starling-logs``."""
    return Path(os.environ.get("STARLING_LOG_DIR") or Path(tempfile.gettempdir()) / "starling-logs")


def _internal_error(game_id: str | None, trace: str, heading: str = "") -> VerificationReport:
    """A bug of ours, reported readably: the cause (the trace's last line) on top, the whole trace in a log file."""
    lines = trace.strip().splitlines() or ["no output"]
    cause = lines[-1].strip()
    where = f"; full traceback in {_write_log(game_id, trace)}" if len(lines) > 1 else ""
    return _failed(game_id, FailureKind.internal_error, f"{heading}{cause}{where}")


def _write_log(game_id: str | None, text: str) -> Path:
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"verify-{game_id or 'spec'}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text(text)
    return path


# -- the sandbox --------------------------------------------------------------------------------
def verify_spec(spec_text: str, out_dir: Path, limits: Limits = Limits()) -> VerificationReport:
    """Build and verify ``spec_text`` into ``out_dir`` in a subprocess under ``limits``."""
    return _run_worker({"mode": "build", "spec": spec_text, "out": str(Path(out_dir).resolve())}, limits)


def verify_game_dir(game_dir: Path, limits: Limits = Limits()) -> VerificationReport:
    """Re-check a built game folder in a subprocess under ``limits``."""
    return _run_worker({"mode": "recheck", "game": str(Path(game_dir).resolve())}, limits)


# How running out of address space shows, from Python, C libraries and the dynamic loader (lowercased).
_MEMORY_ERRORS = (
    "memoryerror",
    "memory allocation",
    "cannot allocate memory",
    "bad_alloc",
    "out of memory",
    "out of virtual memory",
    "failed to map segment",
)


def _run_worker(job: dict, limits: Limits) -> VerificationReport:
    job["limits"] = asdict(limits)
    # Everything the worker and its compilers write to a temporary folder goes inside this one, so a killed
    # worker leaves nothing behind (and the folder of a killed caller is removed by the next call).
    tmp = str(owned_dir(Path(tempfile.gettempdir()), "starling-verify-"))
    try:
        return _supervise(job, limits, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _supervise(job: dict, limits: Limits, tmp: str) -> VerificationReport:
    """Run the worker on ``job`` in folder ``tmp`` and turn how it ended into a report."""
    job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "report.json"
    job_file.write_text(json.dumps(job))
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(job_file), str(result_file), str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        cwd=tmp,  # not the caller's folder, which may be a checkout whose starling_env would shadow the installed one
        env={
            **os.environ,
            "OPENBLAS_NUM_THREADS": "1",  # no BLAS thread pools inside the memory limit
            "TMPDIR": tmp,
            "STARLING_LOG_DIR": str(log_dir()),
        },
    )
    try:
        _, stderr = proc.communicate(timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the compilers run in the same process group
        proc.wait()
        return _failed(None, FailureKind.timeout, f"building and verifying took longer than {limits.timeout_s:g} s")
    if result_file.exists():
        return VerificationReport.model_validate_json(result_file.read_text())
    errors = stderr.decode(errors="replace")
    if proc.returncode in (-signal.SIGKILL, -signal.SIGSEGV) or any(m in errors.lower() for m in _MEMORY_ERRORS):
        return _failed(None, FailureKind.out_of_memory, f"the worker died past its {limits.memory_mb} MB limit")
    return _internal_error(None, errors, heading=f"the worker exited with {proc.returncode}: ")


# The worker's first act, before its imports, is to die with its caller (PR_SET_PDEATHSIG, Linux), so a killed
# caller leaves no worker writing into folders that caller owned.
_WORKER = """import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL)
if os.getppid() != int(sys.argv[3]):
    os._exit(1)
from starling_env.builder.verify import _worker_main
_worker_main(*sys.argv[1:3])
"""


def _worker_main(job_file: str, result_file: str) -> None:
    job = json.loads(Path(job_file).read_text())
    limits = Limits(**job["limits"])
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if job["mode"] == "build":
        report = build_and_check(job["spec"], Path(job["out"]), limits)
    else:
        report = recheck(Path(job["game"]), limits)
    tmp = Path(result_file + ".tmp")
    tmp.write_text(report.model_dump_json())
    tmp.replace(result_file)

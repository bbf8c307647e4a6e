"""The generation loop: tasks -> candidate specs (a backend) -> build + verify -> publish.

Candidates are built and verified in parallel; publishing happens in the main thread in task
order, so the collection (and which candidate wins a duplicate id) never depends on ``workers``.
A task is retried with its next attempt number when its candidate fails, up to ``max_attempts``;
the failures of each attempt are handed back to the backend (the LLM repair loop uses them): every
problem found, including a requested skill the candidate does not list and the reference errors that
field errors hide (:mod:`.check`).
A rerun of the same command skips games already in the collection: generation is resumable.

Two optional acceptance steps, both deterministic: ``distinct`` rejects a candidate whose template
nearly duplicates a game already in the collection (checked at publish, in task order; a backend
whose proposals are cheap and pure, like the offline one, is looked ahead so that its tasks start
from a distinct candidate), and ``calibrate`` plays each verified candidate with reference agents
and rejects one whose measured solve rates do not fit its tier.
"""

from __future__ import annotations

import copy
import io
import json
import random
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ..builder.failures import BuildFailed, Failure, FailureKind, VerificationReport
from ..builder.verify import Limits, verify_spec
from ..collection import MANIFEST, load_manifest
from ..collection.publish import content_hash, new_staging_dir, publish
from ..collection.signature import TemplateIndex
from ..collection.variety import collection_specs
from ..executors import make_executor, result_of
from ..files import loads_untrusted, locked, scrub_data, write_atomic
from ..spec import GameSpec, SpecError
from ..spec.model import SPEC_JSON
from .check import hidden_failures
from .recipe import Batch
from .seeds import Seed


@dataclass(frozen=True)
class Task:
    """One game to generate. Its randomness comes from (seed, index) alone."""

    index: int
    skills: tuple[str, ...]
    difficulty: str
    split: str
    seed: int
    batch: str = "default"
    examples: str = "first"  # which example specs a seed's games start from: "first" | "all"
    spec_version: str | None = None  # only examples of this spec version (None: any)


class Session(Protocol):
    """A backend's work on one task: proposes spec text, attempt after attempt."""

    def propose(self, attempt: int, feedback: list[Failure] | None) -> str | None: ...

    def provenance(self) -> dict[str, Any]: ...


class Backend(Protocol):
    name: str
    # a backend may set ``previewable = True`` when session(task).propose(attempt, None) is cheap and a
    # pure function of (task, attempt): the generator then looks ahead for distinct candidates

    def session(self, task: Task) -> Session: ...


@dataclass
class Outcome:
    task: Task
    status: str = "failed"  # published | existing | failed | dropped
    game_id: str | None = None
    attempts: int = 0
    failures: list[list[dict]] = field(default_factory=list)  # per failed attempt
    provenance: dict[str, Any] = field(default_factory=dict)
    staged: Path | None = None
    spec_text: str | None = None
    report: VerificationReport | None = None
    calibration: dict[str, Any] = field(default_factory=dict)


# plays a verified game (its folder) of a task: the failures that reject it ([] to accept) and what was measured
Calibrate = Callable[[Path, Task], tuple[list[Failure], dict[str, Any]]]


def plan_tasks(
    seeds: dict[str, Seed],
    *,
    skills: list[str] | None,
    difficulty: str,
    compose: int,
    count: int,
    split: str,
    seed: int,
    batch: str = "default",
    compatible: Callable[[list[Seed]], bool] = lambda s: True,
    combos: list[list[str]] | None = None,
    cycle: bool = False,
    examples: str = "first",
    spec_version: str | None = None,
) -> list[Task]:
    """``count`` tasks. Each takes the next of ``combos``, or the next skill of ``skills`` (``cycle``),
    or draws ``compose`` distinct skills from ``skills`` (default: all seeds) at random."""
    pool = sorted(skills or seeds)
    unknown = sorted({s for s in pool + [s for c in combos or [] for s in c] if s not in seeds})
    if unknown:
        raise ValueError(f"no seed for skills {unknown}; seeds: {sorted(seeds)}")
    if compose > len(pool):
        raise ValueError(f"cannot compose {compose} skills from {len(pool)}: {pool}")
    tasks = []

    def task(index: int, chosen: tuple[str, ...]) -> Task:
        return Task(index, chosen, difficulty, split, seed, batch, examples, spec_version)

    for index in range(count):
        if combos:
            tasks.append(task(index, tuple(combos[index % len(combos)])))
            continue
        if cycle:
            tasks.append(task(index, (pool[index % len(pool)],)))
            continue
        rng = random.Random(f"starling-task:{seed}:{index}")
        chosen = rng.sample(pool, compose)
        for _ in range(50):  # composition needs seeds whose commands and names can be told apart
            if compatible([seeds[s] for s in chosen]):
                break
            chosen = rng.sample(pool, compose)
        tasks.append(task(index, tuple(chosen)))
    return tasks


def plan_batch(
    seeds: dict[str, Seed], batch: Batch, compatible: Callable[[list[Seed]], bool] = lambda s: True
) -> list[Task]:
    """The tasks of one recipe batch: :func:`plan_tasks` with the batch's settings."""
    return plan_tasks(
        seeds,
        skills=batch.skills,
        difficulty=batch.difficulty,
        compose=batch.compose,
        count=batch.count,
        split=batch.split,
        seed=batch.seed,
        batch=batch.name,
        compatible=compatible,
        combos=batch.combos,
        cycle=batch.cycle,
        examples=batch.examples,
        spec_version=batch.spec_version,
    )


@dataclass
class Generator:
    """Runs tasks through a backend into a collection folder."""

    backend: Backend
    out: Path
    limits: Limits = Limits()
    max_attempts: int = 3
    workers: int = 1
    review: Callable[[GameSpec], bool] | None = None  # the human approval step: keep this game?
    on_progress: Callable[[Outcome], None] = lambda outcome: None
    # called before every further attempt at a task, with the failures of the last (from the worker threads)
    on_retry: Callable[[Task, list[Failure]], None] = lambda task, failures: None
    distinct: bool = False  # reject a game whose template nearly duplicates one already in the collection
    calibrate: Calibrate | None = None
    ray: str | None = None  # build and verify as Ray tasks (starling_env/executors.py: "local" or a cluster's address)
    outcomes: list[Outcome] = field(default_factory=list)
    _templates: TemplateIndex | None = field(default=None, init=False, repr=False)
    _twins: dict[Task, dict[int, str]] = field(default_factory=dict, init=False, repr=False)

    def run(self, tasks: Iterable[Task], suite: str | None = None, version: int | None = None) -> list[Outcome]:
        self.out.mkdir(parents=True, exist_ok=True)
        if suite or version:
            _set_suite(self.out, suite, version)
        tasks = list(tasks)
        published_ids: set[str] = set()
        self._templates = self._collection_templates() if self.distinct else None
        previewable = self._templates is not None and getattr(self.backend, "previewable", False)
        self._twins = self._look_ahead(tasks) if previewable else {}
        with make_executor(self.workers, self.ray, threads=True) as pool:
            futures: list[Future[Any]]
            if self.ray is None:  # threads: each build is a subprocess of its own
                futures = [pool.submit(self._attempt, t, 0) for t in tasks]
            else:
                manifest = self.out / MANIFEST
                snapshot = manifest.read_text() if manifest.exists() else None
                worker = self._worker_copy()
                futures = [pool.submit(_attempt_elsewhere, worker, snapshot, t) for t in tasks]
            for task, future in zip(tasks, futures, strict=True):  # task order: deterministic
                try:
                    outcome = result_of(future, f"{task.index} ({', '.join(task.skills)})")
                    if self.ray is not None:
                        outcome = self._received(*outcome)
                except Exception as exc:  # noqa: BLE001 - a Ray worker lost beyond its retries: recorded, run goes on
                    outcome = Outcome(
                        task, failures=[[_failure(FailureKind.internal_error, exc).model_dump(mode="json")]]
                    )
                    self.outcomes.append(outcome)
                    self.on_progress(outcome)
                    continue
                try:
                    outcome = self._finish(outcome, published_ids)
                    if outcome.status == "failed" and self._twins.get(outcome.task):
                        outcome = self._second_look(outcome.task, published_ids)
                except Exception as exc:  # noqa: BLE001 - publishing failed (a full disk, say): recorded, run goes on
                    outcome.failures.append([_failure(FailureKind.internal_error, exc).model_dump(mode="json")])
                    outcome.status = "failed"
                    if outcome.staged is not None:
                        shutil.rmtree(outcome.staged, ignore_errors=True)
                self.outcomes.append(outcome)
                self.on_progress(outcome)
        return self.outcomes

    def _worker_copy(self) -> Generator:
        """What a Ray worker needs of this generator: no callbacks (they live here), no outcomes."""
        worker = copy.copy(self)
        worker.review, worker.outcomes, worker._templates = None, [], None
        worker.on_progress, worker.on_retry = Generator.on_progress, Generator.on_retry
        return worker

    def _received(self, outcome: Outcome, retries: list[list[Failure]], packed: bytes | None) -> Outcome:
        """A task's outcome from :func:`_attempt_elsewhere`: its retries told, its verified game staged here."""
        for failures in retries:
            self.on_retry(outcome.task, failures)
        if packed is not None:
            outcome.staged = new_staging_dir(self.out)
            with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
                archive.extractall(outcome.staged, filter="data")
        return outcome

    def replay(self, task: Task, attempt: int) -> Outcome:
        """Build, check and publish ``task``'s candidate from ``attempt`` on: a published game's recorded attempt
        (``provenance["attempts"] - 1``) makes that game again, without the run that chose it."""
        self.out.mkdir(parents=True, exist_ok=True)
        outcome = self._finish(self._attempt(task, attempt), set())
        self.outcomes.append(outcome)
        return outcome

    def _attempt(self, task: Task, first: int, outcome: Outcome | None = None) -> Outcome:
        """Build + verify candidates of ``task`` from attempt ``first`` until one passes or attempts run out.

        Never raises: whatever a backend or a hostile reply does, it ends as failures recorded in ``outcome``.
        """
        outcome = outcome or Outcome(task)
        try:
            session = self.backend.session(task)
        except Exception as exc:  # noqa: BLE001 - the backend cannot start this task: recorded, the run goes on
            outcome.failures.append([_failure(FailureKind.no_candidate, exc).model_dump(mode="json")])
            outcome.status = "failed"
            return outcome
        feedback: list[Failure] | None = None
        for attempt in range(first, self.max_attempts):
            outcome.attempts = attempt + 1
            twin = self._twins.get(task, {}).get(attempt)
            if twin is not None:  # seen ahead: this candidate would be rejected at publish, so it is not built
                outcome.failures.append([_near_duplicate(twin).model_dump(mode="json")])
                continue
            try:
                failures = self._try(session, attempt, feedback, outcome)
                # the model hears about its candidate's faults; an error of the server's starts afresh
                retell = bool(failures) and failures[0].kind is not FailureKind.no_candidate
            except Exception as exc:  # noqa: BLE001 - a bug of ours: recorded, and the run goes on
                failures, retell = [_failure(FailureKind.internal_error, exc)], False
            if not failures:
                outcome.provenance = session.provenance() | {"attempts": attempt + 1}
                return outcome
            outcome.failures.append([f.model_dump(mode="json") for f in failures])
            feedback = failures if retell else None
            if attempt + 1 < self.max_attempts:
                self.on_retry(task, failures)
        outcome.status = "failed"
        outcome.provenance = session.provenance()
        return outcome

    def _try(self, session: Session, attempt: int, feedback: list[Failure] | None, outcome: Outcome) -> list[Failure]:
        """One attempt: the failures that stop its candidate, or [] with ``outcome`` verified or existing."""
        try:
            text = session.propose(attempt, feedback)
        except BuildFailed as exc:  # a reply holding no usable spec
            return exc.failures
        except Exception as exc:  # noqa: BLE001 - an LLM error, say: recorded, and the next attempt starts afresh
            return [_failure(FailureKind.no_candidate, exc)]
        if text is None:
            return [
                Failure(
                    kind=FailureKind.no_candidate, message="the backend could not produce a candidate for these seeds"
                )
            ]
        data = _spec_data(text)
        game_id = data.get("id") if isinstance(data.get("id"), str) else None
        unrequested = _requested_skills(data, outcome.task)
        if game_id and not unrequested and self._already_published(text, game_id):
            outcome.status, outcome.game_id, outcome.spec_text = "existing", game_id, text
            return []
        staged = new_staging_dir(self.out)
        try:
            report = verify_spec(text, staged / "game", self.limits)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        if unrequested or not report.passed:  # every problem found, so one repair can fix them all
            shutil.rmtree(staged, ignore_errors=True)
            return unrequested + report.failures + hidden_failures(text, report.failures)
        if self.calibrate is not None:
            try:
                rejected, outcome.calibration = self.calibrate(staged / "game", outcome.task)
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                raise
            if rejected:
                shutil.rmtree(staged, ignore_errors=True)
                return rejected
        outcome.status, outcome.staged, outcome.spec_text, outcome.report = "verified", staged, text, report
        outcome.game_id = report.game_id
        return []

    def _finish(self, outcome: Outcome, published_ids: set[str]) -> Outcome:
        """Publish a verified candidate (main thread, task order); resolve duplicates and review."""
        if outcome.status == "existing":
            assert outcome.game_id is not None, "an existing outcome names the published game"
            published_ids.add(outcome.game_id)
            return outcome
        if outcome.status != "verified":
            return outcome
        # a verified outcome carries what _attempt staged: the build, the spec, its report and game id
        assert outcome.staged is not None and outcome.spec_text is not None and outcome.report is not None
        assert outcome.game_id is not None
        if outcome.game_id in published_ids:  # an earlier task made the same game: try the next attempt
            duplicate = f"the same game as {outcome.game_id}, made by an earlier task"
            return self._reject(outcome, Failure(kind=FailureKind.duplicate, message=duplicate), published_ids)
        twin = self._templates.twin(_spec_data(outcome.spec_text)) if self._templates is not None else None
        if twin is not None:
            return self._reject(outcome, _near_duplicate(twin), published_ids)
        spec = GameSpec.parse_text(outcome.spec_text)
        if self.review is not None and not self.review(spec):
            shutil.rmtree(outcome.staged, ignore_errors=True)
            outcome.status = "dropped"
            return outcome
        provenance = scrub_data(
            {
                "backend": self.backend.name,
                "skills": list(outcome.task.skills),
                "seed": outcome.task.seed,
                "index": outcome.task.index,
                "batch": outcome.task.batch,
                **outcome.provenance,
            }
        )
        publish(
            self.out,
            outcome.staged / "game",
            spec,
            outcome.report,
            split=outcome.task.split,
            provenance=provenance,
            calibration=outcome.calibration,
        )
        shutil.rmtree(outcome.staged, ignore_errors=True)
        outcome.status = "published"
        published_ids.add(outcome.game_id)
        if self._templates is not None:
            self._templates.add(_spec_data(outcome.spec_text))
        return outcome

    def _reject(self, outcome: Outcome, failure: Failure, published_ids: set[str]) -> Outcome:
        """Drop a verified candidate at publish time and try the task's next attempt (main thread, task order)."""
        assert outcome.staged is not None
        shutil.rmtree(outcome.staged, ignore_errors=True)
        outcome.failures.append([failure.model_dump(mode="json")])
        outcome.status, outcome.staged, outcome.calibration = failure.kind.value, None, {}
        if outcome.attempts >= self.max_attempts:
            outcome.status = "failed"
            return outcome
        self.on_retry(outcome.task, [failure])
        return self._finish(self._attempt(outcome.task, outcome.attempts, outcome), published_ids)

    def _second_look(self, task: Task, published_ids: set[str]) -> Outcome:
        """A task that failed with attempts skipped ahead of the run, as twins of games that earlier tasks were then
        expected to publish: its attempts again, skipping only twins of the games published by now (main thread,
        task order, so still deterministic)."""
        assert self._templates is not None
        self._twins[task] = self._twins_of(task, self._templates, reserve=False)
        return self._finish(self._attempt(task, 0), published_ids)

    def _collection_templates(self) -> TemplateIndex:
        """The templates of the games already in the collection."""
        index = TemplateIndex()
        for spec in collection_specs(self.out, missing_ok=True).values():
            index.add(spec)
        return index

    def _look_ahead(self, tasks: list[Task]) -> dict[Task, dict[int, str]]:
        """Per task, the attempts whose candidate nearly duplicates a game of the collection or the first distinct
        candidate of an earlier task (attempt -> that game's id): they are skipped, not built. A previewable
        backend's proposals cost nothing to make, and looking ahead in task order keeps the run deterministic."""
        assert self._templates is not None
        planned = self._templates.copy()
        return {task: self._twins_of(task, planned, reserve=True) for task in tasks}

    def _twins_of(self, task: Task, index: TemplateIndex, *, reserve: bool) -> dict[int, str]:
        """The attempts of ``task`` whose candidate nearly duplicates a game of ``index`` (attempt -> its id); with
        ``reserve``, up to the first distinct candidate, which joins ``index``."""
        session, twins = self.backend.session(task), {}
        for attempt in range(self.max_attempts):
            data = _preview(session, attempt)
            twin = index.twin(data) if data else None
            if twin is not None:
                twins[attempt] = twin
            elif data and reserve:
                index.add(data)
                break
        return twins

    def _already_published(self, text: str, game_id: str) -> bool:
        entry = load_manifest(self.out, missing_ok=True).get(game_id)
        if entry is None:
            return False
        try:
            return entry.content_hash == content_hash(GameSpec.parse_text(text))
        except SpecError:
            return False

    def write_report(self, path: Path, header: dict[str, Any]) -> dict[str, Any]:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("published", "existing", "failed", "dropped")}
        report = {
            **header,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": counts,
            "tasks": [
                {
                    "index": o.task.index,
                    "batch": o.task.batch,
                    "skills": list(o.task.skills),
                    "difficulty": o.task.difficulty,
                    "split": o.task.split,
                    "status": o.status,
                    "id": o.game_id,
                    "attempts": o.attempts,
                    "failures": o.failures,
                    "provenance": o.provenance,
                }
                for o in self.outcomes
            ],
        }
        report = scrub_data(report)  # failures quote replies: nothing secret-looking reaches the disk
        write_atomic(path, json.dumps(report, indent=2) + "\n")
        return report


def _attempt_elsewhere(
    generator: Generator, manifest: str | None, task: Task
) -> tuple[Outcome, list[list[Failure]], bytes | None]:
    """``generator._attempt(task, 0)`` in a Ray worker, which may be on another machine: against a private copy of
    the collection's manifest (as it was when the run started), with the retries it made and the verified game
    (packed) sent back to be published in task order by the driver."""
    retries: list[list[Failure]] = []
    with tempfile.TemporaryDirectory(prefix="starling-generate-") as tmp:
        worker = copy.copy(generator)
        worker.out, worker.on_retry = Path(tmp), lambda task, failures: retries.append(failures)
        if manifest is not None:
            (worker.out / MANIFEST).write_text(manifest)
        outcome = worker._attempt(task, 0)
        packed = None
        if outcome.staged is not None:
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                archive.add(outcome.staged / "game", arcname="game")
            packed, outcome.staged = buffer.getvalue(), None
    return outcome, retries, packed


def _preview(session: Session, attempt: int) -> dict[str, Any]:
    """A previewable backend's candidate at ``attempt`` as JSON data ({} when there is none)."""
    try:
        return _spec_data(session.propose(attempt, None) or "")
    except Exception:  # noqa: BLE001 - the attempt itself will fail the same way, and say why
        return {}


def _near_duplicate(twin: str) -> Failure:
    message = f"its template nearly duplicates that of {twin} (collection/signature.py): same steps, other names"
    return Failure(kind=FailureKind.near_duplicate, message=message)


def _failure(kind: FailureKind, exc: BaseException) -> Failure:
    """An exception as a recorded failure."""
    return Failure(kind=kind, message=f"{type(exc).__name__}: {exc}")


def _spec_data(text: str) -> dict[str, Any]:
    """The candidate's JSON object, or {} (not JSON, or over a limit: the verifier says which)."""
    try:
        data = loads_untrusted(text, SPEC_JSON)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _requested_skills(data: dict[str, Any], task: Task) -> list[Failure]:
    """A failure when a candidate that lists skills leaves out one the task asked for."""
    skills = data.get("skills")
    missing = [s for s in task.skills if isinstance(skills, list) and s not in skills]
    if not missing:
        return []
    return [Failure(kind=FailureKind.schema, path="$.skills", message=f"list the requested skills {missing} too")]


def _set_suite(collection: Path, suite: str | None, version: int | None) -> None:
    with locked(collection):
        manifest = load_manifest(collection, missing_ok=True)
        manifest.suite = suite or manifest.suite
        manifest.version = version or manifest.version
        write_atomic(collection / MANIFEST, manifest.to_json())

"""Publishing into a collection: build + verify a spec, then add the game to ``<dir>/<game-id>/`` and the manifest.

Publishing is atomic: a game is built in a staging folder inside the collection, renamed into
place, and only then added to the manifest, which is itself replaced atomically under a file lock.
An interrupted build leaves at most a stale staging folder (cleaned on the next publish), never a
partial game or a broken manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import textworld

from .. import __version__
from ..builder.failures import VerificationReport
from ..builder.verify import Limits, verify_spec
from ..files import locked, owned_dir, write_atomic
from ..spec import GameSpec
from .manifest import MANIFEST, ManifestEntry, load_manifest
from .signature import signature

STAGING = ".staging"
BUILDER_VERSION = "1"  # bump when the builder's output for the same spec changes
_DEFAULT_LIMITS = Limits()  # frozen, so one shared default is safe


def content_hash(spec: GameSpec) -> str:
    """sha256 over the canonical spec and every build input (templates, static KB, versions).

    The z8's header carries the compile date, so the hash covers what the game is built from,
    not the bytes of the build: the same spec gives the same hash on any day and machine.
    """
    digest = hashlib.sha256()
    digest.update(spec.to_json().encode())
    digest.update(f"builder={BUILDER_VERSION} textworld={textworld.__version__}".encode())
    builder = resources.files("starling_env.builder")
    for folder in ("templates", "kb_static"):
        for item in sorted((builder / folder).iterdir(), key=lambda p: p.name):
            if item.is_file():
                digest.update(item.name.encode() + b"\0" + item.read_bytes())
    return "sha256:" + digest.hexdigest()


def new_staging_dir(collection: Path) -> Path:
    """A fresh folder inside the collection (same file system, so publishing is a rename).

    Folders are named after the process that owns them; those of processes that no longer run
    (a build killed midway) are removed here.
    """
    return owned_dir(collection / STAGING)


@contextmanager
def staging_dir(collection: Path) -> Iterator[Path]:
    """:func:`new_staging_dir`, removed on exit (after a publish it is already gone)."""
    path = new_staging_dir(collection)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def publish(
    collection: Path,
    staged: Path,
    spec: GameSpec,
    report: VerificationReport,
    *,
    split: str = "train",
    provenance: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
) -> ManifestEntry:
    """Move a verified, staged game into ``collection`` and record it in the manifest (with its template
    signature, and the measured solve rates of ``calibration`` where given)."""
    if not report.passed:
        raise ValueError(f"refusing to publish {spec.id}: it did not pass verification")
    write_atomic(staged / "spec.json", spec.to_json())
    entry = ManifestEntry(
        id=spec.id,
        title=spec.title,
        skills=spec.skills,
        difficulty=spec.difficulty,
        split=split,
        max_score=sum(g.points for g in spec.goals),
        walkthrough_length=len(spec.walkthrough),
        rooms=len(spec.rooms),
        objects=len(spec.objects),
        provenance={"starling_version": __version__, "date": _today(), **(provenance or {})},
        verification={"passed": True, **report.stats},
        content_hash=content_hash(spec),
        signature=signature(json.loads(spec.to_json())),
        calibration=calibration or {},
    )
    with locked(collection):
        target = collection / spec.id
        if target.exists():  # replace an older build of the same id: swap, then delete the old one
            old = collection / STAGING / f"{os.getpid()}-old-{spec.id}"
            os.replace(target, old)
            os.replace(staged, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staged, target)
        manifest = load_manifest(collection, missing_ok=True)
        manifest.games = sorted([g for g in manifest.games if g.id != spec.id] + [entry], key=lambda g: g.id)
        write_atomic(collection / MANIFEST, manifest.to_json())
    return entry


def build_and_publish(
    spec_text: str,
    collection: Path,
    limits: Limits = _DEFAULT_LIMITS,
    *,
    split: str = "train",
    provenance: dict[str, Any] | None = None,
) -> tuple[VerificationReport, ManifestEntry | None]:
    """Build and verify a spec under limits; publish it into ``collection`` only if it passes."""
    with staging_dir(collection) as staged:
        report = verify_spec(spec_text, staged / "game", limits)
        if not report.passed:
            return report, None
        return report, publish(
            collection, staged / "game", GameSpec.parse_text(spec_text), report, split=split, provenance=provenance
        )


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()

"""The manifest of a game collection: one typed model, one reader, the env id of a game, and the game filter.

Plain dataclasses over the standard library: ``import starling_env`` reads the installed manifests to
register their ids, and that stays cheap (no TextWorld, no game, no pydantic). Reading checks every
field's presence and type, so a damaged manifest is a clear error, never a half-registered collection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
NAMESPACE = "starling"


def env_id(game_id: str, version: int) -> str:
    """The Gymnasium id of a game of a collection at ``version``: ``starling/<game-id>-v<version>``."""
    return f"{NAMESPACE}/{game_id}-v{version}"


class ManifestError(ValueError):
    """A manifest that is not JSON or lacks a field or has one of the wrong type."""


_TYPES: dict[str, type] = {
    "str": str,
    "int": int,
    "list[str]": list,
    "dict[str, Any]": dict,
    "list[ManifestEntry]": list,
}


def _checked(cls: type, data: Any, where: str) -> dict[str, Any]:
    """``data`` as the keyword arguments of dataclass ``cls``: every field present (or defaulted) with its type."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected an object, got {type(data).__name__}")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ManifestError(f"{where}: missing field {f.name!r}")
            continue
        value, expected = data[f.name], _TYPES[str(f.type)]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ManifestError(f"{where}.{f.name}: expected {f.type}, got {type(value).__name__}")
        values[f.name] = value
    return values


@dataclass
class ManifestEntry:
    """One published game: what it is, where it is in the benchmark, how it was made and checked."""

    id: str
    title: str
    skills: list[str]
    difficulty: str
    split: str
    max_score: int
    walkthrough_length: int
    rooms: int
    objects: int
    provenance: dict[str, Any]
    verification: dict[str, Any]
    content_hash: str
    signature: str = ""  # the template signature (collection/signature.py); empty in collections made before it
    calibration: dict[str, Any] = field(default_factory=dict)  # measured agent solve rates, where the recipe asks


@dataclass
class Manifest:
    """A collection: its suite name and version, and its games sorted by id."""

    suite: str
    version: int = 1
    games: list[ManifestEntry] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, where: str = "manifest") -> Manifest:
        values = _checked(cls, data, where)
        games = [
            ManifestEntry(**_checked(ManifestEntry, g, f"{where}.games[{i}]"))
            for i, g in enumerate(values.get("games", []))
        ]
        return cls(**{**values, "games": games})

    def to_json(self) -> str:
        """The manifest file's text (stable key order, two-space indent; newer fields left out when empty)."""
        data = asdict(self)
        for game in data["games"]:
            for key in ("signature", "calibration"):
                if not game[key]:
                    del game[key]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def get(self, game_id: str) -> ManifestEntry | None:
        return next((g for g in self.games if g.id == game_id), None)

    def env_id(self, game_id: str) -> str:
        return env_id(game_id, self.version)

    def select(
        self,
        split: str | Iterable[str] | None = None,
        skills: str | Iterable[str] | None = None,
        difficulty: str | Iterable[str] | None = None,
    ) -> list[ManifestEntry]:
        """The games in any of the given splits and tiers that exercise any of the given skills (None: any)."""

        def allowed(value: str | Iterable[str] | None) -> set[str] | None:
            return None if value is None else {value} if isinstance(value, str) else set(value)

        splits, wanted_skills, tiers = allowed(split), allowed(skills), allowed(difficulty)
        return [
            g
            for g in self.games
            if (splits is None or g.split in splits)
            and (tiers is None or g.difficulty in tiers)
            and (wanted_skills is None or wanted_skills & set(g.skills))
        ]


def load_manifest(collection: Path, *, missing_ok: bool = False) -> Manifest:
    """The manifest of ``collection``; a folder without one is an error, or an empty suite with ``missing_ok``."""
    path = Path(collection) / MANIFEST
    if not path.is_file():
        if missing_ok:
            return Manifest(suite=Path(collection).resolve().name)
        raise FileNotFoundError(f"{collection} is not a game collection: it has no {MANIFEST}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from exc
    return Manifest.from_dict(data, where=str(path))


def shipped_collections() -> list[Path]:
    """The benchmark versions installed with the package (``generated_games/<suite>-v<N>/``), oldest first."""
    from importlib import resources

    root = Path(str(resources.files("starling_env.generated_games")))
    found = []
    for folder in root.iterdir():
        if (folder / MANIFEST).is_file():
            found.append((load_manifest(folder).version, folder.name, folder))
    return [folder for _, _, folder in sorted(found)]


def shipped_collection(version: int | None = None) -> Path:
    """The shipped benchmark: its newest version, or ``version``."""
    collections = shipped_collections()
    if version is not None:
        collections = [c for c in collections if load_manifest(c).version == version]
    if not collections:
        versions = [load_manifest(c).version for c in shipped_collections()]
        raise FileNotFoundError(f"no shipped benchmark of version {version}; installed versions: {versions}")
    return collections[-1]


def game_card(game_dir: Path) -> dict[str, Any]:
    """The EpisodeRecord fields that describe a game folder: env id, game id, skills, difficulty, split.

    From the collection's manifest; a folder outside any collection falls back to its ``spec.json``.
    """
    game_dir = Path(game_dir)
    try:
        manifest = load_manifest(game_dir.parent)
    except (FileNotFoundError, ValueError):
        manifest = Manifest(suite=game_dir.parent.name)
    entry = manifest.get(game_dir.name)
    if entry is not None:
        skills, difficulty = list(entry.skills), entry.difficulty
    else:
        try:
            spec = json.loads((game_dir / "spec.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            spec = {}
        skills, difficulty = list(spec.get("skills", [])), spec.get("difficulty")
    return {
        "env_id": manifest.env_id(game_dir.name),
        "game_id": game_dir.name,
        "skills": skills,
        "difficulty": difficulty,
        "split": entry.split if entry else None,
    }

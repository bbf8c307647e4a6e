"""Game collections: ``<dir>/manifest.json`` plus one folder per game.

:mod:`.manifest` reads them (cheap: no TextWorld); :mod:`.publish` builds, verifies and adds games atomically.
"""

from .manifest import (
    MANIFEST,
    Manifest,
    ManifestEntry,
    env_id,
    game_card,
    load_manifest,
    shipped_collection,
    shipped_collections,
)

__all__ = [
    "MANIFEST",
    "Manifest",
    "ManifestEntry",
    "env_id",
    "game_card",
    "load_manifest",
    "shipped_collection",
    "shipped_collections",
]

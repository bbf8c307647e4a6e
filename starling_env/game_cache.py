"""A per-user disk cache of loaded games: what a game's files take 0.2-0.4 s to become, read back in about 10 ms.

A training run moves to a new game every episode and an evaluation opens every game of a split, each in fresh
processes: a game's first load in a process used to parse its logic with TatSu (``game_json``) and, for the
native engine, ground every rule (``native.world``), most of a short run's env time. Here the result is pickled
once, under a key made of the game's own bytes and a fingerprint of the code that builds it (every source file
of ``starling_env``, the TextWorld version and Python's), so a changed game or a changed builder never reads a
stale entry.

``$STARLING_GAME_CACHE`` is the folder (default ``~/.cache/starling/games``, about 0.75 MB a game); ``off`` turns
the cache off. An entry is written atomically; one that cannot be read (cut short, or from an incompatible build)
is rebuilt and replaced. Pickle runs code when it reads: never point the cache at files from elsewhere.

TextWorld's variables, signatures, propositions and placeholders keep their ``hash()`` in a slot, and ``str``
hashes differ between processes: pickled as they are, they would come back with another process's hashes and
every set and dict lookup of them would miss (a game with no admissible commands). :func:`_rebuilt_by_init`
registers them with :mod:`copyreg` to be pickled as their constructor's arguments, so a new process computes
their hashes afresh (``tests/test_game_cache.py`` reads an entry in a process with another hash seed).
"""

from __future__ import annotations

import copyreg
import hashlib
import os
import pickle
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

import textworld
from textworld.logic import Placeholder, Proposition, Signature, Variable

from .files import write_atomic

CACHE_ENV = "STARLING_GAME_CACHE"
T = TypeVar("T")


def _rebuilt_by_init() -> None:
    """Pickle TextWorld's hash-keeping logic objects as calls of their constructors (see the module docstring)."""
    copyreg.pickle(Variable, lambda v: (Variable, (v.name, v.type)))
    copyreg.pickle(Placeholder, lambda p: (Placeholder, (p.name, p.type)))
    copyreg.pickle(Signature, lambda s: (Signature, (s.name, s.types)))
    copyreg.pickle(Proposition, lambda p: (Proposition, (p.name, p.arguments)))


_rebuilt_by_init()


def cache_dir() -> Path | None:
    """The cache folder, or None when ``$STARLING_GAME_CACHE`` is ``off``."""
    value = os.environ.get(CACHE_ENV, "")
    if value.strip().lower() == "off":
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "starling" / "games"


@cache
def code_fingerprint() -> str:
    """A digest of every source file of ``starling_env``, the TextWorld version and the Python version."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{textworld.__version__} {sys.version}".encode())
    package = Path(__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def cached(kind: str, content: bytes, build: Callable[[], T]) -> T:
    """``build()``, or what it returned for the same ``kind`` and ``content`` (the bytes it is built from) before,
    read from the disk cache; a fresh result is written there for the next process."""
    folder = cache_dir()
    if folder is None:
        return build()
    key = hashlib.blake2b(content + code_fingerprint().encode(), digest_size=16).hexdigest()
    path = folder / kind / f"{key}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # not there yet, cut short, or unreadable: built and (re)placed below
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only or full disk: the cache is an optimisation, never a failure
        pass
    return value

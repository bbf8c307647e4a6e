"""Z-machine story files checked before an interpreter sees them.

jericho's C interpreter ends the whole process (``exit(1)``) on a story file it cannot load: a text file,
an empty or truncated file, a wrong version byte. Two guards turn that into a :class:`StoryFileError`:

- :func:`check_story_file`: the 64-byte header, in Python (microseconds): the version byte (1-8), the
  file-length field against the file's size, and every address the interpreter follows (dynamic memory,
  the initial program counter, the dictionary, the object table, the globals, the abbreviations);
- :func:`probe_story_file`: the header check, then the interpreter itself loads the file, starts the game
  and plays one turn in a child process (once per file content per process, about 0.2 s), so a file
  that passes the header check but still reaches one of the interpreter's fatal errors (an illegal
  opcode at start-up, a corrupt dictionary) costs the child, never the caller.

Anything handing a story file to ``jericho.FrotzEnv`` should call one of them first.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HEADER_SIZE = 64
PROBE_TIMEOUT_S = 60.0
# Bytes per unit of the header's file-length field (0x1A), by version.
_LENGTH_SCALE = {1: 2, 2: 2, 3: 2, 4: 4, 5: 4, 6: 8, 7: 8, 8: 8}
_PROBE_OK = "STARLING-STORY-PROBE-OK"
_PROBE = f"""
import sys, warnings
warnings.simplefilter("ignore")
import jericho
env = jericho.FrotzEnv(sys.argv[1], 0)
env.reset()
env.get_dictionary()
env.step("look")
print("{_PROBE_OK}", flush=True)
"""


class StoryFileError(ValueError):
    """A file that is not a playable Z-machine story file; ``path`` and ``problem`` say which and why."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: not a playable Z-machine story file: {problem}")


@dataclass(frozen=True)
class StoryHeader:
    """The header fields of a checked story file (addresses in bytes)."""

    version: int
    release: int
    serial: str
    length: int  # the file length the header declares (the file's size when the field is 0)
    size: int  # the file's actual size (may exceed ``length``: padding)
    static_memory: int  # where dynamic memory ends
    globals: int
    objects: int
    dictionary: int


def _word(data: bytes, at: int) -> int:
    return data[at] << 8 | data[at + 1]


def check_story_bytes(data: bytes, path: str | Path = "<bytes>") -> StoryHeader:
    """The header of story file ``data``, or :class:`StoryFileError` naming the first problem found."""

    def fail(problem: str) -> StoryFileError:
        return StoryFileError(path, problem)

    size = len(data)
    if size < HEADER_SIZE:
        raise fail(f"{size} bytes, shorter than the {HEADER_SIZE}-byte header")
    version = data[0]
    if version not in _LENGTH_SCALE:
        raise fail(f"version byte {version} (Z-machine versions are 1 to 8)")
    if version == 3 and data[1] & 0x01:  # frotz: "Byte swapped story file"
        raise fail("flag byte 1 marks a byte-swapped version 3 file")
    declared = _word(data, 0x1A) * _LENGTH_SCALE[version]
    length = declared or size  # some early games leave the field 0
    if length > size:
        raise fail(f"truncated: the header declares {length} bytes, the file has {size}")
    if length < HEADER_SIZE:
        raise fail(f"the header declares {length} bytes, shorter than the header itself")
    static, pc = _word(data, 0x0E), _word(data, 0x06)
    if not HEADER_SIZE <= static <= length:
        raise fail(f"dynamic memory ends at {static:#x}, outside the {length}-byte story")
    # (field, address, lowest, highest): each must point inside the story (the first three into dynamic memory).
    addresses = [
        ("object table", _word(data, 0x0A), HEADER_SIZE, static),
        ("global variables", _word(data, 0x0C), HEADER_SIZE, static),
        ("dictionary", _word(data, 0x08), HEADER_SIZE, length),
        ("high memory", _word(data, 0x04), HEADER_SIZE, length),
    ]
    if version != 6:  # version 6 stores a packed routine address there
        addresses.append(("initial program counter", pc, HEADER_SIZE, length))
    if version >= 2 and _word(data, 0x18):
        addresses.append(("abbreviations table", _word(data, 0x18), HEADER_SIZE, length))
    for name, address, lowest, highest in addresses:
        if not lowest <= address < highest:
            raise fail(f"the {name} address {address:#x} lies outside {lowest:#x}-{highest:#x}")
    return StoryHeader(
        version=version,
        release=_word(data, 0x02),
        serial=data[0x12:0x18].decode("ascii", "replace"),
        length=length,
        size=size,
        static_memory=static,
        globals=_word(data, 0x0C),
        objects=_word(data, 0x0A),
        dictionary=_word(data, 0x08),
    )


def check_story_file(path: str | Path) -> StoryHeader:
    """The header of the story file at ``path`` (see :func:`check_story_bytes`); FileNotFoundError if absent."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Z-machine story file at {path}")
    return check_story_bytes(path.read_bytes(), path)


_probed: dict[bytes, StoryHeader | StoryFileError] = {}  # content digest -> verdict (per process)


def probe_story_file(path: str | Path, timeout: float = PROBE_TIMEOUT_S) -> StoryHeader:
    """The header check, then a start-up of the interpreter on ``path`` in a child process (cached by content).

    Raises :class:`StoryFileError` with the interpreter's own message ("Fatal error: ...") when the child
    dies, or when it does not reach the game's first prompt within ``timeout`` seconds.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Z-machine story file at {path}")
    data = path.read_bytes()
    key = hashlib.blake2b(data, digest_size=16).digest()
    if key not in _probed:
        try:
            header = check_story_bytes(data, path)
            _probe(path, timeout)
            _probed[key] = header
        except StoryFileError as error:
            _probed[key] = error
    verdict = _probed[key]
    if isinstance(verdict, StoryFileError):
        raise StoryFileError(path, verdict.problem)
    return verdict


def _probe(path: Path, timeout: float) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(Path(path).resolve())],
            cwd=tempfile.gettempdir(),  # a neutral folder first on the child's import path
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StoryFileError(path, f"the interpreter did not reach the game's first prompt in {timeout:g} s") from None
    if done.returncode == 0 and _PROBE_OK in done.stdout:
        return
    output = f"{done.stdout}\n{done.stderr}"
    fatal = [line.strip() for line in output.splitlines() if "error" in line.lower()]
    reason = fatal[-1] if fatal else f"exit status {done.returncode}"
    raise StoryFileError(path, f"the interpreter could not run it ({reason})")

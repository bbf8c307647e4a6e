"""Safe file IO shared by every layer: atomic replacement, JSON-lines appends that repair a torn last line,
an inter-process lock, bounded parsing of untrusted JSON, and scrubbing secrets from text bound for disk."""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (as far as this user can tell)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owned_dir(parent: Path, prefix: str = "") -> Path:
    """A fresh folder in ``parent`` named after this process; folders of processes that no longer run (killed
    midway, so they could not clean up) are removed first."""
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f"{prefix}*"):
        owner = stale.name[len(prefix) :].split("-", 1)[0]
        if owner.isdigit() and not process_alive(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=f"{prefix}{os.getpid()}-"))


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step: readers see the old file or the new
    one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Serialise updates of ``folder`` between processes (an exclusive lock on ``folder/.lock``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- JSON lines ---------------------------------------------------------------------------------


def append_jsonl(path: Path, lines: Iterable[str]) -> None:
    """Append JSON documents (one per item, no newline inside) as lines, written whole and flushed to disk.

    The one place that appends JSON lines. A torn last line (a write interrupted by a crash) is repaired
    first: cut back to the last newline, or ended with one if it is a whole JSON document, so the next
    line never runs into it. An exclusive lock on the file keeps concurrent appenders apart.
    """
    data = "".join(_one_line(line) + "\n" for line in lines).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            _repair_torn_tail(f)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _one_line(line: str) -> str:
    if "\n" in line or "\r" in line:
        raise ValueError("a JSON line must not contain a newline")
    return line


def _repair_torn_tail(f: BinaryIO, chunk: int = 1 << 16) -> None:
    """Cut an unterminated last line of ``f`` back to the previous newline (keep it if it is whole JSON)."""
    size = f.seek(0, os.SEEK_END)
    if size == 0:
        return
    f.seek(size - 1)
    if f.read(1) == b"\n":
        return
    end = size
    while end > 0:  # find the last newline, reading backwards
        start = max(0, end - chunk)
        f.seek(start)
        newline = f.read(end - start).rfind(b"\n")
        if newline >= 0:
            start += newline + 1
            break
        end = start
    else:
        start = 0
    f.seek(start)
    tail = f.read(size - start)
    try:
        json.loads(tail)
    except (ValueError, RecursionError):
        f.truncate(start)
    else:
        f.write(b"\n")  # a whole record that only lacks its newline


# -- untrusted JSON ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JSONLimits:
    """Bounds on JSON from outside (spec files, LLM replies): size, nesting depth and number length."""

    max_chars: int = 1_000_000
    max_depth: int = 32
    max_number_chars: int = 20


class JSONLimitError(ValueError):
    """JSON text over a :class:`JSONLimits` bound. ``path`` is the JSON path of the fault (``$``: the text)."""

    def __init__(self, message: str, path: str = "$"):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


class _Rejected:
    """Stands in for a number or constant the parser met but that is refused (reported with its path)."""

    def __init__(self, reason: str):
        self.reason = reason


def loads_untrusted(text: str, limits: JSONLimits = JSONLimits()) -> Any:
    """``json.loads`` for text from outside, in time and memory linear in its length.

    Raises :class:`JSONLimitError` for text over ``limits`` (too long, nested too deeply, a number of too
    many digits, NaN or Infinity), ``json.JSONDecodeError`` for text that is not JSON. Never another error.
    """
    if len(text) > limits.max_chars:
        raise JSONLimitError(f"the text is {len(text):,} characters long; the limit is {limits.max_chars:,}")

    def number(kind: type[int] | type[float]) -> Any:
        def parse(digits: str) -> Any:
            if len(digits) > limits.max_number_chars:
                return _Rejected(f"a number of {len(digits):,} characters (the limit is {limits.max_number_chars})")
            value = kind(digits)
            return value if math.isfinite(value) else _Rejected(f"{digits} is too large a number")

        return parse

    try:
        value = json.loads(
            text,
            parse_int=number(int),
            parse_float=number(float),
            parse_constant=lambda name: _Rejected(f"{name} is not a JSON number"),
        )
    except RecursionError:  # the C scanner recurses once per level
        raise JSONLimitError(
            f"nested more than {limits.max_depth} levels deep{_position(text, _too_deep_at(text, limits.max_depth))}"
        ) from None
    _check_tree(value, limits.max_depth)
    return value


def _check_tree(value: Any, max_depth: int) -> None:
    """Raise for the first refused value or level past ``max_depth``, naming its JSON path (iterative)."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, _Rejected):
            raise JSONLimitError(node.reason, json_path(path))
        if isinstance(node, dict | list):
            if depth >= max_depth:
                raise JSONLimitError(f"nested more than {max_depth} levels deep", json_path(path))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((child, depth + 1, (*path, key)) for key, child in reversed(list(items)))


def json_path(parts: Iterable[str | int]) -> str:
    """``$.rooms[0].name`` for ``("rooms", 0, "name")``; odd keys are quoted and cut short."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", part):
            out += f".{part}"
        else:
            out += f"[{part[:40]!r}]"
    return out


def _too_deep_at(text: str, max_depth: int) -> int:
    """Offset of the first bracket past ``max_depth`` levels (strings skipped); 0 if none is found."""
    depth, in_string, escaped = 0, False, False
    for i, c in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > max_depth:
                return i
        elif c in "]}":
            depth -= 1
    return 0


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f" (line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1})"


# -- secrets ---------------------------------------------------------------------------------------

REDACTED = "[REDACTED]"
# Well-known key shapes: OpenAI / Anthropic style, GitHub, Hugging Face, Slack, GitLab, AWS ids, JWTs, Bearer values.
_KEY_RE = re.compile(
    r"\bsk-[A-Za-z0-9_\-]{16,}"
    r"|\b(?:gh[pousr]|github_pat|hf|xox[abprs]|glpat)[_-][A-Za-z0-9_\-]{16,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|(?<=\b[Bb]earer )[^\s\"']{8,}"
)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-+/=]{24,}")  # maximal from its leftmost start: linear
_MIN_SECRET_CHARS = 8  # a shorter "key" (a local server's) is not worth mangling text over


def _redact_random(match: re.Match[str]) -> str:
    """A token holding a run of 24+ letters and digits that mixes upper case, lower case and digits is random."""
    token = match.group(0)
    for run in re.findall(r"[A-Za-z0-9]{24,}", token):
        if re.search(r"[a-z]", run) and re.search(r"[A-Z]", run) and re.search(r"[0-9]", run):
            return REDACTED
    return token  # a long word, a lowercase id or a hex digest


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with ``secrets`` (e.g. the API key) and anything that looks like a key or token replaced.

    Game text is left alone: a token counts as secret only in a known key shape or when it holds a run
    of at least 24 letters and digits mixing upper case, lower case and digits.
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    return _TOKEN_RE.sub(_redact_random, _KEY_RE.sub(REDACTED, text))


def scrub_data(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """JSON-like ``value`` with :func:`scrub_secrets` applied to every string in it (keys included)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return scrub_secrets(value, secrets)
    if isinstance(value, dict):
        return {scrub_data(k, secrets): scrub_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v, secrets) for v in value]
    return value

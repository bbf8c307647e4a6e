"""The project's one LLM client, shared by the game generator and the LLM policies.

It wraps the official ``openai`` client (any OpenAI-compatible server works: OpenAI,
vLLM, Ollama, ...) and adds what both callers need:

* a content-addressed on-disk cache (``<sha256>.json`` per request, written atomically),
* counted retries with exponential backoff that honour ``Retry-After``,
* structured output with graceful fallback (``json_schema`` -> ``json_object`` -> none)
  for servers that do not support it,
* thread-safe usage totals, and
* :func:`extract_json` to pull one JSON object out of a free-form reply.

The API key is read from the environment when the client is created. It is never
logged, never written to the cache, and never shown in any repr or error message; replies
and error messages are scrubbed of it, and of anything else that looks like a key or token
(:func:`starling_env.files.scrub_secrets`), as they arrive, so no caller can write one to disk.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import itertools
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import openai

from .files import JSONLimitError, JSONLimits, loads_untrusted, scrub_secrets

__all__ = ["ChatResult", "LLMClient", "LLMConfig", "LLMError", "ReplyError", "Usage", "extract_json"]

logger = logging.getLogger(__name__)

#: Placeholder key for local servers (vLLM, Ollama) that need none.
PLACEHOLDER_API_KEY = "not-needed"
#: Exponential backoff never sleeps longer than this between retries.
MAX_BACKOFF_S = 30.0
#: A server's ``Retry-After`` is honoured, but never beyond this.
MAX_RETRY_AFTER_S = 300.0
#: Bumped when the cache entry layout changes, so stale entries are ignored.
CACHE_VERSION = 1
#: Schema name sent with ``response_format={"type": "json_schema", ...}``.
SCHEMA_NAME = "GameSpec"
#: Seconds to wait for one reply, unless ``$STARLING_LLM_TIMEOUT`` or the config says otherwise.
DEFAULT_TIMEOUT_S = 120.0
TIMEOUT_ENV = "STARLING_LLM_TIMEOUT"

# Structured-output levels, in the order we fall back through them.
_RF_SCHEMA, _RF_OBJECT, _RF_NONE = 0, 1, 2
_FORMAT_REJECTION_HINTS = ("response_format", "json_schema", "json_object", "not supported", "unsupported")


def default_timeout_s() -> float:
    """``$STARLING_LLM_TIMEOUT`` (seconds) if set, else :data:`DEFAULT_TIMEOUT_S`."""
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        return float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"${TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None


def _default_cache_dir() -> Path:
    env = os.environ.get("STARLING_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "starling" / "llm"


@dataclass(frozen=True)
class LLMConfig:
    """How to reach a model and how to sample from it.

    The config holds only the *name* of the environment variable with the API key,
    never the key itself, so it is safe to print, log and hash. ``cache_dir=None``
    disables the cache.
    """

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.7
    max_tokens: int | None = 4096
    timeout_s: float = field(default_factory=default_timeout_s)
    max_retries: int = 5
    backoff_s: float = 1.0
    cache_dir: Path | None = field(default_factory=_default_cache_dir)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.cache_dir is not None and not isinstance(self.cache_dir, Path):
            object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser())
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be a number of seconds > 0, got {self.timeout_s}")


@dataclass
class Usage:
    """Running totals for one client. ``requests`` counts chat calls answered by the
    server; cache hits count only in ``cache_hits``; ``retries`` counts re-sent requests."""

    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> Usage:
        """Add ``other``'s counts to this one in place; returns ``self``."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total_tokens": self.total_tokens}


@dataclass
class ChatResult:
    """One assistant reply. ``cached`` is True when it came from the cache."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    finish_reason: str | None


class LLMError(RuntimeError):
    """The model could not be reached or refused the request (after any retries)."""


def _retry_after_s(exc: Exception) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` / ``Retry-After``), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            seconds = float(value) / 1000.0
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return min(seconds, MAX_RETRY_AFTER_S)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _is_retryable(exc: Exception) -> bool:
    """Timeouts, connection failures, 408/409/429 and 5xx are worth retrying."""
    if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
        return True  # APITimeoutError is an APIConnectionError
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def _server_message(exc: Exception) -> str:
    """The server's own error message when there is one, else the exception's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    elif isinstance(body, str) and body.strip():
        return body.strip()
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _with_schema(messages: list[dict], schema: dict) -> list[dict]:
    """``messages`` with ``schema`` stated at the end of the system prompt (one is added if there is none)."""
    text = f"Answer with JSON that follows this JSON schema:\n{json.dumps(schema, separators=(',', ':'))}"
    if messages and messages[0].get("role") == "system":
        return [{**messages[0], "content": f"{messages[0]['content']}\n\n{text}"}, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


class LLMClient:
    """A cached, retrying, thread-safe chat client for one :class:`LLMConfig`.

    A ``json_schema`` is sent once: as ``response_format`` where the server takes it, else in the system prompt.
    """

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        api_key = os.environ.get(config.api_key_env) or PLACEHOLDER_API_KEY
        self._client = openai.OpenAI(base_url=config.base_url, api_key=api_key, timeout=config.timeout_s, max_retries=0)
        self.usage = Usage()
        self._lock = threading.Lock()
        self._rf_level = _RF_SCHEMA  # lowest structured-output level the server accepted so far
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:  # explicit, so the key held by the openai client never shows
        c = self.config
        return f"LLMClient(model={c.model!r}, base_url={c.base_url!r}, cache_dir={str(c.cache_dir)!r})"

    __str__ = __repr__

    # -- public ---------------------------------------------------------------------------

    def cache_key(self, messages: list[dict], *, json_mode: bool = False, json_schema: dict | None = None) -> str:
        """sha256 of the canonical JSON of everything that determines the reply (never the key)."""
        c = self.config
        payload = {
            "model": c.model,
            "base_url": c.base_url,
            "messages": messages,
            "temperature": c.temperature,
            "max_tokens": c.max_tokens,
            "seed": c.seed,
            "json_mode": json_mode,
            "json_schema": json_schema,
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def chat(self, messages: list[dict], *, json_mode: bool = False, json_schema: dict | None = None) -> ChatResult:
        """Send one chat completion (or answer it from the cache).

        ``json_schema`` asks for structured output matching the schema; ``json_mode``
        alone asks for any JSON object. Either falls back gracefully on servers that
        lack the feature. Raises :class:`LLMError` on failure.
        """
        key = self.cache_key(messages, json_mode=json_mode, json_schema=json_schema)
        hit = self._cache_load(key)
        if hit is not None:
            with self._lock:
                self.usage.cache_hits += 1
            hit.text = self._scrub(hit.text)  # entries written before replies were scrubbed
            return hit

        try:
            response = self._create_with_retries(messages, json_mode=json_mode, json_schema=json_schema)
            if not response.choices:
                raise LLMError(f"{self._where()}: the server returned no choices")
            choice = response.choices[0]
            usage = response.usage
            result = ChatResult(
                text=self._scrub(str(choice.message.content or "")),
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                cached=False,
                finish_reason=choice.finish_reason,
            )
        except LLMError:
            raise
        except Exception as exc:  # a malformed response, say: one error type, and never the key in its text
            raise LLMError(f"{self._where()} failed: {self._describe(exc)}") from exc
        with self._lock:
            self.usage.requests += 1
            self.usage.prompt_tokens += result.prompt_tokens
            self.usage.completion_tokens += result.completion_tokens
        self._cache_store(key, result)
        return result

    # -- requests -------------------------------------------------------------------------

    def _where(self) -> str:
        return f"LLM request to {self.config.base_url or 'OpenAI'} (model {self.config.model!r})"

    def _scrub(self, text: str) -> str:
        """``text`` without the API key (a server may echo it) or anything else that looks like a secret."""
        key = self._client.api_key
        return scrub_secrets(text, [key] if isinstance(key, str) and key != PLACEHOLDER_API_KEY else [])

    def _describe(self, exc: Exception) -> str:
        status = getattr(exc, "status_code", None)
        prefix = f"HTTP {status}" if status is not None else type(exc).__name__
        return self._scrub(f"{prefix}: {_server_message(exc)}")

    def _request_kwargs(
        self, messages: list[dict], json_mode: bool, json_schema: dict | None
    ) -> tuple[dict[str, Any], int | None]:
        """The ``create`` arguments, and the structured-output level they use (None: none asked)."""
        c = self.config
        kwargs: dict[str, Any] = {"model": c.model, "messages": messages, "temperature": c.temperature}
        if c.max_tokens is not None:
            kwargs["max_tokens"] = c.max_tokens
        if c.seed is not None:
            kwargs["seed"] = c.seed
        with self._lock:
            level = self._rf_level
        if json_schema is None:
            if not json_mode:
                return kwargs, None
            level = max(level, _RF_OBJECT)
        if level == _RF_SCHEMA:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": json_schema},
            }
        elif level == _RF_OBJECT:
            kwargs["response_format"] = {"type": "json_object"}
        if json_schema is not None and level != _RF_SCHEMA:  # the server takes no schema: the prompt carries it
            kwargs["messages"] = _with_schema(messages, json_schema)
        return kwargs, level

    def _create_with_retries(self, messages: list[dict], *, json_mode: bool, json_schema: dict | None) -> Any:
        attempt = 0
        while True:
            kwargs, level = self._request_kwargs(messages, json_mode, json_schema)
            try:
                return self._client.chat.completions.create(**kwargs)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if level is not None and level < _RF_NONE and self._is_format_rejection(exc):
                    with self._lock:
                        self._rf_level = max(self._rf_level, level + 1)
                    logger.info(
                        "%s: server rejected response_format %r (%s); falling back",
                        self._where(),
                        kwargs["response_format"]["type"],
                        self._describe(exc),
                    )
                    continue
                raise LLMError(f"{self._where()} failed: {self._describe(exc)}") from exc
            except openai.APIError as exc:
                if not _is_retryable(exc):
                    raise LLMError(f"{self._where()} failed: {self._describe(exc)}") from exc
                if attempt >= self.config.max_retries:
                    raise LLMError(
                        f"{self._where()} failed after {attempt + 1} attempts "
                        f"({self.config.max_retries} retries): {self._describe(exc)}"
                    ) from exc
                retry_after = _retry_after_s(exc)
                delay = (
                    retry_after if retry_after is not None else min(MAX_BACKOFF_S, self.config.backoff_s * (2**attempt))
                )
                attempt += 1
                with self._lock:
                    self.usage.retries += 1
                logger.warning(
                    "%s: %s; retry %d/%d in %.2fs",
                    self._where(),
                    self._describe(exc),
                    attempt,
                    self.config.max_retries,
                    delay,
                )
                self._sleep(delay)

    @staticmethod
    def _is_format_rejection(exc: Exception) -> bool:
        text = f"{_server_message(exc)} {getattr(exc, 'param', '') or ''}".lower()
        return any(hint in text for hint in _FORMAT_REJECTION_HINTS)

    # -- cache ----------------------------------------------------------------------------

    def _cache_path(self, key: str) -> Path | None:
        return None if self.config.cache_dir is None else self.config.cache_dir / f"{key}.json"

    def _cache_load(self, key: str) -> ChatResult | None:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != CACHE_VERSION:
                return None
            return ChatResult(
                text=str(data["text"]),
                prompt_tokens=int(data["prompt_tokens"]),
                completion_tokens=int(data["completion_tokens"]),
                cached=True,
                finish_reason=data.get("finish_reason"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("ignoring unreadable LLM cache entry %s: %s", path, exc)
            return None

    def _cache_store(self, key: str, result: ChatResult) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        entry = {
            "version": CACHE_VERSION,
            "model": self.config.model,
            "text": result.text,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "finish_reason": result.finish_reason,
            "created": time.time(),
        }
        tmp_name: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, prefix=f".{key[:16]}.", suffix=".tmp", delete=False
            ) as tmp:
                tmp_name = tmp.name
                json.dump(entry, tmp)  # ASCII: a lone surrogate in a reply cannot break the write
            os.replace(tmp_name, path)
        except OSError as exc:
            logger.warning("could not write LLM cache entry %s: %s", path, exc)
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)


# -- JSON extraction ------------------------------------------------------------------------

#: A reply longer than this is not searched for JSON (a game spec is a few thousand characters).
MAX_REPLY_CHARS = 200_000
#: At most this many candidate texts are parsed per reply.
MAX_CANDIDATES = 100
#: Bounds on the JSON object taken from a reply: nesting depth and number length as for a spec file.
REPLY_JSON = JSONLimits(max_chars=MAX_REPLY_CHARS, max_depth=32, max_number_chars=20)


class ReplyError(ValueError):
    """No usable JSON object in an LLM reply: none found, or one over :data:`REPLY_JSON`'s bounds
    (``path``: the JSON path of the fault in that object, where one applies)."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


def _fenced_blocks(text: str) -> Iterator[str]:
    """The bodies of ```-fenced blocks, without a ``json`` language tag (one split: linear time)."""
    parts = text.split("```")
    for body in parts[1:-1:2]:  # the odd parts lie between a fence and the next
        first, newline, rest = body.partition("\n")
        yield rest if newline and first.strip().lower() in ("", "json", "json5") else body


def _outer_spans(text: str) -> Iterator[str]:
    """Each outermost balanced ``{...}`` span, left to right, found in one pass (linear time).

    Braces inside JSON strings do not count; quotes outside any brace are prose. A ``{`` that is never
    closed (prose, a cut-off reply) does not hide the balanced spans after it.
    """
    opened: list[int] = []  # positions of the unclosed "{"
    spans: list[tuple[int, int]] = []  # outermost so far: a span that closes around others replaces them
    in_string, skip = False, -1
    for match in re.finditer(r'[{}"\\]', text):
        c, i = match.group(), match.start()
        if i == skip:  # the character after a backslash in a string
            continue
        if in_string:
            if c == "\\":
                skip = i + 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = bool(opened)
        elif c == "{":
            opened.append(i)
        elif c == "}" and opened:
            start = opened.pop()
            while spans and spans[-1][0] > start:
                spans.pop()
            spans.append((start, i + 1))
    for start, end in spans:
        yield text[start:end]


def extract_json(text: str) -> dict:
    """Extract one JSON object from an LLM reply, in time linear in its length.

    Tries, in order: the whole text; each fenced code block (```json ... ```); each outermost balanced
    ``{...}`` span (braces inside strings are respected), at most :data:`MAX_CANDIDATES` in all. Raises
    :class:`ReplyError` (a ``ValueError``) when no JSON object is found, when the reply is longer than
    :data:`MAX_REPLY_CHARS`, or when the object is over :data:`REPLY_JSON`'s bounds (nesting, numbers).
    """
    if not isinstance(text, str):
        raise TypeError(f"expected the reply as a string, got {type(text).__name__}")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(
            f"the LLM reply is {len(text):,} characters long; the limit is {MAX_REPLY_CHARS:,}: "
            "answer with the JSON object alone"
        )
    candidates = itertools.islice(
        itertools.chain([text.strip()], _fenced_blocks(text), _outer_spans(text)), MAX_CANDIDATES
    )
    first_error = ""  # why the first text that looks like an object does not parse
    for candidate in map(str.strip, candidates):
        try:
            value = loads_untrusted(candidate, REPLY_JSON)
        except JSONLimitError as exc:  # JSON, but hostile or broken: no point searching inside it
            raise ReplyError(f"the JSON object in the LLM reply is over a limit: {exc.message}", exc.path) from None
        except json.JSONDecodeError as exc:
            if not first_error and candidate.startswith("{"):
                first_error = f"; the first {{...}} fails at its line {exc.lineno}, column {exc.colno}: {exc.msg}"
            continue
        if isinstance(value, dict):
            return value
    preview = " ".join(text.split())
    preview = preview[:120] + ("..." if len(preview) > 120 else "")
    raise ReplyError(f"no JSON object found in the LLM reply ({len(text):,} chars): {preview!r}{first_error}")

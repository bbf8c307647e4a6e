"""A real, scripted OpenAI-compatible HTTP server for tests (stdlib only).

Tests drive the real ``openai`` client over real HTTP against it::

    with ScriptedOpenAIServer(["hello", {"status": 429, "headers": {"Retry-After": "1"}}]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")
        ...
        assert server.requests[0]["messages"] == [...]

Each ``POST /v1/chat/completions`` takes the next scripted item:

* ``str``: the assistant's content, returned as a ``chat.completion`` whose usage counts words;
* ``dict``: ``{"status": 429, "body": {...}, "headers": {...}}`` sends that status/body/headers
  (a 200 without a body sends ``"content"``, default ``"ok"``, as a completion);
  ``"delay_s"`` sleeps first (to trigger client timeouts);
* ``callable(request_json) -> str | dict``: computed from the request, then handled as above.

An empty queue answers 500 with a clear error. ``GET /v1/models`` lists one model.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Item = str | dict | Callable[[dict], str | dict]

MODEL_ID = "scripted-model"


def _words(value: Any) -> int:
    """Word count of a message content (a string or a list of text parts)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(part.get("text", "")) for part in value if isinstance(part, dict))
    return 0


def completion(content: str, request: dict, *, finish_reason: str = "stop") -> dict:
    """A well-formed ``chat.completion`` body answering ``request`` with ``content``."""
    prompt_tokens = sum(_words(m.get("content")) for m in request.get("messages", []) if isinstance(m, dict))
    completion_tokens = len(content.split())
    return {
        "id": f"chatcmpl-scripted-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", MODEL_ID),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, *, status: int) -> dict:
    kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
        payload = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(str(name), str(value))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. it timed out while we were delaying)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send(
                200,
                {
                    "object": "list",
                    "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "starling-tests"}],
                },
            )
        else:
            self._send(404, error_body(f"no route GET {self.path}", status=404))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, error_body(f"no route POST {self.path}", status=404))
            return
        try:
            request = json.loads(raw or b"{}")
        except ValueError as exc:
            self._send(400, error_body(f"request body is not JSON: {exc}", status=400))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        index, item = self.server.owner._take(request, headers)
        if item is None:
            self._send(
                500,
                error_body(
                    f"ScriptedOpenAIServer: response queue is empty (request #{index + 1} had no scripted reply)",
                    status=500,
                ),
            )
            return
        try:
            if callable(item):
                item = item(request)
            self._answer(item, request)
        except Exception as exc:  # a broken script must fail loudly, not hang the client
            self._send(500, error_body(f"ScriptedOpenAIServer: script item failed: {exc!r}", status=500))

    def _answer(self, item: Any, request: dict) -> None:
        if isinstance(item, str):
            self._send(200, completion(item, request))
            return
        if not isinstance(item, dict):
            raise TypeError(f"scripted item must be str, dict or callable, got {type(item).__name__}")
        delay = float(item.get("delay_s", 0) or 0)
        if delay > 0 and self.server.owner._stopped.wait(delay):
            return  # server shutting down: drop the reply
        status = int(item.get("status", 200))
        body = item.get("body")
        if body is None:
            if status == 200:
                body = completion(
                    str(item.get("content", "ok")), request, finish_reason=item.get("finish_reason", "stop")
                )
            else:
                body = error_body(f"scripted error {status}", status=status)
        self._send(status, body, item.get("headers"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # don't wait for handlers still sleeping on a delay
    owner: ScriptedOpenAIServer


class ScriptedOpenAIServer:
    """A local OpenAI-compatible server answering from a scripted queue (see module doc)."""

    def __init__(self, responses: Iterable[Item] = ()) -> None:
        self._queue: deque[Item] = deque(responses)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []  # per request, names lower-cased
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- script ---------------------------------------------------------------------------

    def push(self, *items: Item) -> None:
        """Append replies to the script."""
        with self._lock:
            self._queue.extend(items)

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._queue)

    def _take(self, request: dict, headers: dict[str, str]) -> tuple[int, Item | None]:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            return len(self.requests) - 1, (self._queue.popleft() if self._queue else None)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedOpenAIServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

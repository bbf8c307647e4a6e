"""The LLM client over real HTTP: the real ``openai`` client against a local scripted server."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from agents.llm import LLMAgent
from starling_env.llm import (
    DEFAULT_TIMEOUT_S,
    TIMEOUT_ENV,
    ChatResult,
    LLMClient,
    LLMConfig,
    LLMError,
    Usage,
    extract_json,
)
from tests.openai_server import ScriptedOpenAIServer

FAKE_KEY = "sk-test-STARLING-fake-key-0123456789"
MESSAGES = [{"role": "system", "content": "You write games."}, {"role": "user", "content": "Make a tiny game"}]
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


@pytest.fixture(autouse=True)
def fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


def make_client(server: ScriptedOpenAIServer, tmp_path, **overrides) -> tuple[LLMClient, list[float]]:
    """A client for ``server`` with an instant, recording sleep."""
    options = {
        "model": "scripted-model",
        "base_url": server.base_url,
        "cache_dir": tmp_path / "cache",
        "timeout_s": 2.0,
        "max_retries": 3,
        "backoff_s": 0.25,
        **overrides,
    }
    client = LLMClient(LLMConfig(**options))
    slept: list[float] = []
    client._sleep = slept.append
    return client, slept


def test_normal_reply_and_token_accounting(server, tmp_path):
    server.push("a small game about boiling water")
    client, slept = make_client(server, tmp_path)
    result = client.chat(MESSAGES)
    assert result == ChatResult(
        text="a small game about boiling water",
        prompt_tokens=7,
        completion_tokens=6,
        cached=False,
        finish_reason="stop",
    )
    sent = server.requests[0]
    assert sent["model"] == "scripted-model" and sent["messages"] == MESSAGES
    assert sent["temperature"] == 0.7 and sent["max_tokens"] == 4096
    assert "response_format" not in sent and "seed" not in sent
    assert server.headers[0]["authorization"] == f"Bearer {FAKE_KEY}"  # the key comes from the env var
    assert client.usage.as_dict() == {
        "requests": 1,
        "cache_hits": 0,
        "prompt_tokens": 7,
        "completion_tokens": 6,
        "retries": 0,
        "total_tokens": 13,
    }
    assert slept == []


def test_placeholder_key_when_env_unset(server, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    server.push("hi")
    client, _ = make_client(server, tmp_path, seed=7)
    client.chat(MESSAGES)
    assert server.headers[0]["authorization"] == "Bearer not-needed"
    assert server.requests[0]["seed"] == 7


def test_cache_hit_sends_no_request_and_survives_new_client(server, tmp_path):
    server.push("cached answer")
    client, _ = make_client(server, tmp_path)
    first = client.chat(MESSAGES)
    second = client.chat(MESSAGES)
    assert len(server.requests) == 1
    assert second.cached and not first.cached
    assert (second.text, second.prompt_tokens, second.completion_tokens) == ("cached answer", 7, 2)
    assert client.usage.requests == 1 and client.usage.cache_hits == 1 and client.usage.total_tokens == 9

    fresh, _ = make_client(server, tmp_path)
    third = fresh.chat(MESSAGES)
    assert third.cached and third.text == "cached answer" and len(server.requests) == 1
    assert fresh.usage.as_dict()["requests"] == 0 and fresh.usage.cache_hits == 1
    files = list((tmp_path / "cache").iterdir())
    assert [f.name for f in files] == [f"{client.cache_key(MESSAGES)}.json"]  # no temp files left

    # anything that changes the reply changes the key
    server.push("other")
    assert not client.chat(MESSAGES, json_mode=True).cached
    assert client.cache_key(MESSAGES) != client.cache_key(MESSAGES, json_schema=SCHEMA)


def test_cache_disabled(server, tmp_path):
    server.push("one", "two")
    client, _ = make_client(server, tmp_path, cache_dir=None)
    assert [client.chat(MESSAGES).text for _ in range(2)] == ["one", "two"]


def test_429_retried_honouring_retry_after(server, tmp_path):
    server.push(
        {"status": 429, "body": {"error": {"message": "slow down"}}, "headers": {"Retry-After": "2"}}, "after the limit"
    )
    client, slept = make_client(server, tmp_path)
    assert client.chat(MESSAGES).text == "after the limit"
    assert slept == [2.0] and client.usage.retries == 1 and client.usage.requests == 1
    assert len(server.requests) == 2


def test_500_retried_with_exponential_backoff(server, tmp_path):
    server.push({"status": 500}, {"status": 503}, "finally")
    client, slept = make_client(server, tmp_path)
    assert client.chat(MESSAGES).text == "finally"
    assert slept == [0.25, 0.5] and client.usage.retries == 2


def test_timeout_retried(server, tmp_path):
    server.push({"delay_s": 3, "content": "too late"}, "in time")
    client, slept = make_client(server, tmp_path, timeout_s=0.5)
    started = time.monotonic()
    assert client.chat(MESSAGES).text == "in time"
    assert time.monotonic() - started < 2.5
    assert client.usage.retries == 1 and len(slept) == 1


def test_retries_exhausted_raise_without_leaking_key(server, tmp_path):
    server.push("fine")
    client, _ = make_client(server, tmp_path)
    client.chat([{"role": "user", "content": "warm the cache"}])
    server.push(*[{"status": 500, "body": {"error": {"message": "overloaded"}}}] * 4)
    with pytest.raises(LLMError) as caught:
        client.chat(MESSAGES)
    message = str(caught.value)
    assert "500" in message and "overloaded" in message and "4 attempts" in message
    assert client.usage.retries == 3 and len(server.requests) == 5
    for text in (message, repr(caught.value), repr(client), str(client), repr(client.config)):
        assert FAKE_KEY not in text
    for path in (tmp_path / "cache").iterdir():
        assert FAKE_KEY not in path.read_text()


def test_key_echoed_by_server_is_scrubbed(server, tmp_path):
    server.push({"status": 401, "body": {"error": {"message": f"Incorrect API key provided: {FAKE_KEY}"}}})
    client, _ = make_client(server, tmp_path)
    with pytest.raises(LLMError, match="401") as caught:
        client.chat(MESSAGES)
    assert FAKE_KEY not in str(caught.value) and "Incorrect API key" in str(caught.value)


def test_400_is_not_retried(server, tmp_path):
    server.push({"status": 400, "body": {"error": {"message": "messages must not be empty"}}}, "unused")
    client, slept = make_client(server, tmp_path)
    with pytest.raises(LLMError, match=r"HTTP 400: messages must not be empty"):
        client.chat(MESSAGES)
    assert len(server.requests) == 1 and slept == [] and client.usage.retries == 0
    assert server.pending == 1


def test_json_schema_falls_back_to_json_object_and_remembers(server, tmp_path):
    server.push(
        {"status": 400, "body": {"error": {"message": "response_format json_schema not supported"}}},
        '{"title": "Boil"}',
        '{"title": "Again"}',
    )
    client, slept = make_client(server, tmp_path)
    result = client.chat(MESSAGES, json_schema=SCHEMA)
    assert extract_json(result.text) == {"title": "Boil"}
    assert server.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "GameSpec", "schema": SCHEMA},
    }
    assert server.requests[1]["response_format"] == {"type": "json_object"}
    assert client.usage.retries == 0 and slept == []
    # remembered: the next structured call goes straight to json_object
    client.chat([{"role": "user", "content": "another"}], json_schema=SCHEMA)
    assert len(server.requests) == 3 and server.requests[2]["response_format"] == {"type": "json_object"}


def test_the_schema_is_sent_once_in_the_request_or_else_in_the_system_prompt(server, tmp_path):
    server.push('{"title": "A"}', {"status": 400, "body": {"error": {"message": "json_schema not supported"}}})
    server.push('{"title": "B"}')
    client, _ = make_client(server, tmp_path)
    client.chat(MESSAGES, json_schema=SCHEMA)
    assert server.requests[0]["messages"] == MESSAGES  # the schema travels as response_format only
    client.chat([{"role": "user", "content": "no system prompt"}], json_schema=SCHEMA)
    fallback = server.requests[2]
    assert fallback["response_format"] == {"type": "json_object"}
    system = fallback["messages"][0]
    assert system["role"] == "system" and json.dumps(SCHEMA, separators=(",", ":")) in system["content"]
    assert fallback["messages"][1:] == [{"role": "user", "content": "no system prompt"}]


def test_timeout_from_the_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    assert LLMConfig(model="m").timeout_s == 0.5
    server.push({"delay_s": 3, "content": "too late"})
    client, _ = make_client(server, tmp_path, max_retries=0, timeout_s=LLMConfig(model="m").timeout_s)
    started = time.monotonic()
    with pytest.raises(LLMError, match="1 attempts"):
        client.chat(MESSAGES)
    assert time.monotonic() - started < 2.5
    monkeypatch.setenv(TIMEOUT_ENV, "7.5")  # the LLM policy's client reads it too, unless told otherwise
    assert LLMAgent(model="m", base_url=server.base_url).client.config.timeout_s == 7.5
    assert LLMAgent(model="m", base_url=server.base_url, timeout_s=3).client.config.timeout_s == 3
    monkeypatch.delenv(TIMEOUT_ENV)
    assert LLMConfig(model="m").timeout_s == DEFAULT_TIMEOUT_S
    for bad in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv(TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match="seconds"):
            LLMConfig(model="m")


def test_fallback_to_no_response_format(server, tmp_path):
    rejection = {"status": 400, "body": {"error": {"message": "response_format is not supported by this model"}}}
    server.push(rejection, rejection, '{"title": "Plain"}', '{"title": "Mode"}')
    client, _ = make_client(server, tmp_path)
    assert extract_json(client.chat(MESSAGES, json_schema=SCHEMA).text) == {"title": "Plain"}
    assert [r.get("response_format", {}).get("type") for r in server.requests] == ["json_schema", "json_object", None]
    # json_mode on the same client also skips the unsupported response_format
    assert extract_json(client.chat(MESSAGES, json_mode=True).text) == {"title": "Mode"}
    assert "response_format" not in server.requests[3] and server.pending == 0


def test_json_mode_uses_json_object(server, tmp_path):
    server.push('{"ok": true}')
    client, _ = make_client(server, tmp_path)
    assert extract_json(client.chat(MESSAGES, json_mode=True).text) == {"ok": True}
    assert server.requests[0]["response_format"] == {"type": "json_object"}


def test_callable_script_and_models_endpoint(server, tmp_path):
    server.push(lambda request: f"you said {request['messages'][-1]['content']}")
    client, _ = make_client(server, tmp_path)
    assert client.chat(MESSAGES).text == "you said Make a tiny game"
    models = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0).models.list()
    assert [m.id for m in models.data] == ["scripted-model"]


def test_usage_add():
    total = Usage(requests=1, prompt_tokens=3).add(Usage(requests=2, completion_tokens=4, retries=1))
    assert total.as_dict() == {
        "requests": 3,
        "cache_hits": 0,
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "retries": 1,
        "total_tokens": 7,
    }


def test_config_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STARLING_CACHE", str(tmp_path / "c"))
    assert LLMConfig(model="m").cache_dir == tmp_path / "c"
    monkeypatch.delenv("STARLING_CACHE")
    assert str(LLMConfig(model="m").cache_dir).endswith(".cache/starling/llm")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n{"a": [1, 2]}\n', {"a": [1, 2]}),
        ('Here you go:\n```json\n{"a": {"b": 2}}\n```\nEnjoy!', {"a": {"b": 2}}),
        ('```\n{"a": 3}\n```', {"a": 3}),
        (
            'Sure! The spec is {"title": "Boil", "rooms": [{"name": "kitchen"}]} as requested.',
            {"title": "Boil", "rooms": [{"name": "kitchen"}]},
        ),
        (
            'note {not json} then {"text": "a } brace and a \\" quote {", "n": 1} end',
            {"text": 'a } brace and a " quote {', "n": 1},
        ),
    ],
)
def test_extract_json(text, expected):
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", "{broken: true", "[1, 2, 3]", '```json\n{"a": }\n```'])
def test_extract_json_raises(text):
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json(text)


def test_extract_json_large_reply_is_fast():
    spec = {"rooms": [{"name": f"room {i}", "exits": {"north": i}} for i in range(2000)]}
    started = time.monotonic()
    assert extract_json("The game:\n" + json.dumps(spec) + "\nDone.") == spec
    assert time.monotonic() - started < 1.0


def test_thread_safe_usage_from_worker_threads(server, tmp_path):
    server.push(*[lambda request: f"reply to {request['messages'][0]['content']}"] * 16)
    client, _ = make_client(server, tmp_path)
    prompts = [[{"role": "user", "content": f"prompt{i}"}] for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(client.chat, prompts))
    assert [r.text for r in texts] == [f"reply to prompt{i}" for i in range(16)]
    assert client.usage.requests == 16 and client.usage.prompt_tokens == 16
    assert len(list((tmp_path / "cache").glob("*.json"))) == 16

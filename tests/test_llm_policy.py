"""The API LLM policy against a real local OpenAI-compatible server, through the real openai client."""

from __future__ import annotations

import json
import re
import subprocess

import gymnasium as gym
import pytest
from starling_agents import load_agent, run_episode
from starling_agents.llm import Prompter, match_command, parse_command

import starling_env  # noqa: F401  (registers the benchmark ids)
from starling_env.llm import LLMError
from tests.openai_server import ScriptedOpenAIServer

from .conftest import CLI

ENV_ID = "starling/boil-water-e4b0ab7-v1"  # one room, 5-command walkthrough, 4 points
WALKTHROUGH = [
    "open cupboard",
    "take casserole from cupboard",
    "fill casserole with water",
    "switch on stove",
    "boil water in casserole",
]


def admissible_in(request: dict) -> list[str]:
    """The admissible commands listed in the prompt the server received."""
    user = request["messages"][-1]["content"]
    return re.findall(r"^- (.+)$", user, re.MULTILINE)


def agent_for(server: ScriptedOpenAIServer, tmp_path, **options):
    return load_agent(
        "llm",
        model="scripted-model",
        base_url=server.base_url,
        cache_dir=str(tmp_path / "cache"),
        timeout_s=1.0,
        max_retries=2,
        backoff_s=0.05,
        **options,
    )


def test_parse_and_match_replies():
    assert parse_command("open cupboard") == "open cupboard"
    assert parse_command("  \n> `Open the cupboard.`\nbecause I want to") == "Open the cupboard"
    assert parse_command("Thought: the pot is inside.\nAction: open cupboard", "react") == "open cupboard"
    assert parse_command("Thought: no idea what to do", "react") is None
    assert parse_command("") is None and parse_command("x" * 500) is None
    commands = ["open cupboard", "switch on stove", "take casserole from cupboard"]
    assert match_command("OPEN CUPBOARD", commands) == ("open cupboard", "exact")
    assert match_command("open the cupboard", commands) == ("open cupboard", "fuzzy")
    assert match_command("switch the stove on", commands)[1] in ("fuzzy", "invalid")
    assert match_command("dance wildly", commands) == (None, "invalid")


def test_prompt_stays_within_its_budget():
    prompter = Prompter(history=50, max_observation_chars=300, max_prompt_chars=2000)
    for k in range(40):
        prompter.record("A long room description. " * 30, f"command {k}")
    messages = prompter.messages("Here.", {"objective": "Win.", "admissible_commands": [f"c{i}" for i in range(200)]})
    user = messages[1]["content"]
    assert sum(len(m["content"]) for m in messages) <= 2000
    assert "command 39" in user and "command 0\n" not in user  # the newest turns are kept
    assert prompter.dropped_for_budget > 0
    assert "more not shown" in user  # 200 commands, 80 listed


def test_llm_agent_wins_with_well_formed_and_sloppy_replies(tmp_path):
    replies = [
        "open cupboard",
        "> Take the casserole from the cupboard.",
        "`fill casserole with water`",
        "Switch on stove",
        "boil water in casserole",
    ]
    with ScriptedOpenAIServer(replies) as server:
        agent = agent_for(server, tmp_path)
        env = gym.make(ENV_ID, max_episode_steps=10)
        record = run_episode(agent, env, seed=0)
        env.close()
        requests = list(server.requests)
    assert record.won and record.score == record.max_score == 4 and record.steps == 5
    assert record.agent_stats["exact"] == 4 and record.agent_stats["fuzzy"] == 1
    assert record.agent_stats.get("fallbacks", 0) == 0
    assert record.tokens > 0 and record.tokens == agent.client.usage.total_tokens
    assert record.agent == "llm" and record.invalid_commands == 0
    # the prompt carries the objective, the admissible commands and (from turn 2) the previous turn
    assert "Find the pot" in requests[0]["messages"][0]["content"]
    assert "open cupboard" in admissible_in(requests[0])
    assert "> open cupboard" in requests[1]["messages"][-1]["content"]


def test_bad_replies_rate_limits_and_timeouts_are_counted_not_fatal(tmp_path):
    def valid(request: dict) -> str:  # whatever the fallbacks did, name a command admissible now
        return "Action: " + admissible_in(request)[0]

    def sloppy_and_cut_off(request: dict) -> dict:
        return {"content": f"Thought: hmm\nAction: the {admissible_in(request)[0]}", "finish_reason": "length"}

    script = [
        "dance wildly",  # invalid
        "",  # unparseable
        {"status": 429, "headers": {"Retry-After": "0"}},
        valid,  # rate-limited, then answered
        {"delay_s": 3.0, "content": "look"},
        valid,  # timed out, then answered
        "Thought: " + "very long thinking " * 2000,  # over-long, no action line
        sloppy_and_cut_off,  # fuzzy
    ]
    with ScriptedOpenAIServer(script) as server:
        agent = agent_for(server, tmp_path, mode="react", seed=3)
        env = gym.make(ENV_ID, max_episode_steps=6)
        record = run_episode(agent, env, seed=0)
        env.close()
        assert server.pending == 0
    stats = record.agent_stats
    assert record.steps == 6 and stats["calls"] == 6
    assert stats["invalid"] == 1 and stats["unparseable"] == 2 and stats["fallbacks"] == 3
    assert stats["exact"] == 2 and stats["fuzzy"] == 1 and stats["truncated_replies"] == 1
    assert agent.client.usage.retries == 2
    assert all(step.command for step in record.transcript[1:])  # every fallback sent a real command


def test_a_server_that_never_answers_raises_a_clear_error(tmp_path):
    with ScriptedOpenAIServer([{"status": 500}] * 3) as server:
        agent = agent_for(server, tmp_path)
        env = gym.make(ENV_ID, max_episode_steps=3)
        with pytest.raises(LLMError, match="scripted-model"):
            run_episode(agent, env, seed=0)
        env.close()


def test_missing_key_without_a_server_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        load_agent("llm", model="gpt-4o-mini")


def test_the_shared_cache_replays_an_episode_without_requests(tmp_path):
    def first_admissible(request: dict) -> str:
        return admissible_in(request)[0]

    with ScriptedOpenAIServer([first_admissible] * 4) as server:
        first = run_episode(agent_for(server, tmp_path), gym.make(ENV_ID, max_episode_steps=4), seed=1)
        assert len(server.requests) == 4
        again = run_episode(agent_for(server, tmp_path), gym.make(ENV_ID, max_episode_steps=4), seed=1)
        assert len(server.requests) == 4  # all four answers came from the cache
    assert [s.command for s in first.transcript] == [s.command for s in again.transcript]
    assert again.tokens == 0


def test_starling_evaluate_runs_the_llm_agent(tmp_path):
    with ScriptedOpenAIServer(
        [lambda request: WALKTHROUGH[len(re.findall("^> ", request["messages"][-1]["content"], re.M))]] * 5
    ) as server:
        cli = [
            *CLI,
            "evaluate",
            "--agent",
            "llm",
            "--model",
            "scripted-model",
            "--base-url",
            server.base_url,
            "--env",
            ENV_ID,
            "--episodes",
            "1",
            "--workers",
            "1",
            "--option",
            f"cache_dir={tmp_path / 'cache'}",
            "--out",
            str(tmp_path / "run"),
        ]
        result = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (line,) = (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["won"] and record["agent"] == "llm" and record["agent_stats"]["exact"] == 5
    assert "1.000" in result.stdout

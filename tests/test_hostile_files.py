"""Hostile files and replies: no spec file, LLM reply or torn record kills a command or leaks a secret.

Bad specs get a clean, path-naming message from ``starling validate`` and ``starling build``; hostile LLM
replies (huge numbers, 20,000 braces, an echoed API key) fail fast with a written report and nothing secret
on disk; a torn last line of a JSON-lines file is repaired before the next append.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from starling_env.builder.verify import Limits
from starling_env.collection import shipped_collection
from starling_env.files import JSONLimitError, append_jsonl, loads_untrusted, scrub_secrets
from starling_env.generate.pipeline import Generator, Task
from starling_env.lab.evaluate import EvalConfig, evaluate, split_env_ids
from starling_env.llm import ReplyError, extract_json
from starling_env.records import read_records
from starling_env.spec import GameSpec, SpecError

from .conftest import BOIL, CLI
from .openai_server import ScriptedOpenAIServer

BASE = json.loads(BOIL.read_text())
HUGE_NUMBER = "9" * 100_000


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def edited(edit: Callable[[dict], object]) -> str:
    data = copy.deepcopy(BASE)
    edit(data)
    return json.dumps(data)


def _unscript(d: dict) -> None:
    d["actions"][0]["command"] = "unscript {vessel} with water"
    d["walkthrough"][2] = "unscript pot with water"


# name -> (file bytes, the JSON path the message must name, a word of the message)
BAD_SPECS: dict[str, tuple[bytes, str, str]] = {
    "deep-nesting": (b'{"spec_version": "1.0", "rooms": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "$", "nested"),
    "huge-number": (
        BOIL.read_text().replace('"points": 2', f'"points": {HUGE_NUMBER}').encode(),
        "$.goals[2].points",
        "number",
    ),
    "utf-16": (BOIL.read_text().encode("utf-16"), "$", "UTF-8"),
    "duplicate-ids": (
        edited(
            lambda d: d["objects"].append({"id": "pot", "name": "kettle", "kind": "portable", "location": "kitchen"})
        ).encode(),
        "$.objects[4].id",
        "already the id",
    ),
    "1000-newlines": (
        edited(lambda d: d["objects"][0].__setitem__("description", "A cupboard." + "\n" * 989)).encode(),
        "$.objects[0].description",
        "line breaks",
    ),
    "5000-command-walkthrough": (
        edited(lambda d: d.__setitem__("walkthrough", ["look"] * 5000 + d["walkthrough"])).encode(),
        "$.walkthrough",
        "at most 200 items after validation, not 5005: shorten it",
    ),
    "verb-unscript": (edited(_unscript).encode(), "$.actions[0].command", "meta-command 'unscript'"),
}


@pytest.fixture(scope="module")
def bad_spec_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad_specs")
    files = {}
    for name, (data, _, _) in BAD_SPECS.items():
        files[name] = folder / f"{name}.json"
        files[name].write_bytes(data)
    return files


# -- specs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_SPECS)
def test_validate_gives_a_clean_message_naming_the_path(bad_spec_files, name):
    _, path, word = BAD_SPECS[name]
    result = cli("validate", str(bad_spec_files[name]))
    output = " ".join((result.stdout + result.stderr).split())  # rich wraps long lines
    assert result.returncode == 1, output
    assert "Traceback" not in output and f"{path}:" in output and word in output, output


@pytest.mark.parametrize("name", BAD_SPECS)
def test_load_raises_only_spec_errors(bad_spec_files, name):
    _, path, _ = BAD_SPECS[name]
    with pytest.raises(SpecError) as caught:
        GameSpec.load(bad_spec_files[name])
    assert path in [p for p, _ in caught.value.errors]


def test_build_rejects_bad_specs_with_their_own_kind_not_an_internal_error(bad_spec_files, tmp_path):
    files = [str(p) for name, p in bad_spec_files.items() if name != "utf-16"]  # see the next test
    result = cli("build", *files, "--out", str(tmp_path / "games"), "--workers", "2")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1 and "Traceback" not in output and "internal_error" not in output, output
    assert output.count("FAIL spec: FAILED [schema]") == len(files), output
    for name in bad_spec_files:
        if name != "utf-16":
            assert BAD_SPECS[name][1] in output


def test_build_rejects_a_utf16_spec_cleanly(bad_spec_files, tmp_path):
    result = cli("build", str(bad_spec_files["utf-16"]), "--out", str(tmp_path / "games"))
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output and "UTF-8" in output


def test_the_limits_sit_just_inside_what_builds():
    """Texts and walkthroughs at the limit validate; one past it fails with a message naming the fix."""
    at_limit = "A cupboard." + "\n" * 40  # 40 line breaks: quoted as 491 characters
    GameSpec.parse_text(edited(lambda d: d["objects"][0].__setitem__("description", at_limit)))
    with pytest.raises(SpecError, match="41 line breaks; the limit is 40"):
        GameSpec.parse_text(edited(lambda d: d["objects"][0].__setitem__("description", at_limit + "\n")))

    def success(n: int) -> Callable[[dict], object]:  # the fill action with a one-letter slot, saying {v} n times
        def edit(d: dict) -> None:
            d["actions"][0] = json.loads(json.dumps(d["actions"][0]).replace("vessel", "v"))
            d["actions"][0]["success"] = "Done." + " {v}" * n

        return edit

    GameSpec.parse_text(edited(success(200)))  # 805 characters, quoted as at most 2,805
    with pytest.raises(SpecError, match="2,931 characters in the game's source"):
        GameSpec.parse_text(edited(success(209)))
    long_walk = ["look"] * 190 + BASE["walkthrough"]  # walkthroughs are checked on the spec alone
    GameSpec.parse_text(edited(lambda d: d.__setitem__("walkthrough", long_walk)))
    words = ["examine the large wooden cupboard in the corner of the kitchen near the sink"] * 40
    with pytest.raises(SpecError, match="joined by ' / '"):
        GameSpec.parse_text(edited(lambda d: d.__setitem__("walkthrough", words)))
    for verb in ("unscript", "recording", "noscript", "restarting"):
        with pytest.raises(SpecError, match="meta-command"):
            GameSpec.parse_text(edited(lambda d, v=verb: d["actions"][0].__setitem__("command", f"{v} {{vessel}}")))


def test_action_names_may_repeat_object_ids_but_not_each_other():
    """Built and verified (measured): an action named like an object builds; two actions of one name do not."""
    GameSpec.parse_text(edited(lambda d: d["actions"][0].__setitem__("name", "pot")))
    with pytest.raises(
        SpecError, match=r"\$\.actions\[1\]\.name: 'boil' is already the action name of \$\.actions\[0\]"
    ):
        GameSpec.parse_text(edited(lambda d: d["actions"][0].__setitem__("name", "boil")))


def test_shipped_games_and_seed_examples_still_validate():
    root = Path(__file__).resolve().parents[1]
    files = sorted(root.glob("generated_games/*/*/spec.json")) + sorted(root.glob("game_seeds/*/example*.json"))
    assert len(files) > 10
    for path in files:
        GameSpec.load(path)


# -- untrusted JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "match"),
    [
        ('{"a": [1, ' + HUGE_NUMBER + "]}", "$.a[1]", "number of 100,000"),
        ('{"a": 1e999}', "$.a", "too large"),
        ('{"a": NaN}', "$.a", "NaN"),
        ("[" * 50 + "]" * 50, "$" + "[0]" * 32, "nested more than 32"),
        ("[" * 200_000 + "]" * 200_000, "$", "nested more than 32"),
        ('{"x": "' + "y" * 1_000_001 + '"}', "$", "characters long"),
    ],
)
def test_untrusted_json_fails_fast_with_a_path(text, path, match):
    started = time.perf_counter()
    with pytest.raises(JSONLimitError, match=match) as caught:
        loads_untrusted(text)
    assert caught.value.path == path and time.perf_counter() - started < 0.5


# -- LLM replies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ("{" * 20_000, "no JSON object"),
        ("{" * 20_000 + "}" * 20_000, "no JSON object"),
        ('{"a": "' + '{"' * 20_000, "no JSON object"),
        ('Here: {"a": [' + "[" * 20_000 + "]" * 20_000 + "]}", "over a limit"),
        ('{"id": "x", "points": ' + "9" * 5000 + "}", "over a limit"),
        ("```" * 20_000, "no JSON object"),
        ("x" * 200_001, "the limit is 200,000"),
    ],
    ids=["open-braces", "balanced-braces", "open-strings", "deep", "huge-number", "fences", "too-long"],
)
def test_hostile_replies_are_rejected_in_linear_time(reply, match):
    started = time.perf_counter()
    with pytest.raises(ReplyError, match=match):
        extract_json(reply)
    assert time.perf_counter() - started < 0.5


def test_extraction_finds_an_object_after_unclosed_prose_braces():
    assert extract_json('Use {braces like this. Here: {"a": {"b": "}"}} and {"c": 2}') == {"a": {"b": "}"}}


def test_scrubbing_keeps_game_text_and_ids():
    text = "A dented metal pot. boil-water-cook-pasta-make-sandwich-h39bd05 " + "ab12" * 16 + " Supercalifragilistic"
    assert scrub_secrets(text) == text
    for secret in (
        "sk-proj-abcdefghijklmnop1234",
        "Bearer abc.def.ghi-123",
        "AbCdEfGhIjKlMnOpQrStUvWx12",
        "ghp_" + "a1" * 18,
    ):
        assert secret.split()[-1] not in scrub_secrets(f"the key {secret} leaked")
    assert scrub_secrets("mine: local-key-42", ["local-key-42"]) == "mine: [REDACTED]"


def test_hostile_llm_replies_fail_fast_and_no_secret_reaches_the_disk(tmp_path):
    """`starling generate` over a real HTTP server: a 4,400-digit number, 20,000 braces, then a reply that
    echoes the key (bare and as its Authorization header) inside an otherwise good spec."""
    key = "hostile-local-key-0042"  # no known key shape: only the client's own key scrubbing catches it
    out, cache = tmp_path / "games", tmp_path / "cache"
    with ScriptedOpenAIServer() as server:

        def echo(request: dict) -> str:
            auth = server.headers[-1]["authorization"]
            spec = edited(lambda d: d["rooms"][0].__setitem__("description", f"A kitchen. {key} {auth}"))
            return f"Your key is {key} ({auth}). The game:\n{spec}"

        huge = edited(lambda d: d["goals"][0].__setitem__("points", 0)).replace(
            '"points": 0', '"points": ' + "7" * 4400
        )
        server.push(huge, "{" * 20_000, echo)
        started = time.monotonic()
        result = cli(
            *("generate", "--backend", "openai", "--base-url", server.base_url, "--model", "m", "--n", "1"),
            *("--skill", "boil_water", "--max-attempts", "3", "--workers", "1", "--out", str(out)),
            env={"PATH": "", "STARLING_CACHE": str(cache), "OPENAI_API_KEY": key},
        )
        elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output, output
    assert elapsed < 120
    report = json.loads((out / "generation_report.json").read_text())
    (task,) = report["tasks"]
    assert task["status"] == "failed" and task["attempts"] == 3
    first, second, third = (attempt[0] for attempt in task["failures"])
    assert first["kind"] == "invalid_json" and "number of 4,400 characters" in first["message"]
    assert first["path"] == "$.goals[0].points"
    assert second["kind"] == "invalid_json" and "no JSON object" in second["message"]
    assert third["kind"] == "schema" and third["path"] == "$.rooms[0].description"  # "[REDACTED]" has brackets
    written = [p for folder in (out, cache) for p in folder.rglob("*") if p.is_file()]
    assert len(list(cache.glob("*.json"))) == 3 and written
    for path in written:
        data = path.read_bytes()
        assert key.encode() not in data and b"Bearer hostile" not in data, path
    assert key not in output


class _OneText:
    """A backend whose one candidate is a given text (the pipeline's view of any backend)."""

    name = "fixed"

    def __init__(self, text: str):
        self.text = text

    def session(self, task: Task) -> _OneText:
        return self

    def propose(self, attempt: int, feedback: object) -> str:
        return self.text

    def provenance(self) -> dict:
        return {}


@pytest.mark.parametrize("text", ['{"id": "x", "n": ' + HUGE_NUMBER + "}", "[" * 100_000 + "]" * 100_000])
def test_the_pipeline_survives_any_candidate_text(tmp_path, text):
    generator = Generator(_OneText(text), tmp_path, Limits(walks=1, walk_length=5), max_attempts=1)  # type: ignore[arg-type]
    (outcome,) = generator.run([Task(0, ("boil_water",), "easy", "train", 0)])
    assert outcome.status == "failed" and outcome.failures[0][0]["kind"] in ("schema", "invalid_json")
    report = generator.write_report(tmp_path / "generation_report.json", {})
    assert report["counts"]["failed"] == 1 and (tmp_path / "generation_report.json").exists()


# -- JSON lines -------------------------------------------------------------------------------


def test_a_torn_line_is_cut_before_the_next_append(tmp_path):
    path = tmp_path / "log.jsonl"
    append_jsonl(path, ['{"n": 1}', '{"n": 2}'])
    with open(path, "a") as f:
        f.write('{"n": 3, "half')  # a write killed mid-line
    append_jsonl(path, ['{"n": 4}'])
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"n": 1}, {"n": 2}, {"n": 4}]
    with open(path, "a") as f:
        f.write('{"n": 5}')  # whole, only its newline missing: kept
    append_jsonl(path, ['{"n": 6}'])
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 2, 4, 5, 6]
    path.write_text('{"torn')  # a torn first line
    append_jsonl(path, ['{"n": 7}'])
    assert path.read_text() == '{"n": 7}\n'
    with pytest.raises(ValueError, match="newline"):
        append_jsonl(path, ['{"a": 1}\n{"b": 2}'])


@pytest.mark.skipif(not (shipped_collection() / "manifest.json").exists(), reason="the shipped benchmark is not built")
def test_an_evaluation_resumed_after_a_torn_record_counts_every_episode(tmp_path):
    config = EvalConfig(agent="random", env_ids=tuple(split_env_ids("test")[:1]), episodes=2, seed=3, max_steps=5)
    out = tmp_path / "run"
    first = evaluate(config, out)
    episodes = out / "episodes.jsonl"
    lines = episodes.read_text().splitlines()
    episodes.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # killed while writing the second
    assert len(list(read_records(episodes))) == 1
    again = evaluate(config, out)
    assert len(again) == 2
    records = [json.loads(line) for line in episodes.read_text().splitlines()]  # every line parses
    assert len(records) == 2 and {(r["env_id"], r["seed"]) for r in records} == {(r.env_id, r.seed) for r in first}

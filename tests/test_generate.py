"""The generator: offline determinism and variety, and the LLM repair loop over a real HTTP server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from starling_env.builder.failures import Failure, FailureKind
from starling_env.builder.verify import Limits, verify_spec
from starling_env.collection import load_manifest
from starling_env.generate.check import hidden_failures
from starling_env.generate.llm_backend import LLMBackend, start_places, system_prompt
from starling_env.generate.offline import OfflineBackend, candidate_rng, compose, final_room, vary
from starling_env.generate.pipeline import Generator, Task, plan_tasks
from starling_env.generate.seeds import Seeds, load_seeds
from starling_env.llm import LLMClient, LLMConfig
from starling_env.spec import GameSpec
from starling_env.spec import model as spec_model

from .conftest import BOIL, CLI, SEEDS
from .openai_server import ScriptedOpenAIServer

FAST = Limits(walks=2, walk_length=20)


@pytest.fixture(scope="module")
def seeds():
    return load_seeds(SEEDS)


def generate_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "generate", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


@pytest.fixture(scope="module")
def twenty(tmp_path_factory) -> Path:
    """`starling generate --n 20 --backend offline`, as the README says."""
    out = tmp_path_factory.mktemp("generated")
    result = generate_cli(
        "--n", "20", "--backend", "offline", "--out", str(out), "--seed", "7", "--difficulty", "medium"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_twenty_offline_games_verified_across_skills(twenty):
    games = load_manifest(twenty).games
    assert len(games) == 20 and all(g.verification["passed"] for g in games)
    assert len({s for g in games for s in g.skills}) >= 5
    assert len({g.content_hash for g in games}) == 20
    for g in games:
        assert g.provenance["backend"] == "offline" and g.provenance["random_seed"][0] == 7
        assert g.provenance["attempts"] >= 1 and g.provenance["date"] and g.provenance["seed_ideas"]
        assert (twenty / g.id / "game.z8").exists()


def test_rerun_is_resumable_and_rebuilds_nothing(twenty):
    before = (twenty / "manifest.json").read_text()
    result = generate_cli(
        "--n", "20", "--backend", "offline", "--out", str(twenty), "--seed", "7", "--difficulty", "medium"
    )
    assert result.returncode == 0
    report = json.loads((twenty / "generation_report.json").read_text())
    assert report["counts"] == {"published": 0, "existing": 20, "failed": 0, "dropped": 0}
    assert (twenty / "manifest.json").read_text() == before


def test_same_seed_same_games_whatever_the_workers(seeds, tmp_path):
    tasks = plan_tasks(
        seeds,
        skills=None,
        difficulty="hard",
        compose=2,
        count=3,
        split="train",
        seed=11,
        compatible=OfflineBackend.compatible,
    )
    hashes = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        Generator(OfflineBackend(seeds), out, FAST, workers=workers).run(tasks)
        hashes.append([(g.id, g.content_hash) for g in load_manifest(out).games])
    assert hashes[0] == hashes[1] and len(hashes[0]) == 3


def test_different_seeds_give_different_games(seeds):
    def specs(seed: int) -> list[str]:
        tasks = plan_tasks(seeds, skills=None, difficulty="medium", compose=1, count=6, split="train", seed=seed)
        return [
            json.dumps(vary([seeds[s] for s in t.skills], t.difficulty, candidate_rng(seed, t.index, 0))) for t in tasks
        ]

    assert specs(1) == specs(1)
    assert not set(specs(1)) & set(specs(2))


def test_hard_games_compose_skills_and_navigate(seeds):
    spec = vary([seeds["boil_water"], seeds["take_out_trash"]], "hard", candidate_rng(0, 1, 0))
    game = GameSpec.from_data(spec)
    assert game.skills == ["boil_water", "take_out_trash"] and len(game.rooms) >= 5
    assert any(c.startswith("go ") for c in game.walkthrough)
    assert len(game.walkthrough) >= 20


def test_composition_renames_clashing_ids_names_and_commands(seeds):
    a, b = (json.loads(seeds[s].example.to_json()) for s in ("boil_water", "make_tea"))
    merged = compose(a, b, candidate_rng(0, 0, 0))
    spec = GameSpec.from_data(merged)  # unique ids, names and room names, valid references
    templates = [x.command.replace("{", "").split()[0] for x in spec.actions]
    assert "fill" in templates and len(set(c.command for c in spec.actions)) == len(spec.actions)
    assert final_room(merged) in {r.id for r in spec.rooms}


def test_cli_rejects_unknown_skills_and_bad_recipes(tmp_path):
    result = generate_cli("--skill", "juggling", "--out", str(tmp_path))
    assert result.returncode == 2 and "juggling" in result.stderr
    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps(
            {"suite": "x", "batches": [{"name": "a", "count": 1, "seed": 1}, {"name": "b", "count": 1, "seed": 1}]}
        )
    )
    result = generate_cli("--recipe", str(recipe), "--out", str(tmp_path))
    assert result.returncode == 2 and "batch seeds must differ" in result.stderr


def test_recipe_sets_suite_and_splits(tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps(
            {
                "suite": "MINI",
                "version": 2,
                "batches": [
                    {
                        "name": "tr",
                        "skills": ["boil_water"],
                        "difficulty": "easy",
                        "count": 1,
                        "split": "train",
                        "seed": 1,
                    },
                    {
                        "name": "te",
                        "skills": ["make_tea"],
                        "difficulty": "medium",
                        "count": 1,
                        "split": "test",
                        "seed": 2,
                    },
                ],
            }
        )
    )
    result = generate_cli("--recipe", str(recipe), "--out", str(tmp_path / "games"), "--walks", "1")
    assert result.returncode == 0, result.stderr
    manifest = load_manifest(tmp_path / "games")
    assert (manifest.suite, manifest.version) == ("MINI", 2)
    assert sorted((g.split, g.skills[0]) for g in manifest.games) == [("test", "make_tea"), ("train", "boil_water")]


# -- the LLM backend over real HTTP ---------------------------------------------------------------
GOOD = BOIL.read_text()


def variant(**changes) -> str:
    data = json.loads(GOOD)
    for key, value in changes.items():
        data[key] = value
    return json.dumps(data)


def broken(edit) -> str:
    data = json.loads(GOOD)
    edit(data)
    return json.dumps(data)


def llm_generator(server: ScriptedOpenAIServer, out: Path, cache: Path, max_attempts: int = 3) -> Generator:
    client = LLMClient(
        LLMConfig(model="scripted-model", base_url=server.base_url, cache_dir=cache, timeout_s=2, backoff_s=0.01)
    )
    client._sleep = lambda seconds: None
    return Generator(LLMBackend(load_seeds(SEEDS), client), out, FAST, max_attempts=max_attempts)


def one_task(seeds_map) -> list:
    return plan_tasks(seeds_map, skills=["boil_water"], difficulty="easy", compose=1, count=1, split="train", seed=0)


@pytest.mark.parametrize(
    "bad,kind",
    [
        ("Sure! Here is the game: {not json", "invalid_json"),
        (broken(lambda d: d["actions"][0]["requires"].__setitem__(1, "here(tap)")), "schema"),
        (
            broken(
                lambda d: (
                    d["goals"].append({"when": ["state(pot, water) == frozen"]})
                    or d["objects"][1]["states"]["water"]["values"].append("frozen")
                )
            ),
            "unreachable_goal",
        ),
        (broken(lambda d: d["walkthrough"].pop()), "walkthrough_does_not_win"),
    ],
    ids=["malformed", "schema", "does-not-build", "walkthrough"],
)
def test_llm_design_is_repaired_on_a_later_attempt(seeds, tmp_path, bad, kind):
    with ScriptedOpenAIServer([bad, "```json\n" + GOOD + "\n```"]) as server:
        generator = llm_generator(server, tmp_path / "games", tmp_path / "cache")
        (outcome,) = generator.run(one_task(seeds))
        assert outcome.status == "published" and outcome.attempts == 2
        assert outcome.failures[0][0]["kind"] == kind
        repair = server.requests[1]["messages"][-1]["content"]
        assert f"[{kind}]" in repair and server.requests[1]["messages"][-2]["content"] == bad
        assert server.requests[0]["response_format"]["type"] == "json_schema"
    entry = load_manifest(tmp_path / "games").get("boil-water-example")
    assert entry.provenance["model"] == "scripted-model" and entry.provenance["attempts"] == 2
    assert entry.provenance["tokens"]["completion"] > 0


def test_llm_reply_that_never_becomes_valid_publishes_nothing(tmp_path):
    env = {"PATH": "", "STARLING_CACHE": str(tmp_path / "cache"), "OPENAI_API_KEY": "sk-secret-test-key"}
    with ScriptedOpenAIServer(["no json here"] * 3) as server:
        result = generate_cli(
            "--backend",
            "openai",
            "--base-url",
            server.base_url,
            "--model",
            "m",
            "--n",
            "1",
            "--skill",
            "boil_water",
            "--max-attempts",
            "3",
            "--out",
            str(tmp_path / "games"),
            env=env,
        )
    assert result.returncode == 1 and "failed" in result.stdout
    report = json.loads((tmp_path / "games" / "generation_report.json").read_text())
    assert report["counts"]["failed"] == 1 and len(report["tasks"][0]["failures"]) == 3
    assert load_manifest(tmp_path / "games", missing_ok=True).games == []
    assert not [p for p in (tmp_path / "games").iterdir() if p.is_dir() and not p.name.startswith(".")]
    everything = result.stdout + result.stderr + (tmp_path / "games" / "generation_report.json").read_text()
    assert "sk-secret-test-key" not in everything


def test_llm_server_errors_are_retried_and_the_cache_makes_reruns_free(seeds, tmp_path):
    script = [{"status": 429, "headers": {"Retry-After": "0"}}, {"status": 500}, {"delay_s": 5}, GOOD]
    with ScriptedOpenAIServer(script) as server:
        generator = llm_generator(server, tmp_path / "games", tmp_path / "cache")
        (outcome,) = generator.run(one_task(seeds))
        assert outcome.status == "published" and outcome.attempts == 1
        usage = generator.backend.client.usage
        assert usage.retries == 3 and usage.requests == 1
        sent = len(server.requests)
        rerun = llm_generator(server, tmp_path / "games", tmp_path / "cache")
        (again,) = rerun.run(one_task(seeds))
        assert again.status == "existing" and len(server.requests) == sent
        assert rerun.backend.client.usage.cache_hits == 1


def test_review_keeps_or_drops_each_verified_game(tmp_path):
    result = subprocess.run(
        [
            *CLI,
            "generate",
            "--n",
            "2",
            "--skill",
            "boil_water",
            "--skill",
            "make_tea",
            "--review",
            "--workers",
            "1",
            "--walks",
            "1",
            "--out",
            str(tmp_path),
            "--seed",
            "3",
        ],
        input="n\ny\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("keep this game?") == 2 and "walkthrough (" in result.stdout
    report = json.loads((tmp_path / "generation_report.json").read_text())
    assert [t["status"] for t in report["tasks"]] == ["dropped", "published"]
    assert len(load_manifest(tmp_path).games) == 1


# -- seeds: an idea is enough; a bad seed is reported, not fatal; a skills.json beside them ---------------
def seed_folder(root: Path) -> Path:
    """Seeds as a new user writes them: an example-less idea for a skill of the folder's own skills.json."""
    folder = root / "seeds"
    shutil.copytree(SEEDS / "make_tea", folder / "make_tea")
    skills = {"brew_kombucha": "Brew a jar of kombucha.", "feed_axolotl": "Feed the axolotl."}  # not installed
    (folder / "skills.json").write_text(json.dumps(skills))
    files = {
        "brew_kombucha": {"idea": "Sweeten a pot of tea, pour it into a jar with the scoby and seal the jar."},
        "feed_axolotl": {"skill": "feed_axolotl", "idea": "Drop food pellets into the tank.", "example": None},
        "boil_water": {"skill": "boil_water", "idea": "Boil water in a pot.", "example": ""},
        "lost": {"skill": "wash_dishes", "idea": "Wash up.", "example": "missing.json"},
        "alien": {"skill": "juggling", "idea": "Juggle three oranges."},
    }
    for name, data in files.items():
        (folder / name).mkdir()
        (folder / name / "seed.json").write_text(json.dumps(data))
    (folder / "broken").mkdir()
    (folder / "broken" / "seed.json").write_text("{not json")
    return folder


def test_a_seed_needs_only_its_idea_and_a_bad_seed_is_reported(tmp_path):
    seeds = load_seeds(seed_folder(tmp_path))
    assert sorted(seeds) == ["boil_water", "brew_kombucha", "feed_axolotl", "make_tea"]
    assert seeds["brew_kombucha"].example is None and seeds["brew_kombucha"].varies == ()
    assert seeds["feed_axolotl"].example is None and seeds["boil_water"].example is None
    assert seeds["make_tea"].example is not None
    assert {"brew_kombucha", "feed_axolotl", "make_tea"} <= set(seeds.skills)
    problems = sorted(seeds.problems)
    assert len(problems) == 3
    for folder, reason in (("alien", "juggling"), ("broken", "Expecting"), ("lost", "missing.json")):
        (problem,) = [p for p in problems if f"/{folder}/seed.json" in p]
        assert reason in problem


def test_offline_backend_skips_seeds_without_an_example_and_says_so(tmp_path):
    folder = seed_folder(tmp_path)
    backend = OfflineBackend(load_seeds(folder))
    assert sorted(backend.seeds) == ["make_tea"]
    assert "brew_kombucha" in backend.skipped[0] and "--backend openai" in backend.skipped[0]
    result = generate_cli("--seeds", str(folder), "--skill", "brew_kombucha", "--out", str(tmp_path / "games"))
    stderr = " ".join(result.stderr.split())  # as the console wrapped it
    assert result.returncode == 2 and "no seed for skills ['brew_kombucha']" in stderr
    assert "have no example spec" in stderr and "skipped: bad seed" in stderr


def test_every_retry_is_counted(tmp_path):
    class NoCandidate:  # a backend that never manages a candidate: each later attempt is a retry
        name = "none"

        def session(self, task):
            return self

        def propose(self, attempt, feedback):
            return None

        def provenance(self):
            return {}

    retries: list[Task] = []
    generator = Generator(NoCandidate(), tmp_path, FAST, max_attempts=3, workers=2)
    generator.on_retry = lambda task, failures: retries.append(task)
    tasks = [Task(i, ("boil_water",), "easy", "train", 0) for i in range(2)]
    outcomes = generator.run(tasks)
    assert [o.attempts for o in outcomes] == [3, 3] and len(retries) == 4


def test_system_prompt_states_the_checkers_rules_and_skills():
    prompt = system_prompt({"brew_kombucha": "Brew a jar of kombucha."})
    assert f'spec_version "{spec_model.SPEC_VERSION}"' in prompt and "brew_kombucha (Brew a jar of kombucha.)" in prompt
    for word in ("of", "the", "it", "inside"):  # parser words
        assert f" {word}," in prompt
    assert str(spec_model.MAX_TEXT_CHARS) in prompt and str(spec_model.MAX_WALKTHROUGH_COMMANDS) in prompt
    assert "a slot's name must differ from every room, door and object id" in prompt
    places = start_places()  # asked of the validator: where containers may stand follows it
    assert places["container"][0] == "room" and "worn" in places["clothing"] and "worn" not in places["food"]
    assert f"container: {', '.join(places['container'])}" in prompt
    assert '"$defs"' not in prompt  # the schema goes once, with the request


def test_llm_generates_a_new_skill_from_a_seed_without_example(tmp_path):
    seeds = load_seeds(seed_folder(tmp_path))
    assert isinstance(seeds, Seeds) and "brew_kombucha" in seeds.skills
    coffee = variant(id="brew-kombucha-e0000", title="Kombucha", skills=["brew_kombucha"])
    forgot = variant(id="brew-kombucha-e0000", title="Kombucha")  # boil_water only: the requested skill is missing
    with ScriptedOpenAIServer([forgot, coffee]) as server:
        client = LLMClient(
            LLMConfig(model="scripted-model", base_url=server.base_url, cache_dir=None, timeout_s=5, backoff_s=0.01)
        )
        generator = Generator(LLMBackend(seeds, client), tmp_path / "games", FAST, max_attempts=3)
        tasks = plan_tasks(
            seeds, skills=["brew_kombucha"], difficulty="easy", compose=1, count=1, split="train", seed=0
        )
        (outcome,) = generator.run(tasks)
        assert outcome.status == "published" and outcome.attempts == 2, outcome.failures
        assert any(f["path"] == "$.skills" and "brew_kombucha" in f["message"] for f in outcome.failures[0])
        system, design = (m["content"] for m in server.requests[0]["messages"])
        assert "brew_kombucha (Brew a jar of kombucha.)" in system and '"$defs"' not in system
        assert "games of OTHER skills (make_tea" in design and "scoby" in design
        assert server.requests[0]["response_format"]["json_schema"]["schema"]["$defs"]
    (entry,) = load_manifest(tmp_path / "games").games
    assert entry.skills == ["brew_kombucha"] and entry.provenance["skills"] == ["brew_kombucha"]


def test_field_errors_do_not_hide_the_reference_errors(boil_data):
    boil_data["objects"][0]["name"] = "cup of tea"  # field errors ...
    boil_data["actions"][0]["command"] = "take {x}"
    boil_data["skills"] = ["juggling"]
    boil_data["objects"][1]["location"] = "nowhere"  # ... and the reference errors behind them
    boil_data["goals"][0]["when"] = ["state(pot, water) == lukewarm"]
    text = json.dumps(boil_data)
    with pytest.raises(spec_model.SpecError) as caught:
        GameSpec.parse_text(text)
    fields = [Failure(kind=FailureKind.schema, path=p, message=m) for p, m in caught.value.errors]
    assert {f.path for f in fields} == {"$.objects[0].name", "$.actions[0].command", "$.skills"}
    hidden = hidden_failures(text, fields)
    assert {f.path for f in hidden} == {"$.objects[1].location", "$.goals[0].when[0]"}
    assert "nowhere" in hidden[0].message and "lukewarm" in hidden[1].message
    assert hidden_failures(json.dumps(json.loads(BOIL.read_text())), fields) == []


def test_the_builder_reports_unreachable_goals_and_the_walkthrough_together(boil_data, tmp_path):
    boil_data["objects"][1]["states"]["water"]["values"].append("frozen")
    boil_data["goals"].append({"when": ["state(pot, water) == frozen"]})  # no action makes it true
    boil_data["walkthrough"].pop(0)  # and 'take pot from cupboard' cannot be done: the cupboard is closed
    report = verify_spec(json.dumps(boil_data), tmp_path / "game", FAST)
    assert [(f.kind.value, f.path) for f in report.failures] == [
        ("unreachable_goal", "$.goals[3].when[0]"),
        ("walkthrough_invalid", "$.walkthrough[0]"),
    ]


def test_llm_timeout_option_reaches_the_client(tmp_path):
    env = {**os.environ, "STARLING_CACHE": str(tmp_path / "cache")}
    with ScriptedOpenAIServer([{"delay_s": 3, "content": GOOD}, GOOD]) as server:
        result = generate_cli(
            *("--backend", "openai", "--base-url", server.base_url, "--model", "m", "--n", "1"),
            *("--skill", "boil_water", "--llm-timeout", "0.5", "--walks", "1", "--out", str(tmp_path / "games")),
            env=env,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "games" / "generation_report.json").read_text())
    assert report["usage"]["retries"] == 1 and report["usage"]["requests"] == 1  # the slow reply timed out

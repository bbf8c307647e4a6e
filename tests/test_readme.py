"""Every shell command and Python snippet of the README, run the way a user runs it.

Each runs against a non-editable install of the working tree (the ``user_install`` fixture: README command 1's
``python3 -m venv .venv && . .venv/bin/activate && pip install .``), in a fresh empty folder, or in a copy of the
checkout when the block names files of the checkout (``game_seeds/``, ``results/``, ``benchmarks/``) or installs it
(``pip install .``). Commands of one README block run in order in one folder, so a later one sees what an earlier one
made (``starling verify`` after ``starling build``); a failure names the command.

``COMMANDS`` says how each README command is run, and ``SNIPPETS`` each Python snippet; a README command or snippet
missing from them fails ``test_every_readme_example_is_classified``, and so does an entry the README no longer has:

* as written;
* shrunk: only the budget changes (``--steps``, ``--n``, ``--episodes``, ``--max-steps``, the rollout size options
  ``n_steps`` / ``rollout_steps``, a recipe's counts, a snippet's step count), so it runs in seconds;
  ``full_in_slow`` also runs it as written under ``pytest -m slow``;
* with input piped to stdin (``starling play``); with placeholders (``GAME``, ``<game-id>``) replaced by real ids;
* LLM commands: pointed with ``--base-url`` at the local OpenAI-compatible server of ``tests/openai_server.py``,
  with a dummy ``OPENAI_API_KEY``;
* skipped, with the reason (the test command itself, servers, the network); commands that need Java or the
  third-party data skip when it is absent.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from starling_env.generate.recipe import Recipe
from tests.conftest import ROOT, SEEDS, UserInstall
from tests.openai_server import ScriptedOpenAIServer

README = ROOT / "README.md"
CHECKOUT_PATHS = re.compile(r"\b(game_seeds|results|benchmarks)/|pip install \.")  # run inside the checkout


@dataclass(frozen=True)
class How:
    """How one README command or snippet is run: ``subs`` are (README text, what runs instead) pairs; ``fixed``
    ones apply to the as-written run of ``full_in_slow`` too."""

    kind: str
    subs: tuple[tuple[str, str], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    stdin: str | None = None
    before: tuple[str, ...] = ()  # setup commands, in the same folder
    creates: str | None = None  # a path the command must leave behind
    needs: tuple[str, ...] = ()  # "java", "data": skipped where absent
    skip: str | None = None
    slow: bool = False
    full_in_slow: bool = False  # the default run is shrunk; -m slow runs it as written too

    def command(self, text: str, values: dict[str, str], full: bool = False) -> str:
        for old, new in self.fixed if full else self.fixed + self.subs:
            text = text.replace(old, new.format(**values))
        return text


AS_WRITTEN = How("as written")


def shrunk(*subs: tuple[str, str], **kw: Any) -> How:
    return How("shrunk", subs, **kw)


def skip(reason: str) -> How:
    return How("skip", skip=reason)


def llm(*subs: tuple[str, str], **kw: Any) -> How:
    """Against the local scripted server ({base_url}); the budget flags it adds are the only other change."""
    return How("llm (local server)", subs, **kw)


PLAYED = "look\ncommands\nscore\nquit\n"
LLM_BUDGET = " --episodes 1 --max-steps 2 --base-url {base_url}"
DOWNLOADS = "downloads: the tests have no network"
EPISODES_1 = ("--agent random", "--agent random --episodes 1")  # 15 episodes instead of 45
TRANSFER_BUDGET = "--pretrain-steps 20 --steps 20 --seeds 1 --episodes 1 --max-steps 5"

COMMANDS: dict[str, How] = {
    # -- install and main job: the install part is the user_install fixture (`pip install .` of the working tree)
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && starling evaluate --agent random": How(
        "shrunk (install = the user_install fixture)",
        (EPISODES_1,),
        fixed=(("python3 -m venv .venv && . .venv/bin/activate && pip install . && ", ""),),
        creates="runs/eval/random-test/episodes.jsonl",
        full_in_slow=True,
    ),
    "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e "
    "'.[dev,agents,targets]' && ruff check . && ruff format --check . && mypy && pytest -n auto": skip(
        "the test command itself (.ci/run runs it in CI)"
    ),
    # -- play
    "starling play boil-water-e4b0ab7 --record human.jsonl": How("input", stdin=PLAYED, creates="human.jsonl"),
    "starling play GAME --collection starling_games --seed 0 --max-steps 200": How(
        "placeholder + input",
        (("GAME", "make-tea-example"),),
        stdin=PLAYED,
        before=("starling build {checkout}/game_seeds/make_tea/example.json",),
    ),
    # a session that gives the first game up and ends at the second (end of input); then the report with it
    "starling play --sample runs/human/alice --games 3": How(
        "input", stdin=PLAYED, creates="runs/human/alice/episodes.jsonl"
    ),
    "starling report runs/human/alice results/eval-v2/random results/eval-v2/heuristic --out runs/report-human": How(
        "as written", creates="runs/report-human/human.json"
    ),
    # -- writing a game
    "starling validate game_seeds/make_tea/example.json": AS_WRITTEN,
    "starling build game_seeds/make_tea/example.json --out games": How("as written", creates="games/manifest.json"),
    "starling verify make-tea-example --collection games": AS_WRITTEN,
    "starling list --collection games": AS_WRITTEN,
    "starling schema > gamespec.schema.json": How("as written", creates="gamespec.schema.json"),
    "starling list --split test-compose --difficulty hard": AS_WRITTEN,
    "starling show <game-id>": How("placeholder", (("<game-id>", "boil-water-e4b0ab7"),)),
    "starling card --collection games --write": How("as written", creates="games/README.md"),
    # -- agents and training
    "starling train --agent drrn --split train --steps 20000 --engine native --out runs/drrn": shrunk(
        ("--steps 20000", "--steps 30"), creates="runs/drrn/checkpoint.pt"
    ),
    "starling train --agent ppo --env starling/boil-water-e4b0ab7-v1 --steps 5000 --out runs/ppo": shrunk(
        ("--steps 5000", "--steps 64 --option n_steps=32"), creates="runs/ppo/model.zip"
    ),
    "starling init-model runs/tiny-gpt2 --width 64 --layers 2": AS_WRITTEN,
    "starling train --agent llm-rl --model runs/tiny-gpt2 --env starling/boil-water-e4b0ab7-v1 --steps 512 "
    "--max-steps 8 --option lr=3e-3 --out runs/llm-rl": shrunk(("--steps 512", "--steps 16 --option rollout_steps=16")),
    "starling evaluate --agent llm-rl --checkpoint runs/llm-rl --env starling/boil-water-e4b0ab7-v1 --max-steps 8": (
        shrunk(("--max-steps 8", "--max-steps 8 --episodes 1"))
    ),
    # llm-grpo: tests/test_llm_grpo.py trains, evaluates and resumes in the default run
    "starling train --agent llm-grpo --model runs/tiny-gpt2 --env starling/boil-water-e4b0ab7-v1 --engine native "
    "--steps 1500 --max-steps 8 --option lr=1e-2 --option show_commands=false --out runs/llm-grpo": shrunk(
        ("--steps 1500", "--steps 8 --option groups=1"),
        before=("starling init-model runs/tiny-gpt2 --width 64 --layers 2",),
        slow=True,
        creates="runs/llm-grpo/model/llm_grpo_config.json",
    ),
    "starling evaluate --agent llm-grpo --checkpoint runs/llm-grpo --env starling/boil-water-e4b0ab7-v1 "
    "--max-steps 8": shrunk(("--max-steps 8", "--max-steps 8 --episodes 1"), slow=True),
    "starling evaluate --agent llm --model gpt-4o-mini --option mode=react": llm(
        ("--option mode=react", "--option mode=react" + LLM_BUDGET)
    ),
    "starling evaluate --agent llm --model qwen2.5 --base-url http://localhost:11434/v1 --out runs/eval/qwen": llm(
        (" --base-url http://localhost:11434/v1", LLM_BUDGET)
    ),
    "tensorboard --logdir runs/drrn/tensorboard": skip("starts a server that runs until stopped"),
    "starling export walkthroughs --out runs/export/walkthroughs": shrunk(
        ("--out", "--game water-plants-ed3507c --out"), creates="runs/export/walkthroughs/README.md", full_in_slow=True
    ),
    "starling export records results/eval-v2/random results/eval-v2/heuristic --out runs/export/eval-v2": How(
        "as written", creates="runs/export/eval-v2/data/random-00000-of-00001.parquet"
    ),
    # -- target environments
    "starling evaluate --agent walkthrough --env starling/TWC-hard-v0 --episodes 3": How("as written", needs=("data",)),
    "starling evaluate --agent random --env starling/ScienceWorld-v0 --episodes 2 --max-steps 20": How(
        "as written", needs=("java",)
    ),
    # -- third-party data
    "git clone --depth 1 https://github.com/IBM/commonsense-rl": skip(DOWNLOADS),
    "starling data prepare twc commonsense-rl/games/twc": skip("needs the download of the line before"),
    "mkdir -p ~/.local/share/starling/zork1 && curl -L -o ~/.local/share/starling/zork1/zork1.z3 "
    "https://github.com/historicalsource/zork1/raw/master/COMPILED/zork1.z3": skip(DOWNLOADS),
    "starling data status": AS_WRITTEN,
    # -- evaluation and results
    "starling evaluate --agent random": shrunk(EPISODES_1),
    "starling evaluate --agent drrn --checkpoint results/train/drrn/checkpoint.pt --split test-compose": shrunk(
        ("--split test-compose", "--split test-compose --episodes 1 --max-steps 5")
    ),
    "starling evaluate --agent walkthrough --env starling/boil-water-e4b0ab7-v1 --episodes 1": AS_WRITTEN,
    "starling report results/eval/random results/eval/walkthrough --out runs/report": How(
        "as written", creates="runs/report/report.md"
    ),
    # the committed results are complete, so these resume and have nothing left to do
    "starling evaluate --agent random --split test --episodes 3 --out results/eval-v2/random": AS_WRITTEN,
    "starling evaluate --agent heuristic --split test --episodes 3 --out results/eval-v2/heuristic": AS_WRITTEN,
    "starling evaluate --agent walkthrough --split test --episodes 3 --out results/eval-v2/walkthrough": AS_WRITTEN,
    "starling report results/eval-v2/random results/eval-v2/heuristic results/eval-v2/walkthrough --out "
    "results/report-v2": How("as written", creates="results/report-v2/report.md"),
    "starling train --agent drrn --benchmark 1 --split train --steps 5000 --envs 2 --seed 0 --max-steps 50 --option "
    "epsilon_decay=1 --option log_every=0.1 --out results/train/drrn": AS_WRITTEN,
    "starling train --agent ppo --benchmark 1 --split train --steps 10000 --envs 2 --seed 0 --max-steps 50 "
    "--out results/train/ppo": AS_WRITTEN,
    "starling evaluate --agent random --benchmark 1 --split test --episodes 3 --out results/eval/random": AS_WRITTEN,
    "starling evaluate --agent walkthrough --benchmark 1 --split test --episodes 3 --out results/eval/walkthrough": (
        AS_WRITTEN
    ),
    "starling evaluate --agent drrn --checkpoint results/train/drrn/checkpoint.pt --benchmark 1 --split test "
    "--episodes 3 --out results/eval/drrn": AS_WRITTEN,
    "starling evaluate --agent ppo --checkpoint results/train/ppo/model.zip --benchmark 1 --split test --episodes 3 "
    "--out results/eval/ppo": AS_WRITTEN,
    "starling report results/eval/random results/eval/walkthrough results/eval/drrn results/eval/ppo --out "
    "results/report": How("as written", creates="results/report/report.md"),
    # -- generalisation (a minute even shrunk; the full budget is about 80 min)
    "starling generalisation --out runs/generalisation --seeds 5 --steps 10000": shrunk(
        ("--seeds 5 --steps 10000", "--seeds 2 --steps 30 --games 1 --max-steps 5"),
        slow=True,
        creates="runs/generalisation/generalisation.md",
    ),
    # -- transfer (minutes even shrunk; the full budget is hours: results/transfer-v2 is that run)
    "starling transfer --target starling/TWC-easy-v0 --target starling/TWC-medium-v0 --target starling/TWC-hard-v0 "
    "--pretrain-steps 3000 --steps 2000 --seeds 5 --episodes 4 --max-steps 50 --engine native "
    "--out runs/transfer": shrunk(
        ("--pretrain-steps 3000 --steps 2000 --seeds 5 --episodes 4 --max-steps 50", TRANSFER_BUDGET),
        needs=("data",),
        slow=True,
        creates="runs/transfer/transfer.md",
    ),
    'starling transfer --target starling/ScienceWorld-v0 --target-kwargs \'{"starling/ScienceWorld-v0": {"task": '
    '"boil"}}\' --pretrain-steps 3000 --steps 600 --seeds 5 --episodes 1 --max-steps 50 --engine native '
    "--out runs/transfer": shrunk(
        ("--pretrain-steps 3000 --steps 600 --seeds 5 --episodes 1 --max-steps 50", TRANSFER_BUDGET),
        needs=("java",),
        slow=True,
        creates="runs/transfer/transfer.md",
    ),
    "starling transfer --target starling/ZMachine-v0 --pretrain-steps 3000 --steps 2000 --seeds 5 --episodes 4 "
    "--max-steps 50 --engine native --out runs/transfer": shrunk(
        ("--pretrain-steps 3000 --steps 2000 --seeds 5 --episodes 4 --max-steps 50", TRANSFER_BUDGET),
        needs=("data",),
        slow=True,
        creates="runs/transfer/transfer.md",
    ),
    # -- scaling out with Ray (tests/test_ray.py runs these, shrunk, in the default run)
    "starling evaluate --agent random --split test --engine native": shrunk(
        ("--engine native", "--engine native --episodes 1 --max-steps 5"), slow=True
    ),
    "starling evaluate --agent random --split test --engine native --ray": shrunk(
        ("--engine native", "--engine native --episodes 1 --max-steps 5"), slow=True
    ),
    "ray start --head --port 6379": skip("starts a Ray cluster that runs until `ray stop`"),
    "ray start --address HEAD_IP:6379": skip("joins the cluster of the line before, from another machine"),
    "starling evaluate --agent random --split test --engine native --ray HEAD_IP:6379": skip(
        "needs the cluster of the lines before"
    ),
    # -- generate
    "starling generate --n 20 --backend offline --out games --seed 0": shrunk(
        ("--n 20", "--n 2"), creates="games/manifest.json"
    ),
    "starling generate --n 5 --difficulty hard --compose 2 --skill make_tea --skill set_table --out games": shrunk(
        ("--n 5", "--n 1")
    ),
    "starling generate --recipe my_recipe.json --out games": How(
        "shrunk: the README's recipe with every count 1", before=("printf %s {recipe} > my_recipe.json",)
    ),
    "OPENAI_API_KEY=... starling generate --backend openai --model gpt-4o-mini --n 5 --out games": llm(
        ("OPENAI_API_KEY=...", "OPENAI_API_KEY=sk-dummy"), ("--n 5", "--n 1 --base-url {base_url}")
    ),
    "starling generate --backend openai --base-url http://localhost:8000/v1 --model my-vllm-model --n 5 --out games": (
        llm(("http://localhost:8000/v1", "{base_url}"), ("--n 5", "--n 1"))
    ),
    # -- benchmarks: minutes each, run as written
    **{
        f"python benchmarks/{name}.py": How("as written", slow=True)
        for name in (
            "build_throughput",
            "env_throughput",
            "generate_throughput",
            "train_throughput",
            "eval_throughput",
            "llm_rl_throughput",
            "hostile_commands",
            "offline_generation",
            "benchmark_stats",
            "native_throughput",
            "engine_diff",
        )
    },
    "python benchmarks/zmachine_admissible.py": How("as written", slow=True, needs=("data",)),
}

# Python snippets, keyed by a line that only that snippet has.
SNIPPETS: dict[str, How] = {
    'command = rng.choice(info["admissible_commands"])  # a policy goes here': AS_WRITTEN,
    'MaskablePPO("MlpPolicy", env, n_steps=64).learn(2_000)': shrunk(("learn(2_000)", "learn(128)")),
    'envs = make_vec("starling/boil-water-e4b0ab7-v1", num_envs=8)': AS_WRITTEN,
    'scratch.warm_start(Path("runs/drrn-api"))': shrunk(("steps=100", "steps=20"), creates="runs/drrn-api"),
    "record = run_episode(agent, env, seed=0)": AS_WRITTEN,
    'env = gym.make("starling/boil-water-ee8b4ab-v2", engine="native")': AS_WRITTEN,
}

# JSON blocks, keyed by their first line.
JSON_BLOCKS: dict[str, str] = {
    '{"spec_version": "1.0", "id": "boil-water-example", "title": "Boiling Water",': "excerpt",  # '...' = omitted
    '{"suite": "MY-SUITE", "version": 1, "max_attempts": 3, "batches": [': "recipe",
}


@dataclass
class Block:
    lang: str
    line: int
    body: str
    commands: list[str] = field(default_factory=list)

    @property
    def in_checkout(self) -> bool:
        return bool(CHECKOUT_PATHS.search(self.body))


def readme_blocks() -> list[Block]:
    """The README's fenced bash / python / json blocks; a bash block's commands without comments, one per line."""
    text = README.read_text()
    blocks = []
    for match in re.finditer(r"^( *)```(bash|python|json)\n(.*?)^\1```", text, re.M | re.S):
        block = Block(match[2], text.count("\n", 0, match.start()) + 1, _dedent(match[3], len(match[1])))
        if block.lang == "bash":
            for line in block.body.replace("\\\n", " ").splitlines():
                command = " ".join(re.sub(r"(^|\s)#.*$", "", line).split())
                if command:
                    block.commands.append(command)
        blocks.append(block)
    return blocks


def _dedent(body: str, indent: int) -> str:
    return "\n".join(line[indent:] for line in body.splitlines()) + "\n"


def snippet_key(block: Block) -> str:
    keys = [key for key in SNIPPETS if key in block.body]
    assert len(keys) == 1, f"README line {block.line}: the python snippet matches {keys or 'no'} SNIPPETS key"
    return keys[0]


def test_every_readme_example_is_classified() -> None:
    blocks = readme_blocks()
    commands = {c for b in blocks for c in b.commands}
    snippets = [b for b in blocks if b.lang == "python"]
    jsons = {b.body.splitlines()[0] for b in blocks if b.lang == "json"}
    problems = [f"unclassified README command: {c!r}" for c in sorted(commands - COMMANDS.keys())]
    problems += [f"COMMANDS entry not in the README: {c!r}" for c in sorted(COMMANDS.keys() - commands)]
    problems += [f"SNIPPETS entry not in the README: {k!r}" for k in SNIPPETS if not any(k in b.body for b in snippets)]
    problems += [f"unclassified README json block: {k!r}" for k in sorted(jsons - JSON_BLOCKS.keys())]
    problems += [f"JSON_BLOCKS entry not in the README: {k!r}" for k in sorted(JSON_BLOCKS.keys() - jsons)]
    for block in snippets:
        try:
            snippet_key(block)
        except AssertionError as exc:
            problems.append(str(exc))
    texts = [(c, COMMANDS[c]) for c in commands & COMMANDS.keys()]
    texts += [(b.body, SNIPPETS[k]) for b in snippets for k in SNIPPETS if k in b.body]
    subs = [(text, old) for text, how in texts for old, _ in how.fixed + how.subs]
    problems += [f"{old!r} does not occur in {text!r}" for text, old in subs if old not in text]
    assert not problems, "\n".join(problems)


def test_readme_json_blocks(tmp_path: Path) -> None:
    for block in readme_blocks():
        if block.lang == "json":
            json.loads(block.body)  # the GameSpec excerpt is JSON too, with '...' where items are left out
            if JSON_BLOCKS.get(block.body.splitlines()[0]) == "recipe":
                (tmp_path / "recipe.json").write_text(block.body)
                Recipe.load(tmp_path / "recipe.json")


# -- running the blocks ---------------------------------------------------------------------------------------


def _variants() -> Iterator[Any]:
    """One test per README block and variant: default, ``slow`` (slow entries) and ``full`` (as written)."""
    for block in readme_blocks():
        if block.lang == "json":
            continue
        if block.lang == "python":
            how = SNIPPETS.get(next((k for k in SNIPPETS if k in block.body), ""), AS_WRITTEN)
            marks = [pytest.mark.slow] if how.slow else []
            yield pytest.param(block, "default", id=f"python: {_short(block.body)}", marks=marks)
            continue
        name, hows = f"bash: {_short(block.commands[0])}", [COMMANDS.get(c) for c in block.commands]
        if any(h is None or not h.slow for h in hows):
            yield pytest.param(block, "default", id=name)
        if any(h is not None and h.slow for h in hows):
            yield pytest.param(block, "slow", id=f"{name} (slow)", marks=pytest.mark.slow)
        if any(h is not None and h.full_in_slow for h in hows):
            yield pytest.param(block, "full", id=f"{name} (as written)", marks=pytest.mark.slow)


def _short(text: str) -> str:
    """A block's name in test ids: its first line that is code, cut short."""
    line = next(line for line in text.splitlines() if line and not line.startswith(("import", "from", "#")))
    return line[:60]


def _missing(needs: tuple[str, ...], data: Path | None) -> str | None:
    if "java" in needs and shutil.which("java") is None:
        return "needs Java, absent here"
    if "data" in needs and data is None:
        return "needs the third-party data (see `starling data status`), absent here"
    return None


def _data_dir() -> Path | None:
    from starling_env.targets import data_dir

    try:
        return data_dir("twc").parent
    except FileNotFoundError:
        return None


def _reply(request: dict) -> str:
    """The scripted model: a seed's example spec for a design request, else the first admissible command."""
    prompts = [str(m["content"]) for m in request["messages"]]
    design = re.search(r'Design a new \w+ game \(id "([^"]+)"\) exercising the skills?: ([\w, ]+)\.', prompts[1])
    if design:
        spec = json.loads((SEEDS / design[2].split(",")[0] / "example.json").read_text())
        return json.dumps({**spec, "id": design[1]})
    command = re.findall(r"^- (.+)$", prompts[-1], re.M)[0]
    return f"Thought: the first one.\nAction: {command}" if "Action:" in prompts[0] else command


def _small_recipe() -> str:
    """The README's recipe with every batch's count 1 (its budget), as JSON."""
    block = next(b for b in readme_blocks() if JSON_BLOCKS.get(b.body.splitlines()[0]) == "recipe")
    recipe = Recipe.model_validate_json(block.body)
    batches = [batch.model_copy(update={"count": 1}) for batch in recipe.batches]
    return recipe.model_copy(update={"batches": batches}).model_dump_json()


@pytest.mark.parametrize(("block", "variant"), list(_variants()))
def test_readme_block(block: Block, variant: str, user_install: UserInstall, tmp_path: Path) -> None:
    folder = user_install.copy_checkout(tmp_path / "checkout") if block.in_checkout else tmp_path / "fresh"
    folder.mkdir(exist_ok=True)
    data = _data_dir()
    env = {"STARLING_CACHE": str(tmp_path / "llm-cache"), "OPENAI_API_KEY": "sk-dummy"}
    if data is not None:
        env["STARLING_DATA"] = str(data)  # where a user keeps the data; the fresh folder is not beside it
    if block.lang == "python":
        how = SNIPPETS[snippet_key(block)]
        (folder / "snippet.py").write_text(how.command(block.body, {}))
        steps = [("python snippet.py", how, "python snippet.py")]
    else:
        steps = [(c, COMMANDS.get(c), c) for c in block.commands]
    values = {"checkout": str(user_install.source), "recipe": shlex.quote(_small_recipe())}
    ran, skipped = 0, []
    with ScriptedOpenAIServer([_reply] * 10_000) as server:
        values["base_url"] = server.base_url
        for readme, how, text in steps:
            assert how is not None, f"unclassified README command (add it to COMMANDS): {readme!r}"
            reason = how.skip or _missing(how.needs, data)
            if reason or {"default": how.slow, "slow": not how.slow, "full": not how.full_in_slow}[variant]:
                skipped.append(f"{readme!r}: {reason or 'another variant'}")
                continue
            command = how.command(text, values, full=variant == "full")
            for setup in how.before:
                result = user_install.run(["bash", "-c", setup.format(**values)], folder, **env)
                assert result.returncode == 0, f"setup {setup!r} of {readme!r}:\n{result.stdout}\n{result.stderr}"
            start = time.monotonic()
            result = user_install.run(["bash", "-c", command], folder, how.stdin or "", **env)
            print(f"{time.monotonic() - start:6.1f} s  {command}")  # shown with -rP or -s
            output = result.stdout + result.stderr
            ran += 1
            assert result.returncode == 0 and "Traceback" not in output, (
                f"README command {readme!r} ({how.kind}), run as {command!r} in {folder}, "
                f"exited {result.returncode}:\n{output[-6000:]}"
            )
            assert how.creates is None or (folder / how.creates).exists(), f"{readme!r} made no {how.creates}"
    if not ran:
        pytest.skip("; ".join(skipped))

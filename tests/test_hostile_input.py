"""Hostile commands: one step is one turn the logic follows, and the logic never loses track of the game.

Commands the game would run as several actions (clauses, ``then``, ``all``, ``all but``, lists, ``again``)
are refused without a turn; whatever an agent types, the verifier's play-and-compare check holds after
every step and the score is the points of the goals met (docs/commands.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starling_env.builder.failures import BuildFailed
from starling_env.builder.verify import Outcomes, check_state
from starling_env.collection import shipped_collection
from starling_env.envs import StarlingEnv
from starling_env.envs import engine as engine_module
from starling_env.envs.engine import MULTI_ACTION_REPLY, DesyncError, Engine, is_blocked, single_action

BOIL, LAUNDRY = "boil-water-e4b0ab7", "do-laundry-m2041ca"
GAMES = [BOIL, LAUNDRY, "make-sandwich-e4baaa5", "set-table-ea63878", "wash-dishes-e2fc2a5", "take-out-trash-m1a72af"]


@pytest.fixture(scope="module")
def envs() -> Iterator[dict[str, StarlingEnv]]:
    opened = {game: StarlingEnv(game, max_episode_steps=None) for game in GAMES}
    yield opened
    for env in opened.values():
        env.close()


def engine_of(env: StarlingEnv) -> Engine:
    assert isinstance(env.engine, Engine)
    return env.engine


def play(env: StarlingEnv, commands: list[str]) -> list[str]:
    env.reset(seed=0)
    return [env.step(command)[0] for command in commands]


def assert_logic_follows_game(engine: Engine, history: list[str], met: set[int] | None = None, probes: int = 3) -> None:
    """The verifier's check at the current state: each admissible command, played then undone, changes the facts
    and the score as the logic predicts; a few commands the logic does not allow change nothing it cannot follow.
    ``met``: the goals met so far (default: those the engine's self-check has seen)."""
    met = set(engine.progression.met) if met is None else met
    try:
        check_state(engine, history, met)
    except BuildFailed as exc:
        raise AssertionError(str(exc)) from None
    admissible = set(engine.admissible_commands())
    others = [c for c in engine.game.possible_commands if c not in admissible]
    for command in others[:: max(1, len(others) // probes)][:probes]:
        assert engine.probe(command) == [], f"after {history}: {command!r} does what the logic cannot follow"


def points_of_goals_met(engine: Engine, met: set[int]) -> int:
    """The verifier's count of the points of the goals met, ``met`` updated with the logic's state now."""
    outcomes = Outcomes.of(engine.game)
    met |= outcomes.met(engine.progression.state)
    return outcomes.points(met)


# -- the rule, on text ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, sent",
    [
        ("take casserole", "take casserole"),
        ("take casserole from cupboard", "take casserole from cupboard"),
        ("look.", "look"),
        (",, look ,,", "look"),
        ("take it", "take it"),
        ("drop them", "drop them"),
        ("wait", "wait"),
        ("", ""),
        ("...", ""),
        ("take wall", "take wall"),  # words that merely contain "all"
        ("take gallon", "take gallon"),
        ("look. look", None),
        ("open cupboard. take casserole from cupboard", None),
        ("take all. take all.", None),
        ("open cupboard then look", None),
        ("look, inventory", None),
        ("take all", None),
        ("take all but stove", None),
        ("take everything except stove", None),
        ("take casserole and lid", None),
        ("take casserole, lid", None),
        ("take all and all", None),
        ("take both", None),
        ("drop each", None),
        ("again", None),
        ("g", None),
        ("oops casserole", None),
        ("TAKE ALL", None),
    ],
)
def test_single_action_keeps_one_clause_and_refuses_several_actions(command, sent):
    assert single_action(command) == sent


def test_object_names_may_hold_the_multi_object_words():
    names = ["salt and pepper", "all purpose flour"]
    assert single_action("take salt and pepper", names) == "take salt and pepper"
    assert single_action("put all purpose flour on table", names) == "put all purpose flour on table"
    assert single_action("take salt and pepper and all purpose flour", names) is None
    assert single_action("take salt and pepper. look", names) is None


def test_no_command_of_the_benchmark_is_refused():
    """Every walkthrough command and every command the logic can generate, in every shipped game, plays as is."""
    checked = 0
    for game_json in sorted(shipped_collection().glob("*/game.json")):
        data = json.loads(game_json.read_text())
        names = [info["name"] for _, info in data["infos"] if info.get("name")]
        assert all(single_action(f"take {n}") == f"take {n}" for n in names), game_json.parent.name
        for command in data["metadata"]["walkthrough"]:
            assert single_action(command) == command and not is_blocked(command), (game_json.parent.name, command)
            checked += 1
    assert checked > 500


def test_every_possible_command_of_a_game_plays_as_is(envs):
    for game in (BOIL, LAUNDRY):
        commands = engine_of(envs[game]).game.possible_commands
        assert [c for c in commands if single_action(c) != c] == []


# -- the commands ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "commands",
    [
        ["look. look"],
        ["open cupboard. take casserole from cupboard"],
        ["take all. take all.", "inventory"],
        ["open cupboard", "take all but stove"],
        ["open cupboard", "take casserole from cupboard and stove"],
        ["take it", "again", "g", "open cupboard", "g"],
    ],
)
def test_multi_action_commands_are_refused_without_a_turn(envs, commands):
    env = envs[BOIL]
    engine = engine_of(env)
    env.reset(seed=0)
    history: list[str] = []
    for command in commands:
        facts, moves, score = engine.facts(), engine.moves, engine.score
        obs, reward, terminated, truncated, info = env.step(command)
        history.append(command)
        if single_action(command) is None:
            assert obs == MULTI_ACTION_REPLY and engine.refused == "multi-action"
            assert (engine.facts(), engine.moves, engine.score, reward) == (facts, moves, score, 0.0)
        assert info["score"] == points_of_goals_met(engine, set(engine.progression.met))
        assert_logic_follows_game(engine, history)


def test_take_all_but_leaves_the_casserole_where_the_logic_says(envs):
    env = envs[BOIL]
    obs = play(env, ["open cupboard", "take all but stove"])
    assert obs[-1] == MULTI_ACTION_REPLY
    assert "in(casserole: o, cupboard: c)" in engine_of(env).facts()
    info = env._info()
    assert "take casserole from cupboard" in info["admissible_commands"]
    _, reward, *_ = env.step("take casserole from cupboard")
    assert reward == 1.0 and "in(casserole: o, I)" in engine_of(env).facts()


def test_take_all_and_all_is_refused_in_do_laundry(envs):
    env = envs[LAUNDRY]
    engine = engine_of(env)
    walkthrough = env.walkthrough()
    for prefix in (0, 1, 6):
        obs = play(env, [*walkthrough[:prefix], "take all and all"])
        assert obs[-1] == MULTI_ACTION_REPLY
        assert engine.score == points_of_goals_met(engine, set())
        assert_logic_follows_game(engine, walkthrough[:prefix])


def test_the_safety_net_undoes_turns_the_logic_cannot_follow(envs, monkeypatch):
    """Were the text rule to let them through, a second turn or an unmatched action is undone and refused."""
    monkeypatch.setattr(engine_module, "single_action", lambda command, names=(): command)
    env = envs[BOIL]
    engine = engine_of(env)
    play(env, [])
    for commands in (["look. look"], ["open cupboard", "take all but stove"], ["open cupboard. look"]):
        obs = play(env, commands)
        assert obs[-1] == MULTI_ACTION_REPLY and engine.refused == "untracked", commands
        assert engine.moves == len(commands) - 1
        assert_logic_follows_game(engine, commands)


def test_the_verifier_says_when_the_safety_net_undid_an_admissible_command(envs, monkeypatch):
    engine = engine_of(envs[BOIL])
    play(envs[BOIL], [])

    def undone(command: str) -> str:  # what step does when the game's turn cannot be followed
        engine.refused = "untracked"
        return MULTI_ACTION_REPLY

    monkeypatch.setattr(engine, "step", undone)
    with pytest.raises(BuildFailed, match=r"after open cupboard: the game's turn could not be followed .* undid it"):
        check_state(engine, [], set())


def test_the_logics_own_commands_are_played_whatever_their_words(envs, monkeypatch):
    """A custom action could read 'mix {a} and {b}': an admissible command is never refused."""
    monkeypatch.setattr(engine_module, "single_action", lambda command, names=(): None)
    env = envs[BOIL]
    obs = play(env, ["open cupboard", "jump"])
    assert obs[0].startswith("You open the cupboard") and obs[1] == MULTI_ACTION_REPLY


def test_the_self_check_names_the_command_when_the_logic_loses_track(envs):
    env = envs[BOIL]
    engine = engine_of(env)
    play(env, ["open cupboard"])
    before = engine.progression.copy()
    env.step("take casserole from cupboard")  # the game scores a point
    engine.progression = before  # the logic forgets it
    with pytest.raises(DesyncError, match=r"after 'look' .*score is 1 .* worth 0"):
        env.step("look")


def test_the_self_check_can_be_turned_off():
    env = StarlingEnv(BOIL, self_check=False)
    try:
        env.reset(seed=0)
        engine = engine_of(env)
        assert not engine.self_check
        env.step("open cupboard")
        before = engine.progression.copy()
        env.step("take casserole from cupboard")
        engine.progression = before
        env.step("look")  # no check, no error
    finally:
        env.close()


def test_the_walkthrough_wins_under_the_self_check(envs):
    for game in GAMES:
        env = envs[game]
        engine = engine_of(env)
        play(env, env.walkthrough())
        assert (
            engine.won
            and engine.score == engine.max_score
            and engine.progression.met == set(range(len(engine.game.quests)))
        )


# -- hypothesis: any mix of hostile and ordinary commands ----------------------------------------------------
SEPARATORS = [". ", ".", ", ", "; ", ": ", "! ", "? ", " then ", ", then ", ". then ", " . ", ",", " THEN "]
MULTI_FORMS = ["all", "all but {}", "all except {}", "everything but {}", "each {}", "both {}", "all {}", "{} and all"]
LIST_JOINS = [" and ", ", ", " and then ", " , and ", " AND "]
ODD = ["again", "g", "oops {}", "o {}", "{}!!!", '"{}"', "{}...", "[{}]", "{} (please)", "{} -- now", "\t{}\n{}"]
UNICODE = ["tåke {}", "{} ☕", "{}\u200b", "ｔａｋｅ {}", "{}\x00\x07", "éxamine {}", "{} \u202e"]


def hostile_commands(admissible: list[str], names: list[str]) -> st.SearchStrategy[str]:
    """Ordinary commands (so the game moves on) and the game's own words made into several actions."""
    command, name = st.sampled_from(admissible), st.sampled_from(names)
    verb = st.sampled_from(sorted({"take", "drop", "open", *(c.split()[0] for c in admissible)}))

    def fill(template: str, text: str) -> str:
        return template.replace("{}", text)

    return st.one_of(
        command,
        st.tuples(command, st.sampled_from(SEPARATORS), command).map("".join),
        st.tuples(verb, st.sampled_from(MULTI_FORMS), name).map(lambda t: f"{t[0]} {fill(t[1], t[2])}"),
        st.tuples(verb, name, st.sampled_from(LIST_JOINS), name).map(lambda t: f"{t[0]} {t[1]}{t[2]}{t[3]}"),
        st.tuples(command, st.sampled_from(LIST_JOINS), name).map("".join),
        st.tuples(verb, st.sampled_from(["it", "them", "it and it", "all of them"])).map(" ".join),
        st.tuples(st.sampled_from(ODD + UNICODE), command).map(lambda t: fill(t[0], t[1])),
        command.map(lambda c: " ".join([c] * 40)),
        command.map(str.upper),
        st.text(max_size=40),
    )


def run_hostile_episode(envs: dict[str, StarlingEnv], data: st.DataObject, steps: int) -> None:
    game = data.draw(st.sampled_from(GAMES), label="game")
    env = envs[game]
    engine = engine_of(env)
    names = sorted({info.name for info in engine.game.infos.values() if info.name})
    _, info = env.reset(seed=data.draw(st.integers(0, 3), label="seed"))
    walkthrough = env.walkthrough()
    history = walkthrough[: data.draw(st.integers(0, len(walkthrough) - 1), label="walkthrough steps")]
    met: set[int] = set()
    for command in history:  # start somewhere along the way: containers open, things held
        _, _, _, _, info = env.step(command)
        points_of_goals_met(engine, met)
    for _ in range(steps):
        command = data.draw(hostile_commands(info["admissible_commands"], names), label="command")
        score = engine.score
        _, reward, terminated, _, info = env.step(command)  # no exception: DesyncError would be one
        history.append(command)
        assert reward == info["score"] - score
        assert info["score"] == points_of_goals_met(engine, met), history
        if terminated:  # the game is over: it answers nothing but its end menu
            break
        assert_logic_follows_game(engine, history, met)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_commands_never_crash_or_desynchronise(envs, data):
    run_hostile_episode(envs, data, steps=6)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_commands_never_crash_or_desynchronise_long(envs, data):
    run_hostile_episode(envs, data, steps=25)

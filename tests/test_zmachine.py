"""ZMachine-v0 on story files jericho does not know, and on story files that are not story files at all.

- a small version 5 game compiled here with the Inform 6 compiler TextWorld ships (no library: its status
  line is drawn in the upper window the way Inform 6's library draws it), for status lines, scores,
  key-press and yes/no prompts and endings;
- bad story files (text, empty, truncated, random bytes, a wrong version byte, a good header over garbage):
  a catchable StoryFileError, and this process lives on;
- a TWC game (``../shared/data/twc``) and Zork I (``../shared/data/zork1``) played as unknown games: those
  tests skip when the data is absent.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
import textworld

import starling_env  # noqa: F401  (registers the ids)
from starling_env.story_file import StoryFileError, check_story_bytes, check_story_file, probe_story_file
from starling_env.targets.twc import TWCGameEnv
from starling_env.targets.zmachine import LOOP_REPLY, ZMachineEnv

from .conftest import third_party_data

INFORM6 = Path(textworld.__file__).parent / "thirdparty/inform7-6M62/share/inform7/Compilers/inform6"
# Status line residue as it leaked before: "Busy StreetScore: 0Moves: 2", Inform 7's "-= Kitchen =-0/3".
LEAK = re.compile(r"Score: ?-?\d|Moves: ?\d|=-\s*-?\d+/\d+| {60,}")  # banners indent by fewer spaces

STREET = r"""
Global location;
Global sline1;
Global sline2;
Array buf -> 120;
Array parse -> 64;
[ DrawStatusLine width;
  @split_window 1; @set_window 1; @set_cursor 1 1; style reverse;
  width = 0->$21; spaces width;
  @set_cursor 1 2; print "Busy Street";
  width = width - 26; @set_cursor 1 width; print "Score: ", sline1;
  width = width + 13; @set_cursor 1 width; print "Moves: ", sline2;
  @set_cursor 1 1; style roman; @set_window 0;
];
[ ReadLine k; DrawStatusLine(); buf->0 = 100; buf->1 = 0; parse->0 = 10; @aread buf parse -> k; return parse-->1; ];
[ YesOrNo w;
  for (::) {
    w = ReadLine();
    if (w == 'yes' or 'y//') rtrue;
    if (w == 'no' or 'n//') rfalse;
    print "Please answer yes or no.^> ";
  }
];
[ Finish text;
  print "^^    *** ", (string) text, " ***^^In that game you scored ", sline1, " out of a possible 10, in ",
    sline2, " turns.^^Would you like to RESTART, RESTORE a saved game or QUIT?^> ";
  ReadLine(); @quit;
];
[ Main k w;
  print "[Press any key to begin.]^";
  @read_char 1 -> k;
  print "Welcome to Busy Street. A biscuit tin sits on a bench.^";
  for (::) {
    print "^>";
    w = ReadLine();
    sline2++;
    switch (w) {
      'yell': sline1 = sline1 + 2; print "You yell. [Your score has just gone up by two points.]^";
      'score': print "You have so far scored ", sline1, " out of a possible 10, in ", sline2, " turns.^";
      'open': print "Do you want a biscuit? ";
        if (YesOrNo()) { sline1 = sline1 + 3; print "You eat a biscuit.^"; }
        else print "You leave the tin alone.^";
      'finish': sline1 = 10; Finish("The End");
      'die': Finish("You have died");
      default: print "Nothing happens.^";
    }
  }
];
"""


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Path:
    """The version 5 test game, compiled (a fraction of a second)."""
    if not INFORM6.is_file():
        pytest.skip(f"TextWorld's Inform 6 compiler is not at {INFORM6}")
    folder = tmp_path_factory.mktemp("street")
    (folder / "street.inf").write_text(STREET)
    subprocess.run([str(INFORM6), "-v5", "street.inf", "street.z5"], cwd=folder, check=True, capture_output=True)
    return folder / "street.z5"


@pytest.fixture(scope="module")
def zork() -> Path:
    return third_party_data("zork1") / "zork1.z3"


# -- bad story files --------------------------------------------------------------------------------------
def _bad_files(folder: Path, good: bytes) -> dict[str, bytes]:
    rng = random.Random(0)
    garbage = bytes(rng.randrange(256) for _ in range(len(good)))
    return {
        "text": b"This is not a story file.\n" * 20,
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "random": garbage,
        "version": bytes([9]) + good[1:],
        "garbage-body": good[:64] + garbage[64:],  # a good header: only the interpreter can tell
    }


@pytest.mark.parametrize("kind", ["text", "empty", "truncated", "random", "version", "garbage-body"])
def test_bad_story_files_raise_a_catchable_error(street, tmp_path, kind):
    path = tmp_path / f"{kind}.z5"
    path.write_bytes(_bad_files(tmp_path, street.read_bytes())[kind])
    with pytest.raises(StoryFileError) as error:
        gym.make("starling/ZMachine-v0", game_path=str(path))
    assert isinstance(error.value, ValueError) and str(path) in str(error.value) and error.value.problem
    with pytest.raises(StoryFileError):  # the verdict is cached, and raised again
        probe_story_file(path)


@pytest.mark.parametrize("kind", ["truncated", "version"])
def test_bad_zork_files_raise_and_name_the_problem(zork, tmp_path, kind):
    path = tmp_path / "zork1.z3"
    path.write_bytes(_bad_files(tmp_path, zork.read_bytes())[kind])
    with pytest.raises(StoryFileError, match="truncated: the header declares 86838 bytes|version byte 9"):
        ZMachineEnv(path)


def test_header_check_accepts_good_files_and_names_bad_fields(street):
    good = street.read_bytes()
    header = check_story_file(street)
    assert header.version == 5 and header.length <= header.size == len(good)  # Inform pads to 512 bytes
    assert check_story_bytes(good + bytes(512)).size == len(good) + 512  # padding is fine
    bad_globals = bytearray(good)
    bad_globals[0x0C:0x0E] = (0xFFF0).to_bytes(2, "big")
    with pytest.raises(StoryFileError, match="global variables address"):
        check_story_bytes(bytes(bad_globals))
    with pytest.raises(FileNotFoundError):
        check_story_file(street.with_name("absent.z5"))


# -- an unknown version 5 game -----------------------------------------------------------------------------
def test_status_line_is_cut_out_and_read_for_the_score(street):
    env = ZMachineEnv(street, max_episode_steps=None)
    obs, info = env.reset(seed=0)
    assert obs == "[Press any key to begin.]" and info["max_score"] == 10  # read past the key-press prompt
    assert info["admissible_commands"] == ["continue"]
    obs, *_ = env.step("continue")
    assert obs.startswith("Welcome to Busy Street") and not LEAK.search(obs)
    obs, reward, _, _, info = env.step("yell")
    assert obs.startswith("You yell.") and not LEAK.search(obs)
    assert (reward, info["score"], info["moves"]) == (2, 2, 1)
    assert env.unwrapped.engine.status == "Busy StreetScore: 2Moves: 1"
    env.close()


def test_yes_no_question_offers_yes_and_no(street):
    env = ZMachineEnv(street, max_episode_steps=None)
    env.reset(seed=0)
    env.step("continue")
    obs, *_ = env.step("open")
    assert obs == "Do you want a biscuit?"
    _, _, _, _, info = env.step("look")  # not an answer: asked again
    assert {"yes", "no"} <= set(info["admissible_commands"])
    obs, reward, _, _, info = env.step("yes")
    assert obs == "You eat a biscuit." and reward == 3 and info["score"] == 3
    env.close()


@pytest.mark.parametrize(("command", "won"), [("finish", True), ("die", False)])
def test_ending_is_won_at_full_score_and_lost_on_death(street, command, won):
    env = ZMachineEnv(street, max_episode_steps=None)
    env.reset(seed=0)
    env.step("continue")
    obs, _, terminated, _, info = env.step(command)
    assert terminated and (info["won"], info["lost"]) == (won, not won)
    assert info["score"] == (10 if won else 0) and info["max_score"] == 10
    assert "RESTART" not in obs and not LEAK.search(obs)
    env.close()


# -- third-party games played as unknown games ---------------------------------------------------------------
def test_twc_game_as_an_unknown_game_ends_with_textworlds_score(tmp_path):
    """A TWC game under a neutral name (jericho treats ``tw-*`` files as TextWorld's): score and win as TextWorld's."""
    story = sorted((third_party_data("twc") / "medium" / "test").glob("*.z8"))[0]
    truth = TWCGameEnv(story, "medium", "test", admissible=False, max_episode_steps=None)
    walkthrough = truth.walkthrough()
    truth.reset(seed=0)
    scores = [truth.step(c)[4]["score"] for c in walkthrough]
    truth.close()
    shutil.copy(story, tmp_path / "game.z8")
    env = ZMachineEnv(tmp_path / "game.z8", admissible=False, max_episode_steps=None)
    obs, info = env.reset(seed=0)
    assert info["max_score"] == scores[-1] > 0 and not LEAK.search(obs)
    for command, score in zip(walkthrough, scores, strict=True):
        obs, _, terminated, _, info = env.step(command)
        assert info["score"] == score and not LEAK.search(obs), (command, obs)
    assert terminated and info["won"] and not info["lost"]
    env.close()


def test_zork_observations_never_hold_the_status_line(zork):
    env = ZMachineEnv(zork, admissible=False, max_episode_steps=None)
    walkthrough = env.walkthrough()[:30]
    obs, _ = env.reset(seed=env.walkthrough_seed)
    observations = [obs]
    for command in walkthrough:
        obs, _, _, _, info = env.step(command)
        observations.append(obs)
    assert not [o for o in observations if LEAK.search(o)]
    status = env.unwrapped.engine.status  # cut out and kept (jericho echoes it with the next turn's text)
    assert re.fullmatch(r"The Troll Room +Score: \d+ +Moves: \d+", status) and info["score"] == 45
    env.close()


def test_a_z_machine_game_takes_train_and_test_as_its_one_game(zork):
    """Transfer trains on a target's train split and scores on its test split: for one game, both are that game."""
    for split in ("train", "test"):
        env = gym.make("starling/ZMachine-v0", game_path=str(zork), split=split, admissible=False)
        assert env.reset(seed=0)[0]
        env.close()
    with pytest.raises(ValueError, match="one game"):
        ZMachineEnv(zork, split="test-compose")


# Found by a DRRN training run that hung: Zork I puts the nest in the (broken, emptied) egg, then the egg in the nest,
# and its next listing of either loops forever inside the interpreter, where no timeout reaches.
NEST_IN_EGG = ["north", "north", "up", "take egg", "take nest", "down", "open forest with egg", "take canary"]
LOOP_CHECK = """
import json, sys
from starling_env.targets.zmachine import ZMachineEnv
env = ZMachineEnv(sys.argv[1], max_episode_steps=None)
env.reset(seed=3)
for command in json.loads(sys.argv[2]):
    env.step(command)
_, _, _, _, before = env.step("put nest in egg")
obs, _, _, _, after = env.step("put egg in nest")
rows = [obs, after["moves"] - before["moves"], "put egg in nest" in before["admissible_commands"]]
rows += [env.step("look")[0], env.step("inventory")[0]]
print(json.dumps(rows))
"""


def test_a_command_that_puts_a_thing_inside_itself_is_undone_not_hung(zork):
    result = subprocess.run(  # a child with a timeout: a regression hangs the interpreter, not the test run
        [sys.executable, "-c", LOOP_CHECK, str(zork), json.dumps(NEST_IN_EGG)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reply, moves, admissible, look, inventory = json.loads(result.stdout.splitlines()[-1])
    assert reply == LOOP_REPLY and moves == 0  # undone: no turn passed
    assert not admissible  # the admissible commands never offer it
    assert look.startswith("Forest Path") and "broken jewel-encrusted egg" in inventory  # the game plays on
    assert "bird's nest" in inventory

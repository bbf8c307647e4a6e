"""A compiled STARLING game in play: the Inform 7 story file run by jericho, tracked by TextWorld.

TextWorld's own environment stack (``textworld.start``) does the same job through five wrapper
layers; this is one flat object with the parts an RL environment needs: a cheap state snapshot for
branching (jericho's save state plus a copy of the logic state), no crash when a quest's winning
policy is lost, and commands that cannot desynchronise the logic from the game: each step is one turn
whose actions the logic follows (the rule is in docs/commands.md), and an optional self-check compares
the game's score with the goals the logic has seen met after every step.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jericho
from textworld.envs.wrappers.tw_inform7 import (
    _detect_extra_infos,
    _detect_i7_events_debug_tags,
)
from textworld.generator.game import Game, GameProgression, QuestProgression
from textworld.generator.inform7 import Inform7Game

from ..game_cache import cached
from ..game_json import load_game
from ..native.describe import objective_text
from ..story_file import check_story_file

MAX_COMMAND_CHARS = 190  # jericho's input buffer takes 198 bytes
# Interpreter meta-commands would rewind or end the game behind the logic's back (or read and write files).
BLOCKED_COMMANDS = frozenset(
    "undo restart restore save quit q script unscript transcript noscript recording replay".split()
)
BLOCKED_REPLY = "That command is not available in this environment."
# Commands the game would run as several actions, which the logic could not follow, are refused with this.
MULTI_ACTION_REPLY = (
    "One action at a time, please: one command does one thing to the things it names, like 'take casserole' "
    "or 'put casserole on stove', not 'take all', 'take casserole and lid', 'look. look', 'open box then look' "
    "or 'again'."
)
# The parser's words for several objects at once (Inform's ALL, AND and BUT words) ...
MULTI_OBJECT_WORDS = frozenset("all each every everything both and but except".split())
# ... and first words that replay or patch the game's previous command (which the env may not have sent).
REPEAT_WORDS = frozenset("again g oops o".split())
NO_OP_EVENTS = ("looking", "examining", "taking inventory")  # change nothing the logic tracks
_STATUS_RESIDUE = re.compile(r"\n?>[ \t]*(?:-= .*? =-\s*-?\d+/\d+)?\s*$")
_END_PROMPT = re.compile(r"\n*Would you like to RESTART.*$", re.DOTALL)
_CLAUSES = re.compile(r"[.,;:!?]|\bthen\b", re.IGNORECASE)  # games run "look. restart" as two commands


def ascii_fold(text: str) -> str:
    """Text as ASCII: accents dropped ("é" -> "e"), other non-ASCII characters removed."""
    text = str(text)
    return text if text.isascii() else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def clean_command(command: str) -> str:
    """One line of printable ASCII, at most 200 characters: what the game can safely be sent."""
    text = ascii_fold(command)
    text = "".join(c if c.isprintable() and c != "\\" else " " for c in text)  # "\\" escapes dumb-frotz
    return " ".join(text.split())[:MAX_COMMAND_CHARS].strip()


def is_blocked(command: str) -> bool:
    """Whether any clause of a (cleaned) command starts with a meta-command or a debugging verb.

    Version 3 games read only the first 6 letters of a word ("restarting" is "restart"), so those match too.
    """
    for clause in _CLAUSES.split(command.lower()):
        word = clause.split()[0] if clause.split() else ""
        if word.startswith(("tw-", "#")) or any(
            word == b or (len(word) >= 6 and word[:6] == b[:6]) for b in BLOCKED_COMMANDS
        ):
            return True
    return False


def single_action(command: str, names: Iterable[str] = ()) -> str | None:
    """The one clause of a (cleaned) command the game should run, or None if it asks for more than one action.

    More than one clause (``.``, ``,``, ``;``, ``:``, ``!``, ``?`` or ``then`` between them), a word of
    MULTI_OBJECT_WORDS, or a first word of REPEAT_WORDS makes a command several actions. ``names`` are object
    names that hold such a word ("salt and pepper"): inside them the word is part of the name.
    """
    clauses = [c.strip() for c in _CLAUSES.split(command) if c.strip()]
    if len(clauses) > 1:
        return None
    clause = clauses[0] if clauses else ""
    words = f" {clause.lower()} "
    for name in names:
        words = words.replace(f" {name} ", " ")
    tokens = words.split()
    if (tokens and tokens[0] in REPEAT_WORDS) or not MULTI_OBJECT_WORDS.isdisjoint(tokens):
        return None
    return clause


def seed_frotz(frotz: jericho.FrotzEnv, seed: int) -> None:
    """Seed the interpreter for its next reset, as given: ``FrotzEnv.seed`` replaces 0 by a default."""
    frotz._seed = int(seed) % (1 << 31)


def clean_output(text: str) -> str:
    """Game text (printable ASCII) without the prompt, status line residue or the end-of-game menu."""
    text = ascii_fold(text)  # fits CHARSET
    text = _END_PROMPT.sub("", text)
    text = _STATUS_RESIDUE.sub("", text)
    text = "".join(c for c in text if c.isprintable() or c == "\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


StateCache = dict[frozenset, tuple[list, list[str]]]  # logic state -> (valid actions, their sorted commands)
MAX_CACHED_GAMES = 16  # with MAX_CACHED_STATES, at most about 80,000 states (~400 MB) memoised in all
_state_caches: OrderedDict[str, StateCache] = OrderedDict()


def state_cache(game_json: bytes) -> StateCache:
    """The valid-action memo of one game, shared by every Engine of this process that plays it.

    Keyed by the game's content, so a game rebuilt at the same path gets a fresh memo; the least
    recently opened games' memos are dropped beyond MAX_CACHED_GAMES.
    """
    key = hashlib.blake2b(game_json, digest_size=16).hexdigest()
    cache = _state_caches.pop(key, None)
    _state_caches[key] = cache = {} if cache is None else cache
    while len(_state_caches) > MAX_CACHED_GAMES:
        _state_caches.popitem(last=False)
    return cache


class Progression(GameProgression):
    """TextWorld's GameProgression with valid actions computed on demand and memoised per state.

    The stock class recomputes every applicable action after each step and on every copy (its
    copy runs the constructor); branching agents and the verifier step and copy far more often
    than they look at the valid actions of the state they land in. The memo (``cache``) is shared
    by the episodes and envs of a process that play the same game (see :func:`state_cache`); the
    actions are kept in a canonical order, so what a state's memo holds never depends on the path
    that first reached it.
    """

    MAX_CACHED_STATES = 5_000  # per game (a memo that fills is emptied); a state holds its actions and commands, ~5 kB

    def __init__(self, game: Game, inform7: Inform7Game, cache: StateCache, track_quests: bool = False):
        # The stock constructor, less its eager valid actions: they come from the memo when asked for.
        self.game, self.state = game, game.world.state.copy()
        self.met: frozenset[int] = frozenset()  # the quests whose goal the logic has seen met (Engine.self_check)
        self.quest_progressions = [QuestProgression(q, game.kb) for q in game.quests] if track_quests else []
        for quest_progression in self.quest_progressions:
            quest_progression.update(action=None, state=self.state)
        self._valid_actions: list | None = None
        self._commands: list[str] | None = None
        self._cache, self._inform7 = cache, inform7

    def _lookup(self) -> tuple[list, list[str]]:
        key = frozenset(self.state.facts)
        if key not in self._cache:
            if len(self._cache) >= self.MAX_CACHED_STATES:
                self._cache.clear()
            rules = self.game.kb.rules.values()
            actions = sorted(self.state.all_applicable_actions(rules, self.game.kb.types.constants_mapping), key=str)
            self._cache[key] = (actions, sorted(set(self._inform7.gen_commands_from_actions(actions))))
        return self._cache[key]

    @property
    def valid_actions(self) -> list:
        if self._valid_actions is None:
            self._valid_actions, self._commands = self._lookup()
        return self._valid_actions

    @property
    def admissible_commands(self) -> list[str]:
        """The sorted, distinct commands of the valid actions (memoised with them)."""
        if self._valid_actions is None or self._commands is None:
            self._valid_actions, self._commands = self._lookup()
        return self._commands

    def update(self, action) -> None:
        self.state.apply(action)
        self._valid_actions = self._commands = None
        for quest_progression in self.quest_progressions:
            quest_progression.update(action, self.state)

    def copy(self) -> Progression:
        clone = object.__new__(Progression)
        clone.game, clone.state, clone._cache, clone._inform7 = self.game, self.state.copy(), self._cache, self._inform7
        clone.met = self.met
        clone._valid_actions, clone._commands = self._valid_actions, self._commands
        clone.quest_progressions = [q.copy() for q in self.quest_progressions]
        return clone


@dataclass
class Snapshot:
    """Everything needed to return a game to an earlier moment (see ``Engine.snapshot``)."""

    frotz: tuple  # jericho's FrotzEnv.get_state()
    progression: Progression | None  # None for games without TextWorld logic (see targets.zmachine)
    score: int
    moves: int
    won: bool
    lost: bool
    policy: tuple | None
    extras: dict[str, str | None] = field(default_factory=dict)


class DesyncError(RuntimeError):
    """The game and TextWorld's logic disagree after a step (raised by the engine's self-check)."""


class Engine:
    """Plays one compiled game; tracks TextWorld's logic state from the game's action traces.

    ``step`` plays one turn the logic can follow, or none: a command the game would run as several actions
    is refused (:func:`single_action`), and a turn whose output shows more than one turn, or an action the
    logic models but cannot match, is undone and refused the same way (``refused`` says why). With
    ``self_check``, every step also checks that the game's score is what the goals the logic has seen met
    are worth, and that the game is won exactly when all of them are; a disagreement raises DesyncError.
    """

    def __init__(
        self,
        z8: str | Path,
        *,
        track_quests: bool = False,
        extras: tuple[str, ...] = (),
        self_check: bool = False,
    ):
        self.z8 = Path(z8)
        game_json = self.z8.with_suffix(".json").read_bytes()
        self.game = cached("game", game_json, lambda: load_game(game_json))
        self.inform7 = Inform7Game(self.game)
        # Inform event prefixes of the actions the logic models ("taking the "): an unmatched one is a desync.
        templates = self.game.kb.inform7_events.values()
        self._modelled = tuple({p for p in (t.split("{")[0].lower() for t in templates) if p})
        names = {(info.name or "").lower() for info in self.game.infos.values()}
        self._odd_names = tuple(n for n in names if MULTI_OBJECT_WORDS & set(n.split()))  # usually none
        quests = self.game.quests
        # Repeatable quests score more than once: the score check cannot follow them.
        self.self_check = self_check and not any(q.repeatable for q in quests)
        self._goals = [(q.win_events, q.reward or 0) for q in quests]
        self._printed_objective = objective_text(self.objective or "")  # where the opening text starts
        self._required = frozenset(i for i, q in enumerate(quests) if not q.optional)
        self.refused: str | None = None  # why the last command did not play: "meta", "multi-action", "untracked"
        self.acted = False  # whether the last command made the game carry out an action (traced)
        self._states = state_cache(game_json)
        self.track_quests = track_quests  # needed for policy_commands / intermediate_reward
        self.extras = tuple(extras)  # Inform 7 extra infos printed every turn: "description", "inventory"
        check_story_file(self.z8)  # a broken story file is a StoryFileError here, not jericho's exit()
        with warnings.catch_warnings():  # every generated game is "unsupported": jericho knows only Infocom titles
            warnings.simplefilter("ignore", jericho.UnsupportedGameWarning)
            self._frotz = jericho.FrotzEnv(str(self.z8), 0)
        self.progression: Progression
        self.score = self.moves = 0
        self.won = self.lost = False
        self.policy: tuple | None = None
        self.extra_values: dict[str, str | None] = {}

    @property
    def objective(self) -> str:
        return self.game.objective

    @property
    def max_score(self) -> int:
        return int(self.game.max_score)

    def reset(self, seed: int | None = None) -> str:
        if seed is not None:
            seed_frotz(self._frotz, seed)
        text, _ = self._frotz.reset()
        self._frotz.step("tw-trace-actions")  # print [action - succeeded] traces: how the logic follows the game
        self._frotz.step("tw-extra-infos score")  # print <score> and <moves> every turn
        for extra in self.extras:
            self._frotz.step(f"tw-extra-infos {extra}")
        self.progression = Progression(self.game, self.inform7, self._states, track_quests=self.track_quests)
        self.policy = self.progression.winning_policy if self.track_quests else None
        self.score = self.moves = 0
        self.won = self.lost = False
        self.refused = None
        self.extra_values = {e: None for e in self.extras}
        if self.extras:  # the first values come with the next turn; ask the game directly for now
            for extra in self.extras:
                self.extra_values[extra] = self._peek("look" if extra == "description" else "inventory")
        start = text.find(self._printed_objective) if self.objective else -1
        return clean_output(text[start:] if start >= 0 else text)

    def step(self, command: str) -> str:
        """Send one command; returns the game's cleaned answer and updates score, facts and flags.

        A meta-command or a command of several actions (but for the logic's own admissible commands) is
        answered BLOCKED_REPLY or MULTI_ACTION_REPLY and does not reach the game; a turn the logic could not
        follow is undone and answered MULTI_ACTION_REPLY.
        """
        command = clean_command(command)
        self.refused, self.acted = None, False
        if is_blocked(command):
            self.refused = "meta"
            return BLOCKED_REPLY
        action = single_action(command, self._odd_names)
        if action is None and command.lower() in self.progression.admissible_commands:
            action = command  # the logic's own command ("mix {a} and {b}" of a custom action) is one action
        if action is None:
            self.refused = "multi-action"
            return MULTI_ACTION_REPLY
        saved = self._frotz.get_state()
        raw, _, _, _ = self._frotz.step(action)
        turns = raw.count("<moves>")  # one per turn played
        infos, raw = _detect_extra_infos(raw, ["score", "moves", *self.extras])
        events, raw = _detect_i7_events_debug_tags(raw)
        # Follow the traces in place, or in a copy when a later one may turn out unfollowable.
        progression = self.progression.copy() if len(events) > 1 else self.progression
        if turns > 1 or any(e.startswith(self._modelled) for e in self._follow(events, progression)):
            self._frotz.set_state(saved)  # the safety net: nothing happened
            self.refused = "untracked"
            return MULTI_ACTION_REPLY
        self.progression = progression
        self.acted = bool(events)  # no trace: the parser did not understand, or the game would not do it
        if self.track_quests:
            self.policy = self.progression.winning_policy
        if infos["score"] is not None:
            self.score = int(infos["score"])
        if infos["moves"] is not None:
            self.moves = int(infos["moves"])
        for extra in self.extras:
            if infos[extra] is not None:
                self.extra_values[extra] = infos[extra]
        self.won = "*** The End ***" in raw
        self.lost = "*** You lost! ***" in raw
        if self.self_check:
            self._check(action)
        return clean_output(raw)

    def _follow(self, events: list[str], progression: Progression) -> list[str]:
        """Apply the actions of the game's traces to ``progression``, in order; return the traces that match
        no valid action there (the pure look / examine / inventory ones left out)."""
        unmatched = []
        for event in events:
            action = self.inform7.detect_action(event, progression.valid_actions)
            if action is not None:
                progression.update(action)
            elif not event.lower().startswith(NO_OP_EVENTS):
                unmatched.append(event.lower())
        return unmatched

    def _check(self, command: str) -> None:
        """The self-check: the score is the points of the goals the logic has seen met; won when all are."""
        progression, state = self.progression, self.progression.state
        newly = {
            i
            for i, (events, _) in enumerate(self._goals)
            if i not in progression.met and any(state.is_applicable(e.condition) for e in events)
        }
        if newly:
            progression.met = progression.met | newly
        expected = sum(self._goals[i][1] for i in progression.met)
        problem = None
        if self.score != expected:
            problem = f"the game's score is {self.score} but the goals the logic has seen met are worth {expected}"
        elif self._required and self.won != (self._required <= progression.met):
            problem = "the game is won but the logic has not seen every goal met"
            if not self.won:
                problem = "the logic has seen every goal met but the game is not won"
        if problem:
            raise DesyncError(f"after {command!r} (move {self.moves}): {problem}; the logic has lost track of the game")

    def probe(self, command: str) -> list[str]:
        """Actions the game performs for ``command`` that TextWorld's logic cannot follow (then undone).

        The game's ``[... - succeeded]`` traces are matched in order against the logic's valid actions,
        as :meth:`step` does; a state-changing trace with no match means the two would drift apart.
        """
        saved = self._frotz.get_state()
        raw, _, _, _ = self._frotz.step(clean_command(command))
        self._frotz.set_state(saved)
        _, raw = _detect_extra_infos(raw, ["score", "moves", *self.extras])
        events, _ = _detect_i7_events_debug_tags(raw)
        return self._follow(events, self.progression.copy())

    def _peek(self, command: str) -> str:
        """The game's answer to ``command`` without letting it happen."""
        saved = self._frotz.get_state()
        text, _, _, _ = self._frotz.step(command)
        self._frotz.set_state(saved)
        _, text = _detect_extra_infos(text, ["score", "moves", *self.extras])
        return clean_output(_detect_i7_events_debug_tags(text)[1])

    # -- what the logic knows ----------------------------------------------------------------
    def admissible_commands(self) -> list[str]:
        return list(self.progression.admissible_commands)

    def facts(self) -> list[str]:
        """The logic's facts, readable; the builder's internal tag__ predicates left out."""
        facts = self.progression.state.facts
        return sorted(str(self.inform7.get_human_readable_fact(f)) for f in facts if not f.name.startswith("tag__"))

    def location(self) -> str | None:
        for fact in self.progression.state.facts:
            if fact.name == "at" and fact.arguments[0].name == "P":
                return self.game.infos[fact.arguments[1].name].name
        return None

    def policy_commands(self) -> list[str]:
        if self.policy is None:  # TextWorld loses the policy after an irreversible action
            return []
        return self.inform7.gen_commands_from_actions(self.policy)

    # -- branching ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(
            self._frotz.get_state(),
            self.progression.copy(),
            self.score,
            self.moves,
            self.won,
            self.lost,
            self.policy,
            dict(self.extra_values),
        )

    def restore(self, snap: Snapshot) -> None:
        assert snap.progression is not None, "a snapshot of an Engine carries its logic state"
        self._frotz.set_state(snap.frotz)
        self.progression = snap.progression.copy()
        self.score, self.moves, self.won, self.lost = snap.score, snap.moves, snap.won, snap.lost
        self.policy, self.extra_values = snap.policy, dict(snap.extras)

    def close(self) -> None:
        if self._frotz is not None:
            self._frotz.close()
            self._frotz = None

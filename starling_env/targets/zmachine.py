"""Any Z-machine story file as a STARLING environment: ``starling/ZMachine-v0`` (make kwarg ``game_path``).

The story file is checked first (:func:`starling_env.story_file.probe_story_file`: its header, then a
start-up in a child process), so a bad file raises :class:`~starling_env.story_file.StoryFileError`
instead of letting the interpreter end the process. jericho runs it. For the games jericho supports
(its own releases, known by md5) it reports the score, the moves and the end of the game; for every
other game (the MIT release of Zork I, any Inform game) this module reads them itself:

- the status line is cut out of the text: the one jericho echoes for version 1-3 games, and the one a
  game draws in its upper window, which reaches the text as a run of more than half a screen width of
  spaces and then the line (``Busy StreetScore: 0Moves: 2``), or as text after the last prompt;
- score and moves, every turn: for version 1-3 score/moves games (flag bit 1 of header byte 1 clear),
  the status line's Z-machine globals 1 and 2; otherwise the status line the game drew ("Score: 5",
  Inform 7's "5/12"), else a score the answer states ("Your score is 5", "scored 5 out of 10"), else,
  when the answer mentions the score, the game's answer to a ``score`` command, peeked (sent, then
  undone with ``set_state``);
- the end of the game: the game's closing menu ("Would you like to RESTART, RESTORE ... QUIT"), or
  the interpreter halting; lost when the text says the player died, else won when it says so or the
  score reached the maximum;
- a command after which some object would be its own ancestor in the object tree ("put nest in egg", then
  "put egg in nest": Zork I accepts both, then loops forever in the interpreter at its next listing of either)
  is undone and answered with :data:`LOOP_REPLY`; such commands are never admissible;
- the maximum score: the ``max_score`` kwarg, jericho's, a peeked ``score`` command at the start (past
  any "press a key" prompts), or the first answer that states it ("out of a possible 10").

Admissible commands, for any game (jericho's own need per-game bindings and a spaCy model):

- at a key-press prompt (the game waits in ``read_char``): ``continue`` and the keys the text offers
  ("[Y/N]", "(1)"), one per distinct outcome;
- at a yes/no question: ``yes`` and ``no`` when the game answers them otherwise than a nonsense word;
- things: the nouns of the game's dictionary (and "adjective noun" pairs) in the observation, the room
  description and the inventory, kept when the game answers ``examine`` for them unlike for nouns surely
  absent; synonyms (same answer) merged; for "Which button do you mean, the red button or ...?" the
  things it names;
- candidates: directions, a small table of one-object templates (``take {o}``, ``open {o}``, ...) and
  two-object templates with a held thing (``put {h} in {o}``, ``attack {o} with {h}``, ...) whose verb is
  in the dictionary, and the dictionary's verbs alone;
- each candidate is tried from the current state and undone (``get_state`` / ``set_state``); it is kept
  when it changes the world: the global variables, the object tree and the property tables, minus the
  bytes that commands which change nothing also change (the parser's variables, the turn counter,
  daemons). Those are learned per state from probes (``look``, ``inventory``, ``examine`` of each
  thing, nonsense words, ``take X from X``), and per game as the global variables that such probes
  change or that take 3 or more values over the candidates of one state. A verb alone or a ``take all``
  must change more than a global flag. One command is kept per distinct effect; results are cached per
  state.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import jericho
import numpy as np

from ..envs.engine import BLOCKED_REPLY, Snapshot, clean_command, clean_output, is_blocked, seed_frotz
from ..envs.game_env import StarlingEnv
from ..story_file import probe_story_file
from . import data_dir

# -- game text ------------------------------------------------------------------------------------
_STATUS_LINE = re.compile(r"\A\s*>[^\n]*?\s{3,}[^\n]*\n")  # jericho echoes a v3 status line before the answer
_END_MENU = re.compile(
    r"would you like to restart|do you want to restart|\(type restart, restore|"
    r"restart, restore[^\n]{0,40}quit",
    re.IGNORECASE,
)
_WON = re.compile(r"\*+\s*you have won\s*\*+", re.IGNORECASE)
_DIED = re.compile(r"\*+\s*you have died\s*\*+", re.IGNORECASE)
_PROMPT_TAIL = re.compile(r"(?:\A|\n)>([^\n]*\S[^\n]*)\Z")  # text after the last prompt: a status line
_STATUS_SCORE = (  # (score, moves) in a status line: "Score: 5Moves: 12", Inform 7's "5/12"
    re.compile(r"score:?\s*(-?\d+)(?:\D*?(?:moves|turns):?\s*(\d+))?", re.IGNORECASE),
    re.compile(r"(?<![\d=])(-?\d+)\s*/\s*(\d+)\s*\Z"),  # not the "-" of TextWorld's "-= Kitchen =-0/3"
)
_YES_NO = re.compile(
    r"\?\s*(?:[(\[](?:y(?:es)?\s*(?:/|or)\s*n(?:o)?)[)\]]\s*)?\Z|\byes or no\b|\(y is affirmative\)",
    re.IGNORECASE,
)
_KEY_OPTIONS = re.compile(r"[(\[]([a-z0-9])[)\]]|\bpress ([a-z0-9])\b", re.IGNORECASE)  # "[Y]es", "(1)", "press Q"
_RHETORICAL = re.compile(r"rhetorical question", re.IGNORECASE)  # Inform's answer to "yes" out of context
READ_CHAR = 246  # the opcode a game waiting for one key stops at (228, read, waits for a line)
_SCORE_TEXT = re.compile(r"\bscore|\bpoints?\b", re.IGNORECASE)
_SCORE = (  # (score, maximum) as games print them
    re.compile(
        r"your score (?:is|was) (-?\d+)"
        r"(?: \(total of (\d+) points?\)| of a possible (\d+)| out of (?:a possible )?(\d+))?",
        re.IGNORECASE,
    ),
    re.compile(r"scored (-?\d+) out of (?:a possible |a maximum of )?(\d+)", re.IGNORECASE),
    re.compile(r"score (?:is|was|of) (-?\d+) out of (?:a possible )?(\d+)", re.IGNORECASE),
)
_QUESTION = re.compile(r"(?:^|\n)\s*(?:which|what|whom|who|where)\b[^\n]*\?\s*$", re.IGNORECASE)  # parser asks back
_WORD = re.compile(r"[a-z]+")
_OPTIONS = re.compile(r"which [^\n?]*?do you mean,? ([^\n?]*)\?", re.IGNORECASE)  # "..., the red button or the ...?"
# Games jericho knows under another release: (banner pattern, jericho.game_info entry).
KNOWN_BANNERS = ((re.compile(r"\bZORK I\b"), "zork1"),)

# -- command templates ----------------------------------------------------------------------------
DIRECTIONS = (
    "north",
    "south",
    "east",
    "west",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
    "up",
    "down",
    "in",
    "out",
)
_DIRECTION_WORDS = frozenset(DIRECTIONS + tuple("n s e w ne nw se sw u d inside outside direction".split()))
GARBAGE = "zqxv zqxv zqxv zqxv zqxv zqxv zqxv zqxv zqxv zqxv zqxv zqxv zqxv"  # fills the parser's buffers
# Verbs that change settings or replay commands, never the world.
META_VERBS = frozenset(
    "again g oops brief verbose superbrief super short long normal score full fullscore notify "
    "pronouns nouns version diagnose $ve $verify random".split()
)
PRONOUNS = frozenset("a an the some of and all it them him her me myself self you yourself everything".split())
# {o}: a thing seen now; {h}: a thing held (from the inventory text). The verb must be in the dictionary.
ONE_OBJECT = tuple(
    f"{verb} {{o}}"
    for verb in (
        "take",
        "drop",
        "open",
        "close",
        "read",
        "light",
        "extinguish",
        "push",
        "pull",
        "move",
        "turn",
        "touch",
        "ring",
        "wave",
        "wind",
        "raise",
        "lower",
        "dig",
        "inflate",
        "deflate",
        "enter",
        "climb",
        "board",
        "eat",
        "drink",
        "wear",
        "remove",
        "search",
        "kick",
        "attack",
        "break",
        "shake",
        "rub",
        "fill",
        "empty",
        "unlock",
        "lock",
        "tie",
        "untie",
        "burn",
        "play",
        "lift",
        "launch",
        "throw",
        "squeeze",
        "wake",
        "cut",
        "pour",
    )
) + (
    "turn on {o}",
    "turn off {o}",
    "switch on {o}",
    "switch off {o}",
    "get out of {o}",
    "look in {o}",
    "look under {o}",
    "knock on {o}",
    "talk to {o}",
    "climb up {o}",
    "climb down {o}",
    "take all from {o}",
)
TWO_OBJECTS = (
    "put {h} in {o}",
    "put {h} on {o}",
    "give {h} to {o}",
    "throw {h} at {o}",
    "attack {o} with {h}",
    "unlock {o} with {h}",
    "open {o} with {h}",
    "turn {o} with {h}",
    "tie {h} to {o}",
    "light {o} with {h}",
    "dig {o} with {h}",
    "cut {o} with {h}",
    "fill {h} with {o}",
    "inflate {o} with {h}",
    "take {o} from {p}",
)
MAX_CACHED_STATES = 2_000
# What a command that would put a thing inside itself gets (the game would then loop forever): it is undone.
LOOP_REPLY = "That would put something inside itself, which this game cannot handle: nothing happens."


def _word(ram: np.ndarray, address: int) -> int:
    return int(ram[address]) << 8 | int(ram[address + 1])


@dataclass(frozen=True)
class ObjectTable:
    """Where a story file's object entries lie in dynamic memory: ``count`` entries of ``entry`` bytes from
    ``first``, each with its parent object at ``parent`` (one byte in versions 1-3, two after)."""

    first: int
    entry: int
    count: int
    parent: int
    wide: bool

    @classmethod
    def of(cls, ram: np.ndarray) -> ObjectTable:
        version, size = int(ram[0]), len(ram)
        entry, links, defaults = (9, 7, 31) if version <= 3 else (14, 12, 63)
        first = _word(ram, 0x0A) + 2 * defaults
        lowest, n = size, 0
        while first + (n + 1) * entry <= min(lowest, size):  # entries run up to the first property table
            table = _word(ram, first + n * entry + links)
            if not first < table < size:
                break
            lowest, n = min(lowest, table), n + 1
        return cls(first, entry, n, 4 if version <= 3 else 6, version > 3)

    def property_tables(self, ram: np.ndarray) -> list[int]:
        links = self.entry - 2
        return [_word(ram, self.first + i * self.entry + links) for i in range(self.count)]

    def has_cycle(self, ram: np.ndarray) -> bool:
        """Whether some object is its own ancestor ("put nest in egg", then "put egg in nest": Zork I accepts
        both). A game then loops forever the next time it lists what is in either, inside the interpreter,
        where no timeout reaches: the engine undoes such a command (see :meth:`ZEngine.step`)."""
        n = self.count
        if not n:
            return False
        at = self.first + self.parent + self.entry * np.arange(n)
        parents = ram[at].astype(np.int64)
        if self.wide:
            parents = parents << 8 | ram[at + 1]
        up = np.zeros(n + 1, dtype=np.int64)  # object -> its parent (0: none; out of range read as none)
        up[1:] = np.where(parents <= n, parents, 0)
        for _ in range(n.bit_length() + 1):  # after k rounds, up[o] is o's ancestor 2**k levels up
            up = up[up]
        return bool(up.any())  # every chain without a cycle ends at 0


def world_bytes(ram: np.ndarray, objects: ObjectTable) -> np.ndarray:
    """Addresses of the world's state in dynamic memory: global variables, object entries, property tables."""
    version, size = int(ram[0]), len(ram)
    globals_at = _word(ram, 0x0C)
    ranges = [np.arange(globals_at, min(globals_at + 480, size))]
    for table in objects.property_tables(ram):
        at = start = table + 1 + 2 * int(ram[table])  # property data starts after the short name
        while at < size and ram[at]:  # property blocks: size byte(s), data; a 0 byte ends the list
            b = int(ram[at])
            if version <= 3:
                at += 1 + (b >> 5) + 1
            elif b & 0x80:
                at += 2 + ((int(ram[at + 1]) & 0x3F) or 64)
            else:
                at += 1 + (2 if b & 0x40 else 1)
        ranges.append(np.arange(start, min(at, size)))
    ranges.append(np.arange(objects.first, min(objects.first + objects.count * objects.entry, size)))
    return np.unique(np.concatenate(ranges))


@dataclass
class ZSnapshot(Snapshot):
    """A :class:`Snapshot` of a :class:`ZEngine` (its last observation feeds the admissible commands)."""

    observation: str = ""


class ZEngine:
    """Plays one Z-machine story file with the interface StarlingEnv expects of an engine."""

    def __init__(self, story_file: str | Path, *, extras: tuple[str, ...] = (), max_score: int | None = None):
        self.story_file = Path(story_file)
        probe_story_file(self.story_file)  # StoryFileError where jericho would end the process
        with warnings.catch_warnings():  # "not fully supported": handled here
            warnings.simplefilter("ignore", jericho.UnsupportedGameWarning)
            self._frotz = jericho.FrotzEnv(str(self.story_file), 0)
        frotz = self._frotz
        self.supported = bool(frotz.is_fully_supported and frotz.bindings)  # jericho knows this release
        self.bindings: dict[str, Any] = dict(frotz.bindings or {})
        ram = frotz._get_ram()
        self.version = int(ram[0])
        self.globals_at = _word(ram, 0x0C)
        self.status_score = self.version <= 3 and not ram[1] & 0x02  # v1-3 score/moves status line (not a clock)
        # A status line drawn in the upper window starts with a screen-wide run of spaces; centred text has fewer.
        self._drawn_status = re.compile(rf" {{{(int(ram[0x21]) or 80) // 2 + 1},}}([^\n]*)")
        self.objects = ObjectTable.of(ram)
        self.world = world_bytes(ram, self.objects)
        self.word_length = 6 if self.version <= 3 else 9
        self.dictionary: dict[str, set[str]] = {"noun": set(), "adj": set(), "verb": set(), "dir": set(), "prep": set()}
        for entry in frotz.get_dictionary():
            for kind in self.dictionary:
                if getattr(entry, f"is_{kind}"):
                    self.dictionary[kind].add(str(entry).lower())
        self.objective = ""
        self.policy = None  # no TextWorld quests here
        self.extras = tuple(extras)
        self.extra_values: dict[str, str | None] = {}
        self.observation = ""
        self.status = ""  # the last status line the game showed (cut out of the observation)
        self.banner = frotz.reset()[0]  # the opening text names the game (see known_walkthrough)
        self._max_score = max_score
        self.score = self.moves = 0
        self.won = self.lost = False
        self._noise = np.zeros(len(self.world), dtype=bool)  # world bytes learned to be parser noise
        in_globals = (self.world >= self.globals_at) & (self.world < self.globals_at + 480)
        self._global_slot = np.where(in_globals, (self.world - self.globals_at) // 2, -1)  # global number or -1
        self._cache: dict[bytes, tuple[list[str], np.ndarray]] = {}

    # -- playing ------------------------------------------------------------------------------------
    @property
    def max_score(self) -> int:
        return int(self._max_score or 0)

    def reset(self, seed: int | None = None) -> str:
        if seed is not None:
            seed_frotz(self._frotz, seed)
        raw, _ = self._frotz.reset()
        self.score = self.moves = 0
        self.won = self.lost = False
        if self._max_score is None:
            self._max_score = self._frotz.get_max_score() if self.supported else self._peek_score()[1] or None
        self.observation, self.status = self._split(raw)
        self._update_extras()
        return self.observation

    def step(self, command: str) -> str:
        """Send one command; returns the game's cleaned answer and updates score, moves and the end flags."""
        command = clean_command(command)
        if is_blocked(command):
            return BLOCKED_REPLY
        raw, _ = self._send(command, self._frotz.get_state())
        if raw is None:
            return LOOP_REPLY
        ended = self._frotz._emulator_halted() or bool(_END_MENU.search(raw))
        text, status = self._split(raw)
        self.status = status or self.status
        if self.supported:
            self.score, self.moves = self._frotz.get_score(), self._frotz.get_moves()
            self.won = self._frotz.victory()
            self.lost = not self.won and (self._frotz.game_over() or ended)
        else:
            self.moves += 1
            self._read_score(text, status, ended)
            self.won = ended and not _DIED.search(raw) and (bool(_WON.search(raw)) or 0 < self.max_score <= self.score)
            self.lost = ended and not self.won
        self.observation = text
        self._update_extras()
        return self.observation

    def _read_score(self, text: str, status: str, ended: bool) -> None:
        """Score and moves of a game jericho does not know, from the game's own state (see the module's docstring)."""
        if self.status_score:
            self.score, self.moves = self._status()
            return
        said, maximum = self._parse_score(text)
        if maximum and not self._max_score:
            self._max_score = maximum
        drawn = next((m for m in (p.search(status) for p in _STATUS_SCORE) if m), None)
        if drawn and drawn.group(2):
            self.moves = int(drawn.group(2))
        if said is not None:  # a statement of the score is current; at the end the status line may not be
            self.score = said
        elif drawn:
            self.score = int(drawn.group(1))
        elif _SCORE_TEXT.search(text) and not ended:  # the score may have changed: ask the game
            peeked = self._peek_score()[0]
            self.score = self.score if peeked is None else peeked

    def _status(self) -> tuple[int, int]:
        """(score, moves) from the status line globals of a version 1-3 game."""
        ram = self._frotz._get_ram()
        score = _word(ram, self.globals_at + 2)
        return score - 0x10000 if score & 0x8000 else score, _word(ram, self.globals_at + 4)

    @staticmethod
    def _parse_score(text: str) -> tuple[int | None, int | None]:
        for pattern in _SCORE:
            match = pattern.search(text)
            if match:
                maximum = next((int(g) for g in match.groups()[1:] if g), None)
                return int(match.group(1)), maximum
        return None, None

    def _peek_score(self) -> tuple[int | None, int | None]:
        """(score, maximum) from the game's answer to ``score`` (past "press a key" prompts), undone."""
        saved = self._frotz.get_state()
        for _ in range(5):
            if not self.waiting_for_key():
                break
            self._frotz.step("")
        raw = self._frotz.step("score")[0]
        self._restore(saved)
        return self._parse_score(self._split(raw)[0])

    def waiting_for_key(self) -> bool:
        """Whether the game waits for a single key press ("[Press any key]", a menu), not a command line."""
        return int(self._frotz.frotz_lib.get_opcode()) == READ_CHAR

    def peek(self, command: str) -> str:
        """The game's (cleaned) answer to ``command`` without letting it happen."""
        saved = self._frotz.get_state()
        raw = self._frotz.step(command)[0]
        self._restore(saved)
        return self._split(raw)[0]

    def _restore(self, state: tuple) -> None:
        if self._frotz._emulator_halted():  # a halted interpreter must be restarted before it takes a state
            self._frotz.reset()
        self._frotz.set_state(state)

    def _split(self, raw: str) -> tuple[str, str]:
        """(the cleaned answer, the status line cut out of it; "" if none) of the interpreter's text."""
        status: list[str] = []
        echoed = _STATUS_LINE.match(raw)  # versions 1-3: "> West of House      Score: 0      Moves: 1\n"
        if echoed:
            status.append(echoed.group().strip(" \n>"))
            raw = raw[echoed.end() :]

        def cut(match: re.Match[str]) -> str:
            status.append(match.group(1).strip())
            return ""

        raw = self._drawn_status.sub(cut, raw)
        tail = _PROMPT_TAIL.search(raw)
        if tail:
            status.append(tail.group(1).strip())
            raw = raw[: tail.start(1)]
        menu = _END_MENU.search(raw)
        if menu:
            raw = raw[: raw.rfind("\n", 0, menu.start()) + 1]
        return clean_output(raw), next((s for s in reversed(status) if s), "")

    def _update_extras(self) -> None:
        for extra in self.extras:
            self.extra_values[extra] = self.peek("look" if extra == "description" else "inventory")

    # -- what the game shows ----------------------------------------------------------------------------
    def location(self) -> str | None:
        """The room's name: the status line's location object (versions 1-3), else the first line of ``look``."""
        if self.version <= 3:
            room = self._frotz.get_object(_word(self._frotz._get_ram(), self.globals_at))
            if room is not None and room.name:
                return str(room.name)
        first = self.peek("look").strip().split("\n")[0]
        return first or None

    def known_walkthrough(self) -> tuple[list[str], int | None]:
        """jericho's walkthrough and its seed: for a release jericho knows, or a banner it recognises."""
        if self.bindings.get("walkthrough"):
            return self.bindings["walkthrough"].split("/"), self.bindings.get("seed")
        for banner, name in KNOWN_BANNERS:
            if banner.search(self.banner):
                info = getattr(jericho.game_info, name)
                return info["walkthrough"].split("/"), info.get("seed")
        return [], None

    # -- admissible commands ------------------------------------------------------------------------------
    def admissible_commands(self) -> list[str]:
        """Commands that change the world from here (one per distinct effect), sorted; cached per state."""
        if self.won or self.lost or self._frotz._emulator_halted():
            return []
        return list(self._lookup()[0])

    def effect(self, command: str) -> bytes:
        """What ``command`` does to the world from here, comparable between commands (then undone)."""
        mask = self._lookup()[1]
        state = self._frotz.get_state()
        try:
            return self._try(command, state)[0][mask].tobytes()
        finally:
            self._restore(state)

    def _lookup(self) -> tuple[list[str], np.ndarray]:
        """(admissible commands, world bytes that tell effects apart) of the current state, memoised."""
        ram = self._frotz._get_ram()
        key = hashlib.blake2b(ram[self.world].tobytes() + self.observation.encode(), digest_size=16).digest()
        if key not in self._cache:
            if len(self._cache) >= MAX_CACHED_STATES:
                self._cache.clear()
            self._cache[key] = self._admissible()
        return self._cache[key]

    def _phrases(self, text: str) -> list[str]:
        """Nouns of the dictionary in ``text`` (in order of appearance), and "adjective noun" pairs."""
        cut = self.word_length
        nouns, adjectives = self.dictionary["noun"], self.dictionary["adj"]
        words = _WORD.findall(text.lower())
        found: dict[str, None] = {}
        for i, word in enumerate(words):
            if (
                word[:cut] in nouns
                and len(word) > 1
                and word not in PRONOUNS
                and word not in _DIRECTION_WORDS
                and word[:cut] not in self.dictionary["dir"]
            ):
                if i and words[i - 1][:cut] in adjectives and words[i - 1] not in PRONOUNS:
                    found[f"{words[i - 1]} {word}"] = None
                found[word] = None
        return list(found)

    def things(self, views: list[np.ndarray] | None = None) -> tuple[list[str], list[str]]:
        """(things in scope, those held), named as the text names them (see the module's docstring).

        Of phrases the game describes alike one is kept: a single head noun seen after an article or an
        adjective ("lantern" of "a brass lantern (providing light)", "candles" of "a pair of candles").
        The world bytes after each ``examine`` are appended to ``views`` (they are probes that change nothing).
        """
        state = self._frotz.get_state()

        def examine(phrase: str) -> str:  # "(the blue moccasins)\nThe blue ..." answers as "The blue ..."
            view, raw = self._try(f"examine {phrase}", state)
            if views is not None:
                views.append(view)
            return re.sub(r"\A\([^)\n]*\)\s*", "", self._split(raw)[0])

        inventory = self.extra_values.get("inventory") or self.peek("inventory")
        description = self.extra_values.get("description") or self.peek("look")
        held = set(self._phrases(inventory))
        phrases = self._phrases(f"{self.observation}\n{description}\n{inventory}")
        cut = self.word_length
        seen = {w[:cut] for w in _WORD.findall(f"{self.observation}\n{description}\n{inventory}".lower())}
        others = self.dictionary["verb"] | self.dictionary["dir"] | self.dictionary["prep"] | self.dictionary["adj"]
        absent = [
            n
            for n in sorted(self.dictionary["noun"] - others - PRONOUNS, key=lambda n: (-len(n), n))
            if n not in seen and n.isalpha() and n not in _DIRECTION_WORDS
        ][:5]  # surely not here
        answers = {p: examine(p) for p in phrases + absent}

        def general(p: str) -> str:
            return re.sub(re.escape(p), "*", answers[p], flags=re.IGNORECASE)

        absent_answers = [general(n) for n in absent]
        not_here = {a for a in absent_answers if absent_answers.count(a) > 1}
        by_answer: dict[str, list[str]] = {}
        for phrase in phrases:
            options = _OPTIONS.search(answers[phrase])
            if options:  # ambiguous: the game names the things it could mean
                for option in re.split(r",\s*(?:or\s+)?|\s+or\s+", options.group(1)):
                    option = re.sub(r"^(?:the|a|an|some)\s+", "", option.strip().lower())
                    if option and option not in answers and len(option) < 40:
                        answers[option] = examine(option)
                        if not _QUESTION.search(answers[option]):
                            by_answer.setdefault(answers[option], []).append(option)
            elif general(phrase) not in not_here and not _QUESTION.search(answers[phrase]):
                by_answer.setdefault(answers[phrase], []).append(phrase)
        text = _WORD.findall(f"{self.observation}\n{description}\n{inventory}".lower())
        of = {w for w, after in pairwise(text) if after == "of"}  # "pair" of "pair of candles"
        named = {
            w
            for before, w in pairwise(text)  # "a brass lantern", not "providing light"
            if before in ("a", "an", "the", "some", "your") or before[:cut] in self.dictionary["adj"]
        }
        heads = {
            w
            for w, after in zip(text, text[1:] + [""], strict=True)  # "socks" of "wet plaid socks"
            if after[:cut] not in self.dictionary["noun"]
        }
        order = {p: i for i, p in enumerate(answers)}
        found = [
            min(group, key=lambda p: (" " in p, p in of, p not in heads, p not in named, order[p]))
            for group in by_answer.values()
        ]
        self._restore(state)
        return found, [f for f in found if any(p in held for p in by_answer[answers[f]])]

    def candidates(self, things: list[str], held: list[str]) -> list[str]:
        """Commands worth trying here, most natural first (the first of a group with one effect is kept)."""
        cut, verbs = self.word_length, self.dictionary["verb"]

        def knows(template: str) -> bool:
            return template.split()[0][:cut] in verbs

        short = {d[:cut] for d in DIRECTIONS}
        known = set().union(*self.dictionary.values())  # Inform 7 marks no word a direction
        commands = [d for d in DIRECTIONS if d[:cut] in (self.dictionary["dir"] or known)]
        commands += sorted(w for w in self.dictionary["dir"] - self.dictionary["prep"] if len(w) > 2 and w not in short)
        commands += [t.format(o=o) for t in ONE_OBJECT if knows(t) for o in things]
        for template in filter(knows, TWO_OBJECTS):
            if "{p}" in template:
                commands += [template.format(o=o, p=p) for o in things for p in things if o != p]
            else:
                commands += [template.format(h=h, o=o) for h in held for o in things if o != h]
        meta = {m[:cut] for m in META_VERBS}
        commands += ["take all", "drop all"] + sorted(v for v in verbs if v[:cut] not in meta and v.isalpha())
        return list(dict.fromkeys(c for c in commands if not is_blocked(c)))

    def _try(self, command: str, state: tuple) -> tuple[np.ndarray, str]:
        """The world bytes and the raw text after ``command`` from ``state`` (left in the state after it)."""
        self._restore(state)
        raw, ram = self._send(command, state)
        return ram[self.world], LOOP_REPLY if raw is None else raw

    def _send(self, command: str, state: tuple) -> tuple[str | None, np.ndarray]:
        """The raw answer to ``command`` sent in ``state`` (the current one) and the dynamic memory after it; None
        and ``state``'s memory when the command made an object its own ancestor: the game would hang at its next
        listing of it, so the command is undone."""
        raw = self._frotz.step(command)[0]
        ram = self._frotz._get_ram()
        if not self.objects.has_cycle(ram):
            return raw, ram
        self._restore(state)
        return None, self._frotz._get_ram()

    def _admissible(self) -> tuple[list[str], np.ndarray]:
        state = self._frotz.get_state()
        try:
            if self.waiting_for_key():  # any command is one key press here
                keys = [m.group(1) or m.group(2) for m in _KEY_OPTIONS.finditer(self.observation)]
                answers = ["continue", *dict.fromkeys(k.lower() for k in keys)]
                everything = np.ones(len(self.world), dtype=bool)
                return sorted(self._answers(answers, state, everything)), everything
            examined: list[np.ndarray] = []
            things, held = self.things(examined)
            probes = ["look", "inventory", GARBAGE]
            probes += [
                f"{v} {t} {p} {t}" for t in things[:1] for v, p in (("take", "from"), ("put", "on"))
            ]  # two objects
            probes += [f"put {h} in {h}" for h in held[:1]]
            views = np.stack([self._try(p, state)[0] for p in probes] + examined)
            volatile = np.any(views != views[0], axis=0)  # what commands that change nothing change
            self._noise |= volatile & (self._global_slot >= 0)  # a variable such commands change is the parser's
            results: list[tuple[str, np.ndarray]] = []
            for command in self.candidates(things, held):
                view, raw = self._try(command, state)
                answer = self._split(raw)[0]
                if _QUESTION.search(answer):  # "Which do you mean ...?" changes nothing
                    continue
                if " " not in command and answer.startswith("("):  # "bite" -> "(the garlic) ...": "eat garlic" says it
                    continue
                results.append((command, view))
            if results:
                self._learn_noise(np.stack([views[0]] + [view for _, view in results]))
            mask = ~(volatile | self._noise)
            solid = mask & ((self._global_slot < 0) | ((self._global_slot == 1) & self.status_score))  # not flags
            effects: dict[bytes, str] = {views[0][mask].tobytes(): ""}  # the effect of changing nothing
            for command, view in results:
                words = command.split()
                if (len(words) == 1 or "all" in words) and not np.any((view != views[0]) & solid):
                    continue  # a verb alone or "take all" that only sets flags: parser state, not the world
                effects.setdefault(view[mask].tobytes(), command)
            commands = [c for c in effects.values() if c]
            if _YES_NO.search(self.observation) and not _QUESTION.search(self.observation):
                commands += [a for a in self._answers(["yes", "no"], state, mask, GARBAGE) if a not in commands]
            return sorted(commands), mask
        finally:
            self._restore(state)

    def _answers(self, answers: list[str], state: tuple, mask: np.ndarray, nonsense: str | None = None) -> list[str]:
        """Of ``answers`` to the game's prompt, one per distinct outcome, unlike the outcome of ``nonsense``.

        An outcome: the world (``mask`` of it), whether the game halted or waits for a key, and the answer's text.
        """
        outcomes: dict[tuple[bytes, bool, bool, str], str] = {}
        for answer in ([nonsense] if nonsense else []) + answers:
            view, raw = self._try(answer, state)
            text = self._split(raw)[0]
            if answer in ("yes", "no") and _RHETORICAL.search(text):
                continue
            outcome = (view[mask].tobytes(), bool(self._frotz._emulator_halted()), self.waiting_for_key(), text)
            outcomes.setdefault(outcome, answer)
        return [a for a in outcomes.values() if a != nonsense]

    def _learn_noise(self, views: np.ndarray) -> None:
        """Mark as parser noise the global variables that take 3 or more values over the commands tried.

        Parser variables (the verb, the objects, "it", the last direction) hold whatever the command named;
        the world's flags and counters take one or two values from one state. The score is never noise.
        """
        values = np.sort(views[:, self._global_slot >= 0], axis=0)
        distinct = (np.diff(values, axis=0) != 0).sum(axis=0) + 1
        noisy = np.unique(self._global_slot[self._global_slot >= 0][distinct >= 3])
        noisy = noisy[noisy != 1] if self.status_score else noisy
        self._noise |= np.isin(self._global_slot, noisy)

    # -- branching -------------------------------------------------------------------------------------------
    def snapshot(self) -> ZSnapshot:
        return ZSnapshot(
            self._frotz.get_state(),
            None,
            self.score,
            self.moves,
            self.won,
            self.lost,
            None,
            dict(self.extra_values),
            self.observation,
        )

    def restore(self, snap: Snapshot) -> None:
        if not isinstance(snap, ZSnapshot):
            raise TypeError("restore expects a snapshot of a ZEngine")
        self._restore(snap.frotz)
        self.score, self.moves, self.won, self.lost = snap.score, snap.moves, snap.won, snap.lost
        self.extra_values, self.observation = dict(snap.extras), snap.observation

    def close(self) -> None:
        if self._frotz is not None:
            self._frotz.close()
            self._frotz = None


class ZMachineEnv(StarlingEnv):
    """A Z-machine game (``.z1``-``.z8``, ``.dat``) with the StarlingEnv contract.

    Args:
        game_path: the story file (default: the MIT Zork I, ``zork1/zork1.z3`` of :func:`data_dir`).
        max_score: the game's maximum score when neither jericho nor the game's ``score`` answer tells it.
        walkthrough: commands returned as ``info["walkthrough"]`` (default: jericho's, for a game it knows).
        split: ``"train"`` or ``"test"``, both this one game: a single game has no held-out games, and agents
            are trained and scored on the same game (Jericho's protocol, the published Zork I numbers' too).
        Other arguments as :class:`StarlingEnv`; ``extra_info`` takes walkthrough, description, inventory
        and location. Without a reset seed each episode draws one from the env's RNG: a seeded first
        reset fixes every later episode, an unseeded env is stochastic (the thief, the troll).
    """

    valid_extra_info = ("walkthrough", "description", "inventory", "location")

    def __init__(
        self,
        game_path: str | Path | None = None,
        max_score: int | None = None,
        walkthrough: list[str] | None = None,
        split: str | None = None,
        **kwargs: Any,
    ):
        if split not in (None, "train", "test"):
            raise ValueError(f"a Z-machine game is one game: split must be 'train' or 'test' (the same), not {split!r}")
        path = Path(game_path) if game_path is not None else data_dir("zork1") / "zork1.z3"
        if not path.is_file():
            raise FileNotFoundError(f"no Z-machine story file at {path}")
        self._max_score, self._walkthrough = max_score, walkthrough
        super().__init__(path, **kwargs)

    @property
    def card(self) -> dict[str, Any]:
        return {
            "env_id": "starling/ZMachine-v0",
            "game_id": self.game_id,
            "skills": [],
            "difficulty": None,
            "split": None,
        }

    @property
    def _zengine(self) -> ZEngine:
        engine = self.engine
        assert isinstance(engine, ZEngine), "_make_engine makes a ZEngine"
        return engine

    def walkthrough(self) -> list[str]:
        """The ``walkthrough`` kwarg, else jericho's for a game it knows (replay it with ``walkthrough_seed``)."""
        return list(self._walkthrough) if self._walkthrough is not None else self._zengine.known_walkthrough()[0]

    @property
    def walkthrough_seed(self) -> int | None:
        """The reset seed jericho's walkthrough was recorded with (Zork I: 12), if any."""
        return self._zengine.known_walkthrough()[1]

    def _engine_seed(self, seed: int | None) -> int:
        return seed if seed is not None else int(self.np_random.integers(1 << 31))

    def _make_engine(self) -> ZEngine:  # type: ignore[override]
        return ZEngine(
            self.story_file,
            extras=tuple(e for e in ("description", "inventory") if e in self.extra_info),
            max_score=self._max_score,
        )

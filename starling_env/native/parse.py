"""What the player typed, read as the Inform 7 build reads it.

:class:`Parser` turns a command (already cleaned and single-action, see
:func:`starling_env.envs.engine.single_action`) into the admissible command the Inform 7 game would carry
out, so the native engine plays that action, or into the game's reply to a command that does nothing, with
whether the game counts a turn for it (the turn count goes up and the every-turn rules run for any command
Inform's parser understood, even a failed action, but not for a parser error or a question).

It is a port of what the shipped games reach of Inform 7's parser (6M62 ``Parser.i6t``) and Standard Rules:
the grammar table the story files hold (the Standard Rules' lines, TextWorld's, the custom actions'), object
names as TextWorld declares them (``Understand "billy can" as o_0``, each word of a longer name, each
synonym), dictionary words cut at nine Z-characters, articles, scope (what the player can see, in Inform's
object-tree order), the choice between things that answer to the same words (TextWorld's "does the player
mean" rule, then the parser's scores), inferred nouns ("(the book)"), the parser's errors and questions, and
the rules that stop an action before it happens (TextWorld's before and implicit-taking rules, STARLING's
instead and check rules, the Standard Rules' check rules, the custom actions' compiled checks).
:func:`free_text_cases` makes commands that exercise it.
"""

from __future__ import annotations

import collections
import random
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from textworld.generator.game import Game

from ..builder.logic import compile_action, entity_table
from ..envs.engine import MULTI_ACTION_REPLY, NO_OP_EVENTS
from ..spec import GameSpec
from .describe import Describer, inform_text
from .types import RECENT_STATES, Facts, remember

PLAYER = "P"
MAX_WORLDS = RECENT_STATES  # object trees memoised per parser (few: see RECENT_STATES)


# -- words -----------------------------------------------------------------------------------------------
_A2 = frozenset(" \n0123456789.,!?_#'\"/\\-:()")  # Z-machine alphabet 2: two Z-characters each


def dict_word(word: str) -> str:
    """The part of a (lower-case) word a version 8 story file's dictionary keeps: nine Z-characters."""
    size = 0
    for i, char in enumerate(word):
        size += 1 if "a" <= char <= "z" else 2 if char in _A2 else 4
        if size > 9:
            return word[:i]
    return word


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(dict_word(w) for w in text.lower().split())


DIRECTIONS = {  # Inform's compass in the Standard Rules' order, with the words for each direction
    "north": ("north", "n"),
    "northeast": ("northeast", "ne"),
    "northwest": ("northwest", "nw"),
    "south": ("south", "s"),
    "southeast": ("southeast", "se"),
    "southwest": ("southwest", "sw"),
    "east": ("east", "e"),
    "west": ("west", "w"),
    "up": ("up", "u"),
    "down": ("down", "d"),
    "inside": ("inside", "in"),
    "outside": ("outside", "out"),
}
_ME = frozenset({"me", "myself", "self"})
_SAID = ("it", "him", "her", "them")  # Language.i6t's pronouns
_PRONOUNS = frozenset(_SAID)
_ALL = frozenset({"all", "each", "every", "everythin", "both"})
_DESCRIPTORS = {  # Language.i6t's descriptors: what each asks of the thing (when several answer to the name)
    "my": "held", "this": "held", "these": "held", "that": "here", "those": "here", "his": "him", "her": "her",
    "their": "them", "its": "it", "the": "", "a": "", "an": "", "some": "", "lit": "lit", "lighted": "lit",
    "unlit": "",
}  # fmt: skip
_NUMBERS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)}
_IN_WORDS = ["none", *_NUMBERS]
_VERB_NAMES = {"i": "take inventory", "inv": "take inventory", "inventory": "take inventory", "l": "look"}
_VERB_NAMES |= {"x": "examine", "z": "wait"}  # LanguageVerb: how the parser names these verbs back
_POSTURES = {"stand": "stand on", "sit": "sit down on", "lie": "lie down on"}  # "the player's command includes"

# -- the grammar the story files hold --------------------------------------------------------------------
# Verb words: lines "<tokens> > <action>", in the order Inform 7 sorted them (the order the story files hold).
# Tokens: a literal word (a/b: alternatives), [noun] [held] [multi] [multiheld] [multiexcept] [multiinside]
# [creature] [topic], [direction] (a compass direction) and [on] (something switched on); "<" after the
# action: the nouns are reversed.
_GRAMMAR = """
take carry hold: inventory>inventory | all>take_all | each>take_all | everything>take_all | [noun]>remove
  | [multi]>take | off [noun]>take_off | [noun] off>take_off | [multiinside] from [noun]>remove
  | [multiinside] off [noun]>remove
get: out/off/down/up>exit | in/on>enter | all>take_all | each>take_all | everything>take_all | [multi]>take
  | in/into/on/onto [noun]>enter | off/down [noun]>get_off | [multiinside] from [noun]>remove
pick: up all>take_all | up each>take_all | up everything>take_all | up [multi]>take | [multi] up>take
stand: >exit | up>exit | on [noun]>enter
remove: [held]>take_off | [multiinside] from [noun]>remove
shed doff disrobe: [held]>take_off
wear don: [held]>wear
put: on [held]>wear | [held] on>wear | down [multiheld]>drop | [multiheld] down>drop
  | [multiexcept] in/inside/into [noun]>insert | [multiexcept] on/onto [noun]>put
insert: [multiexcept] in/into [noun]>insert
drop throw discard: [multiheld]>drop | [held] at/against [noun]>throw | [multiexcept] in/into/down [noun]>insert
  | [multiexcept] on/onto [noun]>put
give pay offer feed: [creature] [held]>give< | [held] to [creature]>give
show present display: [creature] [held]>show< | [held] to [creature]>show
go walk run: >go | [direction]>go | [noun]>enter | into/in/inside/through [noun]>enter
inventory i inv: >inventory
look l: >look | [noun]>examine | at [noun]>examine | inside/in/into/through [noun]>search | under [noun]>look_under
  | up [topic] in [noun]>consult<
consult: [noun] on/about [topic]>consult
open unwrap uncover: [noun]>open | [noun] with [held]>unlock
close shut cover: [noun]>close | up [noun]>close | off [noun]>switch_off
enter cross: >enter | [noun]>enter
sit: on/in/inside [noun]>enter | on top of [noun]>enter
exit leave out: >exit
examine x watch describe check: [noun]>examine
read: [noun]>examine | about [topic] in [noun]>consult< | [topic] in [noun]>consult<
yes y: >yes
no: >no
sorry: >sorry
search: [noun]>search
wave: >wave_hands | [noun]>wave
set adjust: [noun] to [topic]>set
pull drag: [noun]>pull
push move shift clear press: [noun]>push | [noun] [direction]>push_dir | [noun] to [direction]>push_dir
turn rotate twist unscrew screw: [noun]>turn | [noun] on>switch_on | on [noun]>switch_on | [noun] off>switch_off
  | off [noun]>switch_off
switch: [on]>switch_off | [noun]>switch_on | on [noun]>switch_on | [noun] on>switch_on | [noun] off>switch_off
  | off [noun]>switch_off
lock: [noun] with [held]>lock
unlock: [noun] with [held]>unlock
attack break smash hit fight torture wreck crack destroy kill murder punch thump: [noun]>attack
wait z: >wait
answer say shout speak: [topic] to [creature]>answer<
tell: [creature] about [topic]>tell
ask: [creature] for [noun]>ask_for | [creature] about [topic]>ask
eat: [held]>eat
sleep nap: >sleep
climb scale: [noun]>climb | up/over [noun]>climb
buy purchase: [noun]>buy
squeeze squash: [noun]>squeeze
swing: [noun]>swing | on [noun]>swing
wake awake awaken: >wake_up | up>wake_up | [creature]>wake | [creature] up>wake | up [creature]>wake
kiss embrace hug: [creature]>kiss
think: >think
smell sniff: >smell | [noun]>smell
listen: >listen | to [noun]>listen
hear: [noun]>listen
taste: [noun]>taste
touch feel: [noun]>touch
rub shine polish sweep clean dust wipe scrub: [noun]>rub
tie attach fasten: [noun] to [noun]>tie
burn light: [noun]>burn
drink swallow sip: [noun]>drink
cut slice prune chop: [noun]>cut
jump skip hop: >jump
score: >score
quit q: >quit
save: >save
restart: >restart
restore: >restore
verify: >verify
version: >version
script transcript: >script_on | on>script_on | off>script_off
superbrief short: >superbrief
verbose long: >verbose
brief normal: >brief
nouns pronouns: >pronouns
notify: >notify_on | on>notify_on | off>notify_off
goal: >goal
help: >help
"""
_MULTI = frozenset({"multi", "multiheld", "multiexcept", "multiinside"})
_OBJECT_TOKENS = _MULTI | {"noun", "held", "creature", "direction", "on"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "topic" or one of _OBJECT_TOKENS
    words: frozenset[str] = frozenset()  # a literal's alternatives (dictionary words)
    first: str = ""  # the first alternative: what an inferred preposition prints


@dataclass(frozen=True)
class _Line:
    tokens: tuple[_Token, ...]
    action: str
    reverse: bool = False

    @property
    def objects(self) -> int:
        return sum(t.kind in _OBJECT_TOKENS for t in self.tokens)


def _line(pattern: str, action: str, reverse: bool = False) -> _Line:
    tokens = []
    for part in pattern.split():
        if part.startswith("["):
            tokens.append(_Token(part.strip("[]")))
        else:
            alternatives = part.split("/")
            tokens.append(_Token("word", frozenset(map(dict_word, alternatives)), dict_word(alternatives[0])))
    return _Line(tuple(tokens), action.rstrip("<"), reverse or action.endswith("<"))


def _pattern_action(line: str) -> tuple[str, str]:
    pattern, action = line.strip().rsplit(">", 1)
    return pattern, action


def _standard_grammar() -> dict[str, list[_Line]]:
    """Dictionary verb word -> its lines, for the Standard Rules' and TextWorld's verbs."""
    grammar: dict[str, list[_Line]] = {}
    for entry in re.sub(r"\n\s+\|", " |", _GRAMMAR.strip()).splitlines():
        verbs, text = entry.split(":", 1)
        lines = [_line(*_pattern_action(line)) for line in text.split("|")]
        for verb in verbs.split():
            grammar[dict_word(verb)] = lines
    return grammar


# -- what the game says -----------------------------------------------------------------------------------
PARDON = "I beg your pardon?"
NOT_A_VERB = "That's not a verb I recognise."
CANT_SEE = "You can't see any such thing."
STUCK = "I didn't understand that sentence."
SUBSTANTIAL = "You must name something more substantial."
_PARSER_ERRORS = {  # Inform's parser errors (Definitions.i6t numbers): the highest wins when every line fails
    1: STUCK,
    4: "You can only do that to something animate.",
    5: CANT_SEE,
    8: "You can't use multiple objects with that verb.",
    12: NOT_A_VERB,
}
STUCK_PE, UPTO_PE, ANIMA_PE, CANTSEE_PE, MULTI_PE, VAGUE_PE = 1, 2, 4, 5, 8, 10
_FIXED_REPLIES = {  # actions whose answer depends on nothing
    "wait": "Time passes.",
    "jump": "You jump on the spot.",
    "sleep": "You aren't feeling especially drowsy.",
    "think": "What a good idea.",
    "wake_up": "The dreadful truth is, this is not a dream.",
    "wave_hands": "You wave.",
    "yes": "That was a rhetorical question.",
    "no": "That was a rhetorical question.",
    "sorry": "Oh, don't apologise.",
    "exit": "But you aren't in anything at the moment.",
    "look_under": "You find nothing of interest.",
    "take_all": "You have to be more specific!",
    "smell": "You smell nothing unexpected.",
    "listen": "You hear nothing unexpected.",
    "taste": "You taste nothing unexpected.",
    "squeeze": "You achieve nothing by this.",
    "attack": "Violence isn't the answer to this one.",
    "wake": "That seems unnecessary.",
    "burn": "This dangerous act would achieve little.",
    "tie": "You would achieve nothing by this.",
    "drink": "There's nothing suitable to drink here.",
    "swing": "There's nothing sensible to swing here.",
    "buy": "Nothing is on sale.",
    "climb": "Little is to be achieved by that.",
    "ask": "There is no reply.",
    "answer": "There is no reply.",
}
_OUT_OF_WORLD = {  # actions out of world: no turn passes
    "verify": "The game file has verified as intact.",
    "notify_on": "Score notification on.",
    "notify_off": "Score notification off.",
    "superbrief": 'Welcome is now in its "superbrief" mode, which always gives short descriptions of locations '
    "(even if you haven't been there before).",
    "verbose": 'Welcome is now in its "verbose" mode, which always gives long descriptions of locations '
    "(even if you've been there before).",
    "brief": 'Welcome is now in its "brief" printing mode, which gives long descriptions of places never before '
    "visited and short descriptions otherwise.",
    "score": "",
    "pronouns": "",
    "version": "",
    "quit": "",
    "save": "",
    "restore": "",
    "restart": "",
    "script_on": "",
    "script_off": "",
}
_BANNER = r"""                    ________  ________  __    __  ________
                   |        \|        \|  \  |  \|        \
                    \$$$$$$$$| $$$$$$$$| $$  | $$ \$$$$$$$$
                      | $$   | $$__     \$$\/  $$   | $$
                      | $$   | $$  \     >$$  $$    | $$
                      | $$   | $$$$$    /  $$$$\    | $$
                      | $$   | $$_____ |  $$ \$$\   | $$
                      | $$   | $$     \| $$  | $$   | $$
                       \$$    \$$$$$$$$ \$$   \$$    \$$
              __       __   ______   _______   __        _______
             |  \  _  |  \ /      \ |       \ |  \      |       \
             | $$ / \ | $$|  $$$$$$\| $$$$$$$\| $$      | $$$$$$$\
             | $$/  $\| $$| $$  | $$| $$__| $$| $$      | $$  | $$
             | $$  $$$\ $$| $$  | $$| $$    $$| $$      | $$  | $$
             | $$ $$\$$\$$| $$  | $$| $$$$$$$\| $$      | $$  | $$
             | $$$$  \$$$$| $$__/ $$| $$  | $$| $$_____ | $$__/ $$
             | $$$    \$$$ \$$    $$| $$  | $$| $$     \| $$    $$
              \$$      \$$  \$$$$$$  \$$   \$$ \$$$$$$$$ \$$$$$$$"""  # TextWorld's banner (the version command)
_VERSION = """Identification number: ////
Standard interpreter 1.0 (1F) / Library serial number 080126
Standard Rules version 3/120430 by Graham Nelson"""
_HELP = """Available commands:
  look:                describe the current room
  goal:                print the goal of this game
  inventory:           print player's inventory
  go <dir>:            move the player north, east, south or west
  examine ...:         examine something more closely
  eat ...:             eat edible food
  open ...:            open a door or a container
  close ...:           close a door or a container
  drop ...:            drop an object on the floor
  take ...:            take an object that is on the floor
  put ... on ...:      place an object on a supporter
  take ... from ...:   take an object from a container or a supporter
  insert ... into ...: place an object into a container
  lock ... with ...:   lock a door or a container with a key
  unlock ... with ...: unlock a door or a container with a key"""

# What each action requires of its nouns ("n" the noun, "s" the second): touchable (no direction will do, Inform's
# basic accessibility rule) and carried (TextWorld's implicitly taking rule says so and stops). An action on
# visible things (going, examining, looking under) is absent; a custom action's nouns are touchable.
_REQUIREMENTS = {
    "take": ("n", ""), "remove": ("ns", ""), "drop": ("n", ""), "put": ("ns", ""), "insert": ("ns", ""),
    "eat": ("n", ""), "enter": ("n", ""), "get_off": ("n", ""), "search": ("n", ""), "consult": ("n", ""),
    "lock": ("ns", "s"), "unlock": ("ns", "s"), "switch_on": ("n", ""), "switch_off": ("n", ""), "open": ("n", ""),
    "close": ("n", ""), "wear": ("n", "n"), "take_off": ("n", ""), "give": ("ns", "n"), "show": ("n", "n"),
    "wake": ("n", ""), "throw": ("n", "n"), "attack": ("n", ""), "kiss": ("n", ""), "answer": ("n", ""),
    "tell": ("n", ""), "ask": ("n", ""), "ask_for": ("ns", ""), "touch": ("n", ""), "wave": ("n", ""),
    "pull": ("n", ""), "push": ("n", ""), "turn": ("n", ""), "push_dir": ("n", ""), "squeeze": ("n", ""),
    "burn": ("n", ""), "smell": ("n", ""), "listen": ("n", ""), "taste": ("n", ""), "cut": ("n", ""),
    "tie": ("ns", ""), "drink": ("n", ""), "swing": ("n", ""), "rub": ("n", ""), "set": ("n", ""),
    "buy": ("n", ""), "climb": ("n", ""),
}  # fmt: skip
# TextWorld's command for an Inform action (whether it is admissible is the logic's business), and the trace
# ([taking the billy can]) the game prints for it, which the reference engine matches with the logic's actions.
_COMMANDS = {
    "take": ("take {0}", "taking {0}"),
    "remove": ("take {0} from {1}", "removing {0} from {1}"),
    "drop": ("drop {0}", "dropping {0}"),
    "put": ("put {0} on {1}", "putting {0} on {1}"),
    "insert": ("insert {0} into {1}", "inserting {0} into {1}"),
    "open": ("open {0}", "opening {0}"),
    "close": ("close {0}", "closing {0}"),
    "lock": ("lock {0} with {1}", "locking {0} with {1}"),
    "unlock": ("unlock {0} with {1}", "unlocking {0} with {1}"),
    "eat": ("eat {0}", "eating {0}"),
    "wear": ("wear {0}", "wearing {0}"),
    "take_off": ("take off {0}", "taking off {0}"),
    "switch_on": ("switch on {0}", "switching on {0}"),
    "switch_off": ("switch off {0}", "switching off {0}"),
    "go": ("go {0}", "going {0}"),
    "examine": ("examine {0}", "examining {0}"),
    "look": ("look", "looking"),
    "inventory": ("inventory", "taking inventory"),
    "wait": ("wait", "waiting"),
}


@dataclass(frozen=True)
class Parsed:
    """What the game makes of one command.

    ``command``: the admissible command the text means (one of ``admissible``), or None; ``reply``: when
    ``command`` is None, what the game answers instead (Inform's words, whole); ``takes_turn``: whether the
    game counts a turn (the every-turn rules run, the turn count goes up); ``note``: the line Inform's parser
    prints before the answer to ``command`` when it chose a noun for the player ("(the umbrella)"), else "";
    ``resume``: after a question ("Which do you mean, the copper key or the bent key?", "What do you want to
    take?"), the words the game puts before and after the next command if that one does not start with a verb
    (it answers the question: "copper" reads "take copper key"); hand it to the next :meth:`Parser.parse`.
    """

    command: str | None
    reply: str | None
    takes_turn: bool
    note: str = ""
    resume: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Thing:
    """What the parser knows of one thing."""

    id: str
    name: str
    kind: str  # TextWorld type: o c s d dv f k wr t an pc pt; "dir" for a direction, "P" for the player
    phrases: tuple[tuple[str, ...], ...]  # what it is understood as, in the order TextWorld declares it
    plural: bool = False
    whole: str | None = None  # the thing it is a part of
    key: str | None = None  # its matching key

    @property
    def container(self) -> bool:
        return self.kind in ("c", "pc", "pt")

    @property
    def portable(self) -> bool:  # the rest is fixed in place ("A thing is usually fixed in place.")
        return self.kind in ("o", "f", "k", "wr", "pc")

    @property
    def openable(self) -> bool:
        return self.kind in ("c", "d")

    @property
    def lockable(self) -> bool:
        return self.kind in ("c", "pc", "pt", "d")


_YOURSELF = _Thing(PLAYER, "yourself", "P", ())
_COMPASS = {d: _Thing(d, d, "dir", tuple((w,) for w in words)) for d, words in DIRECTIONS.items()}
_KINDS = {  # an Inform kind -> the TextWorld types of that kind (a custom action's "is not a <kind>" checks)
    "thing": frozenset("o c s d dv f k wr t an pc pt".split()),
    "object-like": frozenset("o f k wr".split()),
    "container": frozenset("c pc pt".split()),
    "supporter": frozenset({"s"}),
    "device": frozenset({"dv"}),
    "food": frozenset({"f"}),
    "garment": frozenset({"wr"}),
    "key": frozenset({"k"}),
    "creature": frozenset({"an"}),
    "portable-container": frozenset({"pc"}),
    "part-container": frozenset({"pt"}),
    "door": frozenset({"d"}),
}


class _World:
    """Inform's object tree in one state: who holds what, in the order Inform keeps it, and the map."""

    def __init__(self, facts: Facts, parser: Parser, order: Sequence[str]) -> None:
        self.facts = facts
        self.parent: dict[str, str] = {}
        self.worn: set[str] = set()
        self.exits: dict[str, str] = {}  # direction -> the room or door that way from the player's room
        self.location = ""
        self.typed: tuple[str, ...] = ()  # the words of the command being read (set for each command)
        self.scopes: dict[bool, list[str]] = {}
        rooms: dict[str, set[str]] = {}
        links: dict[tuple[str, str], str] = {}
        for fact in facts:
            name = fact[0]
            if name == "at":
                if fact[1] == PLAYER:
                    self.location = fact[2]
                elif fact[1] not in parser.parts_of:
                    self.parent[fact[1]] = fact[2]
            elif name == "in" or name == "on":
                self.parent[fact[1]] = PLAYER if fact[2] == "I" else fact[2]
            elif name == "worn":
                self.parent[fact[1]] = PLAYER
                self.worn.add(fact[1])
            elif name == "link":
                rooms.setdefault(fact[2], set()).update((fact[1], fact[3]))
                links[(fact[1], fact[3])] = fact[2]
        self.beyond = {door: room for (here, room), door in links.items() if here == self.location}
        for fact in facts:
            if fact[0] in _EXIT_FACTS and fact[2] == self.location:
                self.exits[fact[0][:-3]] = links.get((self.location, fact[1]), fact[1])
        rank, recent = parser.rank, {e: i for i, e in enumerate(order)}
        last = len(recent)
        self.children: dict[str, list[str]] = {}
        for thing in sorted(self.parent, key=lambda e: (recent.get(e, last), rank.get(e, 0))):
            self.children.setdefault(self.parent[thing], []).append(thing)
        # Doors float: each arrival moves the player, then the room's doors that were elsewhere (in the order the
        # story file created them: the last moved comes first), into the room. Which doors were elsewhere
        # depends on the way the player came, which the facts do not tell: all of them, here.
        # An engine that follows the doors may list them in ``order`` (moved in most recently first).
        doors = sorted(
            (d for d, r in rooms.items() if self.location in r),
            key=lambda d: (recent.get(d, last), parser.door_rank[d]),
        )
        for door in doors:
            self.parent[door] = self.location
        self.parent[PLAYER] = self.location
        self.children[self.location] = [*doors, PLAYER, *self.children.get(self.location, [])]
        self.parts = parser.parts

    def has(self, *fact: str) -> bool:
        return fact in self.facts

    def is_open(self, thing: _Thing) -> bool:
        return thing.kind in ("pc", "pt") or ("open", thing.id) in self.facts

    def carried(self, thing_id: str) -> bool:
        return self.parent.get(thing_id) == PLAYER and thing_id not in self.worn

    def see_through(self, thing: _Thing) -> bool:
        return thing.kind in ("s", "P") or (thing.container and self.is_open(thing))

    def within(self, holder: str, parser: Parser, seen: list[str]) -> None:
        """Inform's ScopeWithin: what ``holder`` holds (and what they hold, where one can see in)."""
        for child in self.children.get(holder, []):
            self.visit(child, parser, seen, nosearch=PLAYER)

    def visit(self, thing_id: str, parser: Parser, seen: list[str], nosearch: str = "") -> None:
        if thing_id not in seen:
            seen.append(thing_id)
        if thing_id != nosearch and self.see_through(parser.thing(thing_id)):
            for child in self.children.get(thing_id, []):
                self.visit(child, parser, seen, nosearch)
        for part in self.parts.get(thing_id, ()):
            self.visit(part, parser, seen)

    def scope(self, parser: Parser, held_first: bool) -> list[str]:
        """What the player can see, in the order Inform's parser visits it: the room then what the player holds
        (what the player holds first for a [held] token)."""
        seen = self.scopes.get(held_first)
        if seen is None:
            seen = self.scopes[held_first] = []
            for domain in (PLAYER, self.location) if held_first else (self.location, PLAYER):
                self.within(domain, parser, seen)
        return seen


_EXIT_FACTS = frozenset({"north_of", "south_of", "east_of", "west_of"})


class _Answer(Exception):
    """The parser's own answer, an error or a question: no turn passes. A question's ``resume``: see Parsed."""

    def __init__(self, text: str, resume: tuple[str, str] | None = None) -> None:
        self.text, self.resume = text, resume


class _Fail(Exception):
    """A grammar line that does not match the command; ``etype`` ranks the error as Inform's parser does."""

    def __init__(self, etype: int) -> None:
        self.etype = etype


@dataclass
class _Action:
    name: str  # Inform's action ("take", "remove" ...) or "c:<custom action>"
    nouns: list[str]
    note: str = ""


Outcome = str | tuple[str, list[str]]  # a check's reply, or the action that goes ahead


class Parser:
    """Reads what a player types in one game, as the game's Inform 7 build does."""

    def __init__(self, game: Game, spec: GameSpec, describer: Describer | None = None) -> None:
        self.game, self.spec = game, spec
        self.describer = describer or Describer(game, spec)
        self.rank = self.describer.rank
        table = entity_table(spec)
        self.parts_of = {e.tw_id: table[e.whole].tw_id for e in table.values() if e.whole}
        self.parts: dict[str, tuple[str, ...]] = {}
        for part in sorted(self.parts_of, key=self.rank.__getitem__):
            self.parts[self.parts_of[part]] = (*self.parts.get(self.parts_of[part], ()), part)
        keys = {f.arguments[1].name: f.arguments[0].name for f in game.world.facts if f.name == "match"}
        created = [(room.doors[w].id, room.id) for room in game.world.rooms for w in room.exits if w in room.doors]
        self.door_rank = {door: -i for i, (door, _) in reversed(list(enumerate(created)))}  # the last moves in last
        plural = {table[o.id].tw_id for o in spec.objects if o.plural}
        self.things: dict[str, _Thing] = {}
        for entity in sorted(self.rank, key=self.rank.__getitem__):
            info = game.infos[entity]
            if info.name:
                phrases = self._phrases(info.name, info.synonyms or [])
                self.things[entity] = _Thing(
                    entity, info.name, info.type, phrases, entity in plural, self.parts_of.get(entity), keys.get(entity)
                )
        self.grammar = _standard_grammar()
        self.custom: dict[str, tuple[str, list[str], list[tuple[str, str]]]] = {}
        self._add_custom_actions(table)
        self.traced = tuple({t.split("{")[0].lower() for t in game.kb.inform7_events.values() if t.split("{")[0]})
        code = game.kb.inform7_addons_code or ""
        self.creatures_not_carried = "creatures are not carried" in code
        self.containers_stay_out = "portable containers stay out" in code
        self.naming: dict[str, set[str]] = {}  # a dictionary word -> the things a phrase of theirs starts with
        for thing in [*self.things.values(), *_COMPASS.values()]:
            for phrase in thing.phrases:
                self.naming.setdefault(phrase[0], set()).add(thing.id)
        self._worlds: dict[tuple[Facts, tuple[str, ...]], _World] = {}
        # Every literal word of the grammar: the dictionary marks them prepositions (the look-ahead seeks them).
        lines = [line for verb_lines in self.grammar.values() for line in verb_lines]
        self.prepositions = frozenset(w for line in lines for t in line.tokens for w in t.words)
        # The words of a name another thing also answers to fully: an admissible command without one of them
        # names each thing unambiguously, so Inform's parser prints no note for it.
        self.ambiguous_words = frozenset(
            word
            for thing in self.things.values()
            if any(_match(other.phrases, _phrase(thing.name), 0) == len(thing.name.split())
                   for other in self.things.values() if other is not thing)
            for word in thing.name.lower().split()
        )  # fmt: skip

    @staticmethod
    def _phrases(name: str, synonyms: list[str]) -> tuple[tuple[str, ...], ...]:
        """TextWorld's Understand lines for a thing: each synonym, the name, each word of a longer name."""
        phrases = [_phrase(s) for s in synonyms] + [_phrase(name)]
        if len(name.split()) > 1:
            phrases += [(dict_word(w),) for w in name.lower().split() if w not in ("the", "of")]
        return tuple(dict.fromkeys(phrases))

    def _add_custom_actions(self, table: dict) -> None:
        """The spec's actions: each verb they use is understood as something new, with only their lines."""
        lines: dict[str, list[_Line]] = {}
        for action in self.spec.actions:
            name = "c:" + action.name
            slots = action.template_slots
            self.custom[name] = (action.command, slots, compile_action(self.spec, action, table).checks)
            for command in [action.command, *action.synonyms]:
                verb, _, rest = re.sub(r"\{[a-z0-9_]+\}", "[noun]", command).partition(" ")
                reverse = re.findall(r"\{([a-z0-9_]+)\}", command) != slots
                lines.setdefault(dict_word(verb), []).append(_line(rest, name, reverse))
        for verb, verb_lines in lines.items():  # Inform sorts a verb's lines: fewer tokens, then fewer objects
            self.grammar[verb] = sorted(verb_lines, key=lambda li: (len(li.tokens), li.objects))

    # -- the entry point -------------------------------------------------------------------------------------
    def parse(
        self,
        command: str,
        facts: Facts,
        admissible: Collection[str],
        order: Sequence[str] = (),
        pronouns: Mapping[str, str] | None = None,
        resume: tuple[str, str] | None = None,
        score: int = 0,
        moves: int = 0,
    ) -> Parsed:
        """What the game makes of ``command`` in the state ``facts``, whose admissible commands are
        ``admissible``. ``order``: the things most recently moved first (see :class:`.describe.Describer`),
        which decides the order Inform lists things in when it asks which one the player means. ``pronouns``:
        what "it", "them", "him" and "her" mean now (entity ids), for an engine that follows them; without
        them, Inform's parser is not sure what they refer to. ``resume``: the last answer's (a question's), if
        any: a command that does not start with a verb answers the question. ``score`` and ``moves``: the
        game's, for the "score" command."""
        if resume is not None and command.split() and not self._verb(command.split()[0].lower()):
            command = " ".join(part for part in (resume[0], command, resume[1]) if part)
        if command in admissible and self.ambiguous_words.isdisjoint(command.split()):
            return Parsed(command, None, True)
        world = self._world(facts, order)
        world.typed = tuple(command.lower().split())
        try:
            action = _Reading(self, world, command, pronouns or {}).run()
        except _Answer as answer:
            return Parsed(None, answer.text, False, resume=answer.resume)
        if action.name in _OUT_OF_WORLD:
            text = self._out_of_world(action.name, pronouns or {}, score, moves)
            return Parsed(None, _join(action.note, text), False)
        parsed = self._act(action, world, admissible, order)
        if command in admissible and parsed.command != command:  # a reading this model does not follow
            return Parsed(command, None, True)
        return parsed

    def _verb(self, word: str) -> bool:
        """Whether a word starts a new command when the game asked a question (NounDomain's test)."""
        return dict_word(word) in self.grammar and word not in ("long", "short", "normal", "brief", "full", "verbose")

    def visible(self, facts: Facts, order: Sequence[str] = ()) -> list[str]:
        """The things the player can see (Inform's scope, less the player), in the order the parser visits them."""
        return [t for t in self._world(facts, order).scope(self, False) if t in self.things]

    def _world(self, facts: Facts, order: Sequence[str]) -> _World:
        """The object tree of a state, memoised (an engine asks about the same state again and again)."""
        key = (facts, tuple(order))
        world = self._worlds.get(key)
        if world is None:
            world = remember(self._worlds, key, _World(facts, self, order), MAX_WORLDS)
        return world

    # -- names ------------------------------------------------------------------------------------------------
    def thing(self, thing_id: str) -> _Thing:
        return _YOURSELF if thing_id == PLAYER else self.things.get(thing_id) or _COMPASS[thing_id]

    def name(self, thing_id: str) -> str:
        return self.thing(thing_id).name

    def the(self, thing_id: str) -> str:
        """Inform's [the X] (a direction and yourself have no article)."""
        return f"the {self.things[thing_id].name}" if thing_id in self.things else self.thing(thing_id).name

    def The(self, thing_id: str) -> str:  # noqa: N802 - Inform's [The X]
        text = self.the(thing_id)
        return text[:1].upper() + text[1:]

    # -- the action -------------------------------------------------------------------------------------------
    def _act(self, action: _Action, world: _World, admissible: Collection[str], order: Sequence[str]) -> Parsed:
        """What comes of the action Inform's parser made of the command: the logic's command, or the reply."""
        name, nouns, note = action.name, action.nouns, action.note
        outcome = self._check(name, nouns, world)
        if isinstance(outcome, str):
            return Parsed(None, _join(note, outcome), True)
        name, nouns = outcome
        command = self._command(name, nouns)
        if command is not None and command in admissible:
            return Parsed(command, None, True, note)
        if self._untracked(name, nouns):  # the engine undoes a turn whose trace the logic cannot follow
            return Parsed(None, MULTI_ACTION_REPLY, False)
        return Parsed(None, _join(note, self._report(name, nouns, world, order)), True)

    def _out_of_world(self, action: str, pronouns: Mapping[str, str], score: int, moves: int) -> str:
        """The answer to an action out of world (the score, the pronouns, the version ...)."""
        if action == "score":
            turns = f"{moves + 1} turn{'s' if moves else ''}"
            if self.game.max_score == float("inf"):
                return f"You have so far scored {score} point{'s' if score != 1 else ''}, in {turns}."
            return f"You have so far scored {score} out of a possible {int(self.game.max_score)}, in {turns}."
        if action == "pronouns":
            meanings = [f'"{p}" ' + (f"means {self.the(pronouns[p])}" if p in pronouns else "is unset") for p in _SAID]
            return f"At the moment, {', '.join(meanings[:-1])} and {meanings[-1]}."
        if action == "version":
            return f"{_BANNER}\n\n{self.describer.objective}\n{_VERSION}"
        return _OUT_OF_WORLD[action]

    def _command(self, action: str, nouns: list[str]) -> str | None:
        if action.startswith("c:"):
            template, slots, _ = self.custom[action]
            for slot, noun in zip(slots, nouns, strict=True):
                template = template.replace("{" + slot + "}", self.name(noun))
            return template
        if action not in _COMMANDS:
            return None
        return _COMMANDS[action][0].format(*map(self.name, nouns))

    def _untracked(self, action: str, nouns: list[str]) -> bool:
        """Whether the game's trace of the action names an action the logic models (see Engine.step)."""
        if action.startswith("c:"):
            return True
        event = _COMMANDS[action][1].format(*map(self.the, nouns)) if action in _COMMANDS else ""
        return bool(event) and event.startswith(self.traced) and not event.startswith(NO_OP_EVENTS)

    def _report(self, action: str, nouns: list[str], world: _World, order: Sequence[str]) -> str:
        """The answer to an action that goes ahead without the logic (nothing it models changes)."""
        if action in _FIXED_REPLIES:
            return _FIXED_REPLIES[action]
        if action == "goal":
            return self.describer.objective
        if action == "help":
            return _HELP
        if action == "examine":
            return self.describer.examine(nouns[0], world.facts, order)
        if action == "search":
            thing = self.thing(nouns[0])
            inside = world.children.get(nouns[0], [])
            if inside:
                listing = self.describer.listing(inside)
                return f"{'In' if thing.container else 'On'} {self.the(thing.id)} {_is_are(self, inside)} {listing}."
            if thing.container:
                return f"{self.The(thing.id)} {_be(thing)} empty."
            return f"There is nothing on {self.the(thing.id)}."
        if action == "enter_door":  # Inform goes through; the logic, which has no trace it knows, stays put
            here = ("at", PLAYER, world.location)
            return self.describer.look(world.facts - {here} | {("at", PLAYER, world.beyond[nouns[0]])}, order)
        if action == "inventory":
            return self.describer.inventory(world.facts, order)
        if action == "look":
            return self.describer.look(world.facts, order)
        return ""

    # the rules that may stop the action: a reply, or the action (perhaps another one) that goes ahead
    def _check(self, action: str, nouns: list[str], world: _World) -> Outcome:
        noun = nouns[0] if nouns else None
        second = nouns[1] if len(nouns) > 1 else None
        if action == "open" and noun in self.things and world.has("locked", noun):  # TextWorld's before rule
            key = self.things[noun].key
            if key is None:
                return f"The {self.name(noun)} is welded shut."
            return f"You have to unlock the {self.name(noun)} with the {self.name(key)} first."
        touch, carry = ("ns", "") if action.startswith("c:") else _REQUIREMENTS.get(action, ("", ""))
        for role, thing_id in (("n", noun), ("s", second)):  # the basic accessibility rule
            if thing_id in DIRECTIONS and role in touch:
                return SUBSTANTIAL
        for role, thing_id in (("n", noun), ("s", second)):  # the carrying requirements rule
            if thing_id and role in carry and (refusal := self._implicit_take(thing_id, world)):
                return refusal
        if action == "take" and noun and self.thing(noun).kind == "an" and self.creatures_not_carried:
            return f"The {self.name(noun)} would not like that."  # STARLING's instead rule
        if action.startswith("c:"):
            return self._check_custom(action, nouns, world)
        check: Callable[[str | None, str | None, _World], Outcome] | None = getattr(self, f"_check_{action}", None)
        if check is not None:
            return check(noun, second, world)
        return action, nouns

    def _implicit_take(self, thing_id: str, world: _World) -> str | None:
        """TextWorld's rule for implicitly taking something: it takes nothing, it says what is missing."""
        if world.parent.get(thing_id) == PLAYER:
            return None
        if self._fixed(thing_id):
            return f"The {self.name(thing_id)} is fixed in place."
        return f"You need to take the {self.name(thing_id)} first."

    def _fixed(self, thing_id: str) -> bool:
        return not self.thing(thing_id).portable

    def _check_take(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if noun == PLAYER:
            return "You are always self-possessed."
        if noun in self.parts_of:
            return f"{_Those(thing)} {_verb(thing, 'seem')} to be a part of {self.the(self.parts_of[noun])}."
        if world.parent.get(noun) == PLAYER:
            return f"You already have {_those(thing)}."
        if self._fixed(noun):
            return f"{_They_re(thing)} fixed in place."
        return "take", [noun]

    def _check_remove(self, noun: str, second: str | None, world: _World) -> Outcome:
        if second is None:  # TextWorld's rule for supplying the missing second noun of "take [something]"
            holder = self.things.get(world.parent.get(noun, ""))
            if holder is None or not (holder.container or holder.kind == "s"):
                return self._check("take", [noun], world)  # it tries taking instead
            second = holder.id
        thing = self.thing(noun)
        if noun in self.parts_of:
            return f"{_Those(thing)} {_verb(thing, 'seem')} to be a part of {self.the(self.parts_of[noun])}."
        if world.parent.get(noun) != second:
            return f"But {_they(thing)} {_be(thing, negative=True)} there now."
        if second == PLAYER:
            return self._check_take_off(noun, None, world)
        taken = self._check("take", [noun], world)  # the convert remove to take rule
        return taken if isinstance(taken, str) else ("remove", [noun, second])

    def _check_drop(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if noun == PLAYER:
            return "You lack the dexterity."
        if world.parent.get(noun) == world.location:
            return f"{self.The(noun)} {_be(thing)} already here."
        if world.parent.get(noun) != PLAYER:
            return f"You haven't got {_those(thing)}."
        if noun in world.worn:
            return f"You would have to take off {self.the(noun)} first."
        return "drop", [noun]

    def _check_put(self, noun: str, second: str, world: _World) -> Outcome:
        if refusal := self._implicit_take(noun, world):
            return refusal
        if self._encloses(noun, second, world):
            return "You can't put something on top of itself."
        if self.thing(second).kind != "s":
            return f"Putting things on {self.the(second)} would achieve nothing."
        if noun in world.worn:
            return f"You would have to take off {self.the(noun)} first."
        return "put", [noun, second]

    def _check_insert(self, noun: str, second: str, world: _World) -> Outcome:
        if self.thing(noun).kind == "pc" and self.containers_stay_out:  # STARLING's rule, the most specific
            return f"{self.The(noun)} {'do' if self.thing(noun).plural else 'does'} not fit in {self.the(second)}."
        if refusal := self._implicit_take(noun, world):
            return refusal
        if self._encloses(noun, second, world):
            return "You can't put something inside itself."
        other = self.thing(second)
        if other.container and not world.is_open(other):
            return f"{self.The(second)} {_be(other)} closed."
        if not other.container:
            return f"{_Those(other)} can't contain things."
        if noun in world.worn:
            return f"You would have to take off {self.the(noun)} first."
        return "insert", [noun, second]

    def _encloses(self, outer: str, inner: str, world: _World) -> bool:
        """Whether ``inner`` is ``outer`` or inside it (the whole standing for a part)."""
        outer, inner = self.parts_of.get(outer, outer), self.parts_of.get(inner, inner)
        while inner:
            if inner == outer:
                return True
            inner = world.parent.get(inner, "")
        return False

    def _check_eat(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if thing.kind != "f":
            return f"{_They_re(thing)} plainly inedible."
        return self._implicit_take(noun, world) or ("eat", [noun])

    def _check_go(self, noun: str | None, second: str | None, world: _World) -> Outcome:
        if noun is None:
            return "You'll have to say which compass direction to go in."
        target = world.exits.get(noun)
        if target is None:
            return "You can't go that way."
        if target in self.things and not world.has("open", target):  # TextWorld's before rule
            return f"You have to open the {self.name(target)} first."
        return "go", [noun]

    def _check_enter(self, noun: str | None, second: str | None, world: _World) -> Outcome:
        if noun is None:
            return "You must supply a noun."
        thing = self.thing(noun)
        if thing.kind == "d":  # converted to going through the door
            way = next((d for d, target in world.exits.items() if target == noun), None)
            if way is None:
                return "You can't go that way."
            going = self._check_go(way, None, world)
            return going if isinstance(going, str) else ("enter_door", [noun])
        posture = next((p for word, p in _POSTURES.items() if word in world.typed), "enter")
        return f"{_They_re(thing)} not something you can {posture}."

    def _check_get_off(self, noun: str, second: str | None, world: _World) -> Outcome:
        return f"But you aren't on {self.the(noun)} at the moment."

    def _check_examine(self, noun: str, second: str | None, world: _World) -> Outcome:
        if noun in DIRECTIONS:
            return "You see nothing unexpected in that direction."
        if noun == PLAYER:
            return "As good-looking as ever."
        return "examine", [noun]

    def _check_search(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if not thing.container and thing.kind != "s":
            return "You find nothing of interest."
        if thing.container and not world.is_open(thing):
            return f"You can't see inside, since {self.the(noun)} {_be(thing)} closed."
        return "search", [noun]

    def _check_open(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if not thing.openable:
            return f"{_They(thing)} {_be(thing, negative=True)} something you can open."
        if world.has("open", noun):
            return f"{_They_re(thing)} already open."
        return "open", [noun]

    def _check_close(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if not thing.openable:
            return f"{_They(thing)} {_be(thing, negative=True)} something you can close."
        if not world.has("open", noun):
            return f"{_They_re(thing)} already closed."
        return "close", [noun]

    def _check_lock(self, noun: str, second: str, world: _World) -> Outcome:
        return self._check_key("lock", noun, second, world)

    def _check_unlock(self, noun: str, second: str, world: _World) -> Outcome:
        return self._check_key("unlock", noun, second, world)

    def _check_key(self, action: str, noun: str, second: str, world: _World) -> Outcome:
        thing = self.thing(noun)
        if not thing.lockable:
            return f"{_Those(thing)} {_do(thing)} seem to be something you can {action}."
        if world.has("locked", noun) == (action == "lock"):
            return f"{_They_re(thing)} {action}ed at the moment."
        if action == "lock" and world.is_open(thing):
            return f"First you would have to close {self.the(noun)}."
        if thing.key != second:
            return f"{_Those(self.thing(second))} {_do(self.thing(second))} seem to fit the lock."
        return action, [noun, second]

    def _check_switch_on(self, noun: str, second: str | None, world: _World) -> Outcome:
        return self._check_switch("on", noun, world)

    def _check_switch_off(self, noun: str, second: str | None, world: _World) -> Outcome:
        return self._check_switch("off", noun, world)

    def _check_switch(self, way: str, noun: str, world: _World) -> Outcome:
        thing = self.thing(noun)
        if thing.kind != "dv":
            return f"{_They(thing)} {_be(thing, negative=True)} something you can switch."
        if world.has(f"switched_{way}", noun):
            return f"{_They_re(thing)} already {way}."
        return f"switch_{way}", [noun]

    def _check_wear(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if thing.kind != "wr":
            return f"You can't wear {_those(thing)}!"
        if noun in world.worn:
            return f"You're already wearing {_those(thing)}!"
        return "wear", [noun]

    def _check_take_off(self, noun: str, second: str | None, world: _World) -> Outcome:
        if noun not in world.worn:
            return f"You aren't wearing {self.the(noun)}."
        return "take_off", [noun]

    def _check_give(self, noun: str, second: str, world: _World) -> Outcome:
        if second == PLAYER:
            return f"You can't give {self.the(noun)} to yourself."
        return f"{self.The(second)} {_be(self.thing(second), negative=True)} able to receive things."

    def _check_show(self, noun: str, second: str, world: _World) -> Outcome:
        if second == PLAYER:
            return self._check_examine(noun, None, world)
        return f"{self.The(second)} {_be(self.thing(second))} unimpressed."

    def _check_throw(self, noun: str, second: str, world: _World) -> Outcome:
        reply = "Futile." if second != PLAYER else "You lack the nerve when it comes to the crucial moment."
        if noun in world.worn:  # the Standard Rules take it off first, a silent action the logic never sees
            return f"(first taking {self.the(noun)} off)\n\n{reply}"
        return reply

    def _check_wave(self, noun: str, second: str | None, world: _World) -> Outcome:
        if world.parent.get(noun) != PLAYER:
            return f"But you aren't holding {_those(self.thing(noun))}."
        return f"You wave {self.the(noun)}."

    def _check_push(self, noun: str, second: str | None, world: _World) -> Outcome:
        thing = self.thing(noun)
        if self._fixed(noun) and noun != PLAYER:
            return f"{_They(thing)} {_be(thing)} fixed in place."
        return "Nothing obvious happens."

    _check_pull = _check_turn = _check_push

    def _check_push_dir(self, noun: str, second: str, world: _World) -> Outcome:
        return f"{self.The(noun)} cannot be pushed from place to place."

    def _check_touch(self, noun: str, second: str | None, world: _World) -> Outcome:
        return "You achieve nothing by this." if noun == PLAYER else "You feel nothing unexpected."

    def _check_rub(self, noun: str, second: str | None, world: _World) -> Outcome:
        return f"You rub {self.the(noun)}."

    def _check_kiss(self, noun: str, second: str | None, world: _World) -> Outcome:
        return "You don't get much from that." if noun == PLAYER else f"{self.The(noun)} might not like that."

    def _check_cut(self, noun: str, second: str | None, world: _World) -> Outcome:
        return f"Cutting {_them(self.thing(noun))} up would achieve little."

    def _check_set(self, noun: str, second: str | None, world: _World) -> Outcome:
        return f"No, you can't set {_those(self.thing(noun))} to anything."

    def _check_consult(self, noun: str, second: str | None, world: _World) -> Outcome:
        return f"You discover nothing of interest in {self.the(noun)}."

    def _check_tell(self, noun: str, second: str | None, world: _World) -> Outcome:
        return "You talk to yourself a while." if noun == PLAYER else "This provokes no reaction."

    def _check_ask_for(self, noun: str, second: str, world: _World) -> Outcome:
        if noun == PLAYER:
            return "inventory", []
        return f"{self.The(noun)} {_have(self.thing(noun))} better things to do."

    # a custom action: its compiled Check rules (builder.logic.compile_action), in order
    def _check_custom(self, action: str, nouns: list[str], world: _World) -> Outcome:
        refs = dict(zip(("the noun", "the second noun"), nouns, strict=False))
        for condition, message in self.custom[action][2]:
            if self._holds(condition, refs, world):
                for ref, noun in refs.items():
                    message = message.replace(f"[{ref}]", self.the(noun))
                return inform_text(message.replace("[line break]", "\n"))
        return action, nouns

    _CONDITION = re.compile(
        r"^the player (?P<pneg>does not )?(?P<verb>carry|carries|wear|wears) (?P<px>.+)$"
        r"|^the location is (?P<lneg>not )?(?P<room>.+)$|^(?P<x>.+?) is (?P<neg>not )?(?P<what>.+)$"
    )

    def _holds(self, condition: str, refs: dict[str, str], world: _World) -> bool:
        """Whether a compiled Inform 7 condition holds (the readings of builder.logic.i7_reading)."""
        if " and " in condition:
            return all(self._holds(part, refs, world) for part in condition.split(" and "))
        if " or " in condition:
            return any(self._holds(part, refs, world) for part in condition.split(" or "))
        match = self._CONDITION.match(condition)
        if match is None:
            raise ValueError(f"a condition this parser cannot read: {condition!r}")
        if match["verb"]:
            x = refs.get(match["px"], match["px"])
            held = world.carried(x) if match["verb"].startswith("carr") else x in world.worn
            return held != bool(match["pneg"])
        if match["room"]:
            return (world.location == refs.get(match["room"], match["room"])) != bool(match["lneg"])
        return self._is(refs.get(match["x"], match["x"]), match["what"], refs, world) != bool(match["neg"])

    def _is(self, x: str, what: str, refs: dict[str, str], world: _World) -> bool:
        if what in ("in the location", "st-here"):
            return world.has("at", x, world.location)
        if what.startswith("st-"):
            _, state, value = what.split("-", 2)
            values = {f[0] for f in world.facts if len(f) == 2 and f[1] == x and f[0].startswith(f"st__{state}__")}
            return not values if value == "none" else f"st__{state}__{value}" in values
        if what.startswith(("a ", "an ")):
            return self.thing(x).kind in _KINDS[what.split(" ", 1)[1]]
        if what.startswith(("in ", "on ")):
            where, y = what.split(" ", 1)
            y = refs.get(y, y)
            return world.has(where, x, y) or (where == "in" and world.has("at", x, y))
        if what in ("open", "locked", "switched on", "switched off"):
            return world.has(what.replace(" ", "_"), x)
        if what in ("off-stage", "on-stage"):
            return (x in world.parent) == (what == "on-stage")
        raise ValueError(f"a condition this parser cannot read: {x} is {what}")


def _join(note: str, text: str) -> str:
    return f"{note}\n{text}" if note else text


# -- Inform's adaptive text for one thing: [They're], [Those], [are] ... --------------------------------------
def _many(thing: _Thing) -> bool:
    return thing.plural or thing.id == PLAYER


def _They_re(thing: _Thing) -> str:  # noqa: N802
    return "You're" if thing.id == PLAYER else "They're" if thing.plural else "That's"


def _They(thing: _Thing) -> str:  # noqa: N802
    return "You" if thing.id == PLAYER else "They" if thing.plural else "It"


def _verb(thing: _Thing, verb: str) -> str:
    """A verb agreeing with the thing: "seem" or "seems"."""
    return verb if _many(thing) else verb + "s"


def _they(thing: _Thing) -> str:
    return _They(thing).lower()


def _Those(thing: _Thing) -> str:  # noqa: N802
    return "You" if thing.id == PLAYER else "Those" if thing.plural else "That"


def _those(thing: _Thing) -> str:
    return _Those(thing).lower()


def _them(thing: _Thing) -> str:
    return "you" if thing.id == PLAYER else "them" if thing.plural else "it"


def _be(thing: _Thing, negative: bool = False) -> str:
    return ("aren't" if negative else "are") if _many(thing) else ("isn't" if negative else "is")


def _have(thing: _Thing) -> str:
    return "have" if _many(thing) else "has"


def _do(thing: _Thing) -> str:
    return "don't" if _many(thing) else "doesn't"


def _is_are(parser: Parser, items: Sequence[str]) -> str:
    return "are" if len(items) > 1 or parser.thing(items[0]).plural else "is"


def _match(phrases: tuple[tuple[str, ...], ...], words: Sequence[str], at: int) -> int:
    """An object's parse_name: how many words from ``at`` a run of its phrases takes (the first that fits)."""
    start = at
    while at < len(words):
        for phrase in phrases:
            if tuple(words[at : at + len(phrase)]) == phrase:
                at += len(phrase)
                break
        else:
            break
    return at - start


# -- Inform's parser ----------------------------------------------------------------------------------------
class _Reading:
    """One run of Inform's parser over one command, for the player (Parser.i6t's letters A to K)."""

    def __init__(self, parser: Parser, world: _World, command: str, pronouns: Mapping[str, str]) -> None:
        self.parser, self.world, self.pronouns = parser, world, pronouns
        self.text = " ".join(command.lower().split())
        self.typed = self.text.split()
        self.words = [dict_word(w) for w in self.typed]
        self.cobj_flag = 0  # ChooseObjects' strategy, fixed at its first call
        self.vague = STUCK
        self.upto = ""

    def run(self) -> _Action:
        """Letters A to D, then each grammar line of the verb (E to G); I: the best error when none fits."""
        if not self.words:
            raise _Answer(PARDON)
        self.verb = self.words[0]
        lines = self.parser.grammar.get(self.verb)
        if lines is None:  # not a verb: a direction means going there
            direction = next((d for d, t in _COMPASS.items() if self.words[0] in t.phrases[0] + t.phrases[1]), "")
            if not direction:
                raise _Answer(NOT_A_VERB)
            if _match(_COMPASS[direction].phrases, self.words, 0) < len(self.words):  # ("north north" goes)
                raise _Answer(f"I only understood you as far as wanting to (go) {self.typed[0]}.")
            return _Action("go", [direction])
        best = STUCK_PE
        for line in lines:
            try:
                return self._line(line)
            except _Fail as fail:
                best = max(best, fail.etype)
        if best == UPTO_PE:
            raise _Answer(f"I only understood you as far as wanting to {self.upto}.")
        raise _Answer(self.vague if best == VAGUE_PE else _PARSER_ERRORS.get(best, STUCK))

    def _so_far(self) -> str:
        """PrintCommand: the verb and what the line has matched so far."""
        return " ".join([_VERB_NAMES.get(self.verb, self.verb), *self.pattern])

    def _line(self, line: _Line) -> _Action:
        """Letters E to G: one grammar line against the command."""
        self.line = line
        self.pattern: list[str] = []
        self.nouns: list[str] = []
        self.inferfrom, self.advance = -1, None
        self.inferred_object = False  # a question's answer cannot then simply follow the command
        tokens = line.tokens
        if tokens and tokens[-1].kind == "word" and (len(self.words) < 2 or self.words[-1] not in tokens[-1].words):
            raise _Fail(STUCK_PE)  # a line ending in a preposition needs the command to end in it
        self.advance = self._look_ahead()
        wn = 1
        for self.index, token in enumerate(tokens):
            wn = self._token(token, wn)
        if wn < len(self.words):
            self.upto = self._so_far()
            raise _Fail(UPTO_PE)
        nouns = self.nouns[::-1] if line.reverse and len(self.nouns) == 2 else self.nouns
        note = f"({' '.join(self.pattern[self.inferfrom :])})" if self.inferfrom >= 0 else ""
        return _Action(line.action, nouns, note)

    def _look_ahead(self) -> str | None:
        """Letter F: in "[multiexcept|multiinside] <preposition> [noun]", the second noun is parsed first, from the
        first preposition of the command that fits (a line whose prepositions are not there fails)."""
        tokens, words, prepositions = self.line.tokens, self.words, self.parser.prepositions
        first = next(i for i, t in enumerate(tokens) if t.kind != "word") if self.line.objects else -1
        if first < 0 or tokens[first].kind not in ("multiexcept", "multiinside"):
            return None
        k = first + 1
        if k >= len(tokens) or tokens[k].kind != "word":
            return None
        wn = next((w for w in range(1, len(words)) if words[w] in prepositions), len(words))
        if wn >= len(words) - 1:  # no preposition before the last word: parse the line as it comes
            return None
        while k < len(tokens) and tokens[k].kind == "word":
            if words[wn] in tokens[k].words:
                k, wn = k + 1, min(wn + 1, len(words) - 1)
                continue
            wn += 1  # another preposition: the search stops at the last word but one (I6's "wn >= num_words")
            while wn < len(words) - 2 and words[wn] not in prepositions:
                wn += 1
            if wn >= len(words) or words[wn] not in prepositions:
                raise _Fail(STUCK_PE)
        if k >= len(tokens) or tokens[k].kind != "noun":
            return None
        at = self._skip_descriptors(wn)
        self.index = k
        matches, length = self._search(at, "noun") if at < len(words) else ([], 0)
        if len(matches) < 2:
            return matches[0] if matches else None
        return self._adjudicate(matches, "noun", at + length, dont_ask=True)

    def _skip_descriptors(self, wn: int) -> int:
        return self._descriptors(wn)[0]

    def _token(self, token: _Token, wn: int) -> int:
        if token.kind == "word":
            if wn >= len(self.words):  # out of words: infer the preposition if objects are still wanted
                if self.inferfrom < 0 and len(self.nouns) < self.line.objects:
                    self.inferfrom = len(self.pattern)
                if self.inferfrom < 0:
                    raise _Fail(STUCK_PE)
                self.pattern.append(token.first)
                return wn
            if self.words[wn] not in token.words:
                raise _Fail(STUCK_PE)
            self.pattern.append(self.words[wn])
            return wn + 1
        if token.kind == "topic":
            following = self.line.tokens[self.index + 1] if self.index + 1 < len(self.line.tokens) else None
            end = wn
            while end < len(self.words) and not (following and self.words[end] in following.words):
                end += 1
            if end == wn:
                raise _Fail(STUCK_PE)
            if self.line.action in ("ask", "answer", "tell"):  # a topic said to someone: a number, "that"
                self.pattern.append("that")
            elif following is not None and end >= len(self.words):
                raise _Fail(STUCK_PE)  # no inferring when the preposition after the topic is missing
            return end
        return self._object(token.kind, wn)

    def _object(self, context: str, wn: int) -> int:
        """ParseToken's letters B to D: descriptors, then a name (NounDomain)."""
        word = self.typed[wn] if wn < len(self.words) else ""
        if word in _PRONOUNS and word not in self.pronouns and (word != "her" or wn + 1 == len(self.words)):
            self.vague = f"I'm not sure what '{word}' refers to."
            raise _Fail(VAGUE_PE)
        start = wn
        wn, wanted = self._descriptors(wn)
        if wn < len(self.words) and self.words[wn] in _ALL:
            raise _Fail(MULTI_PE)
        matches, length = self._search(wn, context)
        if wanted > 1 and wn < len(self.words):  # "take two keys"
            if context not in _MULTI or not matches:
                raise _Fail(MULTI_PE)
            if len(matches) < wanted:
                count = f"Only {_IN_WORDS[len(matches)]}" if matches else "None"
                raise _Answer(f"{count} of those {'is' if len(matches) == 1 else 'are'} available.")
            raise _Answer(MULTI_ACTION_REPLY)  # one action for each: the engine refuses the turn
        if not matches:
            if word in self.pronouns and wn == start:  # Inform's CantSee: the pronoun's thing is out of sight
                self.vague = f"You can't see '{word}' ({self.parser.the(self.pronouns[word])}) at the moment."
                raise _Fail(VAGUE_PE)
            raise _Fail(CANTSEE_PE)
        last = self.index == len(self.line.tokens) - 1
        end = wn + length
        if wn < len(self.words):  # a name was typed
            if len(matches) == 1:
                chosen = matches[0]
            else:
                if end < len(self.words) and last:
                    raise _Fail(CANTSEE_PE)
                fitting = self._described(matches, start, wn)
                if not fitting:  # no thing fits the descriptors: read as a name, they name nothing
                    raise _Fail(CANTSEE_PE)
                indefinite = self._indefinite(start, wn)
                chosen = self._adjudicate(fitting, context, end, indefinite=indefinite, start=wn)
                if self.inferfrom < 0 and not (indefinite and len(fitting) == 1):
                    self.inferfrom = len(self.pattern)
        else:  # nothing typed: every thing in scope answers
            chosen = self._adjudicate(matches, context, end, no_words=True, indefinite=self._indefinite(start, wn))
            if wn > start:  # only descriptors: the parser reads them again as a name, which names nothing
                raise _Fail(CANTSEE_PE)
            if self.inferfrom < 0:
                self.inferfrom = len(self.pattern)
            self.inferred_object = True
        if context == "creature" and chosen != PLAYER:
            raise _Fail(ANIMA_PE)
        self.nouns.append(chosen)
        self.pattern.append(self.parser.the(chosen))
        return end

    def _descriptors(self, wn: int) -> tuple[int, int]:
        """Letter C: skip the descriptors ("the", "my", "two" ...); the word after them and how many things the
        player asked for (0: not said)."""
        wanted = 0
        while wn < len(self.words):
            word = self.words[wn]
            if word in _DESCRIPTORS:
                wn += 1
            elif (word.isdigit() or word in _NUMBERS) and wn + 1 < len(self.words):
                wanted = int(word) if word.isdigit() else _NUMBERS[word]
                wn += 1
            else:
                break
        return wn, wanted

    def _indefinite(self, start: int, wn: int) -> bool:
        """Whether a descriptor other than "the" came first: the parser then picks a thing without asking."""
        return any(w != "the" for w in self.words[start:wn])

    def _described(self, matches: list[str], start: int, wn: int) -> list[str]:
        """ScoreMatchL's threshold: the things that are what the descriptors say ("my": held, "that": here, "his":
        the pronoun's, "lit": giving light, which nothing does here)."""
        parent, fitting = self.world.parent, matches
        for word in self.words[start:wn]:
            need = _DESCRIPTORS.get(word, "")
            if need == "held":
                fitting = [m for m in fitting if parent.get(m) == PLAYER]
            elif need == "here":
                fitting = [m for m in fitting if parent.get(m) == self.world.location]
            elif need == "lit":
                fitting = []
            elif need:
                fitting = [m for m in fitting if need in self.pronouns and parent.get(m) == self.pronouns[need]]
        return fitting

    def _search(self, wn: int, context: str) -> tuple[list[str], int]:
        """SearchScope with MakeMatch: the things the words at ``wn`` name best, and how many words they take."""
        candidates = self._scope(context)
        if wn >= len(self.words):
            return candidates, 0
        best: list[str] = []
        length = 0
        word, naming = self.words[wn], self.parser.naming
        for thing_id in candidates:
            if thing_id == PLAYER:
                n = 1 if self.typed[wn] in _ME else 0
            elif self.pronouns.get(self.typed[wn]) == thing_id:
                n = 1
            elif thing_id in naming.get(word, ()):
                n = _match(self.parser.thing(thing_id).phrases, self.words, wn)
            else:
                continue
            if n > length:
                best, length = [thing_id], n
            elif n == length and n:
                best.append(thing_id)
        return best, length

    def _scope(self, context: str) -> list[str]:
        world, parser = self.world, self.parser
        if context == "multiinside" and self.advance is not None:  # only what the second noun holds
            seen: list[str] = []
            if world.see_through(parser.thing(self.advance)):
                world.within(self.advance, parser, seen)
            return seen
        if context == "direction":
            return list(DIRECTIONS)
        scope = world.scope(parser, held_first=context == "held")
        if context == "on":
            return [t for t in scope if world.has("switched_on", t)]
        if context in ("creature", "held"):  # the compass is in scope for the other tokens
            return scope
        return [*DIRECTIONS, *scope]

    # Adjudicate, ScoreMatchL and ChooseObjects: which of several things the player means
    def _adjudicate(self, matches: list[str], context: str, end: int, no_words: bool = False,
                    indefinite: bool = False, dont_ask: bool = False, start: int = 0) -> str:  # fmt: skip
        good = [self._good(m, context) for m in matches]
        if good.count(True) == 1:
            return matches[good.index(True)]
        if context == "creature" and not any(good):
            return matches[0]
        scores = [1000 * g + self._score(m, end) for m, g in zip(matches, good, strict=True)]
        top = max(scores)
        if scores.count(top) == 1 or indefinite:
            return matches[scores.index(top)]
        if dont_ask:
            return matches[0]
        if no_words:  # the answer goes at the end, after the prepositions the parser inferred
            glue = self.pattern[self.inferfrom :] if self.inferfrom >= 0 else []
            resume = None if self.inferred_object else (" ".join([*self.typed, *glue]), "")
            question = f"{'Whom' if context == 'creature' else 'What'} do you want to {self._so_far()}?"
            raise _Answer(question, resume)
        names = [self.parser.the(m) for m in matches]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        resume = (" ".join(self.typed[:start]), " ".join(self.typed[start:]))  # the answer goes before the name
        raise _Answer(f"Which do you mean, {listed}?", resume)

    def _good(self, thing_id: str, context: str) -> bool:
        parent = self.world.parent.get(thing_id, "")
        if context in ("held", "multiheld"):
            return parent == PLAYER
        if context == "multi":
            return thing_id != PLAYER and thing_id not in DIRECTIONS
        if context == "multiexcept":
            return thing_id != self.advance
        if context == "multiinside":
            return parent != PLAYER if self.advance is None else parent == self.advance
        return context == "creature" and thing_id == PLAYER

    def _score(self, thing_id: str, end: int) -> int:
        """ScoreMatchL's score: not concealed (all but the player), where it is, does the player mean it."""
        held, here = (40, 60) if self.line.action in ("take", "remove") else (60, 40)
        parent = self.world.parent.get(thing_id, "")
        score = 0 if thing_id == PLAYER else 100
        if parent == PLAYER:
            score += held
        elif parent == self.world.location:
            score += here
        elif thing_id not in DIRECTIONS:
            score += 20
        return score + 1000 * self._choose(thing_id, end) + 10 + (thing_id != PLAYER) * 5

    def _choose(self, thing_id: str, end: int) -> int:
        """ChooseObjects: the does the player mean rules for the thing as the noun (or the second noun)."""
        rest = list(self.line.tokens[self.index + 1 :])
        while rest and rest[0].kind == "word":
            rest.pop(0)
        if self.cobj_flag == 0:
            self.cobj_flag = 1 if rest and rest[0].kind in _OBJECT_TOKENS else 2
        if self.nouns:
            return self._dpm(self.nouns[0], thing_id)
        if self.cobj_flag == 1 and rest and rest[0].kind in _OBJECT_TOKENS:
            seconds = self._seconds(end, rest[0].kind)
            return max((self._dpm(thing_id, s) for s in seconds), default=self._dpm(thing_id, None))
        return self._dpm(thing_id, self.advance)

    def _seconds(self, wn: int, context: str) -> list[str]:
        """The things the words after the prepositions that follow ``wn`` could name (the second nouns)."""
        words = set().union(*(t.words for t in self.line.tokens if t.kind == "word"))
        while wn < len(self.words) and self.words[wn] in words:
            wn += 1
        wn = self._skip_descriptors(wn)
        return self._search(wn, context)[0] if wn < len(self.words) else []

    def _dpm(self, noun: str | None, second: str | None) -> int:
        """The does the player mean rulebook: the Standard Rules' two rules, then TextWorld's (whole names typed)."""
        if self.line.reverse:
            noun, second = second, noun
        action = self.line.action
        if action == "take" and noun and self.world.carried(noun):
            return 0
        if action == "take_off" and noun and noun in self.world.worn:
            return 4
        named = self.parser.name
        if noun and not second and named(noun) in self.text:
            return 3
        if not noun and second and named(second) in self.text:
            return 3
        if noun and second and named(noun) in self.text and named(second) in self.text:
            return 4
        return 2


# -- a corpus of free text ------------------------------------------------------------------------------------
_UNKNOWN = ["dance", "xyzzy", "sing", "hello", "fly away", "talk to {x}", "use {x}", "empty {x}", "pour {x}"]
_BARE = "take open close drop put x examine unlock lock eat go wear switch on give insert push enter read".split()
_MISC_NOUN = [
    "push {x}", "pull {x}", "touch {x}", "smell {x}", "taste {x}", "search {x}", "look under {x}", "climb {x}",
    "attack {x}", "kiss {x}", "wake {x}", "rub {x}", "squeeze {x}", "burn {x}", "cut {x}", "drink {x}", "swing {x}",
    "listen to {x}", "enter {x}", "sit on {x}", "stand on {x}", "look in {x}", "turn {x}", "read {x}", "buy {x}",
    "give {x} to {y}", "show {x} to {y}", "throw {x} at {y}", "tie {x} to {y}", "wave {x}", "get on {x}",
]  # fmt: skip
_MISC = "jump sleep think wave yes no sorry smell listen wake up stand exit out get out help goal verify".split()
_HOSTILE = [  # {x}: a thing in sight, {o}: another, {h}: a thing held, {f}: a fixed thing
    "take the", "x a", "x the", "x", "put", "take", "drop", "eat", "go", "get {x}", "pick {x} up", "take {x} foo",
    "take {x} from {o}", "take {f}", "take me", "drop me", "x me", "x north", "take north", "eat {x}", "wear {x}",
    "switch {x}", "insert {x} into {x}", "put {h} down", "throw {h} at {o}", "look in {f}", "ask {x} about tea",
    "lock {f} with {h}", "unlock {f} with {x}", "open {f} with {h}", "x my {x}", "take a {x}", "x some {x}",
    "put {h} on", "put {h} in", "take {x} off", "get in {f}", "get off {f}", "x {x} {x}",
    "push {x} north", "climb {f}", "take {x} from", "wave", "wave {h}", "smell {x}", "ask {x} for {o}",
]  # fmt: skip
_VERB_FORMS = [
    (r"^take (.+) from (.+)$", ["take {0}", "get {0}", "remove {0} from {1}", "get {0} from {1}", "take {0} off {1}",
                                "pick up {0}", "carry {0}"]),
    (r"^take (.+)$", ["get {0}", "pick up {0}", "pick {0} up", "carry {0}", "hold {0}"]),
    (r"^put (.+) on (.+)$", ["drop {0} on {1}", "put {0} onto {1}", "drop {0} onto {1}", "put {0} in {1}"]),
    (r"^insert (.+) into (.+)$", ["put {0} in {1}", "put {0} into {1}", "put {0} inside {1}", "drop {0} in {1}",
                                  "insert {0} in {1}", "put {0} on {1}"]),
    (r"^drop (.+)$", ["put down {0}", "put {0} down", "discard {0}", "throw {0}"]),
    (r"^examine (.+)$", ["x {0}", "look at {0}", "look {0}", "read {0}", "check {0}", "describe {0}", "watch {0}",
                         "l {0}"]),
    (r"^look$", ["l"]),
    (r"^inventory$", ["i", "inv", "take inventory"]),
    (r"^go (\w+)$", ["{0}", "{0[0]}", "walk {0}", "run {0[0]}", "go {0[0]}"]),
    (r"^wait$", ["z"]),
    (r"^open (.+)$", ["unwrap {0}", "uncover {0}"]),
    (r"^close (.+)$", ["shut {0}", "cover {0}", "close up {0}"]),
    (r"^switch on (.+)$", ["turn on {0}", "switch {0} on", "turn {0} on", "switch {0}"]),
    (r"^switch off (.+)$", ["turn off {0}", "switch {0} off", "turn {0} off", "switch {0}"]),
    (r"^wear (.+)$", ["don {0}", "put on {0}", "put {0} on"]),
    (r"^take off (.+)$", ["remove {0}", "shed {0}", "doff {0}", "take {0} off"]),
    (r"^unlock (.+) with (.+)$", ["open {0} with {1}", "unlock {0}"]),
    (r"^lock (.+) with (.+)$", ["lock {0}"]),
]  # fmt: skip


def free_text_cases(
    game: Game,
    spec: GameSpec,
    facts: Facts,
    admissible: Sequence[str],
    rng: random.Random,
    parser: Parser | None = None,
) -> list[tuple[str, str]]:
    """Commands a player might type in this state, most of them not admissible, each with its category: exact
    (admissible commands as listed), synonym (other names of the things), article, verb (Inform's other verbs
    for an admissible command, custom actions' synonyms), ambiguous (a word several things share), typo,
    absent (things out of sight), unknown (verbs), empty, bare (a verb alone), impossible (a verb and things
    Inform accepts, an action that fails) and misc (the Standard Rules' other actions)."""
    parser = parser or Parser(game, spec)
    world = _World(facts, parser, ())
    visible = parser.visible(facts)
    absent = [t for t in parser.things if t not in visible]
    name = parser.name
    cases: list[tuple[str, str]] = []

    def pick(items: Sequence[str], k: int) -> list[str]:
        return rng.sample(list(items), min(k, len(items)))

    def alias(thing_id: str) -> str:
        options = list(game.infos[thing_id].synonyms or [])
        words = [w for w in name(thing_id).split() if w not in ("the", "of")]
        if len(words) > 1:
            options += [rng.choice(words), " ".join(reversed(words))]
        return rng.choice(options) if options else name(thing_id)

    by_name = {name(t): t for t in parser.things}
    names = sorted(by_name, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None

    def rename(command: str, how: Callable[[str], str]) -> str:
        return pattern.sub(lambda m: how(m.group(1)), command) if pattern else command

    cases += [("exact", c) for c in pick(admissible, 3)]
    cases += [("synonym", rename(c, lambda n: alias(by_name[n]))) for c in pick(admissible, 6)]
    articles = ["the", "a", "the", "some"]
    cases += [("article", rename(c, lambda n: f"{rng.choice(articles)} {n}")) for c in pick(admissible, 3)]
    cases += [("verb", c) for c in pick(_verb_variants(admissible, parser), 8)]
    shared = collections.Counter(w for t in visible for w in set(name(t).split()))
    for word in pick(sorted(w for w, n in shared.items() if n > 1), 2):
        template = rng.choice(["examine {w}", "take {w}", "open {w}", "x {w}", "put {w} on {w}"])
        cases.append(("ambiguous", template.format(w=word)))
    cases += [("typo", _typo(c, rng)) for c in pick(admissible, 3)]
    for thing in pick(absent, 3):
        cases.append(("absent", rng.choice(["take {x}", "examine {x}", "open {x}", "x {x}"]).format(x=name(thing))))
    anything = name(rng.choice(visible)) if visible else "it"
    cases += [("unknown", verb.format(x=anything)) for verb in pick(_UNKNOWN, 2)]
    cases.append(("empty", ""))
    cases += [("bare", verb) for verb in pick(_BARE, 3)]
    cases += [("impossible", c) for c in pick(_impossible(parser, world, visible, rng), 8)]
    held = [t for t in visible if world.parent.get(t) == PLAYER] or visible
    fixed = [t for t in visible if not parser.things[t].portable] or visible
    for template in pick(_HOSTILE, 6) if visible else ():
        things = {"x": visible, "o": visible, "h": held, "f": fixed}
        cases.append(("hostile", template.format(**{k: name(rng.choice(v)) for k, v in things.items()})))
    if visible:
        for template in pick(_MISC_NOUN, 5):
            cases.append(("misc", template.format(x=name(rng.choice(visible)), y=name(rng.choice(visible)))))
    cases += [("misc", c) for c in pick(_MISC, 2)]
    return cases


def free_text_corpus(
    game: Game, spec: GameSpec, facts: Facts, admissible: Sequence[str], rng: random.Random
) -> list[str]:
    """The commands of :func:`free_text_cases`, without their categories."""
    return [command for _, command in free_text_cases(game, spec, facts, admissible, rng)]


def _verb_variants(admissible: Sequence[str], parser: Parser) -> list[str]:
    """Admissible commands said with Inform's other verbs, and custom actions said with their synonyms."""
    out = []
    for command in admissible:
        for pattern, forms in _VERB_FORMS:
            match = re.match(pattern, command)
            if match:
                out += [form.format(*match.groups()) for form in forms]
                break
    for action in parser.spec.actions:
        regex = re.escape(action.command)
        for slot in action.template_slots:
            regex = regex.replace(re.escape("{" + slot + "}"), f"(?P<{slot}>.+)")
        for command in admissible:
            found = re.fullmatch(regex, command)
            if found is not None:
                for synonym in action.synonyms:
                    for slot, value in found.groupdict().items():
                        synonym = synonym.replace("{" + slot + "}", value)
                    out.append(synonym)
    return out


def _typo(command: str, rng: random.Random) -> str:
    """One word of the command with two letters swapped, one doubled or one dropped."""
    words = command.split()
    if not words:
        return command
    i = rng.randrange(len(words))
    word = words[i]
    if len(word) > 2:
        j = rng.randrange(len(word) - 1)
        word = rng.choice([word[:j] + word[j + 1] + word[j] + word[j + 2 :], word[:j] + word[j] + word[j:],
                           word[:j] + word[j + 1 :]])  # fmt: skip
    words[i] = word
    return " ".join(words)


def _impossible(parser: Parser, world: _World, visible: list[str], rng: random.Random) -> list[str]:
    """Commands whose verb and nouns Inform accepts but whose action fails."""
    out: list[str] = []
    name = parser.name
    keys = [k for k in visible if parser.things[k].kind == "k"]
    for thing_id in visible:
        thing = parser.things[thing_id]
        n = name(thing_id)
        held = world.parent.get(thing_id) == PLAYER
        out.append(f"take {n}" if held or not thing.portable else f"drop {n}")
        out += [f"eat {n}"] if thing.kind != "f" else []
        out += [f"wear {n}"] if not held else []
        if thing.openable:
            out += [f"{'open' if world.has('open', thing_id) else 'close'} {n}", f"unlock {n}"]
            if keys:
                out += [f"unlock {n} with {name(rng.choice(keys))}", f"lock {n} with {name(rng.choice(keys))}"]
        else:
            out.append(f"open {n}")
        out += [f"switch on {n}"] if thing.kind != "dv" else []
        out += [f"take off {n}"] if thing_id not in world.worn else []
        other = name(rng.choice(visible))
        out += [f"put {n} on {other}", f"insert {n} into {other}", f"take {n} from {other}"]
    out += [f"go {d}" for d in ("north", "south", "east", "west") if d not in world.exits]
    for action in parser.spec.actions if visible else ():
        out.append(re.sub(r"\{[a-z0-9_]+\}", lambda m: name(rng.choice(visible)), action.command))
    return out

"""What the Inform 7 build prints for one turn: the parser's inferred nouns, the action's report (or the
parser's reply), the world's every-turn texts, the score notification and the end of the game.

The words come from TextWorld's Inform 7 source (``world2inform7.py``: take/drop reports, score notification,
obituary, "does the player mean"), the game's own rules (``builder/templates/game.twl.j2``: custom actions'
Report, reactions' After, every-turn Report, the losing rule after the every-turn stage, which ends the turn
before the score notification and the turn count), Inform 7's Standard Rules and parser (6M62) for the rest.
Everything is prepared per rule in ``__init__``; a turn costs a few dict lookups and the formatting. Looks,
examinations, inventories and listings are the :class:`~.describe.Describer`'s, in the object-tree order the
engine keeps (``Turn.order``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from textworld.generator.game import Game

from ..builder.logic import TICK_RULE
from ..spec import GameSpec
from .describe import Describer
from .types import RECENT_STATES, Facts, Turn, remember

Report = Callable[[Turn], str]  # the action's own words, from its mapping, the facts after it and the order

# Inform 7's [V in words].
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen \
seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
# Basic Screen Effects centres the obituary's headline on the interpreter's screen (jericho's is this wide).
_SCREEN_WIDTH = 125
_PLACEHOLDER = re.compile(r"\{(the |a )?([a-z][a-z0-9_]*)\}")
_SLOT = re.compile(r"\{(\w+)\}")
# The built-in actions' reports, by the words of TextWorld's command template (less its slots); {0} the noun,
# {1} the second noun.
_BUILTIN = {
    "take from": "You take {0} from {1}.",
    "take off": "You take off {0}.",
    "take": "You pick up {0} from the ground.",
    "drop": "You drop {0} on the ground.",
    "put on": "You put {0} on {1}.",
    "insert into": "You put {0} into {1}.",
    "close": "You close {0}.",
    "lock with": "You lock {0}.",
    "unlock with": "You unlock {0}.",
    "eat": "You eat {0}. Not bad.",
    "wear": "You put on {0}.",
    "switch on": "You switch {0} on.",
    "switch off": "You switch {0} off.",
}


_ARTICLES = frozenset({"the", "a", "an", "some"})
_DICT_WORD = 9  # a Z-machine (version 5 and 8) dictionary word keeps its first 9 letters
Phrase = tuple[str, ...]


def in_words(n: int) -> str:
    """Inform 7's ``[n in words]`` for 0 <= n < 1000."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {in_words(rest)}" if rest else "")


def i7_quotes(text: str) -> str:
    """Inform 7 prints a single quote of a text literal as a double quote unless letters stand on both sides."""
    if "'" not in text:
        return text
    return re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", '"', text)


def centred(text: str) -> str:
    return " " * ((_SCREEN_WIDTH - len(text)) // 2) + text


class Inference:
    """Inform's parser names the object it chose when more than one thing in reach answers to the player's words:
    "(the umbrella)" before "You drop the umbrella on the ground." when an umbrella stand is here too.

    TextWorld's Inform 7 source understands a thing by its name, each word of its name (but "the" and "of") and
    each synonym; a noun phrase matches a thing as far as a run of those phrases covers it, and the parser keeps
    the things with the longest match. When it had to choose among several (TextWorld's "does the player mean"
    rule picks the one whose whole name was typed), it prints the command from that noun on (I6 PrintCommand).
    """

    def __init__(self, game: Game, the: Callable[[str], str]) -> None:
        self.the = the
        self.vocab: dict[str, list[Phrase]] = {}
        for entity, info in game.infos.items():
            if entity[:2] in ("r_", "P", "I") or not info.name:
                continue
            words = info.name.split()
            phrases = {tuple(_word(w) for w in words)} | {(_word(w),) for w in words if w.lower() not in ("the", "of")}
            phrases |= {tuple(_word(w) for w in synonym.split()) for synonym in info.synonyms or ()}
            self.vocab[entity] = sorted(phrases, key=len, reverse=True)  # the longest phrase first
        starting: dict[str, set[str]] = {}  # word -> the things with a phrase that starts with it
        for entity, vocab in self.vocab.items():
            for phrase in vocab:
                starting.setdefault(phrase[0], set()).add(entity)
        # The things that can answer to a word a thing's phrase starts with: the only ones that make it ambiguous.
        self.rivals = {
            e: frozenset(r for phrase in vocab for r in starting[phrase[0]] if r != e)
            for e, vocab in self.vocab.items()
        }
        self._read: dict[tuple[str, ...], list[tuple[str, list[str], str]]] = {}  # memo of _wording
        self._scopes: dict[Facts, tuple[set[str], dict[str, str]]] = {}  # memo of scope

    def match(self, entity: str, words: list[str], at: int) -> int:
        """How many words from ``at`` on the thing's parse_name takes: a run of its phrases, longest first."""
        n = 0
        phrases = self.vocab.get(entity, ())
        while True:
            step = next((len(p) for p in phrases if tuple(words[at + n : at + n + len(p)]) == p), 0)
            if not step:
                return n
            n += step

    def note(self, command: str, entities: list[str], facts: Facts, inside: bool = False) -> str | None:
        """The parser's "(the X ...)" for the command, or None when every noun was unambiguous. ``inside``: the
        grammar is "take [things inside] from [something]", whose first noun is sought only among what the
        second noun holds (and what that holds)."""
        for e in entities:
            if self.rivals.get(e):
                break
        else:
            return None
        key = (command, *entities)
        found = self._read.get(key)
        if found is None:
            found = remember(self._read, key, self._wording(command, entities), 50_000)
        if not found:
            return None
        reach: set[str] | None = None
        for entity, rivals, text in found:
            if reach is None:
                reach, holder = self.scope(facts)
            if inside and entity == entities[0]:
                rivals = [r for r in rivals if _within(r, entities[1], holder)]
            if any(r in reach for r in rivals):
                return text
        return None

    def _wording(self, command: str, entities: list[str]) -> list[tuple[str, list[str], str]]:
        """What of the note follows from the words alone: per noun in the typed order that other things answer
        to as well, the noun, those rivals and the note the parser prints if it had to choose there."""
        words = [_word(w) for w in command.split()]
        found: list[tuple[int, int, str]] = []  # (first word, end, entity), in the typed order
        taken: set[int] = set()
        for entity in entities:
            for at in range(1, len(words)):  # word 0 is the verb
                n = 0 if at in taken else self.match(entity, words, at)
                if n:
                    found.append((at, at + n, entity))
                    taken.update(range(at, at + n))
                    break
            else:
                return []  # a wording this model does not follow: say nothing
        found.sort()
        choices = []
        for i, (at, end, entity) in enumerate(found):
            rivals = [r for r in self.rivals.get(entity, ()) if self.match(r, words, at) >= end - at]
            if not rivals:
                continue
            pieces = []
            for j in range(i, len(found)):
                at_j, end_j, entity_j = found[j]
                pieces.append(self.the(entity_j))
                following = found[j + 1][0] if j + 1 < len(found) else len(words)
                pieces += [w for w in words[end_j:following] if w not in _ARTICLES]  # the grammar's prepositions
            choices.append((entity, rivals, f"({' '.join(pieces)})"))
        return choices

    def scope(self, facts: Facts) -> tuple[set[str], dict[str, str]]:
        """:func:`scope`, memoised by the facts."""
        found = self._scopes.get(facts)
        if found is None:
            found = remember(self._scopes, facts, scope(facts), RECENT_STATES)
        return found


def scope(facts: Facts) -> tuple[set[str], dict[str, str]]:
    """The things the player can see: in the room or carried (worn), on supporters, in open containers, parts
    of things in reach, and the doors of the room; and where each thing is ("in c_0" inside a container)."""
    holder: dict[str, str] = {}
    closed: set[str] = set()
    room = ""
    links = []
    for fact in facts:
        name = fact[0]
        if name in ("at", "in", "on", "part_of"):
            if fact[1] == "P":
                room = fact[2]
            else:
                holder[fact[1]] = fact[2] if name != "in" or fact[2] == "I" else "in " + fact[2]
        elif name == "worn":
            holder[fact[1]] = "I"
        elif name in ("closed", "locked"):
            closed.add(fact[1])
        elif name == "link":
            links.append(fact)
    seen = {f[2] for f in links if f[1] == room}
    for thing in holder:
        place = thing
        while True:
            where = holder.get(place)
            if where is None:
                break
            if where.startswith("in "):
                where = where[3:]
                if where in closed:
                    break
            if where == room or where == "I":
                seen.add(thing)
                break
            place = where
    return seen, holder


def _within(thing: str, outer: str, holder: dict[str, str]) -> bool:
    """Whether ``outer`` holds ``thing``, directly or through what it holds."""
    place = holder.get(thing)
    while place is not None:
        place = place.removeprefix("in ")
        if place == outer:
            return True
        place = holder.get(place)
    return False


def _word(word: str) -> str:
    return word.lower()[:_DICT_WORD]


class Narrator:
    """The whole answer of the Inform 7 build to one command, from the turn as the logic saw it."""

    def __init__(self, game: Game, spec: GameSpec, describer: Describer | None = None) -> None:
        self.describer = d = describer or Describer(game, spec)
        self.names = {k: (v.name or k) for k, v in game.infos.items()}
        self.ticks = [i7_quotes(rule.text) for rule in spec.every_turn]
        self.losses = [i7_quotes(lose.text) for lose in spec.lose]
        reactions = [i7_quotes(r.text) for r in spec.reactions]
        # TextWorld's Inform 7 source: the maximum score counts every quest but optional ones worth nothing; a
        # repeatable quest makes it unbounded (None).
        counted = [q for q in game.quests if not q.optional or q.reward > 0]
        self.max_score = None if any(q.repeatable for q in counted) else sum(q.reward for q in counted)
        self.reports: dict[str, Report] = {}
        self.nouns: dict[str, list[str]] = {}  # rule -> its variables in the command's order
        self.inside: set[str] = set()  # rules Inform parses as "take [things inside] from [something]"
        self.reacting: dict[str, str] = {}  # a reaction's rule -> its text, said (After rule) before the report
        self.reads_world: set[str] = set()  # rules whose report reads more than the mapping (looks, listings)
        custom = {a.name: a for a in spec.actions}
        for rule, command in game.kb.inform7_commands.items():
            self.nouns[rule] = _SLOT.findall(command)
            if re.fullmatch(r"take \{\w+\} from \{\w+\}", command):
                self.inside.add(rule)
            base, _, reaction = rule.partition("__r")
            if reaction and reactions[int(reaction)]:
                self.reacting[rule] = reactions[int(reaction)]
            if base.startswith(TICK_RULE.format("")):
                self.reports[rule] = lambda t: "Time passes."
            elif base.split("/")[0] in custom:
                self.reports[rule] = self._custom(i7_quotes(custom[base.split("/")[0]].success))
            else:
                self.reports[rule] = self._builtin(command)
                if command.split()[0] in ("look", "go", "inventory", "examine", "open"):
                    self.reads_world.add(rule)
        self.inference = Inference(game, d.the)

    def fixed(self, rule: str, mapping: dict[str, str]) -> bool:
        """Whether the action's whole turn text follows from the rule, its mapping and the command typed (with
        the every-turn rules and the score): its report reads no listing and no noun of it can be ambiguous."""
        rivals = self.inference.rivals
        return rule not in self.reads_world and not any(rivals.get(mapping[n]) for n in self.nouns[rule])

    def _custom(self, success: str) -> Report:
        """A custom action's Report: its success text, ``{the slot}`` / ``{a slot}`` / ``{slot}`` filled in with
        the entity of the rule's variable ``s_<slot>``."""
        pieces: list[tuple[str, str, str]] = []  # (text before, article, the slot's variable)
        last = 0
        for m in _PLACEHOLDER.finditer(success):
            pieces.append((success[last : m.start()], (m[1] or "").strip(), f"s_{m[2]}"))
            last = m.end()
        tail = success[last:]
        d, names = self.describer, self.names
        fill = {"the": d.the, "a": d.a, "": names.__getitem__}

        def report(turn: Turn) -> str:
            mapping = turn.mapping
            return "".join(text + fill[art](mapping[var]) for text, art, var in pieces) + tail

        return report

    def _builtin(self, command: str) -> Report:
        """A built-in action's report from its TextWorld command template ("take {o} from {c}")."""
        words = command.split()
        slots = _SLOT.findall(command)
        verb = " ".join(w for w in words if not w.startswith("{"))
        d = self.describer
        if verb == "look" or verb.startswith("go "):  # going somewhere prints its room as looking does
            return lambda t: d.look(t.after_action, t.order)
        if verb == "inventory":
            return lambda t: d.inventory(t.after_action, t.order)
        if verb == "examine":
            return lambda t: d.examine(t.mapping[slots[0]], t.after_action, t.order)
        if verb == "open":
            noun = slots[0]

            def opened(t: Turn) -> str:  # the Standard Rules' "reveal any newly visible interior" rule
                thing = t.mapping[noun]
                inside = d.contents(thing, t.after_action, t.order)
                if inside:
                    return f"You open {d.the(thing)}, revealing {d.listing(inside)}."
                return f"You open {d.the(thing)}."

            return opened
        if verb not in _BUILTIN:
            raise ValueError(f"no report for the command {command!r}")
        template, the = _BUILTIN[verb], d.the
        if len(slots) == 1:
            return lambda t: template.format(the(t.mapping[slots[0]]))
        return lambda t: template.format(the(t.mapping[slots[0]]), the(t.mapping[slots[1]]))

    def turn(self, turn: Turn) -> str:
        """The game's answer to the turn's command (as Engine.step returns it, cleaned)."""
        parts: list[str] = []
        note = None
        if turn.reply is not None:
            parts.append(turn.reply)
        elif turn.action is not None:
            action = turn.action
            nouns = self.nouns[action]
            if nouns:
                entities = [turn.mapping[n] for n in nouns]
                note = self.inference.note(turn.command, entities, turn.before, action in self.inside)
            if action in self.reacting:
                parts.append(self.reacting[action])
            parts.append(self.reports[action](turn))
        for index, _ in turn.ticks:
            if self.ticks[index]:
                parts.append(self.ticks[index])
        gained = turn.score - turn.score_before
        if gained > 0 and turn.lost is None:  # losing ends the turn before the score notification
            parts.append(f"Your score has just gone up by {in_words(gained)} point{'s' if gained > 1 else ''}.")
        if turn.lost is not None:
            if self.losses[turn.lost]:
                parts.append(self.losses[turn.lost])
            parts.append(centred("*** You lost! ***"))
        elif turn.won:
            parts.append(centred("*** The End ***"))
        if turn.won or turn.lost is not None:
            turns = turn.moves + (turn.lost is None)  # a win ends the story after the turn count went up
            in_turns = f"in {turns} turn{'s' if turns != 1 else ''}."
            if self.max_score is None:
                parts.append(f"You scored a total of {turn.score} point{'s' if turn.score != 1 else ''}, {in_turns}")
            else:
                parts.append(f"You scored {turn.score} out of a possible {self.max_score}, {in_turns}")
        text = "\n\n".join(parts)
        return text if note is None else f"{note}\n{text}"

"""Whether two written names are the same person's: pure functions, no database.

Names arrive as people type them: in any case, with or without accents, surnames first or
last, with titles ("Lic.", "Dra."), abbreviations ("Ma.", "Hdez."), initials and typos. Two
nominees are compared by their name above all, then by their institution and their state
(`match_score`); `MatchIndex` compares one person with many, scoring only those that share a
word prefix. Grouping nominations into candidates uses this today; screening nominees against
sanction registries can reuse it.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property, lru_cache
from typing import Literal

from app.services.text import fold

_WORD = re.compile(r"[^\W_]+")

# Honorifics written before a name; they say nothing about who it is.
_TITLES = frozenset(
    [
        "lic",
        "licda",
        "licenciada",
        "licenciado",
        "ing",
        "inga",
        "dr",
        "dra",
        "doctor",
        "doctora",
        "mtro",
        "mtra",
        "maestro",
        "maestra",
        "prof",
        "profa",
        "profesor",
        "profesora",
        "arq",
        "sr",
        "sra",
        "srita",
        "c",
        "cp",
        "biol",
        "don",
        "dona",
    ]
)
# Short forms common in Mexican names as people type them.
_ABBREVIATIONS = {
    "ma": "maria",
    "fco": "francisco",
    "gpe": "guadalupe",
    "glez": "gonzalez",
    "gzz": "gonzalez",
    "hdez": "hernandez",
    "hdz": "hernandez",
    "mtz": "martinez",
    "rdz": "rodriguez",
    "rguez": "rodriguez",
    "rdguez": "rodriguez",
    "fdez": "fernandez",
    "gtz": "gutierrez",
}
# Words joining compound surnames ("de la Cruz"): too common to tell two people apart.
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y"})
# Words of institution names that every institution has.
_INSTITUTION_STOPWORDS = frozenset({"de", "del", "la", "las", "los", "el", "y", "e", "en", "h"})

NAME_WEIGHT = 0.75
INSTITUTION_WEIGHT = 0.25
SAME_STATE_BONUS = 0.05
OTHER_STATE_PENALTY = 0.15
# Below this name similarity, the rest (same institution, same state) cannot make a match:
# colleagues are not the same person.
NAME_FLOOR = 0.7
THRESHOLD = 0.6
SUGGESTIONS_PER_ROW = 5


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def match_key(name: str) -> str:
    """The name folded (case, accents, punctuation) with its words sorted, as stored."""
    return " ".join(sorted(_words(name)))[:300]


def name_tokens(name: str) -> tuple[str, ...]:
    """The words that identify a person: folded, abbreviations spelled out, no titles or
    particles."""
    words = _words(name)
    start = 0
    while start < len(words) - 1 and words[start] in _TITLES:
        start += 1
    words = words[start:]
    kept = [_ABBREVIATIONS.get(word, word) for word in words if word not in _PARTICLES]
    return tuple(kept or words)


@lru_cache(maxsize=100_000)  # names repeat the same words; each pair is compared once
def _token_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        # An initial ("J. Luis") stands for any word that starts with it, a little less surely.
        return 0.8 if a[0] == b[0] else 0.0
    if min(len(a), len(b)) < 4:
        return 0.0
    # A typo in a longer word ("Lopes", "Fernada") still counts.
    ratio = SequenceMatcher(None, a, b, autojunk=False).ratio()
    return ratio if ratio >= 0.8 else 0.0


def _align(a: Sequence[str], b: Sequence[str]) -> tuple[float, int]:
    """Pairs words one to one, best pairs first: the sum of their similarities and their number."""
    pairs = sorted(
        (
            (similarity, i, j)
            for i, x in enumerate(a)
            for j, y in enumerate(b)
            if (similarity := _token_similarity(x, y)) > 0
        ),
        reverse=True,
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    total = 0.0
    for similarity, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        total += similarity
    return total, len(used_a)


def name_similarity(a: str, b: str) -> float:
    """0 to 1: how likely two written names are the same person's, whatever the case, accents
    and word order ("Ma. Fernanda López Ruiz" and "LOPEZ RUIZ MARIA FERNANDA" score 1)."""
    return _name_similarity(name_tokens(a), name_tokens(b))


def _name_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    if not a or not b:
        return 0.0
    total, matched = _align(a, b)
    small, large = sorted((len(a), len(b)))
    # People often write a name in part (one surname, one given name): what the shorter name
    # says must match, and what it leaves out costs a little.
    score = total / small * (0.75 + 0.25 * small / large)
    if matched < 2 and large > 1:
        # One shared word, such as a common surname, is weak evidence.
        score *= 0.5
    return min(score, 1.0)


def _institution_words(institution: str) -> tuple[str, ...]:
    return tuple(w for w in _words(institution) if w not in _INSTITUTION_STOPWORDS)


def _is_acronym(short: Sequence[str], long: Sequence[str]) -> bool:
    return (
        len(short) == 1
        and len(long) >= 2
        and len(short[0]) >= 2
        and short[0] == "".join(word[0] for word in long)
    )


def _institution_similarity(a: Sequence[str], b: Sequence[str]) -> float | None:
    if not a or not b:
        return None  # unknown: neither for nor against
    if _is_acronym(a, b) or _is_acronym(b, a):
        return 1.0  # "IMSS" and "Instituto Mexicano del Seguro Social"
    total, _ = _align(a, b)
    overlap = 2 * total / (len(a) + len(b))
    sequence = SequenceMatcher(None, " ".join(sorted(a)), " ".join(sorted(b))).ratio()
    return max(overlap, sequence)


def institution_similarity(a: str, b: str) -> float | None:
    return _institution_similarity(_institution_words(a), _institution_words(b))


@dataclass(frozen=True)
class Person:
    """A nominee as written: by a candidate, or by one nomination."""

    name: str
    institution: str = ""
    state: str = ""

    @cached_property
    def name_tokens(self) -> tuple[str, ...]:
        return name_tokens(self.name)

    @cached_property
    def institution_tokens(self) -> tuple[str, ...]:
        return _institution_words(self.institution)

    @cached_property
    def block_keys(self) -> frozenset[str]:
        # Word prefixes: names that share none are not worth scoring.
        return frozenset(token[:4] for token in self.name_tokens if len(token) >= 2)


def match_score(a: Person, b: Person) -> float:
    """0 to 1: the name weighs most; a similar institution adds; the same state adds a little
    and a different state takes away more (namesakes in different states are common)."""
    name = _name_similarity(a.name_tokens, b.name_tokens)
    if name < NAME_FLOOR:
        return round(name * NAME_WEIGHT, 4)
    institution = _institution_similarity(a.institution_tokens, b.institution_tokens)
    score = NAME_WEIGHT * name + INSTITUTION_WEIGHT * (0.5 if institution is None else institution)
    if a.state and b.state:
        score += SAME_STATE_BONUS if a.state == b.state else -OTHER_STATE_PENALTY
    # Scaled so that only the same name, institution and state make 100%.
    return round(max(0.0, min(1.0, score / (1 + SAME_STATE_BONUS))), 4)


MatchKind = Literal["candidate", "nomination"]


@dataclass(frozen=True)
class Entry:
    """One row an index can suggest: what it is (`kind`, `id`), the theme it is compared
    within, and the person it names."""

    kind: MatchKind
    id: int
    theme_id: int
    person: Person


@dataclass(frozen=True)
class Match:
    """An entry suggested for a person, with its `match_score`."""

    entry: Entry
    score: float

    @property
    def percent(self) -> int:
        return round(self.score * 100)


class MatchIndex:
    """Entries (the candidates and nominations of one campaign), ready to be compared with a
    person: only entries of the same theme sharing word prefixes with the person are scored."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self._by_key: dict[tuple[int, str], list[int]] = defaultdict(list)
        for position, entry in enumerate(self.entries):
            for key in entry.person.block_keys:
                self._by_key[(entry.theme_id, key)].append(position)

    def suggest(
        self,
        person: Person,
        *,
        theme_id: int,
        exclude: tuple[MatchKind, int] | None = None,
        limit: int = SUGGESTIONS_PER_ROW,
        threshold: float = THRESHOLD,
    ) -> list[Match]:
        """The best matches of the same theme above the threshold, best first."""
        hits: Counter[int] = Counter()
        for key in person.block_keys:
            hits.update(self._by_key.get((theme_id, key), ()))
        matches = []
        for position, shared in hits.items():
            entry = self.entries[position]
            if exclude == (entry.kind, entry.id):
                continue
            if shared < min(2, len(person.block_keys), len(entry.person.block_keys)):
                continue
            score = match_score(person, entry.person)
            if score >= threshold:
                matches.append(Match(entry, score))
        # Equal scores: candidates before nominations, then by number, the same on every page.
        matches.sort(key=lambda m: (-m.score, m.entry.kind != "candidate", m.entry.id))
        return matches[:limit]

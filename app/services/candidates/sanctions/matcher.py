"""Who on a registry list might be a nominee: names compared the way Spanish names are written.

Pure functions and plain data, no database: `screen` takes the nominees and streams the list's
entries past them. docs/matching.md explains the rules and their limits; the constants below
are the figures it cites.

A name is folded (case, accents, ñ, punctuation), stripped of titles and particles (de, del, la,
y...), short forms spelled out (Ma. -> maria), and kept as a bag of words: order says nothing
(surnames first or last). Two names are aligned word to word, best pairs first. Words one name
has and the other lacks are *missing* (a second surname left out, a second given name) and cost
a little; words both names have unaligned are *in conflict* (López against Díaz) and cost a lot:
two people who share given names and first surname and differ in the second are two people.

Blocking: every name of at least two words yields keys made of two of its words' sounds; only a
nominee and an entry sharing a key are compared, so the work grows with plausible pairs, not with
nominees x entries. A real match shares all but at most one of the shorter name's words, hence
at least one pair of them.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import combinations
from typing import Any, NamedTuple

from rapidfuzz.distance import Levenshtein

from app.forms.sanctions import valid_curp
from app.services.text import fold

# --- the figures docs/matching.md explains ---------------------------------------------------

# Points taken from 100 for each word both names have and that do not correspond.
CONFLICT_PENALTY = 40
# Points taken for each word only one of the names has.
MISSING_PENALTY = 10
# Taken again when only two words correspond and one of the names says more: "Juan Pérez".
TWO_WORDS_PENALTY = 10
# The most a single corresponding word can score: one surname in common is no evidence.
ONE_WORD_CEILING = 40
# An initial ("J.") stands for a word starting with that letter, less surely than the word.
INITIAL_SIMILARITY = 0.7
# Two spellings that sound the same in Spanish (Gonzales, González).
SOUND_SIMILARITY = 0.95
# Birth years that cannot agree, or genders that differ, each take this much.
BIRTH_PENALTY = 30
GENDER_PENALTY = 30
# A recorded CURP or RFC that differs from the entry's.
IDENTIFIER_CONFLICT_PENALTY = 50
# An organisation's name that reads like a person's (a company named after its owner).
ORGANISATION_PENALTY = 15
IDENTIFIER_SCORE = 100
# An RFC equal in its first ten characters, where one side lacks the three-character homoclave.
RFC_STEM_SCORE = 95
# Names longer than this many words are cut for blocking (an organisation's long name).
BLOCKING_WORDS = 8

_WORD = re.compile(r"[^\W_]+")

# Honorifics and ranks written before a name.
TITLES = frozenset(
    [
        "lic",
        "licda",
        "licenciado",
        "licenciada",
        "ing",
        "inga",
        "ingeniero",
        "ingeniera",
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
        "arquitecto",
        "arquitecta",
        "sr",
        "sra",
        "srita",
        "senor",
        "senora",
        "c",
        "cp",
        "biol",
        "don",
        "dona",
        "gral",
        "general",
        "cap",
        "capitan",
        "coronel",
        "tte",
        "teniente",
        "mr",
        "mrs",
        "ms",
    ]
)
# Words joining compound names ("de la Cruz", "Pérez y López") and Arabic or Dutch particles:
# too common to tell two people apart.
PARTICLES = frozenset(
    [
        "de",
        "del",
        "la",
        "las",
        "los",
        "y",
        "e",
        "da",
        "das",
        "do",
        "dos",
        "di",
        "van",
        "von",
        "der",
        "den",
        "al",
        "el",
        "bin",
        "ben",
        "ibn",
        "abu",
    ]
)
# Short forms common in Mexican names as people type them.
ABBREVIATIONS = {
    "ma": "maria",
    "fco": "francisco",
    "fca": "francisca",
    "gpe": "guadalupe",
    "glez": "gonzalez",
    "gzz": "gonzalez",
    "hdez": "hernandez",
    "hdz": "hernandez",
    "mtz": "martinez",
    "rdz": "rodriguez",
    "rguez": "rodriguez",
    "fdez": "fernandez",
    "gtz": "gutierrez",
    "sanchz": "sanchez",
}
# Legal forms and words of company names that say nothing about who owns it.
ORGANISATION_WORDS = frozenset(
    [
        "sa",
        "cv",
        "rl",
        "sc",
        "ac",
        "sapi",
        "sab",
        "spr",
        "ri",
        "srl",
        "sas",
        "llc",
        "inc",
        "ltd",
        "co",
        "corp",
        "company",
        "sociedad",
        "anonima",
        "capital",
        "variable",
        "responsabilidad",
        "limitada",
        "civil",
        "asociacion",
        "grupo",
    ]
)


# --- words ------------------------------------------------------------------------------------


_SOFT_C = re.compile(r"c(?=[ei])")
_SOFT_G = re.compile(r"g(?=[ei])")
_LEADING_Y = re.compile(r"^y(?=[^aeiou])")
_DOUBLED = re.compile(r"(.)\1+")


@lru_cache(maxsize=100_000)  # a few thousand distinct words make up most names
def sound(word: str) -> str:
    """A Spanish sound key: spellings a person could hear as one word share it (z/s/c before
    e and i, v/b, ll/y, silent h, qu/k, g/j before e and i, doubled letters)."""
    w = word
    if len(w) <= 1:
        return w
    w = w.replace("ch", "\x01")  # keep ch apart from the silent h
    w = w.replace("qu", "k").replace("ll", "y").replace("h", "")
    w = w.replace("gue", "\x02e").replace("gui", "\x02i")  # a hard g, as in Rodríguez
    w = _SOFT_C.sub("s", w)
    w = _SOFT_G.sub("j", w).replace("\x02", "g")
    w = w.replace("c", "k").replace("z", "s").replace("v", "b").replace("w", "u")
    w = "j" + w[1:] if w.startswith("x") else w  # Ximénez, Xavier
    w = _LEADING_Y.sub("i", w)  # Ybarra
    w = w[:-1] + "i" if w.endswith("y") else w
    w = _DOUBLED.sub(r"\1", w)
    return w.replace("\x01", "ch")


def _gendered_pair(a: str, b: str) -> bool:
    """Daniel and Daniela, Fernando and Fernanda: near in letters, different people."""
    if len(a) > len(b):
        a, b = b, a
    if b == a + "a":
        return True
    return len(a) == len(b) and len(a) >= 3 and a[:-1] == b[:-1] and {a[-1], b[-1]} == {"a", "o"}


@lru_cache(maxsize=200_000)  # names repeat their words; each pair is compared once
def word_similarity(a: str, b: str, floor: float) -> float:
    """0 to 1: how surely two folded words are the same word of a name."""
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return INITIAL_SIMILARITY if a[0] == b[0] else 0.0
    if _gendered_pair(a, b):
        return 0.0
    if sound(a) == sound(b):
        return SOUND_SIMILARITY
    # A typo in a longer word; a different first letter (Hernández, Fernández) is another name.
    if min(len(a), len(b)) < 5 or a[0] != b[0]:
        return 0.0
    similarity = Levenshtein.normalized_similarity(a, b)
    return similarity if similarity >= floor else 0.0


# --- names ------------------------------------------------------------------------------------


class Name(NamedTuple):
    """One written name: the words that identify a person, folded, and as they were written.
    (A named tuple: the lists' names are parsed by the tens of thousands.)"""

    text: str
    tokens: tuple[str, ...]
    written: tuple[str, ...]
    # Blocking keys, and the words' sounds (a repeated one as "sound#2": Hernández Hernández
    # has two words to match, not one).
    keys: frozenset[tuple[str, str]]
    sounds: frozenset[str]


# What a word may be besides a name's word.
_TITLE, _PARTICLE, _ORGANISATION = 1, 2, 4


@lru_cache(maxsize=200_000)  # names repeat their words: each is folded once
def _words_of(written: str) -> tuple[tuple[str, str, str, int], ...]:
    """(word as compared, its sound, as written, kind) for each word a written word folds
    into."""
    found = []
    for folded in fold(written).split():
        token = ABBREVIATIONS.get(folded, folded)
        kind = (
            (_TITLE if folded in TITLES else 0)
            | (_PARTICLE if folded in PARTICLES else 0)
            | (_ORGANISATION if folded in ORGANISATION_WORDS or len(folded) == 1 else 0)
        )
        found.append((token, sound(token), written, kind))
    return tuple(found)


def parse_name(text: str, *, organisation: bool = False) -> Name:
    words = [word for written in _WORD.findall(text) for word in _words_of(written)]
    start = 0
    while start < len(words) - 1 and words[start][3] & _TITLE:
        start += 1
    drop = _PARTICLE | _ORGANISATION if organisation else _PARTICLE
    kept = [word for word in words[start:] if not word[3] & drop]
    if not kept:
        kept = [word for word in words[start:] if not word[3] & _PARTICLE] or words[start:]
    sounds: list[str] = []
    seen: set[str] = set()
    for token, tone, _, _ in kept:
        if len(token) > 1:
            sounds.append(tone if tone not in seen else f"{tone}#{sounds.count(tone) + 1}")
            seen.add(tone)
    return Name(
        text,
        tuple(word[0] for word in kept),
        tuple(word[2] for word in kept),
        frozenset(blocking_keys(sounds)),
        frozenset(sounds),
    )


def blocking_keys(sounds: Iterable[str]) -> set[tuple[str, str]]:
    """Two sounds of a name, sorted: names sharing none cannot match."""
    distinct = sorted(set(sounds))[:BLOCKING_WORDS]
    return set(combinations(distinct, 2))


@dataclass(frozen=True, slots=True)
class Alignment:
    pairs: tuple[tuple[int, int, float], ...]
    only_a: tuple[int, ...]
    only_b: tuple[int, ...]


def align(a: Name, b: Name, floor: float) -> Alignment:
    """Pairs words one to one, most similar first."""
    candidates = sorted(
        (
            (similarity, i, j)
            for i, x in enumerate(a.tokens)
            for j, y in enumerate(b.tokens)
            if (similarity := word_similarity(x, y, floor)) > 0
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for similarity, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((i, j, similarity))
    return Alignment(
        pairs=tuple(sorted(pairs)),
        only_a=tuple(i for i in range(len(a.tokens)) if i not in used_a),
        only_b=tuple(j for j in range(len(b.tokens)) if j not in used_b),
    )


def name_score(alignment: Alignment) -> int:
    """0 to 100 from an alignment (see the penalties above)."""
    matched = len(alignment.pairs)
    if matched == 0:
        return 0
    quality = sum(similarity for _, _, similarity in alignment.pairs) / matched
    conflicts = min(len(alignment.only_a), len(alignment.only_b))
    missing = abs(len(alignment.only_a) - len(alignment.only_b))
    score = 100 * quality - CONFLICT_PENALTY * conflicts - MISSING_PENALTY * missing
    if matched == 1:
        score = min(score, ONE_WORD_CEILING)
    elif matched == 2 and (conflicts or missing):
        score -= TWO_WORDS_PENALTY
    return max(0, min(100, round(score)))


def _bound(len_a: int, len_b: int, matched: int) -> int:
    """The score two names of these lengths reach if `matched` words correspond exactly."""
    only_a, only_b = len_a - matched, len_b - matched
    conflicts, missing = min(only_a, only_b), abs(only_a - only_b)
    bound = 100 - CONFLICT_PENALTY * conflicts - MISSING_PENALTY * missing
    if matched <= 1:
        return min(bound, ONE_WORD_CEILING)
    if matched == 2 and (conflicts or missing):
        bound -= TWO_WORDS_PENALTY
    return bound


def could_match(a: Name, b: Name, settings: Settings) -> bool:
    """A cheap bound before aligning: the best score the names could reach if every word they
    share by sound corresponded exactly, and one more where a typo could make it so."""
    len_a, len_b = len(a.tokens), len(b.tokens)
    shared = min(len(a.sounds & b.sounds), len_a, len_b)
    if _bound(len_a, len_b, shared) >= settings.threshold:
        return True
    if shared >= min(len_a, len_b) or _bound(len_a, len_b, shared + 1) < settings.threshold:
        return False
    return _typo_possible(a, b, settings.word_similarity)


def _typo_possible(a: Name, b: Name, floor: float) -> bool:
    """Whether a word of one name, not shared by sound, is near enough a word of the other
    (same first letter: a different one makes another name)."""
    for x in a.tokens:
        for y in b.tokens:
            if x[0] == y[0] and x != y and word_similarity(x, y, floor) > 0:
                return True
    return False


# --- identifiers and dates ----------------------------------------------------------------------


def _century(two_digits: int, *, born_before_2000: bool | None, today: date) -> int:
    if born_before_2000 is True:
        return 1900 + two_digits
    if born_before_2000 is False:
        return 2000 + two_digits
    return 2000 + two_digits if 2000 + two_digits <= today.year else 1900 + two_digits


def birth_date_from_curp(curp: str, today: date) -> date | None:
    if not valid_curp(curp):
        return None
    # The 17th character is a digit for people born before 2000 and a letter after.
    year = _century(int(curp[4:6]), born_before_2000=curp[16].isdigit(), today=today)
    try:
        return date(year, int(curp[6:8]), int(curp[8:10]))
    except ValueError:
        return None


def gender_from_curp(curp: str) -> str:
    if not valid_curp(curp):
        return ""
    return {"H": "M", "M": "F"}.get(curp[10], "")


def birth_date_from_rfc(rfc: str, today: date) -> date | None:
    """A person's RFC starts with four letters and the birth date, YYMMDD."""
    if len(rfc) not in (10, 13) or not rfc[:4].isalpha() or not rfc[4:10].isdigit():
        return None
    year = _century(int(rfc[4:6]), born_before_2000=None, today=today)
    try:
        return date(year, int(rfc[6:8]), int(rfc[8:10]))
    except ValueError:
        return None


# --- who is compared ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A nominee as the portal knows them: names as written (a candidate may have several),
    identifiers staff recorded, and what the nomination says of age and gender."""

    key: Any
    names: tuple[str, ...]
    rfc: str = ""
    curp: str = ""
    # The years the person may have been born in, inclusive; None when unknown.
    birth_years: tuple[int, int] | None = None
    gender: str = ""  # "F", "M" or "" (unknown)


@dataclass(frozen=True)
class Listed:
    """One list entry: its names (the first is the name as published, then aliases)."""

    key: Any
    names: tuple[str, ...]
    organisation: bool = False
    rfc: str = ""
    curp: str = ""
    birth_years: tuple[int, int] | None = None
    gender: str = ""


@dataclass(frozen=True)
class Hit:
    subject: Any
    entry: Any
    score: int
    # The subject's name that matched (or its identifier).
    matched_name: str
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    threshold: int = 75
    word_similarity: float = 0.85


def _years_text(years: tuple[int, int]) -> str:
    return str(years[0]) if years[0] == years[1] else f"{years[0]}–{years[1]}"


def _context(subject: Subject, entry: Listed) -> tuple[int, list[dict[str, Any]]]:
    """What birth years, gender and the entry's kind add to (or take from) a name score."""
    adjustment = 0
    reasons: list[dict[str, Any]] = []
    if subject.birth_years and entry.birth_years:
        lo, hi = subject.birth_years
        elo, ehi = entry.birth_years
        agree = lo <= ehi + 1 and elo <= hi + 1
        reasons.append(
            {
                "code": "birth",
                "agree": agree,
                "subject": _years_text(subject.birth_years),
                "entry": _years_text(entry.birth_years),
            }
        )
        if not agree:
            adjustment -= BIRTH_PENALTY
    if subject.gender and entry.gender:
        agree = subject.gender == entry.gender
        reasons.append(
            {"code": "gender", "agree": agree, "subject": subject.gender, "entry": entry.gender}
        )
        if not agree:
            adjustment -= GENDER_PENALTY
    for kind in ("curp", "rfc"):
        mine, theirs = getattr(subject, kind), getattr(entry, kind)
        if mine and theirs and mine[:10] != theirs[:10]:
            reasons.append({"code": "identifier_differs", "kind": kind.upper(), "entry": theirs})
            adjustment -= IDENTIFIER_CONFLICT_PENALTY
    if entry.organisation:
        reasons.append({"code": "organisation"})
        adjustment -= ORGANISATION_PENALTY
    return adjustment, reasons


def identifier_hit(subject: Subject, entry: Listed) -> Hit | None:
    """A CURP or RFC the subject and the entry share: a match whatever the names say."""
    if subject.curp and subject.curp == entry.curp:
        reason = {"code": "identifier", "kind": "CURP", "value": subject.curp}
        return Hit(subject.key, entry.key, IDENTIFIER_SCORE, subject.curp, [reason])
    if subject.rfc and entry.rfc:
        if subject.rfc == entry.rfc:
            reason = {"code": "identifier", "kind": "RFC", "value": subject.rfc}
            return Hit(subject.key, entry.key, IDENTIFIER_SCORE, subject.rfc, [reason])
        if 10 in (len(subject.rfc), len(entry.rfc)) and subject.rfc[:10] == entry.rfc[:10]:
            reason = {"code": "rfc_stem", "value": subject.rfc[:10]}
            return Hit(subject.key, entry.key, RFC_STEM_SCORE, subject.rfc, [reason])
    return None


def explain(a: Name, b: Name, alignment: Alignment) -> list[dict[str, Any]]:
    """Which words corresponded, which differed, which one name lacks, as the names wrote them."""
    reasons: list[dict[str, Any]] = [
        {
            "code": "words",
            "pairs": [
                [a.written[i], b.written[j], round(similarity * 100)]
                for i, j, similarity in alignment.pairs
            ],
        }
    ]
    conflicts = min(len(alignment.only_a), len(alignment.only_b))
    if conflicts:
        reasons.append(
            {
                "code": "differ",
                "subject": [a.written[i] for i in alignment.only_a],
                "entry": [b.written[j] for j in alignment.only_b],
            }
        )
    elif alignment.only_b:
        reasons.append({"code": "only_entry", "words": [b.written[j] for j in alignment.only_b]})
    elif alignment.only_a:
        reasons.append({"code": "only_subject", "words": [a.written[i] for i in alignment.only_a]})
    return reasons


@dataclass
class _Parsed:
    subject: Subject
    names: list[Name]


def _compare(
    subject: _Parsed,
    entry: Listed,
    entry_names: Sequence[Name],
    settings: Settings,
    pairs: Iterable[tuple[int, int]] | None = None,
) -> Hit | None:
    """The subject against the entry: every pair of their names, or only `pairs` (entry name,
    subject name) that blocking let through."""
    hit = identifier_hit(subject.subject, entry)
    if hit is not None:
        return hit
    if pairs is None:
        pairs = [(p, m) for p in range(len(entry_names)) for m in range(len(subject.names))]
    best: tuple[int, Name, Name, Alignment, int] | None = None
    for position, which in pairs:
        theirs, mine = entry_names[position], subject.names[which]
        if not could_match(mine, theirs, settings):
            continue
        alignment = align(mine, theirs, settings.word_similarity)
        score = name_score(alignment)
        if best is None or score > best[0]:
            best = (score, mine, theirs, alignment, position)
    if best is None:
        return None
    score, mine, theirs, alignment, position = best
    adjustment, context = _context(subject.subject, entry)
    final = max(0, min(100, score + adjustment))
    if final < settings.threshold:
        return None
    reasons = explain(mine, theirs, alignment)
    if position > 0:
        reasons.insert(0, {"code": "alias", "name": theirs.text})
    return Hit(subject.subject.key, entry.key, final, mine.text, reasons + context)


@dataclass
class _ParsedEntry:
    entry: Listed
    names: list[Name]


def _parse_entry(entry: Listed) -> _ParsedEntry:
    return _ParsedEntry(
        entry, [parse_name(name, organisation=entry.organisation) for name in entry.names]
    )


def _shared_sounds(shared_keys: int) -> int:
    """Two names sharing s sounds share s(s-1)/2 blocking keys."""
    return int((1 + math.sqrt(1 + 8 * shared_keys)) / 2 + 1e-9)


# The bound and the sounds, looked up rather than computed: blocking asks a million times.
_LONGEST = 12
_BOUNDS = [
    [[_bound(a, b, min(m, a, b)) for m in range(_LONGEST + 2)] for b in range(_LONGEST + 1)]
    for a in range(_LONGEST + 1)
]
_SOUNDS_OF_KEYS = [_shared_sounds(k) for k in range(_LONGEST * (_LONGEST - 1) // 2 + 1)]


class SubjectIndex:
    """The nominees of an edition, indexed by their names' blocking keys and identifiers."""

    def __init__(self, subjects: Iterable[Subject], settings: Settings) -> None:
        self.settings = settings
        self.subjects: list[_Parsed] = []
        # Every name of every subject, numbered: (subject's position, name's position).
        self._names: list[tuple[int, int]] = []
        self._by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._by_curp: dict[str, list[int]] = defaultdict(list)
        self._by_rfc: dict[str, list[int]] = defaultdict(list)
        for subject in subjects:
            position = len(self.subjects)
            parsed = _Parsed(subject, [parse_name(name) for name in subject.names])
            self.subjects.append(parsed)
            for which, name in enumerate(parsed.names):
                number = len(self._names)
                self._names.append((position, which))
                for key in name.keys:
                    self._by_key[key].append(number)
            if subject.curp:
                self._by_curp[subject.curp].append(position)
            if subject.rfc:
                self._by_rfc[subject.rfc[:10]].append(position)

    def __len__(self) -> int:
        return len(self.subjects)

    def _candidates(self, entry: _ParsedEntry) -> dict[int, list[tuple[int, int]]]:
        """Subjects worth comparing with the entry, and which pairs of names: those sharing
        enough blocking keys for the names' lengths (see could_match)."""
        threshold, floor = self.settings.threshold, self.settings.word_similarity
        found: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for position, theirs in enumerate(entry.names):
            hits: Counter[int] = Counter()
            for key in theirs.keys:
                postings = self._by_key.get(key)
                if postings:
                    hits.update(postings)
            len_theirs = min(len(theirs.tokens), _LONGEST)
            for number, shared_keys in hits.items():
                subject, which = self._names[number]
                mine = self.subjects[subject].names[which]
                len_mine = min(len(mine.tokens), _LONGEST)
                shared = _SOUNDS_OF_KEYS[shared_keys]
                bounds = _BOUNDS[len_mine][len_theirs]
                if bounds[shared] < threshold and (
                    shared >= min(len_mine, len_theirs)
                    or bounds[shared + 1] < threshold
                    # One more word may correspond through a typo.
                    or not _typo_possible(mine, theirs, floor)
                ):
                    continue
                found[subject].append((position, which))
        for identifiers, value in (
            (self._by_curp, entry.entry.curp),
            (self._by_rfc, entry.entry.rfc[:10]),
        ):
            for subject in identifiers.get(value, ()) if value else ():
                found.setdefault(subject, [])
        return found

    def candidates(self, entry: _ParsedEntry) -> set[int]:
        return set(self._candidates(entry))

    def match(self, entry: Listed) -> list[Hit]:
        parsed = _parse_entry(entry)
        hits = []
        for position, pairs in self._candidates(parsed).items():
            hit = _compare(self.subjects[position], entry, parsed.names, self.settings, pairs)
            if hit is not None:
                hits.append(hit)
        return hits


def screen(
    subjects: Iterable[Subject], entries: Iterable[Listed], settings: Settings
) -> Iterator[Hit]:
    """Every (subject, entry) pair scoring at least the threshold; entries are streamed."""
    index = SubjectIndex(subjects, settings)
    if not len(index):
        return
    for entry in entries:
        yield from index.match(entry)


def entry_blocking_keys(entry: Listed) -> set[str]:
    """The keys under which an entry is stored for one nominee's quick look-up."""
    return {" ".join(key) for name in _parse_entry(entry).names for key in name.keys}


def subject_blocking_keys(subject: Subject) -> set[str]:
    return {" ".join(key) for name in subject.names for key in parse_name(name).keys}


def match_one(subject: Subject, entries: Iterable[Listed], settings: Settings) -> list[Hit]:
    """One subject against a few entries found by its keys (a new nomination's screening)."""
    parsed = _Parsed(subject, [parse_name(name) for name in subject.names])
    hits = []
    for entry in entries:
        hit = _compare(parsed, entry, _parse_entry(entry).names, settings)
        if hit is not None:
            hits.append(hit)
    return hits

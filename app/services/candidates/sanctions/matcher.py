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

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import combinations
from typing import Any

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


def sound(word: str) -> str:
    """A Spanish sound key: spellings a person could hear as one word share it (z/s/c before
    e and i, v/b, ll/y, silent h, qu/k, g/j before e and i, doubled letters)."""
    w = word
    if len(w) <= 1:
        return w
    w = w.replace("ch", "\x01")  # keep ch apart from the silent h
    w = w.replace("qu", "k").replace("ll", "y").replace("h", "")
    w = re.sub(r"c(?=[ei])", "s", w)
    w = re.sub(r"g(?=[ei])", "j", w)
    w = w.replace("gue", "ge").replace("gui", "gi")
    w = w.replace("c", "k").replace("z", "s").replace("v", "b").replace("w", "u")
    w = w.replace("x", "j") if w.startswith("x") else w  # Ximénez, Xavier
    w = re.sub(r"^y(?=[^aeiou])", "i", w)  # Ybarra
    w = re.sub(r"y$", "i", w)
    w = re.sub(r"(.)\1+", r"\1", w)
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


@dataclass(frozen=True, slots=True)
class Name:
    """One written name: the words that identify a person, folded, and as they were written."""

    text: str
    tokens: tuple[str, ...]
    written: tuple[str, ...]
    keys: frozenset[str]
    sounds: frozenset[str]

    def __len__(self) -> int:
        return len(self.tokens)


def _split(text: str) -> list[tuple[str, str]]:
    """(folded, as written) for each word; "LÓPEZ, Juan" and "Juan López" give the same words."""
    pairs = []
    for match in _WORD.finditer(text):
        written = match.group(0)
        for folded in fold(written).split():
            pairs.append((folded, written))
    return pairs


def parse_name(text: str, *, organisation: bool = False) -> Name:
    words = _split(text)
    start = 0
    while start < len(words) - 1 and words[start][0] in TITLES:
        start += 1
    words = words[start:]
    kept: list[tuple[str, str]] = []
    for folded, written in words:
        if folded in PARTICLES:
            continue
        if organisation and (folded in ORGANISATION_WORDS or len(folded) == 1):
            continue
        kept.append((ABBREVIATIONS.get(folded, folded), written))
    if not kept:
        kept = [(folded, written) for folded, written in words if folded not in PARTICLES]
    # A word said twice ("Juan Juan") counts once.
    seen: set[str] = set()
    unique = []
    for folded, written in kept:
        if folded not in seen:
            seen.add(folded)
            unique.append((folded, written))
    tokens = tuple(folded for folded, _ in unique)
    sounds = [sound(token) for token in tokens if len(token) > 1]
    return Name(
        text=text,
        tokens=tokens,
        written=tuple(written for _, written in unique),
        keys=frozenset(blocking_keys(sounds)),
        sounds=frozenset(sounds),
    )


def blocking_keys(sounds: Sequence[str]) -> set[str]:
    """Two sounds of a name, sorted and joined: names sharing none cannot match."""
    distinct = sorted(set(sounds[:BLOCKING_WORDS]))
    return {f"{a} {b}" for a, b in combinations(distinct, 2)}


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
        only_a=tuple(i for i in range(len(a)) if i not in used_a),
        only_b=tuple(j for j in range(len(b)) if j not in used_b),
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


def could_match(a: Name, b: Name) -> bool:
    """A cheap bound before aligning: all but one of the shorter name's words must sound alike
    (each further one is a conflict of 40 points, unless it is a second typo)."""
    shared = len(a.sounds & b.sounds)
    return shared >= 2 and shared >= min(len(a.sounds), len(b.sounds)) - 1


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
    subject: _Parsed, entry: Listed, entry_names: Sequence[Name], settings: Settings
) -> Hit | None:
    hit = identifier_hit(subject.subject, entry)
    if hit is not None:
        return hit
    best: tuple[int, Name, Name, Alignment, int] | None = None
    for position, theirs in enumerate(entry_names):
        for mine in subject.names:
            if not could_match(mine, theirs):
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


class SubjectIndex:
    """The nominees of an edition, indexed by their names' blocking keys and identifiers."""

    def __init__(self, subjects: Iterable[Subject], settings: Settings) -> None:
        self.settings = settings
        self.subjects: list[_Parsed] = []
        self._by_key: dict[str, list[int]] = defaultdict(list)
        self._by_curp: dict[str, list[int]] = defaultdict(list)
        self._by_rfc: dict[str, list[int]] = defaultdict(list)
        for subject in subjects:
            position = len(self.subjects)
            parsed = _Parsed(subject, [parse_name(name) for name in subject.names])
            self.subjects.append(parsed)
            for key in {key for name in parsed.names for key in name.keys}:
                self._by_key[key].append(position)
            if subject.curp:
                self._by_curp[subject.curp].append(position)
            if subject.rfc:
                self._by_rfc[subject.rfc[:10]].append(position)

    def __len__(self) -> int:
        return len(self.subjects)

    def candidates(self, entry: _ParsedEntry) -> set[int]:
        found: set[int] = set()
        for name in entry.names:
            for key in name.keys:
                found.update(self._by_key.get(key, ()))
        if entry.entry.curp:
            found.update(self._by_curp.get(entry.entry.curp, ()))
        if entry.entry.rfc:
            found.update(self._by_rfc.get(entry.entry.rfc[:10], ()))
        return found

    def match(self, entry: Listed) -> list[Hit]:
        parsed = _parse_entry(entry)
        hits = []
        for position in self.candidates(parsed):
            hit = _compare(self.subjects[position], entry, parsed.names, self.settings)
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
    return {key for name in _parse_entry(entry).names for key in name.keys}


def subject_blocking_keys(subject: Subject) -> set[str]:
    return {key for name in subject.names for key in parse_name(name).keys}


def match_one(subject: Subject, entries: Iterable[Listed], settings: Settings) -> list[Hit]:
    """One subject against a few entries found by its keys (a new nomination's screening)."""
    parsed = _Parsed(subject, [parse_name(name) for name in subject.names])
    hits = []
    for entry in entries:
        hit = _compare(parsed, entry, _parse_entry(entry).names, settings)
        if hit is not None:
            hits.append(hit)
    return hits

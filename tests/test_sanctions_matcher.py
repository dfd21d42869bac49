"""The name matcher on its own: Spanish names as people write them, look-alikes of other people,
identifiers first, birth year and gender, and blocking that still finds every real match."""

import pytest

from app.services.candidates.sanctions.matcher import (
    Listed,
    Settings,
    Subject,
    match_one,
    screen,
    sound,
)

RULES = Settings(threshold=75, word_similarity=0.85)
ALL = Settings(threshold=0, word_similarity=0.85)


def score(nominee: str, *names: str, **entry: object) -> int:
    hits = match_one(Subject("s", (nominee,)), [Listed("e", names, **entry)], ALL)  # type: ignore[arg-type]
    return hits[0].score if hits else 0


@pytest.mark.parametrize(
    ("nominee", "listed"),
    [
        ("María Fernanda López Ruiz", "LOPEZ RUIZ, Maria Fernanda"),
        ("MARIA FERNANDA LOPEZ RUIZ", "María Fernanda López Ruiz"),
        ("Ma. Guadalupe Hdez. Glez.", "HERNANDEZ GONZALEZ MARIA GUADALUPE"),
        ("José Luis de la Cruz Peña", "CRUZ PENA, Jose Luis"),
        ("Lic. Ramiro Garza y Treviño", "Ramiro Garza Treviño"),
        ("Ximena Ybarra Gonzáles", "Jimena Ibarra González"),
    ],
)
def test_matcher_same_person_written_differently_scores_100_or_near(
    nominee: str, listed: str
) -> None:
    assert score(nominee, listed) >= 90


def test_matcher_missing_second_surname_still_matches() -> None:
    assert score("María Fernanda López", "LOPEZ RUIZ, Maria Fernanda") >= RULES.threshold
    assert score("Héctor Manuel Ibarra Solís", "Héctor Manuel Ibarra") >= RULES.threshold


@pytest.mark.parametrize(
    ("nominee", "listed"),
    [
        # Same given names and first surname, another second surname: another person.
        ("María Fernanda López Ruiz", "LOPEZ DIAZ, Maria Fernanda"),
        ("Juan Pérez García", "Juan Pérez López"),
        # Near in letters, different names.
        ("Juan Pérez Hernández", "Juan Pérez Fernández"),
        ("Daniel Gómez Ruiz", "Daniela Gómez Ruiz"),
        ("Fernando Salas Díaz", "Fernanda Salas Díaz"),
        # Two given names in common, surnames not.
        ("Juan Carlos Martínez Soto", "Juan Carlos Pérez Villa"),
        # One surname in common.
        ("Ana Hernández", "Luis Hernández"),
    ],
)
def test_matcher_look_alike_of_another_person_scores_clearly_below_a_match(
    nominee: str, listed: str
) -> None:
    real = score("María Fernanda López Ruiz", "LOPEZ RUIZ, Maria Fernanda")
    look_alike = score(nominee, listed)
    assert look_alike < RULES.threshold
    assert real - look_alike >= 30


def test_matcher_second_surname_differing_is_below_second_surname_missing() -> None:
    differing = score("María Fernanda López Ruiz", "LOPEZ DIAZ, Maria Fernanda")
    missing = score("María Fernanda López Ruiz", "LOPEZ, Maria Fernanda")
    assert differing < RULES.threshold <= missing


def test_matcher_typo_in_a_long_surname_still_matches() -> None:
    assert score("José Luis Rodrigez Cruz", "RODRIGUEZ CRUZ, Jose Luis") >= 90


def test_matcher_alias_matches_and_says_so() -> None:
    hits = match_one(
        Subject("s", ("Griselda Treviño Salas",)),
        [Listed("e", ("OCHOA MEDINA, Griselda", "TREVINO SALAS, Griselda"))],
        RULES,
    )
    assert hits[0].score == 100
    assert {"code": "alias", "name": "TREVINO SALAS, Griselda"} in hits[0].reasons


def test_matcher_identifier_matches_whatever_the_name() -> None:
    hits = match_one(
        Subject("s", ("Jorge A. Cárdenas",), rfc="CAPJ650415AB1"),
        [Listed("e", ("Somebody Else Entirely",), rfc="CAPJ650415AB1")],
        RULES,
    )
    assert hits[0].score == 100
    assert hits[0].reasons == [{"code": "identifier", "kind": "RFC", "value": "CAPJ650415AB1"}]


def test_matcher_rfc_without_homoclave_matches_the_full_rfc() -> None:
    hits = match_one(
        Subject("s", ("Jorge Cárdenas",), rfc="CAPJ650415"),
        [Listed("e", ("X Y",), rfc="CAPJ650415AB1")],
        RULES,
    )
    assert hits[0].score == 95


def test_matcher_birth_year_or_gender_disagreeing_lowers_the_score() -> None:
    name = "Héctor Manuel Ibarra Solís"
    same = score(name, name, birth_years=(1962, 1962))
    nominee = Subject("s", (name,), birth_years=(1995, 1996), gender="M")
    older = match_one(nominee, [Listed("e", (name,), birth_years=(1962, 1962))], ALL)[0]
    woman = match_one(Subject("s", (name,), gender="F"), [Listed("e", (name,), gender="M")], ALL)
    assert same == 100
    assert older.score < RULES.threshold
    assert {"code": "birth", "agree": False, "subject": "1995–1996", "entry": "1962"} in (
        older.reasons
    )
    assert woman[0].score < RULES.threshold


def test_matcher_different_curp_lowers_the_score() -> None:
    name = "Luz Elena Paredes Ontiveros"
    hits = match_one(
        Subject("s", (name,), curp="PAOL790214MCHRNZ08"),
        [Listed("e", (name,), curp="PAOL850101MCHRNZ01")],
        ALL,
    )
    assert hits[0].score < RULES.threshold


def test_matcher_reasons_name_the_words_that_matched_and_differed() -> None:
    hits = match_one(
        Subject("s", ("María Fernanda López Ruiz",)),
        [Listed("e", ("LOPEZ DIAZ, Maria Fernanda",))],
        ALL,
    )
    reasons = hits[0].reasons
    assert reasons[0]["code"] == "words"
    assert ["López", "LOPEZ", 100] in reasons[0]["pairs"]
    assert {"code": "differ", "subject": ["Ruiz"], "entry": ["DIAZ"]} in reasons


def test_matcher_sound_keys_join_spanish_spellings() -> None:
    assert sound("gonzalez") == sound("gonsales")
    assert sound("vazquez") == sound("basques")
    assert sound("hernandez") != sound("fernandez")


def test_matcher_screen_finds_every_real_match_and_no_look_alike() -> None:
    entries = [
        Listed(1, ("LOPEZ RUIZ, Maria Fernanda",)),
        Listed(2, ("Juan Pérez López",)),
        Listed(3, ("GARZA TREVINO, Ramiro", "Ramiro Garza")),
        Listed(4, ("BANCO DEMO, S.A.",), organisation=True),
        # A surname written twice is two words to match.
        Listed(5, ("LOPEZ LOPEZ, Jesus",)),
        Listed(6, ("RODRIGUEZ CRUZ, Jose Luis",)),
    ]
    subjects = [
        Subject("a", ("María Fernanda López Ruiz",)),
        Subject("b", ("Juan Pérez García",)),
        Subject("c", ("Ramiro Garza Treviño",)),
        Subject("d", ("Pedro Páramo",)),
        Subject("e", ("Jesús López López",)),
        Subject("f", ("Jesús López Ruiz",)),
        Subject("g", ("José Luis Rodrigez Cruz",)),  # a typo that changes the word's sound
    ]
    found = {(hit.subject, hit.entry) for hit in screen(subjects, entries, RULES)}
    assert found == {("a", 1), ("c", 3), ("e", 5), ("g", 6)}

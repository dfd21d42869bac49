"""Matching names: whether two written names are the same person's (no database)."""

import ast
from pathlib import Path

from app.services.candidates import matching
from app.services.candidates.matching import (
    THRESHOLD,
    Entry,
    MatchIndex,
    Person,
    institution_similarity,
    match_key,
    match_score,
    name_similarity,
)


def test_name_similarity_ignores_case_accents_and_word_order() -> None:
    assert name_similarity("Ma. Fernanda López Ruiz", "LOPEZ RUIZ MARIA FERNANDA") == 1.0
    assert name_similarity("José Ángel Núñez", "jose angel nunez") == 1.0


def test_name_similarity_understands_initials_abbreviations_and_titles() -> None:
    assert name_similarity("J. Luis Hdez. Glez.", "José Luis Hernández González") >= 0.85
    assert name_similarity("Mtra. Ma. Guadalupe Ruiz", "María Guadalupe Ruiz") == 1.0
    assert name_similarity("Fco. Javier de la Cruz", "Francisco Javier Cruz") == 1.0


def test_name_similarity_tolerates_a_typo_and_a_missing_surname() -> None:
    assert name_similarity("María Fernanda Lopes Ruiz", "María Fernanda López Ruiz") >= 0.9
    assert name_similarity("Fernanda López", "María Fernanda López Ruiz") >= 0.85


def test_name_similarity_of_different_people_is_low() -> None:
    assert name_similarity("Juan Pérez López", "María Fernanda López Ruiz") < 0.5
    # Two people sharing a given name and a surname are not the same person.
    assert name_similarity("María López García", "María Fernanda López Ruiz") < 0.7
    assert name_similarity("López", "María Fernanda López Ruiz") < 0.5


def test_match_score_different_state_lowers_the_score() -> None:
    nominee = Person("María Fernanda López Ruiz", "Ayuntamiento de Xalapa", "VER")
    same_state = Person("LOPEZ RUIZ MARIA FERNANDA", "Ayuntamiento de Xalapa", "VER")
    other_state = Person("LOPEZ RUIZ MARIA FERNANDA", "Ayuntamiento de Xalapa", "JAL")

    assert match_score(nominee, other_state) < match_score(nominee, same_state)
    assert match_score(nominee, same_state) == 1.0


def test_match_score_weighs_the_institution() -> None:
    nominee = Person("María Fernanda López Ruiz", "Ayuntamiento de Xalapa", "VER")
    same = Person("Ma. Fernanda López Ruiz", "H. Ayuntamiento de Xalapa", "VER")
    other = Person("Ma. Fernanda López Ruiz", "Secretaría de Salud", "VER")

    assert match_score(nominee, other) < match_score(nominee, same)
    assert institution_similarity("IMSS", "Instituto Mexicano del Seguro Social") == 1.0


def test_match_score_same_institution_does_not_make_colleagues_one_person() -> None:
    nominee = Person("María Fernanda López Ruiz", "Ayuntamiento de Xalapa", "VER")
    colleague = Person("Juan Carlos Pérez Ortiz", "Ayuntamiento de Xalapa", "VER")

    assert match_score(nominee, colleague) < THRESHOLD


def test_match_key_is_the_folded_words_sorted() -> None:
    assert match_key("Ma. Fernanda López  Ruiz") == "fernanda lopez ma ruiz"
    assert match_key("LOPEZ RUIZ MARIA FERNANDA") == "fernanda lopez maria ruiz"


def test_match_index_suggests_same_theme_above_threshold_best_first() -> None:
    index = MatchIndex(
        [
            Entry("candidate", 1, 10, Person("Fernanda López", "Ayuntamiento de Xalapa", "JAL")),
            Entry("candidate", 2, 10, Person("LOPEZ RUIZ MARIA FERNANDA", "Xalapa", "VER")),
            Entry("candidate", 3, 10, Person("Juan Pérez Ortiz", "Ayuntamiento de Xalapa", "VER")),
            Entry("candidate", 4, 20, Person("María Fernanda López Ruiz", "Xalapa", "VER")),
            Entry("nomination", 5, 10, Person("Ma Fernanda Lopez Ruiz", "Xalapa", "VER")),
        ]
    )

    found = index.suggest(
        Person("María Fernanda López Ruiz", "Ayuntamiento de Xalapa", "VER"), theme_id=10
    )

    assert [(m.entry.kind, m.entry.id) for m in found] == [
        ("candidate", 2),
        ("nomination", 5),
        ("candidate", 1),
    ]
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert all(m.score >= THRESHOLD for m in found)


def test_matching_needs_no_database() -> None:
    # Sanction screening compares names too: this module must stay usable without a session.
    tree = ast.parse(Path(matching.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    database = {"sqlalchemy", "sqlmodel", "app.db", "app.models"}

    assert not {name for name in imported if any(name.startswith(d) for d in database)}

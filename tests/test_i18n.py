"""The catalogs keep up with the code: every message has a Spanish translation that formats.

Messages are extracted afresh from the code, the way `scripts/i18n` does, into memory (or
tmp_path); the committed catalogs are only read.
"""

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_mapping_cfg
from babel.messages.pofile import read_po

from app.i18n import LOCALE_DIR, Translator, negotiate

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "i18n"
# Babel's default keywords plus the -k ones scripts/i18n passes: `_`, `t`, `N_`, `ngettext:1,2`.
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "N_": None, "ngettext": (1, 2)}
# A %-style placeholder: %(name)s, %(count)d, %(ratio).1f …; a bare "%%" is a literal percent.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*\d*(?:\.\d+)?(?P<type>[a-zA-Z%])")

MessageKey = tuple[str | tuple[str, ...], str | None]


def read_catalog(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def in_app(dirpath: str) -> bool:
    """Only app/ holds messages; dot and underscore folders (caches, .venv) are skipped."""
    relative = Path(dirpath).relative_to(ROOT)
    return relative.parts[0] == "app" and not any(p.startswith((".", "_")) for p in relative.parts)


def extract_messages() -> dict[MessageKey, list[str]]:
    """Every message in the code, by (msgid, context), with where it is used."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    found: dict[MessageKey, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=in_app
    ):
        key = (message if isinstance(message, str) else tuple(message), context)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[MessageKey, list[str]]:
    messages = extract_messages()
    assert len(messages) > 50, "the extraction found almost nothing: is babel.cfg still right?"
    return messages


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    return read_catalog("es")


def placeholders(text: str) -> list[str]:
    """The placeholders of a message, sorted; literal "%%" is not one."""
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text) if m.group("type") != "%")


def forms(string: str | tuple[str, ...]) -> list[str]:
    """The translated text of a message: one string, or one per plural form."""
    return [string] if isinstance(string, str) else list(string)


def test_extracted_messages_all_have_spanish_translation(
    extracted: dict[MessageKey, list[str]], spanish: Catalog
) -> None:
    problems = []
    for (message_id, context), where in sorted(extracted.items(), key=str):
        singular = message_id if isinstance(message_id, str) else message_id[0]
        entry = spanish.get(singular, context=context)
        if entry is None:
            problems.append(f"missing: {singular!r} ({where[0]}); run scripts/i18n")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {singular!r} ({where[0]})")
        elif isinstance(message_id, tuple) and entry.id != tuple(message_id[:2]):
            problems.append(f"plural differs: {singular!r} ({where[0]}); run scripts/i18n")
        elif not all(forms(entry.string)):
            problems.append(f"untranslated: {singular!r} ({where[0]})")
    assert not problems, "\n".join(problems)


def test_spanish_catalog_entries_have_no_fuzzy_or_empty_translation(spanish: Catalog) -> None:
    bad = [m.id for m in spanish if m.id and (m.fuzzy or not all(forms(m.string)))]
    assert not bad


@pytest.mark.parametrize("locale", ["es", "en"])
def test_translations_keep_placeholders_of_their_msgid(locale: str) -> None:
    problems = []
    for message in read_catalog(locale):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = sorted(set().union(*(placeholders(text) for text in ids)))
        for text in forms(message.string):
            if not text:
                continue  # English falls back to the msgid
            if sorted(set(placeholders(text))) != expected:
                problems.append(f"{ids[0]!r} -> {text!r}: {placeholders(text)} != {expected}")
                continue
            names = {m.group("name") for m in PLACEHOLDER.finditer(text) if m.group("name")}
            try:
                text % {name: 1 for name in names}
            except (KeyError, ValueError, TypeError) as error:
                problems.append(f"{ids[0]!r} -> {text!r} does not format: {error!r}")
    assert not problems, "\n".join(problems)


def test_spanish_catalog_plural_forms_are_two() -> None:
    spanish = read_catalog("es")
    assert spanish.num_plurals == 2
    assert spanish.plural_expr == "(n != 1)"
    assert spanish.charset.lower() == "utf-8"
    assert read_catalog("en").num_plurals == 2


def test_translator_spanish_translates_message() -> None:
    assert Translator("es")("This field is required.") == "Este campo es obligatorio."


def test_translator_spanish_fills_placeholders() -> None:
    text = Translator("es")("Write at most %(max_length)s characters.", max_length=200)
    assert text == "Escribe como máximo 200 caracteres."


def test_translator_english_returns_msgid() -> None:
    assert Translator("en")("This field is required.") == "This field is required."
    assert Translator("en").ngettext("%(num)s file", "%(num)s files", 3) == "3 files"


def test_translator_datetime_spanish_says_central_mexico_time() -> None:
    # Translated at run time from app/i18n.py; the extractor does not see that call.
    when = Translator("es").datetime(datetime(2026, 3, 1, 18, 30, tzinfo=UTC))
    assert when == "1 de marzo de 2026, 12:30 (hora del centro de México)"


@pytest.mark.parametrize(
    ("count", "expected"), [(1, "1 archivo"), (0, "0 archivos"), (2, "2 archivos")]
)
def test_translator_ngettext_spanish_picks_plural_form(count: int, expected: str) -> None:
    # Used as t.ngettext(...) in receipt.html, which the Jinja extractor does not see.
    assert Translator("es").ngettext("%(num)s file", "%(num)s files", count) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("fr, es;q=0.5", "es"),
        ("es;q=0.4, en;q=0.6", "en"),
        ("en;q=0, es;q=0.1", "es"),
        ("EN-gb", "en"),
    ],
)
def test_negotiate_accept_language_picks_by_quality(header: str, expected: str) -> None:
    assert negotiate(header, default="es") == expected


@pytest.mark.parametrize(
    "header", [None, "", "fr", "de-DE,fr;q=0.9", "en;q=0", "en;q=abc", ";;,,", "*", "x" * 5000]
)
def test_negotiate_unknown_or_garbage_returns_default(header: str | None) -> None:
    assert negotiate(header, default="es") == "es"
    assert negotiate(header, default="en") == "en"


def script_extract_arguments(output: Path) -> list[str]:
    """The `pybabel extract` arguments of scripts/i18n, writing to `output` instead."""
    script = SCRIPT.read_text().replace("\\\n", " ")
    line = next((ln for ln in script.splitlines() if re.search(r"pybabel\b.*\bextract\b", ln)), "")
    assert line, "scripts/i18n no longer runs `pybabel extract`; update this test"
    words = shlex.split(line)
    words = words[next(i for i, w in enumerate(words) if w.endswith("pybabel")) + 1 :]
    for flag in ("-o", "--output-file"):
        if flag in words:
            words[words.index(flag) + 1] = str(output)
    return words


def test_i18n_script_extraction_finds_every_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extracted: dict[MessageKey, list[str]]
) -> None:
    pot = tmp_path / "messages.pot"
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(["pybabel", *script_extract_arguments(pot)])
    with pot.open("rb") as handle:
        found = {(m.id, m.context) for m in read_po(handle) if m.id}
    assert found == set(extracted)

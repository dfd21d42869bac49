import unicodedata

# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: how names are compared and searched."""
    # Decompose before and after case folding: "𝐀" becomes "A" only through NFKD, and must then
    # fold like "A" does, so that fold(fold(x)) == fold(x).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


# The longest search text stored (Nomination.search_text).
SEARCH_TEXT_LENGTH = 450


# Latin letters that carry no accent to take off (NFKD leaves them whole), so "lodz" finds Łódź.
_PLAIN_LETTERS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)


def _kind(char: str) -> str:
    """ "l" for a letter (of any script), "d" for an ASCII digit, "" for what separates words."""
    if char.isascii():
        return "l" if char.isalpha() else "d" if char.isdigit() else ""
    return "l" if unicodedata.category(char).startswith("L") else ""


def search_words(text: str) -> list[str]:
    """The words the queue's full-text search indexes and looks for: `fold`ed, then cut at
    everything but letters and digits, and between letters and digits ("g20" is "g" and "20").

    The index of each engine (SQLite FTS5, PostgreSQL tsvector) then only splits at spaces, so
    both see the same words and a search finds the same nominations on both."""
    words: list[str] = []
    current: list[str] = []
    previous = ""
    for char in fold(text).translate(_PLAIN_LETTERS):
        kind = _kind(char)
        if kind != previous and current:
            words.append("".join(current))
            current = []
        if kind:
            current.append(char)
        previous = kind
    if current:
        words.append("".join(current))
    return words


def search_text(*parts: str) -> str:
    """What Nomination.search_text holds: the search words of the nominee's name and
    institution, one space apart, cut at a word's end."""
    text = " ".join(search_words(" ".join(parts)))
    if len(text) > SEARCH_TEXT_LENGTH:
        text = text[: SEARCH_TEXT_LENGTH + 1].rsplit(" ", 1)[0]
    return text


def neutralise(value: str) -> str:
    """A text cell for CSV: a leading quote keeps a spreadsheet from running it as a formula.
    Only text goes through here; numbers stay numbers (a negative score is not a formula)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value

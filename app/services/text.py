import unicodedata

# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: how names are compared and searched."""
    # Decompose before and after case folding: "𝐀" becomes "A" only through NFKD, and must then
    # fold like "A" does, so that fold(fold(x)) == fold(x).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def neutralise(value: str) -> str:
    """A text cell for CSV: a leading quote keeps a spreadsheet from running it as a formula.
    Only text goes through here; numbers stay numbers (a negative score is not a formula)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value

import unicodedata


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: how names are compared and searched."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())

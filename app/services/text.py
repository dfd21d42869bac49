import unicodedata


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: how names are compared and searched."""
    # Decompose before and after case folding: "𝐀" becomes "A" only through NFKD, and must then
    # fold like "A" does, so that fold(fold(x)) == fold(x).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())

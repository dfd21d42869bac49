import gettext
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("es", "en")
LOCALE_DIR = Path(__file__).parent / "locale"
# Babel locale used to format dates and numbers for each of our languages.
BABEL_LOCALES = {"es": Locale.parse("es_MX"), "en": Locale.parse("en_US")}
# The campaign runs on Mexico City time; dates and deadlines are shown in it.
TIMEZONE = ZoneInfo("America/Mexico_City")


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog of one language, compiled from its .po file once per process."""
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True)
class Translator:
    """What templates and services need to speak one language."""

    locale: str

    @property
    def gettext(self) -> Callable[[str], str]:
        return translations(self.locale).gettext

    def __call__(self, message: str, **params: object) -> str:
        text = translations(self.locale).gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: object) -> str:
        text = translations(self.locale).ngettext(singular, plural, n)
        return text % {"num": n, **params}

    def date(self, value: date, format: str = "long") -> str:
        if isinstance(value, datetime):
            value = value.astimezone(TIMEZONE).date()
        return format_date(value, format=format, locale=BABEL_LOCALES[self.locale])

    def datetime(self, value: datetime) -> str:
        pattern = "d 'de' MMMM 'de' y, HH:mm" if self.locale == "es" else "MMMM d, y, h:mm a"
        when = format_datetime(
            value.astimezone(TIMEZONE), format=pattern, locale=BABEL_LOCALES[self.locale]
        )
        return self(N_("%(when)s (Mexico City time)"), when=when)

    def pick(self, spanish: str, english: str) -> str:
        """A stored text that exists in both languages (`name_es`, `name_en`)."""
        return english if self.locale == "en" and english else spanish


def negotiate(accept_language: str | None, default: str) -> str:
    """The first of our languages the browser asks for, by its q-values, else the default."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            choices.append((-quality, index, language))
    return min(choices)[2] if choices else default


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message

"""E-mail texts, drawn from plain-text templates in the recipient's language."""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.i18n import Translator

# The mail templates sit with the pages' (app/templates/mail/), read here without the web layer.
MAIL_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "mail"

_env = Environment(
    loader=FileSystemLoader(MAIL_TEMPLATE_DIR),
    autoescape=False,  # noqa: S701 - plain-text e-mail, never rendered as HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_mail(name: str, locale: str, **context: object) -> tuple[str, str]:
    """The subject (first line of the template) and body of one e-mail."""
    t = Translator(locale)
    text = _env.get_template(f"{name}.txt").render(t=t, _=t, ngettext=t.ngettext, **context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")

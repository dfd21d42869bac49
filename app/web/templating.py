import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.config import Settings
from app.i18n import LOCALES, Translator
from app.models import utcnow
from app.services.judging import method
from app.web import csrf

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
NO_STORE = {"Cache-Control": "no-store"}
# Where a form's CSRF token goes in a page rendered to be kept (app/web/pagecache.py): the page is
# served with each visitor's own token in its place.
TOKEN_MARK = b"@@form-token@@"
TOKEN_PLACEHOLDER = re.compile(rb"@@form-token@@([A-Za-z0-9:_-]{1,80})@@")


@cache
def static_version(name: str) -> str:
    """A short content hash, so a changed stylesheet is fetched again despite long caching."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


def translator(request: Request) -> Translator:
    return Translator(getattr(request.state, "locale", "es"))


class Templates:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=not settings.is_prod,
        )
        self.env.globals["static"] = lambda name: f"/static/{name}?v={static_version(name)}"
        # The scoring method's explanation, in the page's language (`scoring_method(t)`): one
        # text for every page that explains how rankings are made.
        self.env.globals["scoring_method"] = method.explanation

    def issue_form_token(self, request: Request, form: str) -> str:
        return csrf.issue_token(
            self.settings.signing_key, cookie=request.state.csrf_cookie, form=form, now=utcnow()
        )

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        t = translator(request)
        account = getattr(request.state, "account", None)
        if account is not None:
            # A signed-in page may show personal data: never kept by a browser or proxy cache.
            headers = {**(headers or {}), **NO_STORE}

        def form_token(form: str) -> str:
            if getattr(request.state, "token_placeholders", False):
                placeholder = f"{TOKEN_MARK.decode()}{form}@@"
                if not TOKEN_PLACEHOLDER.fullmatch(placeholder.encode()):
                    raise ValueError(f"a form name a kept page cannot hold: {form!r}")
                return placeholder
            return self.issue_form_token(request, form)

        def lang_url(locale: str) -> str:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
            return request.url.path + "?" + urlencode([*params, ("lang", locale)])

        page = self.env.get_template(name).render(
            {
                "request": request,
                "t": t,
                "_": t,
                "ngettext": t.ngettext,
                "locale": t.locale,
                "other_locales": [loc for loc in LOCALES if loc != t.locale],
                "lang_url": lang_url,
                "form_token": form_token,
                "settings": self.settings,
                "current_account": account,
                **(context or {}),
            }
        )
        return HTMLResponse(page, status_code=status_code, headers=headers)

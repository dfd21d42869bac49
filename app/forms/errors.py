"""Turning pydantic's errors into messages beside each field, in the user's language."""

from dataclasses import dataclass, field

from pydantic import ValidationError

from app.i18n import N_, Translator

# Message ids (translated at display time) for each kind of error; %(…)s come from pydantic's ctx.
MESSAGES = {
    "missing": N_("This field is required."),
    "required": N_("This field is required."),
    "string_too_long": N_("Write at most %(max_length)s characters."),
    "string_too_short": N_("Write at least %(min_length)s characters."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("This field is required."),
    "int_from_float": N_("Enter a whole number."),
    "greater_than_equal": N_("Enter a number no smaller than %(ge)s."),
    "less_than_equal": N_("Enter a number no larger than %(le)s."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "email": N_("Enter a valid e-mail address, such as name@example.org."),
    "single_line": N_("Write this on one line."),
    "phone": N_("Enter a phone number with digits and, if needed, spaces and + ( ) -."),
    "encoding": N_("This field contains characters that are not valid text."),
    "control": N_("This field contains characters that are not allowed."),
    "checkbox": N_("This value is not one of the options."),
    "string_type": N_("This value is not one of the options."),
    "curp": N_("Enter the 18 characters of the CURP, such as GOMC850101MDFRRR09."),
    "rfc": N_("Enter the RFC: 13 characters for a person (10 without the homoclave)."),
    "none_selected": N_("Tick at least one."),
}
FALLBACK = N_("This value is not valid.")


@dataclass
class FormErrors:
    """Errors of one submitted form: one message per field, and those about the whole form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)


def collect(error: ValidationError, t: Translator, into: FormErrors) -> None:
    for item in error.errors():
        kind = item["type"]
        name = str(item["loc"][0]) if item["loc"] else ""
        if kind == "extra_forbidden":
            into.general.append(
                t("The form contained a field we did not expect: %(name)s.", name=name)
            )
            continue
        if kind == "string_too_short" and (item.get("ctx") or {}).get("min_length") == 1:
            kind = "required"
        params = {k: v for k, v in (item.get("ctx") or {}).items() if isinstance(v, int | str)}
        message = MESSAGES.get(kind, FALLBACK)
        try:
            text = t(message, **params) if params else t(message)
        except (KeyError, ValueError, TypeError):
            text = t(FALLBACK)
        if name:
            into.add(name, text)
        else:
            into.general.append(text)

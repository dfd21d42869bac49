"""Domain errors: services raise them, `app.main` turns each into a page with its status."""

from app.i18n import N_


class DomainError(Exception):
    status_code = 400
    # A message id translated when the page is drawn; %(name)s placeholders come from `params`.
    default_message = N_("Something went wrong with this request.")

    def __init__(self, message: str | None = None, **params: object) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.params = params


class NotFound(DomainError):
    status_code = 404
    default_message = N_("We could not find this page.")


class PermissionDenied(DomainError):
    status_code = 403
    default_message = N_("You are not allowed to do this.")


class Conflict(DomainError):
    status_code = 409
    default_message = N_("This was changed meanwhile; reload the page and try again.")


class InvalidInput(DomainError):
    status_code = 422
    default_message = N_("Some of what was sent is not valid.")


class TooManyRequests(DomainError):
    status_code = 429
    default_message = N_("Too many requests from your connection; please try again later.")

    def __init__(self, message: str | None = None, *, retry_after: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after

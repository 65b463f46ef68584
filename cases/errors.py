"""Domain errors, each with a stable code. The API turns them into RFC 7807 problems."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    status = 400
    title = _("The request could not be carried out.")

    def __init__(self, detail=None, *, extra: dict | None = None):
        self.detail = detail or self.title
        self.extra = extra or {}
        super().__init__(str(self.detail))


class ValidationFailed(DomainError):
    code = "validation"
    status = 400
    title = _("The data sent is not valid.")


class NotAllowed(DomainError):
    code = "permission"
    status = 403
    title = _("Your role does not allow this action.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = _("Not found.")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409
    title = _("This action is not possible in the case's current state.")


class StaleVersion(DomainError):
    code = "stale_version"
    status = 409
    title = _("The case was changed by someone else; reload it and try again.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = _("This conflicts with what is already stored.")

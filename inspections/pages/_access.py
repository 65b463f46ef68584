"""Who may open the office pages, and domain errors as readable messages."""

from functools import wraps

from django.contrib import messages as page_messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from cases import roles as r
from cases.errors import DomainError

from ..selectors import LEAD_ROLES, REGISTRY_READERS

OFFICE_READERS = REGISTRY_READERS  # inspectors read what their agencies' scope allows; other roles get 403
OFFICE_WRITERS = LEAD_ROLES  # leads, the head and administrators write


def office_required(roles=OFFICE_READERS):
    """Signed in (else the login page) and holding one of `roles` (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not r.user_roles(request.user) & roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def may_write(user) -> bool:
    return bool(r.user_roles(user) & OFFICE_WRITERS)


def error_messages(exc: DomainError) -> list[str]:
    """The error's sentence, then each field's messages (the services name the field that is wrong)."""
    lines = [str(exc.detail)]
    for messages in (exc.extra.get("errors") or {}).values():
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            if str(message) not in lines:
                lines.append(str(message))
    return lines


def error_messages_show(request, exc: DomainError) -> None:
    """The pages' answer to a service's refusal: each line of it (error_messages) as an error message."""
    for line in error_messages(exc):
        page_messages.error(request, line)


def form_errors_apply(form, exc: DomainError) -> None:
    """The service's field errors on the form's fields; the others on the form itself."""
    errors = exc.extra.get("errors") or {}
    placed = False
    for name, messages in errors.items():
        messages = messages if isinstance(messages, list | tuple) else [messages]
        for message in messages:
            form.add_error(name if name in form.fields else None, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.detail))

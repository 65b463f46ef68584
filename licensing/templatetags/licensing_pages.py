"""What the page navigation shows to the signed-in user, by role."""

from django import template

from cases import roles as r
from licensing import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def licensing_access(context) -> dict:
    """Flags for the navigation (links shown per role); the views check again."""
    request = context.get("request")
    user = getattr(request, "user", None)
    roles = r.user_roles(user) if user is not None else frozenset()
    decide = bool(roles & selectors.LICENSING_DECIDERS)
    return {
        "read": bool(roles & selectors.LICENSING_READERS),
        "work": bool(roles & selectors.LICENSING_WORKERS),
        "receive": bool(roles & r.CREATE_ROLES["licensing"]),
        "decide": decide,
        "reports": bool(roles & {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}),
        "pending": selectors.approvals_pending_count(user=user) if decide else 0,
        "current": getattr(getattr(request, "resolver_match", None), "view_name", ""),
    }

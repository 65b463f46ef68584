"""What the page navigation shows of the inspections to the signed-in user."""

from django import template

from cases import roles as r
from inspections import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def inspections_access(context) -> dict:
    """Flags for the navigation: the tablet pages are for inspectors and leads; the views check again."""
    request = context.get("request")
    user = getattr(request, "user", None)
    roles = r.user_roles(user) if user is not None else frozenset()
    return {
        "visits": bool(roles & selectors.FIELD_ROLES),
        # The office pages (registry, campaigns, map): inspectors read, leads, the head and administrators write.
        "office": bool(roles & selectors.REGISTRY_READERS),
        "plan": bool(roles & selectors.LEAD_ROLES),
        "current": getattr(getattr(request, "resolver_match", None), "view_name", ""),
    }

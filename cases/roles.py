"""The department's roles, as Django groups."""

from django.utils.translation import gettext_lazy as _

LICENSING_OFFICER = "licensing_officer"
DEPARTMENT_HEAD = "department_head"
INSPECTOR = "inspector"
INSPECTION_LEAD = "inspection_lead"
REPORTER = "reporter"
ADMINISTRATOR = "administrator"

ROLE_LABELS = {
    LICENSING_OFFICER: _("Licensing officer"),
    DEPARTMENT_HEAD: _("Department head"),
    INSPECTOR: _("Inspector"),
    INSPECTION_LEAD: _("Inspection lead"),
    REPORTER: _("Reporter"),
    ADMINISTRATOR: _("Administrator"),
}
ALL_ROLES = tuple(ROLE_LABELS)

# Domain → roles that may open a case of that domain.
CREATE_ROLES = {
    "licensing": frozenset({LICENSING_OFFICER, DEPARTMENT_HEAD, ADMINISTRATOR}),
    "inspection": frozenset({INSPECTION_LEAD, DEPARTMENT_HEAD, ADMINISTRATOR}),
    "report": frozenset({REPORTER, DEPARTMENT_HEAD, ADMINISTRATOR}),
}
# Domain → roles that may assign a case of that domain.
ASSIGN_ROLES = {
    "licensing": frozenset({DEPARTMENT_HEAD, ADMINISTRATOR}),
    "inspection": frozenset({INSPECTION_LEAD, DEPARTMENT_HEAD, ADMINISTRATOR}),
    "report": frozenset({DEPARTMENT_HEAD, ADMINISTRATOR}),
}


def user_roles(user) -> frozenset[str]:
    """The user's roles; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_sttt_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMINISTRATOR)
        cached = frozenset(names)
        user._sttt_roles = cached
    return cached

"""Server-rendered pages (the officers' pages arrive with the licensing issue)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from . import roles as r


@login_required
def home(request):
    roles = r.user_roles(request.user)
    # An organisation's representative (applicants online) holds no department role: their home is the portal. The
    # reverse relation is read by name: this app sits below applicants and imports nothing of it.
    if not roles and getattr(request.user, "representative", None) is not None:
        return redirect("portal:home")
    return render(request, "cases/home.html", {
        "role_labels": [r.ROLE_LABELS[x] for x in sorted(roles)],
        # Each role's home links to its work.
        "reports": bool(roles & {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}),
        "inspections": bool(roles & {r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}),
    })

"""Server-rendered pages (the officers' pages arrive with the licensing issue)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import roles as r


@login_required
def home(request):
    roles = r.user_roles(request.user)
    return render(request, "cases/home.html", {
        "role_labels": [r.ROLE_LABELS[x] for x in sorted(roles)],
        # Each role's home links to its work.
        "reports": bool(roles & {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}),
        "inspections": bool(roles & {r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}),
    })

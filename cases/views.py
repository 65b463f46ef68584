"""Server-rendered pages (the officers' pages arrive with the licensing issue)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import roles as r


@login_required
def home(request):
    roles = sorted(r.user_roles(request.user))
    return render(request, "cases/home.html", {"role_labels": [r.ROLE_LABELS[x] for x in roles]})

"""The head's page of unsatisfied ratings (/online/ratings/): what applicants who rated a dossier 2 or less said, for
the cases the head reads. Joined to the officers' online pages by applicants/office_urls.py."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from licensing.selectors import LICENSING_DECIDERS, licensing_cases_visible
from licensing.views import roles_required

from ..dossiers import ratings_unsatisfied

PAGE_SIZE = 25


@require_safe
@roles_required(LICENSING_DECIDERS)
def ratings(request):
    qs = ratings_unsatisfied(licensing_cases_visible(user=request.user))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "applicants/follow/ratings.html", {"page": page})


urlpatterns = [path("ratings/", ratings, name="ratings")]

"""Office pages: sanctions. So far the read-only sanctions catalogue (administrators edit it in the admin); the
violation record, sanction decision, follow-up and conclusion pages are still to come (their services and API
exist: inspections.services.sanctions, /api/v1/inspections/violations/<id>/offender/, sanctions/<id>/decide/)."""

from datetime import date

from django.shortcuts import render
from django.urls import path

from ..catalogue import decrees_in_force, provisions_in_force
from ..models import SanctionDecree
from ._access import office_required


def _range(bounds: tuple[int, int]) -> str:
    return " – ".join(f"{amount:,}".replace(",", ".") for amount in bounds)


@office_required()
def sanctions_catalogue(request):
    """The decrees and their provisions, with each provision's range for individuals and organisations;
    ?on=YYYY-MM-DD shows only what was in force that day."""
    day = None
    try:
        day = date.fromisoformat(request.GET.get("on", ""))
    except ValueError:
        day = None
    decrees = list(decrees_in_force(day) if day else SanctionDecree.objects.all())
    provisions = provisions_in_force(day) if day else None
    rows = []
    for decree in decrees:
        own = decree.provisions.select_related("decree", "amended_by").order_by("article", "clause", "point", "pk")
        if provisions is not None:
            own = own.filter(pk__in=provisions.values("pk"))
        rows.append({"decree": decree, "provisions": [
            {"provision": p, "individual": _range(p.fine_range("individual")),
             "organisation": _range(p.fine_range("organisation"))} for p in own]})
    return render(request, "inspections/office/sanctions_catalogue.html", {"rows": rows, "day": day})


urlpatterns = [
    path("campaigns/sanctions/catalogue/", sanctions_catalogue, name="sanctions-catalogue"),
]

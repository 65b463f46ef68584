"""Field review in the API (issue 17): a target's fieldwork as the rule counts it (every inspector's current
finding per item, disagreements, the review states), the lead's review of one finding, and the tablets' ping.

Permissions are explicit: reading the fieldwork needs a department role and a target the user may see (the
selectors scope it); reviewing needs a lead role (inspection lead, head, administrator) and then the service
checks the campaign (its lead, its agency, its state). Errors are RFC 7807 problems (cases.api.problems)."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import Finding, Photo
from .permissions import LEAD_ROLES, RolesByMethod

PROBLEM = OpenApiResponse(description="RFC 7807 problem details (application/problem+json).")
FieldworkReaders = RolesByMethod.of(read=None, write=frozenset())
Reviewers = RolesByMethod.of(read=LEAD_ROLES, write=LEAD_ROLES)


class ReviewSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=services.REVIEW_DECISION_CHOICES)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    expected_state = serializers.ChoiceField(choices=Finding.Review.values, required=False, allow_null=True,
                                             default=None, help_text=_("The review state the reviewer saw."))


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.get_username()}


def finding_data(finding: Finding, photos: list[Photo]) -> dict:
    return {
        "uuid": str(finding.pk), "item": finding.item_id, "result": finding.result, "note": finding.note,
        "device_time": finding.device_time.isoformat(), "received_at": finding.received_at.isoformat(),
        "inspector": _person(finding.inspector),
        "review": {"state": finding.review_state, "note": finding.review_note,
                   "at": finding.reviewed_at.isoformat() if finding.reviewed_at else None,
                   "by": _person(finding.reviewed_by)},
        "photos": [{"uuid": str(p.pk), "width": p.width, "height": p.height,
                    "file_url": reverse("inspection-photo-file", args=[p.pk]),
                    "thumbnail_url": reverse("inspection-photo-thumbnail", args=[p.pk]) if p.thumbnail else None}
                   for p in photos],
    }


def fieldwork_data(target) -> dict:
    """The target's fieldwork under selectors' THE RULE: per item, each inspector's current finding (with
    photos and review), whether they disagree, and the answer that counts."""
    entries = selectors.item_findings(target)
    finding_ids = [f.pk for entry in entries.values() for f in entry.history]
    photos: dict = {}
    for photo in Photo.objects.filter(finding_id__in=finding_ids).order_by("received_at", "pk"):
        photos.setdefault(photo.finding_id, []).append(photo)
    items = []
    for item_id, entry in sorted(entries.items()):
        current_ids = {f.pk for f in entry.current}
        items.append({
            "item": item_id, "disputed": entry.disputed,
            "answer": entry.answer.result if entry.answer else None,
            "current": [finding_data(f, photos.get(f.pk, [])) for f in entry.current],
            "replaced": [finding_data(f, photos.get(f.pk, [])) for f in entry.history if f.pk not in current_ids],
        })
    answered = [e for e in entries.values() if e.answer is not None]
    return {
        "target": target.pk, "outcome": target.outcome, "visited_at": target.visited_at,
        "counts": {"items_recorded": len(entries),
                   "violations": sum(1 for e in answered if e.answer.result == Finding.Result.VIOLATION),
                   "disputed": sum(1 for e in entries.values() if e.disputed)},
        "items": items,
    }


class TargetFieldworkView(APIView):
    """GET a target's fieldwork: every inspector's current finding per item, disagreements, reviews."""

    permission_classes = [IsAuthenticated, FieldworkReaders]

    @extend_schema(responses={200: OpenApiResponse(description="The fieldwork per item."), 404: PROBLEM})
    def get(self, request, pk: int):
        target = get_object_or_404(selectors.targets_visible(user=request.user), pk=pk)
        return Response(fieldwork_data(target))


class FindingReviewView(APIView):
    """POST the lead's review of one finding: accepted, needs_correction (with a note for the inspector's
    tablet) or rejected (with a note). 403 for anyone but the campaign's lead, an inspection lead, the head or an
    administrator; 409 finding_superseded when the inspector recorded a newer one, review_conflict when another
    review landed after `expected_state`, campaign_state once the campaign is past its findings."""

    permission_classes = [IsAuthenticated, Reviewers]

    @extend_schema(request=ReviewSerializer,
                   responses={200: OpenApiResponse(description="The finding with its review."), 400: PROBLEM,
                              403: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request, uuid):
        shape = ReviewSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        finding, _changed = services.finding_review(actor=request.user, finding_id=uuid, **shape.validated_data)
        finding = Finding.objects.select_related("inspector", "reviewed_by").get(pk=finding.pk)
        return Response(finding_data(finding, list(finding.photos.order_by("received_at", "pk"))))


class PingView(APIView):
    """The tablets' connection check: answers at once, touches no database, needs no session (a tablet whose
    session ended still learns that the server answers)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    @extend_schema(responses={200: inline_serializer("Ping", {"ok": serializers.BooleanField(),
                                                              "time": serializers.DateTimeField()})})
    def get(self, request):
        response = Response({"ok": True, "time": timezone.now()})
        response["Cache-Control"] = "no-store"
        return response

"""/api/v1/portal/dossiers/: the representative follows their organisation's online dossiers, as on the pages.

GET  dossiers/                                         the organisation's dossiers, newest first
GET  dossiers/{uuid}/                                  one dossier: state, due date, public timeline, documents
GET  dossiers/{uuid}/documents/{document_id}/download/ a document addressed to the applicant (signed PDF, else DOCX);
                                                       the first download is its electronic delivery
POST dossiers/{uuid}/supplement/                       files answering a supplement request; the case resumes
POST dossiers/{uuid}/rating/                           the satisfaction rating, once, after the result

Representatives only (access.IsRepresentative); another organisation's dossier is 404, as an unknown one. Errors
are RFC 7807 problems (cases/api/problems.py)."""

from django.http import FileResponse
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.api.pagination import CasePagination
from cases.api.strict import strict
from licensing.models import IssuedDocument

from .. import dossiers as d
from ..access import IsRepresentative
from ..models import Rating

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PortalDossierSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    procedure = serializers.CharField()
    procedure_name = serializers.CharField()
    state = serializers.ChoiceField(choices=list(d.APPLICANT_STATES), help_text="The state in the applicant's words "
                                    "(state_label): draft, submitted, ..., in_progress, supplement, result, refused.")
    state_label = serializers.CharField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    reference = serializers.CharField(allow_null=True, help_text="The dossier code, once received.")
    received_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True, help_text="The appointment date for the result, while open.")
    paused = serializers.BooleanField(help_text="The clock is paused while a supplement is awaited.")


class PublicEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    code = serializers.CharField()
    label = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    due_at = serializers.DateTimeField(allow_null=True)
    number = serializers.CharField(allow_blank=True)


class PublicDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=IssuedDocument.Kind.choices)
    kind_label = serializers.CharField()
    number = serializers.CharField(allow_blank=True)
    issued_at = serializers.DateTimeField()
    format = serializers.ChoiceField(choices=["pdf", "docx"], help_text="pdf: the signed electronic copy.")
    download = serializers.CharField()


class RatingSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)
    created_at = serializers.DateTimeField(read_only=True)


RatingRequest = strict(type("RatingRequest", (serializers.Serializer,), {
    "score": serializers.IntegerField(min_value=1, max_value=5),
    "comment": serializers.CharField(allow_blank=True, required=False, default="", max_length=2000),
    "__module__": __name__}))


class PortalDossierDetailSerializer(PortalDossierSerializer):
    reasons = serializers.CharField(allow_blank=True, help_text="Why it was not received or is to be completed.")
    events = PublicEventSerializer(many=True)
    documents = PublicDocumentSerializer(many=True)
    may_supplement = serializers.BooleanField()
    supplement_request = serializers.CharField(allow_blank=True)
    supplement_kinds = serializers.ListField(child=serializers.CharField())
    may_rate = serializers.BooleanField()
    rating = RatingSerializer(allow_null=True)
    refusal_slip = serializers.ChoiceField(
        choices=["", "pending", "docx", "pdf"], allow_blank=True,
        help_text="The refusal to receive (not received only): pdf signed, docx being signed, pending to be made.")
    refusal_slip_download = serializers.CharField(allow_null=True)


class SupplementRequest(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), min_length=1, max_length=10)
    kinds = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                  help_text="The kind of each file, in order (the procedure's required files, or "
                                            "other); missing ones are other.")
    message = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)
    version = serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647,
                                       help_text="The case's version read (409 if it changed since).")


SupplementRequest = strict(SupplementRequest)


def _summary(submission) -> dict:
    case = submission.case if submission.case_id else None
    code = d.state_code(submission)
    return {"uuid": submission.uuid, "procedure": submission.procedure, "procedure_name": d.procedure_name(submission),
            "state": code, "state_label": d.state_label(code), "created_at": submission.created_at,
            "submitted_at": submission.submitted_at, "reference": case.reference if case else None,
            "received_at": case.received_at if case else None,
            "due_at": case.due_at if case is not None and code in {"in_progress", "late", "late_apologised",
                                                                   "supplement"} else None,
            "paused": bool(case is not None and case.paused_at)}


def _detail(request, submission) -> dict:
    view = d.dossier_view(submission)
    documents = [{"id": doc.pk, "kind": doc.kind, "kind_label": doc.get_kind_display(), "number": doc.number_text,
                  "issued_at": doc.issued_at, "format": d.document_format(doc),
                  "download": f"/api/v1/portal/dossiers/{submission.uuid}/documents/{doc.pk}/download/"}
                 for doc in view.documents]
    rating = view.rating
    return {**_summary(submission), "reasons": submission.reasons if not submission.case_id else "",
            "events": [vars(event) for event in view.events], "documents": documents,
            "may_supplement": view.may_supplement, "supplement_request": view.supplement_request,
            "supplement_kinds": [kind for kind, _label in d.supplement_kinds(view.case)] if view.may_supplement
            else [],
            "may_rate": view.may_rate,
            "rating": {"score": rating.score, "comment": rating.comment, "created_at": rating.created_at}
            if rating else None,
            "refusal_slip": view.refusal_slip,
            "refusal_slip_download": f"/api/v1/portal/dossiers/{submission.uuid}/refusal-slip/download/"
            if view.refusal_slip in {"pdf", "docx"} else None}


class DossierList(APIView):
    """The organisation's online dossiers, newest first."""

    permission_classes = [IsAuthenticated, IsRepresentative]

    @extend_schema(responses=PortalDossierSerializer(many=True))
    def get(self, request):
        paginator = CasePagination()
        page = paginator.paginate_queryset(d.dossiers_of(request.user), request, view=self)
        return paginator.get_paginated_response(PortalDossierSerializer([_summary(s) for s in page], many=True).data)


class DossierDetail(APIView):
    """One dossier: its state in the applicant's words, due date, public timeline and documents."""

    permission_classes = [IsAuthenticated, IsRepresentative]

    @extend_schema(responses=PortalDossierDetailSerializer)
    def get(self, request, uuid):
        return Response(PortalDossierDetailSerializer(_detail(request, d.dossier_get(request.user, uuid))).data)


class DossierDocumentDownload(APIView):
    """A document addressed to the applicant: its signed PDF when signed, else the DOCX as issued. The first
    download by a representative records its electronic delivery."""

    permission_classes = [IsAuthenticated, IsRepresentative]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # a file, whatever Accept says

    @extend_schema(responses={(200, "application/pdf"): bytes, (200, DOCX): bytes})
    def get(self, request, uuid, document_id):
        submission = d.dossier_get(request.user, uuid)
        issued = d.document_of(submission, document_id)
        handle, name, content_type = d.document_open(issued, stem=(issued.number_text or issued.kind).replace("/", "-"))
        d.document_delivered(document=issued, user=request.user)
        return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


class DossierRefusalSlipDownload(APIView):
    """The refusal to receive a dossier not received: its signed PDF, or the DOCX while it is being signed."""

    permission_classes = [IsAuthenticated, IsRepresentative]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # a file, whatever Accept says

    @extend_schema(responses={(200, "application/pdf"): bytes, (200, DOCX): bytes})
    def get(self, request, uuid):
        handle, name, content_type = d.refusal_slip_open(d.dossier_get(request.user, uuid))
        return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


class DossierSupplement(APIView):
    """Answer a supplement request: the files (checked as at the counter) join the case, which resumes."""

    permission_classes = [IsAuthenticated, IsRepresentative]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": SupplementRequest}, responses=PortalDossierDetailSerializer)
    def post(self, request, uuid):
        submission = d.dossier_get(request.user, uuid)
        body = SupplementRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kinds = list(data["kinds"])
        files = [(kinds[i] if i < len(kinds) and kinds[i] else "other", upload)
                 for i, upload in enumerate(data["files"])]
        d.supplement_submit(submission=submission, user=request.user, files=files, message=data["message"],
                            version=data.get("version"))
        submission.refresh_from_db()
        return Response(PortalDossierDetailSerializer(_detail(request, submission)).data)


class DossierRating(APIView):
    """The satisfaction rating of a dossier's handling, once, after its result (2 or less is shown to the head)."""

    permission_classes = [IsAuthenticated, IsRepresentative]

    @extend_schema(request=RatingRequest, responses={201: RatingSerializer})
    def post(self, request, uuid):
        submission = d.dossier_get(request.user, uuid)
        body = RatingRequest(data=request.data)
        body.is_valid(raise_exception=True)
        rating: Rating = d.rating_give(submission=submission, user=request.user, **body.validated_data)
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("dossiers/", DossierList.as_view(), name="portal-dossiers"),
    path("dossiers/<uuid:uuid>/", DossierDetail.as_view(), name="portal-dossier"),
    path("dossiers/<uuid:uuid>/documents/<int:document_id>/download/", DossierDocumentDownload.as_view(),
         name="portal-dossier-document"),
    path("dossiers/<uuid:uuid>/refusal-slip/download/", DossierRefusalSlipDownload.as_view(),
         name="portal-dossier-refusal-slip"),
    path("dossiers/<uuid:uuid>/supplement/", DossierSupplement.as_view(), name="portal-dossier-supplement"),
    path("dossiers/<uuid:uuid>/rating/", DossierRating.as_view(), name="portal-dossier-rating"),
]

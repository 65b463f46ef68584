from django.db.models import Prefetch
from django.http import FileResponse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is 404, not 500
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.selectors import agency_ids_visible
from cases import roles as r
from cases.api.permissions import HasDepartmentRole, HasRoleIn
from cases.errors import Conflict, NotFound, ValidationFailed
from cases.models import CaseEvent, CaseType
from cases.selectors import cases_visible

from .. import services
from ..filters import OrganisationFilter, PermitFilter, PrintFacilityFilter
from ..models import IssuedDocument, Organisation, Permit, PrintFacility
from ..procedures import PROCEDURES
from . import serializers as s

LICENSING_WRITE = HasRoleIn.of(r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR)


class SafeOrLicensingWrite(HasDepartmentRole):
    """Every role reads (inspections use the registry as targets); licensing roles write."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().has_permission(request, view)
        return LICENSING_WRITE().has_permission(request, view)


class ProcedureView(APIView):
    """The six procedures: their dossier fields and required files."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(responses=s.ProcedureSerializer(many=True))
    def get(self, request):
        names = dict(CaseType.objects.filter(domain="licensing").values_list("code", "name_vi"))
        data = []
        for code, spec in PROCEDURES.items():
            fields = {name: {"label": str(field.label), "type": type(field).__name__, "required": field.required}
                      for name, field in spec.fields().fields.items()}
            data.append({"code": code, "name_vi": names.get(code, code), "fields": fields,
                         "required_files": [{"kind": k, "label": str(v)} for k, v in spec.required_files]})
        return Response(data)


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """The registry of applicants and holders: the entries of the user's agencies and of their predecessors. A new
    entry goes to the user's agency (`agency` names it for someone working for several)."""

    permission_classes = [IsAuthenticated, SafeOrLicensingWrite]
    serializer_class = s.OrganisationSerializer
    filterset_class = OrganisationFilter
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return Organisation.objects.filter(agency_id__in=agency_ids_visible(self.request.user))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        agency = data.pop("agency", None)
        serializer.instance = services.organisation_create(actor=self.request.user, organisation=data, agency=agency)


class PrintFacilityViewSet(viewsets.ReadOnlyModelViewSet):
    """Print facilities known from licences: those of the user's agencies and of their predecessors."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    serializer_class = s.PrintFacilitySerializer
    filterset_class = PrintFacilityFilter

    def get_queryset(self):
        return PrintFacility.objects.filter(agency_id__in=agency_ids_visible(self.request.user))


class ApplicationViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Licensing applications: a case of one of the six procedures with its dossier and documents.
    Lists, filters and transitions are those of /api/v1/cases/."""

    permission_classes = [IsAuthenticated, SafeOrLicensingWrite]
    serializer_class = s.ApplicationSerializer

    def get_queryset(self):
        return cases_visible(user=self.request.user).filter(case_type__domain="licensing").select_related(
            "terms", "created_by", "dossier__organisation").prefetch_related(
            "members", Prefetch("events", queryset=CaseEvent.objects.select_related("actor")),
            "attachments__uploaded_by", "documents__verifiable")

    def _detail(self, case, code=status.HTTP_200_OK):
        return Response(s.ApplicationSerializer(self.get_queryset().get(pk=case.pk),
                                                context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=s.ApplicationReceiveSerializer, responses={201: s.ApplicationSerializer, 200: s.ApplicationSerializer})
    def create(self, request, *args, **kwargs):
        """Receive a dossier. The same `uuid` sent again returns the stored case (200)."""
        shape = s.ApplicationReceiveSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = dict(shape.validated_data)
        case, created = services.application_receive(actor=request.user, **data)
        return self._detail(case, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.DossierUpdateSerializer, responses=s.ApplicationSerializer,
                   examples=[OpenApiExample("A printing licence's dossier, supplemented", request_only=True, value={
                       "version": 1, "fields": {
                           "facility_name": "Công ty TNHH In Hoàng Long", "owner": "Bà Phạm Thị Lan",
                           "facility_address": "Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình",
                           "equipment": [{"name": "Máy in offset Heidelberg SM 74", "quantity": 2}],
                           "products": "Bao bì, nhãn hàng hóa, tờ rơi quảng cáo"}})])
    @action(detail=True, methods=["put"], url_path="dossier")
    def dossier(self, request, pk=None):
        """Replace the dossier fields (the applicant's supplement or a correction), with the case version."""
        case = self.get_object()
        shape = s.DossierUpdateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        services.dossier_update(case_id=case.pk, actor=request.user, **shape.validated_data)
        return self._detail(case)


class PermitViewSet(viewsets.ReadOnlyModelViewSet):
    """The permits registry: issued licences and written approvals, with revocation. Every role reads the permits
    of its agencies and of their predecessors (inspections check licences on site)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    serializer_class = s.PermitSerializer
    filterset_class = PermitFilter
    ordering_fields = ["issued_at", "number_text"]

    def get_queryset(self):
        return Permit.objects.filter(case__agency_id__in=agency_ids_visible(self.request.user)).select_related(
            "holder", "document__verifiable", "case__case_type", "replaced_by")


class DocumentViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, HasDepartmentRole]
    serializer_class = s.IssuedDocumentSerializer

    def get_queryset(self):
        return IssuedDocument.objects.select_related("verifiable").filter(case__in=cases_visible(user=self.request.user))

    def perform_content_negotiation(self, request, force=False):
        # On the download, ?format= names the file's format (docx, pdf), not one of the API's renderers: errors
        # are still answered as problem JSON.
        return super().perform_content_negotiation(request, force=force or self.action == "download")

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["docx", "pdf"], required=False, description=(
            "docx (default): the document as issued, for editing and printing; pdf: its signed PDF/A, which "
            "anyone can check at /verify/<code>/ (409 until it is signed, a few seconds after issue)."))],
        responses={(200, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"): bytes,
                   (200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        document = get_object_or_404(self.get_queryset().select_related("verifiable"), pk=pk)
        wanted = request.query_params.get("format", "docx")
        if wanted not in ("docx", "pdf"):
            raise ValidationFailed(gettext("The format must be docx or pdf."),
                                   extra={"errors": {"format": [gettext("The format must be docx or pdf.")]}})
        if not document.file:  # a result imported from a past register (licensing/imports.py): no file was made
            raise NotFound(gettext("This result was imported from a past register: the service holds no file of it; "
                                   "the original is kept on paper."))
        stem = (document.number_text or document.kind).replace("/", "-")
        if wanted == "pdf":
            verifiable = document.verifiable
            if verifiable is None:
                raise NotFound(gettext("This document was issued before electronic results: it has no signed PDF."))
            if not verifiable.is_signed:
                raise Conflict(gettext("The signed PDF of this document is not ready yet: it is made a few seconds "
                                       "after issue. The case's timeline says if signing failed."))
            return FileResponse(verifiable.pdf.open("rb"), as_attachment=True, filename=f"{stem}.pdf",
                                content_type="application/pdf")
        return FileResponse(document.file.open("rb"), as_attachment=True, filename=f"{stem}.docx",
                            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")

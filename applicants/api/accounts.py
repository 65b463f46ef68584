"""/api/v1/portal/me/: the signed-in representative and the organisation they act for."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import IsRepresentative


class PortalOrganisationSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    tax_code = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class PortalMeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()
    full_name = serializers.CharField()
    position = serializers.CharField()
    phone = serializers.CharField()
    email_verified_at = serializers.DateTimeField()
    signs_in_with_identity_provider = serializers.BooleanField()
    organisation = PortalOrganisationSerializer()


class PortalMeView(APIView):
    """The representative signed in, and their organisation."""

    permission_classes = [IsRepresentative]

    @extend_schema(responses=PortalMeSerializer, operation_id="portal_me")
    def get(self, request):
        representative = request.representative
        organisation = representative.organisation
        return Response(PortalMeSerializer({
            "username": request.user.username, "email": request.user.email or "",
            "full_name": representative.full_name, "position": representative.position,
            "phone": representative.phone, "email_verified_at": representative.email_verified_at,
            "signs_in_with_identity_provider": bool(representative.oidc_subject),
            "organisation": {"name": organisation.name, "kind": organisation.kind, "tax_code": organisation.tax_code,
                             "address": organisation.address, "phone": organisation.phone,
                             "email": organisation.email},
        }).data)


urlpatterns = [path("me/", PortalMeView.as_view(), name="portal-me")]

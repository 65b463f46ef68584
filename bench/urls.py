"""The product's URLs plus, for the framework-floor benchmark only, two trivial JSON views."""

from django.http import JsonResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns


def plain(request):
    """Django alone: no authentication, no DRF."""
    return JsonResponse({"status": "ok"})


class Trivial(APIView):
    """The framework every API request goes through (DRF, the same token authentication), doing nothing else."""

    permission_classes = [IsAuthenticated]
    schema = None  # not part of the product's API

    def post(self, request):
        return Response({"status": "ok"}, status=201)


urlpatterns = [path("bench/plain/", plain), path("bench/trivial/", Trivial.as_view()), *product_urlpatterns]

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("print-facilities", views.PrintFacilityViewSet, basename="print-facility")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("permits", views.PermitViewSet, basename="permit")
router.register("documents", views.DocumentViewSet, basename="document")

urlpatterns = [
    path("procedures/", views.ProcedureView.as_view(), name="procedures"),
    path("imports/", include("licensing.api.imports")),  # past registers (licensing/api/imports.py)
    path("", include(router.urls)),
]

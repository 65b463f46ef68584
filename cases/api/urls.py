from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views
from .auth import TokenLoginView

router = DefaultRouter()
router.register("case-types", views.CaseTypeViewSet, basename="case-type")
router.register("cases", views.CaseViewSet, basename="case")
router.register(r"cases/(?P<case_pk>\d+)/attachments", views.CaseAttachmentViewSet, basename="case-attachment")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("auth/token/", TokenLoginView.as_view(), name="auth-token"),
    path("", include(router.urls)),
]

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("exports", views.ExportJobViewSet, basename="export-job")

urlpatterns = router.urls + [
    path("quarterly/", views.QuarterlyReportView.as_view(), name="report-quarterly"),
    path("quarterly/cases/", views.QuarterlyCellCasesView.as_view(), name="report-quarterly-cases"),
]

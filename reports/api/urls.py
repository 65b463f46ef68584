from django.urls import path
from rest_framework.routers import SimpleRouter

from . import documents, views

router = SimpleRouter()
router.register("exports", views.ExportJobViewSet, basename="export-job")

urlpatterns = router.urls + [
    path("quarterly/", views.QuarterlyReportView.as_view(), name="report-quarterly"),
    path("quarterly/cases/", views.QuarterlyCellCasesView.as_view(), name="report-quarterly-cases"),
    path("documents/", documents.ReportListView.as_view(), name="report-documents"),
    path("documents/<int:pk>/", documents.ReportDetailView.as_view(), name="report-document"),
    path("documents/<int:pk>/sections/<str:code>/", documents.SectionView.as_view(), name="report-section"),
    path("documents/<int:pk>/sections/<str:code>/submit/", documents.SectionSubmitView.as_view(),
         name="report-section-submit"),
    path("documents/<int:pk>/recipients/", documents.RecipientsView.as_view(), name="report-recipients"),
    path("documents/<int:pk>/sections/I.4/redraft/", documents.RedraftView.as_view(), name="report-redraft"),
    path("documents/<int:pk>/transitions/", documents.ReportTransitionView.as_view(), name="report-transitions"),
    path("documents/<int:pk>/file.<str:fmt>", documents.ReportFileView.as_view(), name="report-file"),
    path("indicators/values/", documents.IndicatorValueView.as_view(), name="report-indicator-value"),
    path("indicators/import/", documents.IndicatorImportView.as_view(), name="report-indicator-import"),
]

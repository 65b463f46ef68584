from django.urls import path

from . import report_views, views

app_name = "reports"
urlpatterns = [
    path("quarterly/", views.quarterly, name="quarterly"),
    path("quarterly/cases/", views.cell_cases, name="cell-cases"),
    path("quarterly/quality/", views.quality_cell_cases, name="quality-cases"),
    path("documents/", report_views.report_list, name="documents"),
    path("documents/<int:pk>/", report_views.report_page, name="document"),
    path("documents/<int:pk>/sections/<str:code>/", report_views.section_save, name="section-save"),
    path("documents/<int:pk>/action/", report_views.report_action, name="document-action"),
    path("documents/<int:pk>/recipients/", report_views.recipients_save, name="document-recipients"),
    path("documents/<int:pk>/indicators/", report_views.indicators_upload, name="document-indicators"),
    path("documents/<int:pk>/indicator/", report_views.indicator_save, name="document-indicator"),
    path("documents/<int:pk>/file.<str:fmt>", report_views.report_download, name="document-file"),
]

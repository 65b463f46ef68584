from django.urls import path

from . import views

urlpatterns = [
    path("quarterly/", views.QuarterlyReportView.as_view(), name="report-quarterly"),
    path("quarterly/cases/", views.QuarterlyCellCasesView.as_view(), name="report-quarterly-cases"),
]

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("quarterly/", views.quarterly, name="quarterly"),
    path("quarterly/cases/", views.cell_cases, name="cell-cases"),
]

"""The inspectors' tablet pages and their service worker (its scope is this prefix)."""

from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("", views.visits, name="visits"),
    path("targets/<int:pk>/", views.target_detail, name="target"),
    path("offline/", views.offline, name="offline"),
    path("sw.js", views.service_worker, name="sw"),
]

from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("<str:code>/", views.verify_detail, name="verify-detail"),
    path("<str:code>/pdf/", views.verify_pdf, name="verify-pdf"),
]

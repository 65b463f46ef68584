"""Officers' pages (server-rendered, signed in with the session)."""

from django.urls import path

from . import views

app_name = "licensing"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("receive/", views.receive, name="receive"),
    path("approvals/", views.approvals, name="approvals"),
    path("permits/", views.permits, name="permits"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/transition/", views.case_transition_view, name="case-transition"),
    path("cases/<int:pk>/attachments/", views.case_attachment_upload, name="case-attachment"),
    path("cases/<int:pk>/assign/", views.case_assign_view, name="case-assign"),
    path("cases/<int:pk>/notes/", views.case_note_view, name="case-note"),
]

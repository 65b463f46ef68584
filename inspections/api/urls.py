from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import review, views

router = DefaultRouter()
router.register("campaigns", views.CampaignViewSet, basename="inspection-campaign")
router.register("establishments", views.EstablishmentViewSet, basename="inspection-establishment")
router.register("checklist-templates", views.ChecklistTemplateViewSet, basename="inspection-checklist")
router.register("targets", views.TargetViewSet, basename="inspection-target")
router.register("findings", views.FindingViewSet, basename="inspection-finding")
router.register("photos", views.PhotoViewSet, basename="inspection-photo")
router.register("violations", views.ViolationViewSet, basename="inspection-violation")
router.register("sanctions", views.SanctionViewSet, basename="inspection-sanction")
router.register("follow-ups", views.FollowUpViewSet, basename="inspection-follow-up")
router.register("documents", views.DocumentViewSet, basename="inspection-document")

urlpatterns = [
    # field review (issue 17): before the router, whose findings/<pk>/ would take these paths
    path("targets/<int:pk>/fieldwork/", review.TargetFieldworkView.as_view(), name="inspection-target-fieldwork"),
    path("findings/<uuid:uuid>/review/", review.FindingReviewView.as_view(), name="inspection-finding-review"),
    path("ping/", review.PingView.as_view(), name="inspection-ping"),
    path("", include(router.urls)),
]

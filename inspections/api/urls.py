from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

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

urlpatterns = [path("", include(router.urls))]

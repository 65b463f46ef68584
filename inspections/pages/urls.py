"""The office's inspection pages: each module keeps its own urlpatterns."""

from . import campaigns, registry, review, sanctions

app_name = "inspections-office"
urlpatterns = registry.urlpatterns + campaigns.urlpatterns + review.urlpatterns + sanctions.urlpatterns

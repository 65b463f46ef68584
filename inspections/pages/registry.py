"""Office pages: registry."""

urlpatterns = []

"""Office pages: review."""

urlpatterns = []

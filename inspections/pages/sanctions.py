"""Office pages: sanctions."""

urlpatterns = []

"""Office pages: campaigns."""

urlpatterns = []

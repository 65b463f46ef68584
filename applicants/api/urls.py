"""/api/v1/portal/: the portal's API, for representatives (same rules as the pages)."""

from . import accounts, dossiers, submissions

urlpatterns = [*accounts.urlpatterns, *submissions.urlpatterns, *dossiers.urlpatterns]

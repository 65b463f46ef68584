"""Officers' pages for dossiers submitted online (/online/): receive, ask to complete, refuse to receive."""

from .pages import office, ratings

app_name = "portal-office"
urlpatterns = [*office.urlpatterns, *ratings.urlpatterns]

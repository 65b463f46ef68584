"""The portal's pages (/portal/): accounts, online dossiers, follow-up and results. Each concern keeps its own
module in applicants/pages/ and its own `urlpatterns`; they are joined here."""

from .pages import accounts, follow, submit

app_name = "portal"
urlpatterns = [*accounts.urlpatterns, *submit.urlpatterns, *follow.urlpatterns]

"""Officers' pages (server-rendered). Filled in with the pages themselves."""

app_name = "licensing"
urlpatterns: list = []

"""Console URLs of the assurance."""

app_name = "assurance"

urlpatterns: list = []

"""Console URLs of the catalogue."""

app_name = "catalog"

urlpatterns: list = []

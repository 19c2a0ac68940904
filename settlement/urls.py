"""Console URLs of the settlement."""

app_name = "settlement"

urlpatterns: list = []

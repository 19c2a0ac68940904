"""Console URLs of the subscribers."""

app_name = "subscribers"

urlpatterns: list = []

"""Console URLs of the charging."""

app_name = "charging"

urlpatterns: list = []

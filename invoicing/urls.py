"""Console URLs of the invoicing."""

app_name = "invoicing"

urlpatterns: list = []

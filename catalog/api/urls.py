"""REST API URLs of the catalogue, under /api/v1/catalog/."""

urlpatterns: list = []

"""REST API URLs of the invoicing, under /api/v1/invoicing/."""

urlpatterns: list = []

"""REST API URLs of the assurance, under /api/v1/assurance/."""

urlpatterns: list = []

"""REST API URLs of the charging, under /api/v1/charging/."""

urlpatterns: list = []

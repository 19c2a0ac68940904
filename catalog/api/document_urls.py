"""REST API URLs of catalogue import and export."""

urlpatterns: list = []

"""REST API URLs of the subscribers, under /api/v1/subscribers/."""

urlpatterns: list = []

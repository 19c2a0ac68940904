"""REST API URLs of the settlement, under /api/v1/settlement/."""

urlpatterns: list = []

"""Console URLs of catalogue import and export."""

urlpatterns: list = []

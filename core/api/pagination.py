"""API pagination: limit/offset, as TM Forum APIs page their lists."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """Page with ``?offset=&limit=``; the total is in the body and in ``X-Total-Count``."""

    default_limit = 50
    max_limit = 1000

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response["X-Total-Count"] = str(self.count)
        response["X-Result-Count"] = str(len(data))
        return response
